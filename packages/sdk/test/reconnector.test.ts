import { describe, expect, it } from "vitest";
import { type Clock, MAX_RECONNECT_DELAY_MS, RECONNECT_JITTER_MS, reconnectDelay, Reconnector } from "../src/room/reconnector.ts";

/** A clock that runs timers only when told to (advance), in time order. */
class ManualClock implements Clock {
  time = 0;
  #timers: Array<{ at: number; run: () => void; id: number }> = [];
  #nextId = 1;
  constructor(private readonly jitter = 0.5) {}
  now = () => this.time;
  random = () => this.jitter;
  setTimeout = (run: () => void, ms: number) => {
    const id = this.#nextId++;
    this.#timers.push({ at: this.time + ms, run, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  };
  /** Runs the next timer (jumping the clock to it); false when none is pending. */
  async fireNext(): Promise<boolean> {
    this.#timers.sort((a, b) => a.at - b.at);
    const next = this.#timers.shift();
    if (!next) return false;
    this.time = next.at;
    next.run();
    for (let i = 0; i < 5; i++) await Promise.resolve(); // the attempt's promise settles
    return true;
  }
}

function failing(clock: ManualClock, timeoutMs: number, isFinal = (_e: unknown) => false) {
  const started: number[] = [];
  const gaveUp: Array<{ error: unknown; attempts: number }> = [];
  const reconnector = new Reconnector({
    timeoutMs,
    clock,
    attempt: (n) => Promise.reject(new Error(`attempt ${n} failed`)),
    isFinal,
    onAttempt: () => started.push(clock.time),
    onGiveUp: (error, attempts) => gaveUp.push({ error, attempts }),
  });
  return { reconnector, started, gaveUp };
}

describe("Reconnector", () => {
  it("waits 0, 300, 1200, 2700, 4800 ms, then 7 s between attempts, with jitter from the third on", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => reconnectDelay(i, () => 0))).toEqual([0, 300, 1200, 2700, 4800, 7000, 7000]);
    expect(reconnectDelay(1, () => 0.99)).toBe(300);
    expect(reconnectDelay(2, () => 0.99)).toBe(1200 + Math.floor(0.99 * RECONNECT_JITTER_MS));
    expect(reconnectDelay(9, () => 0.5)).toBe(MAX_RECONNECT_DELAY_MS + 500);
  });

  it("keeps trying until the next attempt would start after the timeout, then gives up with the last error", async () => {
    const clock = new ManualClock(0);
    const { reconnector, started, gaveUp } = failing(clock, 20_000);
    reconnector.start();
    while (await clock.fireNext());
    // 0, +300, +1200, +2700, +4800, +7000 = 16000; the next (+7000) would be at 23000 > 20000.
    expect(started).toEqual([0, 300, 1500, 4200, 9000, 16000]);
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]!.attempts).toBe(6);
    expect((gaveUp[0]!.error as Error).message).toBe("attempt 6 failed");
  });

  it("gives up at once on a final error", async () => {
    const clock = new ManualClock();
    const { reconnector, started, gaveUp } = failing(clock, 60_000, () => true);
    reconnector.start();
    while (await clock.fireNext());
    expect(started).toEqual([0]);
    expect(gaveUp.map((g) => g.attempts)).toEqual([1]);
  });

  it("stops after a successful attempt", async () => {
    const clock = new ManualClock();
    const outcomes = [false, false, true];
    const started: number[] = [];
    const reconnector = new Reconnector({
      timeoutMs: 60_000,
      clock,
      attempt: (n) => (outcomes[n - 1] ? Promise.resolve() : Promise.reject(new Error("no"))),
      isFinal: () => false,
      onAttempt: (n) => started.push(n),
      onGiveUp: () => expect.fail("gave up"),
    });
    reconnector.start();
    while (await clock.fireNext());
    expect(started).toEqual([1, 2, 3]);
  });

  it("cancel() stops waiting and ignores the attempt under way", async () => {
    const clock = new ManualClock();
    let fail!: (e: Error) => void;
    const started: number[] = [];
    const reconnector = new Reconnector({
      timeoutMs: 60_000,
      clock,
      attempt: () => new Promise((_resolve, reject) => (fail = reject)),
      isFinal: () => false,
      onAttempt: (n) => started.push(n),
      onGiveUp: () => expect.fail("gave up after cancel"),
    });
    reconnector.start();
    await clock.fireNext();
    reconnector.cancel();
    fail(new Error("late"));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(await clock.fireNext()).toBe(false);
    expect(started).toEqual([1]);
  });
});
