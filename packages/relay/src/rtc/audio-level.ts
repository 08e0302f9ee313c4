/**
 * The `ssrc-audio-level` header extension (RFC 6464): one byte, the voice-activity bit and the level in
 * -dBov (0 loudest, 127 silence). The relay reads it from publishers (for active speakers) and writes it
 * to subscribers under their own extension id, so browsers report remote audio levels.
 */
import { RTP_EXTENSION_URI, type RTCRtpTransceiver, type RtpHeader } from "werift";

const AUDIO_LEVEL_URI = RTP_EXTENSION_URI.audioLevelIndication;

/** The extension id a transceiver negotiated for audio levels, or undefined. */
export function audioLevelId(transceiver: RTCRtpTransceiver): number | undefined {
  return transceiver.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
}

/** The extension's byte (voice bit and level) in a packet header, or -1 (no id negotiated, or not in this packet). */
export function readAudioLevelByte(header: RtpHeader, id: number | undefined): number {
  if (id === undefined) return -1;
  const { extensions } = header;
  for (let i = 0; i < extensions.length; i++) {
    const ext = extensions[i]!;
    if (ext.id === id) return ext.payload.length > 0 ? ext.payload[0]! : -1;
  }
  return -1;
}

/** Per extension id, the header extension list for each byte: made once, never changed. */
const LISTS = new Map<number, Array<Array<{ id: number; payload: Buffer }>>>();

/**
 * The header's extension list carrying `byte` under extension `id`: a shared list, so forwarding
 * allocates nothing, and the packets werift keeps for retransmission never see a later packet's level
 * (its sender copies the list and keeps our entry). Never mutate it.
 */
export function audioLevelExtensions(id: number, byte: number): Array<{ id: number; payload: Buffer }> {
  let lists = LISTS.get(id);
  if (lists === undefined) {
    lists = Array.from({ length: 256 }, (_, b) => [{ id, payload: Buffer.from([b]) }]);
    LISTS.set(id, lists);
  }
  return lists[byte & 0xff]!;
}
