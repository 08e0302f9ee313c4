/**
 * Small rewrites of SDP text between werift and browsers, for things werift writes or reads differently
 * from the RFCs in a way Firefox does not forgive (Chromium does). Each is a no-op when not needed.
 */

/**
 * werift writes `a=ice-lite` only inside each m-section, but it is a session-level attribute (RFC 8839,
 * section 5.3). Firefox ignores it there, takes the relay for a full ICE agent and, as the answerer of
 * the subscriber connection, waits as the controlled side for checks an ICE-lite relay never sends: the
 * connection stays "checking" forever. Adds the session-level line (werift's own parser accepts both).
 */
export function withSessionIceLite(sdp: string): string {
  const firstMedia = sdp.search(/\r?\nm=/);
  if (firstMedia < 0 || !/\r?\na=ice-lite\r?(\n|$)/.test(sdp.slice(firstMedia))) return sdp;
  const session = sdp.slice(0, firstMedia);
  if (/\r?\na=ice-lite\r?(\n|$)/.test(session)) return sdp;
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  return `${session}${eol}a=ice-lite${sdp.slice(firstMedia)}`;
}

/**
 * Firefox offers with bundlePolicy "max-bundle" put every m-section but the first at port 0 with
 * `a=bundle-only` (RFC 8843, section 6: "use the BUNDLE transport"). werift reads port 0 as a rejected
 * m-section and negotiates no codec for it, so the relay answered `bad-sdp` ("offers no codec the relay
 * forwards"). Those m-sections travel on the BUNDLE transport anyway: give them the placeholder port 9.
 */
export function acceptBundleOnly(sdp: string): string {
  if (!sdp.includes("a=bundle-only")) return sdp;
  return sdp
    .split(/(?=\r?\nm=)/)
    .map((section) => (/\r?\na=bundle-only\r?(\n|$)/.test(section) ? section.replace(/^(\r?\nm=\w+) 0 /, "$1 9 ") : section))
    .join("");
}

/**
 * Firefox lists its simulcast layers' SSRCs in `a=ssrc` lines as well as announcing rids. werift then
 * registers the first listed SSRC as a rid-less track: once Firefox stops sending the rid header
 * extension (after the relay's first receiver report, as libwebrtc does), that layer's packets reach
 * the rid-less track and the relay, which maps layers by rid, dropped them (the layer froze, and a
 * subscriber switching to it never got its keyframe). In m-sections with `a=simulcast`, drop the
 * `a=ssrc` and `a=ssrc-group` lines: werift then learns each SSRC from the rid of its first packets,
 * as it does for Chromium, which sends no such lines.
 */
export function withoutSimulcastSsrcs(sdp: string): string {
  if (!sdp.includes("a=simulcast:")) return sdp;
  return sdp
    .split(/(?=\r?\nm=)/)
    .map((section) => (/\r?\na=simulcast:/.test(section) ? section.replace(/\r?\na=ssrc(-group)?:[^\r\n]*/g, "") : section))
    .join("");
}

/**
 * The text of an offer as JSEP (RFC 8829) requires it, from what werift writes for its re-offers:
 * - `a=setup:actpass` in every offer (5.2.2). werift writes the role it settled on (`passive`) after
 *   the first; RFC 8842 allows that, but JSEP stacks (aiortc before 2024, webrtc-rs, strict parsers)
 *   refuse the offer, and offers are serialized, so every later one was stuck. The answerer keeps its
 *   role (RFC 8842, 5.5), which is what werift, holding the DTLS association, expects.
 * - `a=rtcp-mux` in rejected (port 0) m-sections too: werift leaves it out, and a parser that checks
 *   each m-section refuses the whole offer.
 * - One `o=` session id for the connection and its version bumped in each offer (RFC 4566 5.2,
 *   RFC 8829 5.2.2): werift draws a new id per offer, which reads as a different session.
 * - Rejected audio m-sections list Opus, not RED alone: werift keeps only the first format of a stopped
 *   m-line, which for audio is RED, whose fmtp names an Opus payload type the section no longer has
 *   (RFC 2198 section 5: the redundant encodings must be in the same m-line). aiortc refused the whole
 *   offer ("Failed to set remote audio description send parameters") after someone left.
 * Only the text sent changes: werift keeps its own local description.
 */
export function asJsepOffer(sdp: string, origin: { sessionId: string; version: number }): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  return sdp
    .replace(/^o=(\S+) \d+ \d+ /m, `o=$1 ${origin.sessionId} ${origin.version} `)
    .replace(/^a=setup:(active|passive)$/gm, "a=setup:actpass")
    .split(/(?=\r?\nm=)/)
    .map((section) =>
      /^\r?\nm=(audio|video) 0 /.test(section) && !/\r?\na=rtcp-mux\r?(\n|$)/.test(section)
        ? section.replace(/(\r?\na=mid:[^\r\n]*)/, `$1${eol}a=rtcp-mux`)
        : section,
    )
    .map(withoutLoneRed)
    .join("");
}

/** A rejected audio m-section whose only format is RED, with the Opus it names instead (see asJsepOffer). */
function withoutLoneRed(section: string): string {
  const mLine = /^(\r?\nm=audio 0 \S+) (\d+)(?=\r?\n)/.exec(section);
  if (!mLine) return section;
  const red = mLine[2]!;
  if (!new RegExp(`\\na=rtpmap:${red} red/`, "i").test(section)) return section;
  const opus = new RegExp(`\\na=fmtp:${red} (\\d+)`).exec(section)?.[1];
  if (opus === undefined) return section;
  return section
    .replace(mLine[0], `${mLine[1]} ${opus}`)
    .replace(new RegExp(`a=rtpmap:${red} [^\\r\\n]*`), `a=rtpmap:${opus} opus/48000/2`)
    .replace(new RegExp(`\\r?\\na=fmtp:${red} [^\\r\\n]*`), "");
}
