/**
 * A worker process (forked by worker-pool.ts): one SfuShell, with werift and this worker's media ports,
 * driven by the sessions the primary forwards over IPC (ipc-protocol.ts). It holds no socket to a client
 * but its media; it exits when told to stop or when the primary goes away.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pino, type Logger } from "pino";
import type { ClientMessage, ServerMessage } from "@sfu-room/protocol";
import { sfuFromConfig, whipSessionsFromConfig } from "../sfu-from-config.ts";
import type { SessionPort, SfuShell } from "../shell/sfu-shell.ts";
import type { PipeChannel, PipeEnd } from "../shell/pipe-from-node.ts";
import type { WhipSessions } from "../signal/whip-sessions.ts";
import type { FromWorker, ToWorker } from "./ipc-protocol.ts";
import { runWhipCall, type WhipCall } from "./whip-calls.ts";

function post(message: FromWorker): void {
  // Once the primary is gone this process is exiting (below): a send then would only throw.
  if (process.connected) process.send?.(message);
}

/** A session as the shell sees it: what it does travels to the primary, which holds the WebSocket. */
class ForwardedSession implements SessionPort {
  /** Who the session speaks as: its key, until a resume binds it to another participant. */
  participantId: string;
  readonly key: string;
  readonly pipe: string | undefined;

  constructor(key: string, pipe: string | undefined) {
    this.key = key;
    this.participantId = key;
    this.pipe = pipe;
  }

  send(message: ServerMessage): void {
    post({ type: "send", session: this.key, message });
  }

  close(reason: string): void {
    post({ type: "end", session: this.key, how: "close", reason });
  }

  kick(reason: string): void {
    post({ type: "end", session: this.key, how: "kick", reason });
  }

  bind(participantId: string): void {
    this.participantId = participantId;
    post({ type: "bound", session: this.key, participantId });
  }
}

let sfu: SfuShell | undefined;
/** This worker's WHIP/WHEP sessions: the HTTP of them stays in the primary (worker-whip.ts). */
let whip: WhipSessions | undefined;
let log: Logger | undefined;
/** This process's event loop delay, read (and restarted) by each snapshot. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const sessions = new Map<string, ForwardedSession>();
/** This worker's pipes from other nodes (rooms spanning nodes), and their messages waiting for `pipe-sent`. */
const pipes = new Map<string, PipeEnd>();
const pipeSends = new Map<number, (error: string | undefined) => void>();
let pipeSeq = 0;

/** The channel of pipe `pipe`: through the primary, which holds its session on the other node. */
function pipeChannel(pipe: string): PipeChannel {
  return {
    send: (message) =>
      new Promise<void>((resolve, reject) => {
        const seq = ++pipeSeq;
        pipeSends.set(seq, (error) => (error === undefined ? resolve() : reject(new Error(error))));
        post({ type: "pipe-send", pipe, seq, message });
      }),
    close: () => {
      if (pipes.delete(pipe)) post({ type: "pipe-closed", pipe });
    },
  };
}

async function handle(session: ForwardedSession, seq: number, message: ClientMessage): Promise<void> {
  try {
    await sfu!.handle(session.participantId, message);
    post({ type: "handled", seq });
  } catch (e) {
    post({ type: "handled", seq, error: (e as Error).message });
  }
}

async function runWhip(seq: number, call: WhipCall): Promise<void> {
  try {
    post({ type: "whip-reply", seq, result: await runWhipCall(whip!, call) });
  } catch (e) {
    post({ type: "whip-reply", seq, error: (e as Error).message });
  }
}

process.on("message", (raw) => {
  const message = raw as ToWorker;
  try {
    receive(message);
  } catch (e) {
    // A relay bug: logged, and this worker's other rooms go on (what one process would do with a failed request).
    log?.error({ err: e, type: message.type }, "a worker failed to handle a message from the primary");
  }
});

function receive(message: ToWorker): void {
  switch (message.type) {
    case "start": {
      // Lines go to the primary, which logs them in its own format and to its own logger (worker-log.ts).
      log = pino({ level: message.logLevel }, { write: (line: string) => post({ type: "log", line }) }).child({ worker: message.index });
      sfu = sfuFromConfig(message.config, log, {
        onPathSelected: (path) => post({ type: "path-selected", path }),
        // Always reported: the primary learns from room_started/room_finished which rooms live here.
        onRoomEvent: (event) => post({ type: "room-event", event }),
      });
      whip = whipSessionsFromConfig(message.config, sfu, (resourceId) => post({ type: "whip-ended", resourceId }));
      log.debug({ udpPorts: message.config.udpPortRange, tcpPorts: message.config.tcpPortRange }, "worker ready");
      post({ type: "ready" });
      break;
    }
    case "open": {
      const session = new ForwardedSession(message.session, message.pipe);
      sessions.set(message.session, session);
      sfu!.open(session, message.session);
      break;
    }
    case "message": {
      const session = sessions.get(message.session);
      if (session === undefined) post({ type: "handled", seq: message.seq });
      else void handle(session, message.seq, message.message);
      break;
    }
    case "closed": {
      const session = sessions.get(message.session);
      sessions.delete(message.session);
      if (session !== undefined) sfu!.closed(session.participantId, session);
      break;
    }
    case "snapshot": {
      const { media } = sfu!;
      const cpu = process.cpuUsage();
      const own = { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: process.memoryUsage.rss(), eventLoopDelayP99Seconds: loopDelay.percentile(99) / 1e9 };
      loopDelay.reset();
      post({ type: "snapshot", seq: message.seq, snapshot: { stats: sfu!.stats(), media, kindCounts: sfu!.kindCounts(), connectionStates: [...sfu!.connectionStates()], process: own } });
      break;
    }
    case "admin":
      post({ type: "admin-reply", seq: message.seq, result: sfu!.admin(message.grants, message.request) });
      break;
    case "whip":
      void runWhip(message.seq, message.call);
      break;
    case "origin-of": {
      const origin = sfu!.originOf(message.participantId);
      post(origin === undefined ? { type: "origin", seq: message.seq } : { type: "origin", seq: message.seq, origin });
      break;
    }
    case "pipe-open":
      pipes.set(message.pipe, sfu!.openPipe(message.room, message.origin, message.name, pipeChannel(message.pipe)));
      break;
    case "pipe-receive":
      pipes.get(message.pipe)?.receive(message.message);
      break;
    case "pipe-sent": {
      const settle = pipeSends.get(message.seq);
      pipeSends.delete(message.seq);
      settle?.(message.error);
      break;
    }
    case "pipe-ended": {
      const end = pipes.get(message.pipe);
      pipes.delete(message.pipe);
      end?.ended(message.reason);
      break;
    }
    case "pipe-close":
      pipes.get(message.pipe)?.close(); // it leaves the other node's room, then its channel says pipe-closed
      break;
    case "stop":
      // Exits once "stopped" is written: an exit with IPC writes pending would drop them (the last log lines).
      void sfu!.close().then(() => process.send!({ type: "stopped" } satisfies FromWorker, undefined, {}, () => process.exit(0)));
      break;
  }
}

// Without the primary there is nobody to speak for: its rooms' clients have lost their WebSockets anyway.
process.on("disconnect", () => process.exit(0));
// A signal to the whole process group (Ctrl-C, npm start stopping the relay, systemd's default
// KillMode=control-group) is the primary's to act on: it drains the sessions, then stops the workers.
// A worker that exited at once would be taken for a crash: its rooms closed 1012 and a worker restarted.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});
