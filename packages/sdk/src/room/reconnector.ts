/**
 * The back-off of automatic reconnection, LiveKit's: after the connection is lost, attempts start 0,
 * 300, 1200, 2700 and 4800 ms after the previous one failed, then every 7 s, with up to 1 s of random
 * jitter from the third attempt on (so the clients of a restarted relay do not all come back in the
 * same instant), until `timeoutMs` after the loss. One attempt at a time; cancel() stops at once.
 * What an attempt does (resume, rejoin) is the Room's; this file owns only when and how often.
 */
export const RECONNECT_DELAYS_MS: readonly number[] = [0, 300, 1200, 2700, 4800];
export const MAX_RECONNECT_DELAY_MS = 7_000;
export const RECONNECT_JITTER_MS = 1_000;
/** Default of ConnectOptions.reconnectTimeoutMs. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 60_000;

/** Time, injectable so the schedule can be tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/** The wait before attempt `index` (0 for the first attempt). */
export function reconnectDelay(index: number, random: () => number): number {
  const base = RECONNECT_DELAYS_MS[index] ?? MAX_RECONNECT_DELAY_MS;
  return index < 2 ? base : base + Math.floor(random() * RECONNECT_JITTER_MS);
}

export interface ReconnectorOptions {
  /** Give up when the next attempt would start later than this after start() (ms). */
  timeoutMs: number;
  /** Attempt `n` (from 1), with the time left before giving up; resolves when back, rejects when it failed. */
  attempt(n: number, remainingMs: number): Promise<void>;
  /** A failure no later attempt can change (a refusal): give up at once. */
  isFinal(error: unknown): boolean;
  /** Attempt `n` starts. */
  onAttempt(n: number): void;
  /** No more attempts: `lastError` is what the last one failed with. */
  onGiveUp(lastError: unknown, attempts: number): void;
  clock?: Clock;
}

export class Reconnector {
  readonly #options: ReconnectorOptions;
  readonly #clock: Clock;
  #startedAt = 0;
  #attempts = 0;
  #timer: unknown;
  #stopped = false;

  constructor(options: ReconnectorOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
  }

  start(): void {
    this.#startedAt = this.#clock.now();
    this.#schedule(undefined);
  }

  /** Stops: no further attempt starts, and the outcome of one under way is ignored. */
  cancel(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(lastError: unknown): void {
    const delay = reconnectDelay(this.#attempts, this.#clock.random);
    const elapsed = this.#clock.now() - this.#startedAt;
    if (this.#attempts > 0 && elapsed + delay > this.#options.timeoutMs) {
      this.#giveUp(lastError);
      return;
    }
    this.#timer = this.#clock.setTimeout(() => void this.#run(), delay);
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const n = ++this.#attempts;
    this.#options.onAttempt(n);
    if (this.#stopped) return; // a listener of the attempt's event cancelled
    const remaining = Math.max(0, this.#options.timeoutMs - (this.#clock.now() - this.#startedAt));
    try {
      await this.#options.attempt(n, remaining);
      this.#stopped = true;
    } catch (e) {
      if (this.#stopped) return;
      if (this.#options.isFinal(e)) this.#giveUp(e);
      else this.#schedule(e);
    }
  }

  #giveUp(lastError: unknown): void {
    this.#stopped = true;
    this.#options.onGiveUp(lastError, this.#attempts);
  }
}
