/**
 * Delivers webhook bodies to one URL (docs/api.md): in order (one POST at a time, the next only after
 * the previous succeeded or was given up), signed as LiveKit signs them (an HS256 JWT in the
 * Authorization header whose `sha256` claim is the base64 SHA-256 of the body), retried with
 * exponential back-off on a network error or a non-2xx reply, then logged and dropped. Nothing here
 * waits on media or signaling: `send` only queues. `close` releases every timer and request.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { SignJWT } from "jose";
import type { SigningKey } from "../signal/access-token.ts";

export interface RetryPolicy {
  /** Attempts per event, the first included. */
  attempts: number;
  /** Wait before the second attempt; doubled for each next one. */
  firstDelayMs: number;
  /** A POST not answered within this is a failed attempt. */
  timeoutMs: number;
  /** Events waiting beyond this are dropped (logged): a receiver that is down must not grow the relay's memory. */
  maxQueued: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 500, timeoutMs: 5000, maxQueued: 1000 };

export class WebhookSender {
  readonly #url: string;
  readonly #key: SigningKey;
  readonly #log: Logger;
  readonly #retry: RetryPolicy;
  readonly #queue: string[] = [];
  readonly #stopped = new AbortController();
  /** The delivery loop, while it runs (it stops when the queue is empty). */
  #running: Promise<void> | undefined;
  /** Ends the back-off under way early (close). */
  #wakeBackoff: (() => void) | undefined;

  constructor(url: string, key: SigningKey, log: Logger, retry: RetryPolicy = DEFAULT_RETRY) {
    this.#url = url;
    this.#key = key;
    this.#log = log.child({ webhook: url });
    this.#retry = retry;
  }

  /** Queues one JSON body; returns at once. */
  send(body: string): void {
    if (this.#stopped.signal.aborted) return;
    if (this.#queue.length >= this.#retry.maxQueued) {
      this.#log.error({ queued: this.#queue.length }, "webhook queue full (the receiver is not keeping up): event dropped");
      return;
    }
    this.#queue.push(body);
    this.#running ??= this.#deliverAll().finally(() => (this.#running = undefined));
  }

  /**
   * Stops: waits up to `flushMs` for what is queued to be delivered (retries included), then aborts
   * the request in flight and a back-off under way, and drops the rest (logged). No timer or socket is left.
   */
  async close(flushMs = 0): Promise<void> {
    if (flushMs > 0 && this.#running !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#running, new Promise<void>((r) => (timer = setTimeout(r, flushMs)))]);
      clearTimeout(timer);
    }
    this.#stopped.abort();
    this.#wakeBackoff?.();
    await this.#running;
    if (this.#queue.length > 0) this.#log.warn({ events: this.#queue.length }, "relay stopping: webhook events not delivered");
    this.#queue.length = 0;
  }

  async #deliverAll(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped.signal.aborted) {
      const body = this.#queue[0]!;
      if (await this.#deliver(body)) this.#queue.shift();
      else if (!this.#stopped.signal.aborted) {
        this.#queue.shift();
        this.#log.error({ attempts: this.#retry.attempts, event: eventName(body) }, "webhook event dropped: every attempt failed");
      }
    }
  }

  /** Whether one of the attempts got a 2xx. */
  async #deliver(body: string): Promise<boolean> {
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      if (attempt > 1 && !(await this.#wait(this.#retry.firstDelayMs * 2 ** (attempt - 2)))) return false;
      const failure = await this.#post(body);
      if (failure === undefined) return true;
      if (this.#stopped.signal.aborted) return false;
      this.#log.warn({ attempt, of: this.#retry.attempts, failure, event: eventName(body) }, "webhook POST failed; retrying after a back-off");
    }
    return false;
  }

  /** Undefined on a 2xx, else what went wrong. */
  async #post(body: string): Promise<string | undefined> {
    try {
      const res = await fetch(this.#url, {
        method: "POST",
        // LiveKit's receivers take the token without a scheme (their WebhookReceiver verifies the header as is).
        headers: { "content-type": "application/webhook+json", authorization: await this.#sign(body) },
        body,
        signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#retry.timeoutMs)]),
      });
      await res.arrayBuffer(); // read it to the end, so the connection is reused (or released)
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (e) {
      return (e as Error).message;
    }
  }

  #sign(body: string): Promise<string> {
    return new SignJWT({ sha256: createHash("sha256").update(body).digest("base64") })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(this.#key.id)
      .setNotBefore("0s")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(this.#key.secret));
  }

  /** Waits `ms`; false when close() cut it short. */
  #wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakeBackoff = undefined;
        resolve(!this.#stopped.signal.aborted);
      };
      const timer = setTimeout(wake, ms);
      this.#wakeBackoff = wake;
    });
  }
}

function eventName(body: string): string {
  return (JSON.parse(body) as { event: string }).event;
}
