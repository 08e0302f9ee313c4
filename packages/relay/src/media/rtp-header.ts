/** Wrap-aware arithmetic on RTP sequence numbers (16 bits) and timestamps (32 bits), RFC 3550. */

/** Signed distance from `b` to `a` in 16-bit sequence space, in [-32768, 32767]: > 0 when `a` is newer. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** True when sequence number `a` comes after `b`, across the 65535 -> 0 wrap. Exactly half a cycle apart: neither is newer. */
export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** Signed distance from `b` to `a` in 32-bit timestamp space: > 0 when `a` is later. */
export function timestampDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when RTP timestamp `a` is later than `b`, across the 2^32 wrap (half a cycle apart: neither). */
export function timestampNewer(a: number, b: number): boolean {
  return timestampDiff(a, b) > 0;
}
