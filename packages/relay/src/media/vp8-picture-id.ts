/**
 * The frame numbering in a VP8 payload descriptor (RFC 7741 section 4.2): the PictureID and the
 * TL0PICIDX. Read from each publisher packet for the core, which keeps both continuous per subscriber
 * across simulcast layer switches (core/picture-id-rewriter.ts says why), and written back into a copy
 * of the payload for that subscriber. Only 15-bit PictureIDs are handled (libwebrtc, so Chromium and
 * Firefox, always sends 15 bits); a 7-bit one is reported as absent and left alone.
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID |   byte 0
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   |   byte 1
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   |   bytes 2-3 (M = 1: 15 bits)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   |
 *       +-+-+-+-+-+-+-+-+
 */

/** Where the frame numbering goes: the core's RTP input. */
export interface Vp8PictureFields {
  /** 15-bit PictureID, -1 when absent. */
  pictureId: number;
  /** TL0PICIDX, -1 when absent. */
  tl0PicIdx: number;
}

const VP8_MIME = /^video\/vp8$/i;

/** Fills `into` from the payload of a packet of `codecMime`; -1 for each field absent (and for non-VP8). */
export function readVp8PictureFields(codecMime: string, payload: Uint8Array, into: Vp8PictureFields): void {
  const vp8 = VP8_MIME.test(codecMime); // per packet: no lower-cased copy of the string
  const pictureIdAt = vp8 ? pictureIdOffset(payload) : -1;
  const tl0At = vp8 ? tl0Offset(payload) : -1;
  into.pictureId = pictureIdAt < 0 ? -1 : ((payload[pictureIdAt]! & 0x7f) << 8) | payload[pictureIdAt + 1]!;
  into.tl0PicIdx = tl0At < 0 ? -1 : payload[tl0At]!;
}

/**
 * The last copy made, for the next subscriber of the same packet: subscribers that switched layers at
 * the same keyframe get the same values, and then share one copy instead of one each. Copies are never
 * written after they are made, so sharing them is safe.
 */
let lastCopy: { source: Buffer; pictureId: number; tl0PicIdx: number; copy: Buffer } | undefined;

/**
 * The payload with its PictureID and TL0PICIDX set to these values (-1: keep the field): the same
 * object when nothing changes, else a copy (the original may be sent to other subscribers, and the
 * sender keeps what it sent for retransmission).
 */
export function withVp8PictureFields(payload: Buffer, pictureId: number, tl0PicIdx: number): Buffer {
  if (lastCopy !== undefined && lastCopy.source === payload && lastCopy.pictureId === pictureId && lastCopy.tl0PicIdx === tl0PicIdx) {
    return lastCopy.copy;
  }
  const pictureIdAt = pictureId < 0 ? -1 : pictureIdOffset(payload);
  const tl0At = tl0PicIdx < 0 ? -1 : tl0Offset(payload);
  const samePictureId = pictureIdAt < 0 || (((payload[pictureIdAt]! & 0x7f) << 8) | payload[pictureIdAt + 1]!) === pictureId;
  const sameTl0 = tl0At < 0 || payload[tl0At] === tl0PicIdx;
  if (samePictureId && sameTl0) return payload;
  const copy = Buffer.from(payload);
  if (pictureIdAt >= 0) {
    copy[pictureIdAt] = 0x80 | ((pictureId >> 8) & 0x7f);
    copy[pictureIdAt + 1] = pictureId & 0xff;
  }
  if (tl0At >= 0) copy[tl0At] = tl0PicIdx & 0xff;
  lastCopy = { source: payload, pictureId, tl0PicIdx, copy };
  return copy;
}

/** Offset of a 15-bit PictureID (two bytes), or -1. */
function pictureIdOffset(p: Uint8Array): number {
  if (p.length < 4 || (p[0]! & 0x80) === 0 || (p[1]! & 0x80) === 0 || (p[2]! & 0x80) === 0) return -1;
  return 2;
}

/** Offset of the TL0PICIDX byte, or -1. */
function tl0Offset(p: Uint8Array): number {
  if (p.length < 2 || (p[0]! & 0x80) === 0 || (p[1]! & 0x40) === 0) return -1;
  let at = 2;
  if (p[1]! & 0x80) {
    if (p.length <= at) return -1;
    at += p[at]! & 0x80 ? 2 : 1;
  }
  return at < p.length ? at : -1;
}
