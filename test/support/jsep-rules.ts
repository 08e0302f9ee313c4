/**
 * The JSEP rules (RFC 8829) an offer must follow for a strict client to accept it, as a checker over
 * the offers one connection received, in order. Each rule names where it comes from. The relay's
 * subscriber offers are checked against these in test/relay/jsep-conformance.test.ts.
 */
import type { SubscriberTrack } from "@sfu-room/protocol";

interface Section {
  kind: string;
  port: number;
  proto: string;
  formats: string[];
  lines: string[];
  /** The a= attribute values by name, in order (a=rtcp-mux gives ""). */
  attrs: Map<string, string[]>;
}

interface ParsedSdp {
  origin: { sessionId: string; version: bigint };
  session: Map<string, string[]>;
  sections: Section[];
}

function attributes(lines: string[]): Map<string, string[]> {
  const attrs = new Map<string, string[]>();
  for (const line of lines) {
    if (!line.startsWith("a=")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line.slice(2) : line.slice(2, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1);
    attrs.set(name, [...(attrs.get(name) ?? []), value]);
  }
  return attrs;
}

export function parseSdp(sdp: string): ParsedSdp {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== "");
  const firstMedia = lines.findIndex((l) => l.startsWith("m="));
  const sessionLines = firstMedia < 0 ? lines : lines.slice(0, firstMedia);
  const o = /^o=\S+ (\d+) (\d+) IN IP[46] \S+$/.exec(sessionLines.find((l) => l.startsWith("o=")) ?? "");
  const sections: Section[] = [];
  for (let i = firstMedia; i >= 0 && i < lines.length; ) {
    const end = lines.findIndex((l, j) => j > i && l.startsWith("m="));
    const body = lines.slice(i, end < 0 ? lines.length : end);
    const [kind = "", port = "", proto = "", ...formats] = body[0]!.slice(2).split(" ");
    sections.push({ kind, port: Number(port), proto, formats, lines: body, attrs: attributes(body.slice(1)) });
    i = end < 0 ? lines.length : end;
  }
  return {
    origin: { sessionId: o?.[1] ?? "", version: BigInt(o?.[2] ?? -1) },
    session: attributes(sessionLines),
    sections,
  };
}

const one = (s: Section, name: string) => s.attrs.get(name)?.[0];
const DIRECTIONS = ["sendrecv", "sendonly", "recvonly", "inactive"];

/**
 * Every rule the `offers` (one connection's, in order; `tracks[i]` the track list sent with offer i)
 * break, as readable strings: an empty list is a conforming sequence.
 */
export function jsepOfferViolations(offers: string[], tracks: SubscriberTrack[][] = []): string[] {
  const problems: string[] = [];
  let previous: ParsedSdp | undefined;
  offers.forEach((sdp, n) => {
    const at = (where: string, what: string) => problems.push(`offer ${n}, ${where}: ${what}`);
    const offer = parseSdp(sdp);
    const { sections } = offer;

    // RFC 4566 5.2, RFC 8829 5.2.2: one session id for the whole session, its version bumped per offer.
    if (!/^\d+$/.test(offer.origin.sessionId)) at("o=", "no session id");
    if (previous && offer.origin.sessionId !== previous.origin.sessionId) at("o=", `session id changed from ${previous.origin.sessionId} to ${offer.origin.sessionId}`);
    if (previous && offer.origin.version <= previous.origin.version) at("o=", `session version ${offer.origin.version} not above the previous ${previous.origin.version}`);

    // RFC 8829 5.2.2: m-sections are never removed or reordered; a mid changes only on a recycled (rejected) slot.
    if (previous && sections.length < previous.sections.length) at("m=", `${previous.sections.length} m-sections became ${sections.length}`);
    previous?.sections.forEach((before, i) => {
      const now = sections[i];
      if (!now) return;
      if (now.kind !== before.kind && before.port !== 0) at(`m-section ${i}`, `kind changed from ${before.kind} to ${now.kind} without being rejected first`);
      if (one(now, "mid") !== one(before, "mid") && before.port !== 0) at(`m-section ${i}`, `mid changed from ${one(before, "mid")} to ${one(now, "mid")} without being rejected first`);
    });

    const mids = sections.map((s) => one(s, "mid"));
    if (new Set(mids).size !== mids.length) at("a=mid", `duplicate mids ${mids.join(",")}`);

    // RFC 8843 7.2: every accepted m-section is in the BUNDLE group, whose tag (first mid) is accepted.
    const bundle = (offer.session.get("group") ?? []).map((g) => g.split(" ")).find((g) => g[0] === "BUNDLE")?.slice(1) ?? [];
    if (bundle.length === 0) at("session", "no a=group:BUNDLE");
    const accepted = sections.filter((s) => s.port !== 0);
    for (const s of accepted) if (!bundle.includes(one(s, "mid") ?? "")) at(`mid ${one(s, "mid")}`, "accepted m-section not in the BUNDLE group");
    for (const mid of bundle) {
      const s = sections.find((x) => one(x, "mid") === mid);
      if (!s) at("a=group:BUNDLE", `lists unknown mid ${mid}`);
      else if (s.port === 0) at("a=group:BUNDLE", `lists rejected mid ${mid}`);
    }

    // RFC 8839 5.4 and RFC 8843 7.1: one set of ICE credentials for the BUNDLE transport.
    const ufrags = new Set(sections.map((s) => one(s, "ice-ufrag") ?? offer.session.get("ice-ufrag")?.[0]));
    if (ufrags.size !== 1 || ufrags.has(undefined)) at("a=ice-ufrag", `expected one ICE ufrag for the bundle, got ${[...ufrags].join(",")}`);
    const extmapAllowMixed = offer.session.has("extmap-allow-mixed");
    const extensionUris = new Map<number, string>();
    let applications = 0;

    sections.forEach((s, i) => {
      const where = `m-section ${i} (${s.kind}, mid ${one(s, "mid")})`;
      if (one(s, "mid") === undefined) at(where, "no a=mid (RFC 8829 5.2.1)");
      // RFC 8829 5.2.1 and 5.2.2: every offer says actpass; the answerer keeps its role (RFC 8842 5.5).
      const setup = one(s, "setup");
      if (setup !== "actpass") at(where, `a=setup:${setup} (an offer says actpass, RFC 8829 5.2.2)`);
      if (!one(s, "fingerprint") && !offer.session.has("fingerprint")) at(where, "no a=fingerprint");

      if (s.kind === "application") {
        applications++;
        if (s.proto !== "UDP/DTLS/SCTP" || s.formats.join(" ") !== "webrtc-datachannel") at(where, `m=application ${s.proto} ${s.formats.join(" ")} (RFC 8841)`);
        if (s.port !== 0 && !one(s, "sctp-port")) at(where, "no a=sctp-port (RFC 8841 5)");
        return;
      }
      if (s.proto !== "UDP/TLS/RTP/SAVPF") at(where, `proto ${s.proto}`);
      // RFC 8829 5.2.1 (and 5.2.2 for a rejected one, which a strict parser still validates in full).
      if (!s.attrs.has("rtcp-mux")) at(where, `no a=rtcp-mux${s.port === 0 ? " in the rejected m-section" : ""} (RFC 8829 5.2.1)`);
      const directions = DIRECTIONS.filter((d) => s.attrs.has(d));
      if (directions.length !== 1) at(where, `directions ${directions.join(",") || "none"}`);
      // The relay only sends on a subscriber connection; a rejected section is inactive.
      const expected = s.port === 0 ? ["inactive"] : ["sendonly", "inactive"];
      if (directions.length === 1 && !expected.includes(directions[0]!)) at(where, `a=${directions[0]} (expected ${expected.join(" or ")})`);

      // RFC 4566 6 and RFC 8829 5.2.1: every dynamic payload type has an rtpmap; rtcp-fb/fmtp only for listed ones.
      if (s.formats.length === 0) at(where, "no payload types");
      const rtpmaps = new Map((s.attrs.get("rtpmap") ?? []).map((v) => [v.split(" ")[0]!, v.split(" ")[1] ?? ""]));
      for (const pt of s.formats) if (Number(pt) >= 96 && !rtpmaps.has(pt)) at(where, `payload type ${pt} has no a=rtpmap`);
      for (const name of ["rtcp-fb", "fmtp"]) {
        for (const v of s.attrs.get(name) ?? []) {
          const pt = v.split(" ")[0]!;
          if (pt !== "*" && !s.formats.includes(pt)) at(where, `a=${name} for payload type ${pt}, not in the m= line`);
        }
      }
      for (const v of s.attrs.get("fmtp") ?? []) {
        const apt = /(?:^|;)\s*apt=(\d+)/.exec(v.split(" ").slice(1).join(" "))?.[1];
        if (apt && !s.formats.includes(apt)) at(where, `rtx apt=${apt} names a payload type not offered`);
      }
      // RFC 2198 5: RED's fmtp lists the payload types of its blocks, which must be in the same m= line.
      for (const [pt, encoding] of rtpmaps) {
        if (!/^red\//i.test(encoding)) continue;
        const blocks = (s.attrs.get("fmtp") ?? []).find((v) => v.startsWith(`${pt} `))?.split(" ")[1]?.split("/") ?? [];
        for (const block of blocks) if (!s.formats.includes(block)) at(where, `RED names payload type ${block}, not in the m= line`);
      }

      // RFC 8285 5 and RFC 8843 9.2: ids in range, one extension per id across the BUNDLE group.
      for (const v of s.attrs.get("extmap") ?? []) {
        const [idPart = "", uri = ""] = v.split(" ");
        const id = Number(idPart.split("/")[0]);
        if (!(id >= 1 && id <= (extmapAllowMixed ? 255 : 14)) || id === 15) at(where, `extmap id ${id} out of range`);
        const known = extensionUris.get(id);
        if (known !== undefined && known !== uri) at(where, `extmap id ${id} is ${uri} here and ${known} elsewhere in the bundle`);
        extensionUris.set(id, uri);
      }

      // RFC 8829 5.2.1: a sending m-section names its stream and track (a=msid) and its SSRC with a cname.
      if (s.port !== 0 && s.attrs.has("sendonly")) {
        if (!/^\S+ \S+$/.test(one(s, "msid") ?? "")) at(where, `no a=msid:<stream> <track> (got ${one(s, "msid")})`);
        if (!(s.attrs.get("ssrc") ?? []).some((v) => /^\d+ cname:\S+/.test(v))) at(where, "no a=ssrc with a cname (RFC 8829 5.2.1)");
      }
    });
    if (applications !== 1) at("m=application", `${applications} data m-sections (expected one)`);

    // The relay's own contract (docs/protocol.md): each listed track rides a sending m-section of its kind.
    for (const t of tracks[n] ?? []) {
      const s = sections.find((x) => one(x, "mid") === t.mid);
      if (!s) at(`track ${t.trackId}`, `mid ${t.mid} not in the offer`);
      else if (s.kind !== t.kind || s.port === 0 || !s.attrs.has("sendonly")) at(`track ${t.trackId}`, `mid ${t.mid} is a ${s.kind} m-section, port ${s.port}, not a sending ${t.kind} one`);
    }
    previous = offer;
  });
  return problems;
}
