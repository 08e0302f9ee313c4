/**
 * Does this RTP payload start a key frame? Pure byte inspection of one packet's payload (the bytes after
 * the RTP header and its extensions, padding removed), for VP8, VP9 and H264.
 *
 * The answer is true only for the first packet of a frame that a decoder can start from; every other
 * packet, every unknown codec, audio, and every truncated or malformed payload gives false. Nothing here
 * throws: every read is bounds-checked first.
 */

/** The codec MIME types this module understands, lower-cased. */
const VP8 = "video/vp8";
const VP9 = "video/vp9";
const H264 = "video/h264";

/**
 * True when `payload` is the first RTP packet of a key frame of `codecMime` ("video/VP8", "video/VP9",
 * "video/H264"; case-insensitive). Unknown codecs and audio give false.
 */
export function isKeyframeStart(codecMime: string, payload: Uint8Array): boolean {
  switch (codecMime.trim().toLowerCase()) {
    case VP8:
      return isVp8KeyframeStart(payload);
    case VP9:
      return isVp9KeyframeStart(payload);
    case H264:
      return isH264KeyframeStart(payload);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// VP8 (RFC 7741)
// ---------------------------------------------------------------------------------------------

/**
 * Payload descriptor:
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL, second byte when M = 1: 15-bit PictureID)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL, one byte when T or K is set)
 *       +-+-+-+-+-+-+-+-+
 *
 * Then, in the first packet of partition 0 (S = 1, PID = 0), the VP8 payload header: a 3-byte frame
 * tag whose lowest bit P is 0 on key frames, followed on key frames by the start code 9d 01 2a
 * (RFC 6386 section 9.1). The start code is checked too, so random bytes with a 0 bit do not count.
 */
function isVp8KeyframeStart(p: Uint8Array): boolean {
  if (p.length < 1) return false;
  const b0 = p[0]!;
  const start = (b0 & 0x10) !== 0;
  const partitionId = b0 & 0x07;
  if (!start || partitionId !== 0) return false;

  let offset = 1;
  if (b0 & 0x80) {
    // X: extension byte.
    if (offset >= p.length) return false;
    const ext = p[offset]!;
    offset += 1;
    if (ext & 0x80) {
      // I: PictureID, 7 or 15 bits (M bit).
      if (offset >= p.length) return false;
      offset += p[offset]! & 0x80 ? 2 : 1;
    }
    if (ext & 0x40) offset += 1; // L: TL0PICIDX
    if (ext & 0x30) offset += 1; // T or K: TID/Y/KEYIDX
  }

  // VP8 payload header: frame tag (3 bytes) + key frame start code (3 bytes).
  if (offset + 6 > p.length) return false;
  const inverseKeyFrame = p[offset]! & 0x01; // P bit: 0 = key frame
  if (inverseKeyFrame !== 0) return false;
  return p[offset + 3] === 0x9d && p[offset + 4] === 0x01 && p[offset + 5] === 0x2a;
}

// ---------------------------------------------------------------------------------------------
// VP9 (RFC 9628, formerly draft-ietf-payload-vp9)
// ---------------------------------------------------------------------------------------------

/**
 * Payload descriptor:
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |I|P|L|F|B|E|V|Z| (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PICTURE ID  | (second byte when M = 1: 15-bit picture id)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |  TID  |U| SID |D| (one byte; plus TL0PICIDX when F = 0, the non-flexible mode)
 *       +-+-+-+-+-+-+-+-+
 *  F&P: | P_DIFF      |N| (up to 3 bytes, N = another follows) - never present on key frames (P = 0)
 *       +-+-+-+-+-+-+-+-+
 *  V:   scalability structure (SS)
 *
 * A key frame starts where B = 1 (first packet of a layer frame), P = 0 (no inter-picture prediction),
 * and the spatial layer is 0 (SID = 0, or no layer indices). The payload after the descriptor must then
 * begin a VP9 uncompressed header (frame marker 0b10) that is not show_existing_frame and has
 * frame_type = KEY_FRAME, which rules out intra-only frames and garbage.
 */
function isVp9KeyframeStart(p: Uint8Array): boolean {
  if (p.length < 1) return false;
  const b0 = p[0]!;
  const hasPictureId = (b0 & 0x80) !== 0;
  const interPredicted = (b0 & 0x40) !== 0;
  const hasLayerIndices = (b0 & 0x20) !== 0;
  const flexible = (b0 & 0x10) !== 0;
  const beginsFrame = (b0 & 0x08) !== 0;
  const hasScalabilityStructure = (b0 & 0x02) !== 0;
  if (!beginsFrame || interPredicted) return false;

  let offset = 1;
  if (hasPictureId) {
    if (offset >= p.length) return false;
    offset += p[offset]! & 0x80 ? 2 : 1;
  }
  if (hasLayerIndices) {
    if (offset >= p.length) return false;
    const spatialId = (p[offset]! >> 1) & 0x07;
    if (spatialId !== 0) return false;
    offset += flexible ? 1 : 2; // non-flexible mode adds TL0PICIDX
  }
  // P = 0, so no P_DIFF bytes even in flexible mode.
  if (hasScalabilityStructure) {
    if (offset >= p.length) return false;
    const ss = p[offset]!;
    offset += 1;
    const spatialLayers = (ss >> 5) + 1; // N_S + 1
    const hasResolutions = (ss & 0x10) !== 0; // Y
    const hasPictureGroup = (ss & 0x08) !== 0; // G
    if (hasResolutions) offset += 4 * spatialLayers; // WIDTH (16) + HEIGHT (16) per layer
    if (hasPictureGroup) {
      if (offset >= p.length) return false;
      const pictures = p[offset]!; // N_G
      offset += 1;
      for (let i = 0; i < pictures; i++) {
        if (offset >= p.length) return false;
        const references = (p[offset]! >> 2) & 0x03; // R
        offset += 1 + references;
      }
    }
  }

  // VP9 uncompressed header (VP9 bitstream spec 6.2), all within its first byte.
  if (offset >= p.length) return false;
  const h = p[offset]!;
  if (h >> 6 !== 0b10) return false; // frame_marker
  const profile = ((h >> 5) & 1) | (((h >> 4) & 1) << 1); // profile_low_bit, profile_high_bit
  let bit = 3; // next bit, counted from the most significant (7 = MSB) downwards
  if (profile === 3) {
    if ((h >> bit) & 1) return false; // reserved_zero
    bit -= 1;
  }
  if ((h >> bit) & 1) return false; // show_existing_frame: no frame data follows
  bit -= 1;
  return ((h >> bit) & 1) === 0; // frame_type: 0 = KEY_FRAME
}

// ---------------------------------------------------------------------------------------------
// H264 (RFC 6184)
// ---------------------------------------------------------------------------------------------

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

function isKeyNalType(type: number): boolean {
  return type === NAL_IDR || type === NAL_SPS;
}

/**
 * NAL unit header: |F|NRI|Type(5)|. A key frame starts with an SPS (7) or, without in-band parameter
 * sets, an IDR slice (5), in any packetization of the non-interleaved mode:
 * - a single NAL unit packet of type 5 or 7 (with at least one byte after its header);
 * - a STAP-A (24): header byte, then [16-bit size][NAL unit] repeated; true when it is well formed and
 *   one of its NAL units is an IDR or SPS;
 * - an FU-A (28): header byte, FU header |S|E|R|Type(5)|; true for the start fragment (S = 1, E = 0)
 *   of an IDR or SPS.
 * Packets with the forbidden F bit set are treated as malformed.
 */
function isH264KeyframeStart(p: Uint8Array): boolean {
  if (p.length < 2) return false;
  const header = p[0]!;
  if (header & 0x80) return false; // forbidden_zero_bit
  const type = header & 0x1f;

  if (type >= 1 && type <= 23) return isKeyNalType(type);

  if (type === NAL_STAP_A) {
    let offset = 1;
    let key = false;
    let units = 0;
    while (offset < p.length) {
      if (offset + 2 > p.length) return false;
      const size = (p[offset]! << 8) | p[offset + 1]!;
      offset += 2;
      if (size === 0 || offset + size > p.length) return false;
      const nal = p[offset]!;
      if (nal & 0x80) return false;
      if (size >= 2 && isKeyNalType(nal & 0x1f)) key = true;
      offset += size;
      units += 1;
    }
    return units > 0 && key;
  }

  if (type === NAL_FU_A) {
    if (p.length < 3) return false; // FU indicator, FU header, at least one byte of fragment
    const fu = p[1]!;
    const start = (fu & 0x80) !== 0;
    const end = (fu & 0x40) !== 0;
    if (!start || end) return false; // S and E together are forbidden (RFC 6184 5.8)
    return isKeyNalType(fu & 0x1f);
  }

  return false; // 0, STAP-B, MTAP16/24, FU-B, reserved: not used by WebRTC
}
