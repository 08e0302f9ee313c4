/** A worker's log line, written again by the primary's logger (workers/worker-log.ts). */
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { relogWorkerLine } from "../src/workers/worker-log.ts";

/** A logger at `level` whose lines are kept, parsed; and a worker's logger whose lines are kept as text. */
function loggers(level: string) {
  const primaryLines: Array<Record<string, unknown>> = [];
  const primary = pino({ level }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") primaryLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }));
  const workerLines: string[] = [];
  const worker = pino({ level: "trace" }, { write: (line: string) => void workerLines.push(line) }).child({ worker: 1 });
  return { primary, primaryLines, worker, workerLines };
}

describe("worker log lines", () => {
  it("come out of the primary's logger with their level, message and fields, once each, in the primary's pid", () => {
    const { primary, primaryLines, worker, workerLines } = loggers("info");
    worker.info({ participantId: "P1", room: "r" }, "participant joined");
    worker.warn({ err: new TypeError("bad thing") }, "a worker failed to handle a message from the primary");
    for (const line of workerLines) relogWorkerLine(primary, line);
    expect(primaryLines).toHaveLength(2);
    expect(primaryLines[0]).toMatchObject({ level: 30, msg: "participant joined", worker: 1, participantId: "P1", room: "r", pid: process.pid });
    expect(primaryLines[1]).toMatchObject({ level: 40, worker: 1, err: { type: "TypeError", message: "bad thing" } });
    expect((primaryLines[1]!.err as { stack: string }).stack).toContain("TypeError: bad thing");
    // One of each field the primary's logger sets itself.
    expect(Object.keys(primaryLines[0]!).filter((k) => k === "time")).toHaveLength(1);
  });

  it("below the primary's level are dropped, and a line that is not pino's JSON is ignored", () => {
    const { primary, primaryLines, worker, workerLines } = loggers("warn");
    worker.debug("worker ready");
    worker.info("participant joined");
    for (const line of [...workerLines, "not json\n", '{"msg":"no level"}\n', '{"level":35,"msg":"no such level"}\n']) relogWorkerLine(primary, line);
    expect(primaryLines).toEqual([]);
  });
});
