/**
 * Size limits on SDP, checked before werift parses anything: werift's cost grows with the number of
 * m-lines (an offer with 1,000 of them kept the event loop, and so everyone's media, busy for seconds),
 * so an SDP that could never be accepted is refused by counting lines, not by parsing it.
 */
import { PROTOCOL_LIMITS } from "@sfu-room/protocol";

/**
 * The most m-lines a publish offer may have: one per track the relay could ever accept from one
 * participant, plus a few for transceivers the client keeps unused (browsers keep an m-line for each
 * transceiver they ever negotiated, and the SDK reuses idle ones of the same kind).
 */
export const MAX_PUBLISH_OFFER_MLINES = PROTOCOL_LIMITS.tracksPerParticipant + 8;

/** Counts the m-lines of an SDP without parsing it (a line starting with `m=`). */
export function countMLines(sdp: string): number {
  let count = sdp.startsWith("m=") ? 1 : 0;
  for (let i = sdp.indexOf("\nm="); i !== -1; i = sdp.indexOf("\nm=", i + 3)) count++;
  return count;
}

/** Why an SDP is over the limits (a message for the client), or undefined when it is within them. */
export function sdpLimitRefusal(sdp: string, what: string, maxMLines: number, maxLength: number = PROTOCOL_LIMITS.sdpLength): string | undefined {
  if (sdp.length > maxLength) return `the ${what} is ${sdp.length} characters long; the relay accepts at most ${maxLength}`;
  const mLines = countMLines(sdp);
  if (mLines > maxMLines) return `the ${what} has ${mLines} m-lines; the relay accepts at most ${maxMLines}`;
  return undefined;
}

/**
 * The check at the start of the publisher connection's answer: the limits, and a mid on every m-line
 * (tracks are named by mid, and werift fails on an m-line without one only after applying the offer).
 */
export function publishOfferRefusal(offer: string): string | undefined {
  const refusal = sdpLimitRefusal(offer, "publish offer", MAX_PUBLISH_OFFER_MLINES);
  if (refusal !== undefined) return refusal;
  const sections = offer.split(/\r?\nm=/).slice(1);
  const missing = sections.findIndex((section) => !/\na=mid:\S/.test(section));
  return missing === -1 ? undefined : `m-line ${missing} of the publish offer has no a=mid line; every m-line needs one`;
}

/**
 * The check at the start of the subscriber connection's handleAnswer: an answer has exactly the
 * m-lines of the offer it answers (RFC 8829 5.3.1), so any other count is refused unread. With no
 * offer in flight only the length is checked (the answer is then refused as stale).
 */
export function subscriberAnswerRefusal(answer: string, offer: string | undefined): string | undefined {
  const tooLong = sdpLimitRefusal(answer, "subscriber answer", Infinity);
  if (tooLong !== undefined || offer === undefined) return tooLong;
  const [mLines, expected] = [countMLines(answer), countMLines(offer)];
  if (mLines === expected) return undefined;
  return `the subscriber answer has ${mLines} m-lines, but the offer it answers has ${expected}; answer each m-line of the offer once, in order`;
}
