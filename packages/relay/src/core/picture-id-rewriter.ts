/**
 * VP8 frame numbering continuity for one subscription: the payload descriptor's 15-bit PictureID and
 * 8-bit TL0PICIDX (RFC 7741), kept continuous across simulcast layer switches as SequenceRewriter keeps
 * seq and timestamp.
 *
 * Why: Chromium's receiver uses the PictureID as the frame id and TL0PICIDX to find a delta frame's
 * references, and each simulcast layer numbers its frames on its own; Chromium gives its low and
 * middle layers even the same numbers for the same captured frame. Forwarded untouched, the new
 * layer's keyframe after a switch can carry the id of an old-layer frame the receiver still holds:
 * the keyframe is dropped as a duplicate, the new layer's delta frames are decoded against the old
 * layer's pictures, and the subscriber keeps the old size until some later keyframe (none comes
 * unless someone asks). Rule: within a layer, output = input + offset (mod 2^15, mod 2^8); the first
 * frame of a new layer (a keyframe, so a base-layer frame) gets the newest PictureID and TL0PICIDX
 * sent so far, plus one. -1 means the packet has no such field (other codecs, 7-bit PictureIDs).
 */

const PICTURE_ID_MASK = 0x7fff;
const TL0_MASK = 0xff;

export class PictureIdRewriter {
  /** Output PictureID of the last packet given to `rewrite` (-1: none). */
  pictureId = -1;
  /** Output TL0PICIDX of the last packet given to `rewrite` (-1: none). */
  tl0PicIdx = -1;

  /** The next packet given to `rewrite` is the first of a new layer: choose new offsets. */
  private resync = true;
  private pictureIdOffset = 0;
  private tl0Offset = 0;
  /** The newest output values sent (wrap-aware), -1 before any. */
  private newestPictureId = -1;
  private newestTl0 = -1;

  /** The next packet is the first of a new layer (a keyframe of it). */
  startLayer(): void {
    this.resync = true;
  }

  /** Maps one forwarded packet's fields; the output values are in `pictureId` and `tl0PicIdx`. */
  rewrite(pictureId: number, tl0PicIdx: number): void {
    if (this.resync) {
      this.resync = false;
      this.pictureIdOffset = pictureId < 0 || this.newestPictureId < 0 ? 0 : (this.newestPictureId + 1 - pictureId) & PICTURE_ID_MASK;
      this.tl0Offset = tl0PicIdx < 0 || this.newestTl0 < 0 ? 0 : (this.newestTl0 + 1 - tl0PicIdx) & TL0_MASK;
    }
    this.pictureId = pictureId < 0 ? -1 : (pictureId + this.pictureIdOffset) & PICTURE_ID_MASK;
    this.tl0PicIdx = tl0PicIdx < 0 ? -1 : (tl0PicIdx + this.tl0Offset) & TL0_MASK;
    if (this.pictureId >= 0 && isNewer(this.pictureId, this.newestPictureId, PICTURE_ID_MASK)) this.newestPictureId = this.pictureId;
    if (this.tl0PicIdx >= 0 && isNewer(this.tl0PicIdx, this.newestTl0, TL0_MASK)) this.newestTl0 = this.tl0PicIdx;
  }
}

/** a comes after b in a wrapping counter (mask + 1 values); anything is newer than -1 (none yet). */
function isNewer(a: number, b: number, mask: number): boolean {
  if (b < 0) return true;
  const ahead = (a - b) & mask;
  return ahead !== 0 && ahead <= mask >> 1;
}
