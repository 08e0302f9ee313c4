/** Small statistics helpers. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A bounded sample buffer of numbers (keeps the first `limit`, counts the rest). */
export class Samples {
  private values: number[] = [];
  count = 0;
  constructor(private readonly limit = 200_000) {}
  add(v: number): void {
    this.count++;
    if (this.values.length < this.limit) this.values.push(v);
  }
  reset(): void {
    this.values = [];
    this.count = 0;
  }
  summary(): { count: number; p50: number; p99: number; max: number; mean: number } {
    const v = this.values;
    return {
      count: this.count,
      p50: quantile(v, 0.5),
      p99: quantile(v, 0.99),
      max: v.length ? v.reduce((a, b) => (b > a ? b : a), -Infinity) : NaN,
      mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN,
    };
  }
}
