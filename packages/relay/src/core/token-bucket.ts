/** A token bucket: `capacity` messages at once, refilled at `perSecond`. Time is passed in (ms). */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  private capacity: number;
  private perSecond: number;

  constructor(capacity: number, perSecond: number) {
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.tokens = capacity;
  }

  /** New limits from now on (tokens held stay, up to the new capacity). */
  setRate(nowMs: number, capacity: number, perSecond: number): void {
    this.take(nowMs, 0); // refill at the old rate up to now
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.tokens = Math.min(this.tokens, capacity);
  }

  /** Takes `amount` tokens if there are that many (the bucket may go no lower than empty). */
  take(nowMs: number, amount = 1): boolean {
    if (this.last !== undefined) {
      this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.last) * this.perSecond) / 1000);
    }
    this.last = nowMs;
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}
