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
