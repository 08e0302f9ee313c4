/**
 * Dynacast on the publishing side: the relay's `layers-wanted` says which simulcast layers of a track
 * anyone receives; the others stop being encoded (`encoding.active = false`) and start again as soon as
 * they are wanted. A layer is paused only after it has been unwanted for PAUSE_DELAY_MS: toggling an
 * encoding makes Chromium reconfigure its encoder and send keyframes on every layer, whose bursts make
 * the other subscribers' bandwidth estimates dip, so a subscriber flipping quality back and forth must
 * not toggle the publisher's encoder each time.
 */

export const PAUSE_DELAY_MS = 3_000;

export class Dynacast {
  /** rids wanted per track id (the latest `layers-wanted`, which may come before the publish completes). */
  readonly #wanted = new Map<string, string[]>();
  /** When each (track, rid) stopped being wanted. */
  readonly #unwantedSince = new Map<string, Map<string, number>>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly senderOf: (trackId: string) => RTCRtpSender | undefined) {}

  /** The relay's `layers-wanted` for a track. Resolves once the encodings are updated. */
  set(trackId: string, rids: string[], now = Date.now()): Promise<void> {
    this.#wanted.set(trackId, rids);
    let since = this.#unwantedSince.get(trackId);
    if (!since) this.#unwantedSince.set(trackId, (since = new Map()));
    for (const rid of rids) since.delete(rid);
    for (const rid of this.#rids(trackId)) if (!rids.includes(rid) && !since.has(rid)) since.set(rid, now);
    return this.apply(trackId);
  }

  /** Applies the wanted layers to the track's sender (again), e.g. once its publish completed. */
  apply(trackId: string): Promise<void> {
    // getParameters/setParameters pairs must not interleave: one at a time.
    const run = this.#queue.then(() => this.#apply(trackId));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  has(trackId: string): boolean {
    return this.#wanted.has(trackId);
  }

  forget(trackId: string): void {
    this.#wanted.delete(trackId);
    this.#unwantedSince.delete(trackId);
    clearTimeout(this.#timers.get(trackId));
    this.#timers.delete(trackId);
  }

  clear(): void {
    for (const trackId of [...this.#wanted.keys()]) this.forget(trackId);
  }

  #rids(trackId: string): string[] {
    return (this.senderOf(trackId)?.getParameters().encodings ?? []).map((e) => e.rid ?? "").filter(Boolean);
  }

  async #apply(trackId: string): Promise<void> {
    const rids = this.#wanted.get(trackId);
    const sender = this.senderOf(trackId);
    if (!sender || rids === undefined) return;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    const since = this.#unwantedSince.get(trackId) ?? new Map<string, number>();
    const now = Date.now();
    let next = Infinity;
    let changed = false;
    for (const encoding of params.encodings) {
      const rid = encoding.rid;
      if (rid !== undefined && !rids.includes(rid) && !since.has(rid)) since.set(rid, now); // sender appeared after the message
      const pauseAt = rid === undefined || rids.includes(rid) ? Infinity : since.get(rid)! + PAUSE_DELAY_MS;
      const active = pauseAt > now;
      if (active && pauseAt < next) next = pauseAt;
      if (encoding.active !== active) {
        encoding.active = active;
        changed = true;
      }
    }
    clearTimeout(this.#timers.get(trackId));
    this.#timers.delete(trackId);
    if (next < Infinity) this.#timers.set(trackId, setTimeout(() => void this.apply(trackId).catch(() => undefined), next - now));
    if (changed) await sender.setParameters(params);
  }
}
