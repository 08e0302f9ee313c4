/**
 * RED payloads (RFC 2198, `audio/red` with Opus as in Chromium): a container of blocks, oldest first.
 * Each redundant block has a 4-byte header, the primary (this packet's own frame) a 1-byte one, and
 * the blocks' data follows in the same order:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |1|   block PT  |  timestamp offset         |   block length    |  redundant block
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0|   block PT  |                                                  primary
 *   +-+-+-+-+-+-+-+-+
 *
 * The relay never decodes the Opus frames inside: it reads and rewrites only the container, as it does
 * VP8's payload descriptor. A subscriber that negotiated RED gets the publisher's RED (the block payload
 * types renumbered to its own Opus), one that did not gets the primary block as plain Opus.
 */

/** The primary block's bytes (a view, no copy), or undefined when the payload is not well-formed RED. */
export function redPrimary(payload: Buffer): Buffer | undefined {
  const at = primaryHeaderOffset(payload);
  if (at === undefined) return undefined;
  let start = at + 1;
  for (let i = 0; i < at; i += 4) start += ((payload[i + 2]! & 0x03) << 8) | payload[i + 3]!;
  // An empty primary carries no frame (an Opus packet has at least its TOC byte).
  return start < payload.length ? payload.subarray(start) : undefined;
}

/**
 * The payload with every block's payload type set to `payloadType`: the payload itself when they all
 * are already (no copy), else a copy; undefined when it is not well-formed RED.
 */
export function withRedBlockPayloadType(payload: Buffer, payloadType: number): Buffer | undefined {
  const at = primaryHeaderOffset(payload);
  if (at === undefined || redPrimary(payload) === undefined) return undefined;
  let copy: Buffer | undefined;
  for (let i = 0; i <= at; i += 4) {
    if ((payload[i]! & 0x7f) === payloadType) continue;
    copy ??= Buffer.from(payload);
    copy[i] = (payload[i]! & 0x80) | payloadType;
  }
  return copy ?? payload;
}

/** A plain frame as a RED payload of that one primary block (RFC 2198 allows a packet without redundancy). */
export function asRedPayload(frame: Buffer, payloadType: number): Buffer {
  const out = Buffer.allocUnsafe(1 + frame.length);
  out[0] = payloadType & 0x7f;
  out.set(frame, 1);
  return out;
}

/** Where the primary block's 1-byte header is (after every 4-byte one), or undefined if cut short. */
function primaryHeaderOffset(payload: Uint8Array): number | undefined {
  let i = 0;
  while (i < payload.length && (payload[i]! & 0x80) !== 0) i += 4;
  return i < payload.length ? i : undefined;
}
