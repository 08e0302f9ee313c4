/** A token bucket: `capacity` messages at once, refilled at `perSecond`. Time is passed in (ms). */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  private readonly capacity: number;
  private readonly perSecond: number;

  constructor(capacity: number, perSecond: number) {
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.tokens = capacity;
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
