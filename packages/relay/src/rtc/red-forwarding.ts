/**
 * RED (RFC 2198) passes through the relay as the publisher made it (media/red.ts reads the container
 * for subscribers without RED). werift would otherwise take it apart and put it together again:
 * - its receiver splits each RED packet into one packet per block, built afresh without the header
 *   extensions (the publisher's audio level, so active speakers and subscribers' levels, was lost),
 *   with sequence numbers guessed from block positions;
 * - its sender wraps whatever it is given into RED of its own on an m-line that negotiated RED, so a
 *   forwarded RED payload would be nested in a second RED layer.
 * Both switches are set on the werift objects before any packet passes and hold across renegotiations.
 */
import type { RTCRtpReceiver, RTCRtpSender, RtpPacket } from "werift";

/** The MIME type of RED packets, as werift spells it lower-cased. */
export const RED_MIME = "audio/red";

/** werift's RedHandler interface: the packets to hand on for one RED packet. */
const PASS_WHOLE = { push: (_red: unknown, packet: RtpPacket): RtpPacket[] => [packet] };

/** The receiver hands on each RED packet whole, header extensions included. */
export function withRedPassedWhole(receiver: RTCRtpReceiver): void {
  (receiver as unknown as { audioRedHandler: typeof PASS_WHOLE }).audioRedHandler = PASS_WHOLE;
}

/** The sender sends RED payloads as given (werift recomputes the field at each negotiation: kept unset). */
export function withoutWeriftRedEncoder(sender: RTCRtpSender): void {
  Object.defineProperty(sender, "redRedundantPayloadType", { get: () => undefined, set: () => undefined, configurable: true });
}
