/**
 * WHIP (RFC 9725) at /whip/<room> with real peers: a werift WHIP publisher whose HTTP is node's fetch is
 * a participant of the room (a WebSocket member receives its media byte for byte), DELETE and a failed
 * connection release it everywhere, PATCH restarts ICE, and every refusal has its status and body and
 * shows the room nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RELAY_CONFIG, mintToken, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { Pacer, type SentLog, type WeriftClient } from "@sfu-room/test-peer";
import { WhipPublisher } from "@sfu-room/test-peer/whip";
import { eventually, grewBy, joinClient, packetCounts, resourceCounts, sleep, startTestRelay } from "../support/relay-harness.ts";

const KEYS: SigningKey[] = [{ id: "whip-key", secret: "the-secret-of-the-whip-tests-0123456789" }];

function publishToken(room: string, grant: Record<string, unknown> = {}): Promise<string> {
  return mintToken(KEYS[0]!, { identity: `encoder-${room}`, name: "Encoder", video: { room, roomJoin: true, ...grant }, ttlSeconds: 600 });
}

const endpoint = (relay: RunningRelay, path: string) => `http://127.0.0.1:${relay.port}${path}`;

describe("WHIP", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  let publishers: WhipPublisher[] = [];
  const log: SentLog = new Map();
  const pacer = new Pacer(() => [...clients, ...publishers]);
  afterEach(async () => {
    await pacer.stop();
    await Promise.all([...clients, ...publishers].map((c) => c.close()));
    clients = [];
    publishers = [];
    await relay?.close();
    relay = undefined;
  });

  function publisher(): WhipPublisher {
    const p = new WhipPublisher(log);
    publishers.push(p);
    return p;
  }

  it("a WHIP publisher is a participant: a room member receives its audio and video byte for byte; DELETE removes it and releases its connection and socket", async () => {
    relay = await startTestRelay();
    const member = await joinClient(relay, "stage", "member", log);
    clients.push(member);
    await member.connected();
    // werift opens its sockets as it connects: count from when the member's (one on each side) are there.
    await eventually("the member's sockets are open", () => (resourceCounts().UDPWrap ?? 0) >= 2);
    const before = resourceCounts();
    const udpBefore = before.UDPWrap ?? 0;
    const whip = publisher();
    const response = await whip.publish(endpoint(relay, "/whip/stage?name=Studio%20A"));
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toBe("application/sdp");
    expect(response.headers.get("location")).toMatch(/^\/whip\/stage\/[A-Za-z0-9_-]{20,}$/);
    expect(response.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(response.headers.get("accept-patch")).toBe("application/trickle-ice-sdpfrag");
    expect(response.headers.get("link")).toBeNull(); // no TURN configured
    expect(whip.answer).toMatch(/^v=0/);

    await eventually("the member sees the publisher join by its name", () =>
      member.events.some((e) => e.type === "participant-joined" && e.participant.name === "Studio A"));
    pacer.start();
    await eventually("the member receives both tracks", () =>
      member.received.size === 2 && [...member.received.values()].every((r) => r.packets > 50));
    for (const track of whip.outgoing) {
      // A WHIP client learns no track ids: its tracks are told apart by kind.
      const received = [...member.received.values()].find((r) => r.kind === track.kind)!;
      expect(received.mismatches, track.kind).toBe(0);
      expect(received.seqGaps, track.kind).toBe(0);
    }
    // The WHIP publisher holds one connection (publish-only), the member one (it publishes nothing).
    expect(relay.stats()).toMatchObject({ participants: 2, tracks: 2, peerConnections: 2 });
    expect((resourceCounts().UDPWrap ?? 0) - udpBefore).toBeGreaterThanOrEqual(2); // its sockets on each side

    await pacer.stop();
    // The session is WHIP's: the same id under /whep/ is no session.
    expect((await fetch(whip.resource!.href.replace("/whip/", "/whep/"), { method: "DELETE" })).status).toBe(404);
    const deleted = await whip.stop();
    expect(deleted.status).toBe(200);
    await eventually("the member sees the publisher leave", () => member.events.some((e) => e.type === "participant-left"));
    expect(relay.stats()).toMatchObject({ participants: 1, tracks: 0, peerConnections: 1 });
    await whip.close();
    await eventually("the sockets of the WHIP session released (UDP, and the relay's ICE-TCP listener)", () => {
      const now = resourceCounts();
      return (now.UDPWrap ?? 0) === udpBefore && (now.TCPServerWrap ?? 0) === (before.TCPServerWrap ?? 0);
    }, 10_000);
    // The session is gone: its resource answers 404.
    const again = await whip.stop();
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: "unknown-session" });
  });

  it("PATCH with new ICE credentials restarts ICE: a new ETag, and media flows again on the new credentials", async () => {
    relay = await startTestRelay();
    const member = await joinClient(relay, "restart", "member", log);
    clients.push(member);
    const whip = publisher();
    expect((await whip.publish(endpoint(relay, "/whip/restart"))).status).toBe(201);
    const firstEtag = whip.etag;
    const firstUfrag = /^a=ice-ufrag:(\S+)/m.exec(whip.answer!)![1];
    pacer.start();
    // Both tracks, before the restart: "again" is about each of them (video may start after audio).
    await eventually("media flows", () => member.received.size === 2 && [...member.received.values()].every((r) => r.packets > 20));

    const patched = await whip.restartIce();
    expect(patched.status).toBe(200);
    expect(patched.headers.get("content-type")).toBe("application/trickle-ice-sdpfrag");
    const fragment = await patched.text();
    expect(fragment).toMatch(/^a=ice-ufrag:\S+$/m);
    expect(fragment).toMatch(/^a=candidate:.* 127\.0\.0\.1 /m);
    expect(/^a=ice-ufrag:(\S+)/m.exec(fragment)![1]).not.toBe(firstUfrag);
    expect(whip.etag).toBeDefined();
    expect(whip.etag).not.toBe(firstEtag);
    const counted = packetCounts(member);
    await eventually("media flows after the restart", () => grewBy(counted, 50));
    expect(relay.stats()).toMatchObject({ participants: 2, peerConnections: 2 });

    // A trickle PATCH with the old ETag is refused; with the new one it is accepted.
    const trickle = (etag: string) => fetch(whip.resource!, {
      method: "PATCH", headers: { "content-type": "application/trickle-ice-sdpfrag", "if-match": etag },
      body: "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n",
    });
    const stale = await trickle(firstEtag!);
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ error: "etag-mismatch" });
    expect((await trickle(whip.etag!)).status).toBe(204);
  });

  it("a WHIP publisher whose connection fails leaves the room, and its resource is gone", async () => {
    relay = await startTestRelay({ peerTimeoutMs: 1000 });
    const member = await joinClient(relay, "fail", "member", log);
    clients.push(member);
    const whip = publisher();
    expect((await whip.publish(endpoint(relay, "/whip/fail"))).status).toBe(201);
    await eventually("the member sees the publisher's tracks", () => member.events.filter((e) => e.type === "track-published").length === 2);
    await whip.close(); // no DELETE: the encoder just went away
    await eventually("the member sees the publisher leave", () => member.events.some((e) => e.type === "participant-left"), 15_000);
    expect(relay.stats()).toMatchObject({ participants: 1, tracks: 0, peerConnections: 1 });
    expect((await whip.stop()).status).toBe(404);
  });

  it("with keys: a token with a publish grant publishes; each bad token is refused with its status and reason, and the room sees nothing", async () => {
    relay = await startTestRelay({ keys: KEYS });
    const member = await joinClient(relay, "keyed", "member", log, true, await mintToken(KEYS[0]!, { identity: "m", video: { room: "keyed", roomJoin: true }, ttlSeconds: 600 }));
    clients.push(member);
    const before = relay.stats();
    const seen = member.events.length;
    const url = endpoint(relay, "/whip/keyed");
    const cases: Array<[string, Record<string, string>, number, string, RegExp]> = [
      ["no token", {}, 401, "unauthorized", /requires an access token with a publish grant: send Authorization: Bearer/],
      ["not Bearer", { authorization: "Basic dXNlcjpwYXNz" }, 401, "unauthorized", /must be "Bearer <token>"/],
      ["not a JWT", { authorization: "Bearer hello" }, 401, "unauthorized", /not a JWT/],
      ["canPublish false", { authorization: `Bearer ${await publishToken("keyed", { canPublish: false })}` }, 403, "forbidden", /canPublish false/],
      ["camera not allowed", { authorization: `Bearer ${await publishToken("keyed", { canPublishSources: ["microphone"] })}` }, 403, "forbidden", /not "camera"/],
      ["another room", { authorization: `Bearer ${await publishToken("elsewhere")}` }, 403, "unauthorized", /for room "elsewhere", not "keyed"/],
    ];
    for (const [what, headers, status, error, message] of cases) {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/sdp", ...headers }, body: await new WhipPublisher(log).offer() });
      expect(response.status, what).toBe(status);
      if (status === 401) expect(response.headers.get("www-authenticate"), what).toMatch(/^Bearer/);
      const body = await response.json();
      expect(body, what).toMatchObject({ error });
      expect(body.message, what).toMatch(message);
    }
    expect(relay.stats()).toEqual(before);
    await sleep(200);
    expect(member.events.slice(seen)).toEqual([]);

    const whip = publisher();
    expect((await whip.publish(url, await publishToken("keyed"))).status).toBe(201);
    await eventually("the member sees the encoder by its token's name", () =>
      member.events.some((e) => e.type === "participant-joined" && e.participant.name === "Encoder"));
  });

  it("refuses bad requests with their status and body, and changes nothing", async () => {
    relay = await startTestRelay({ core: { ...DEFAULT_RELAY_CONFIG.core, maxParticipantsPerRoom: 1 } });
    const member = await joinClient(relay, "bad", "member", log);
    clients.push(member);
    const offer = await new WhipPublisher(log).offer();
    const recvOnly = offer.replace(/a=sendonly/g, "a=recvonly");
    const onlyPcmu = offer.replace(/^a=rtpmap:111 opus\/48000\/2/m, "a=rtpmap:111 PCMU/8000").replace(/^m=video[\s\S]*$/m, "");
    const post = (path: string, body: string, type = "application/sdp") => fetch(endpoint(relay!, path), { method: "POST", headers: { "content-type": type }, body });
    const before = relay.stats();
    const seen = member.events.length;
    const cases: Array<[string, Promise<Response>, number, string, RegExp]> = [
      ["JSON instead of SDP", post("/whip/other", JSON.stringify({ sdp: offer }), "application/json"), 415, "unsupported-media-type", /Content-Type: application\/sdp, not application\/json/],
      ["garbage SDP", post("/whip/other", "hello, relay"), 400, "bad-sdp", /must start with v=0/],
      ["a recvonly offer", post("/whip/other", recvOnly), 400, "bad-sdp", /sends no audio or video/],
      ["no forwarded codec", post("/whip/other", onlyPcmu), 400, "bad-sdp", /offers audio\/PCMU; the relay forwards Opus, VP8 and H264 only/],
      ["an m-line without mid", post("/whip/other", offer.replace(/^a=mid:.*\r?\n/gm, "")), 400, "bad-sdp", /has no a=mid line/],
      ["a bad room name", post("/whip/.hidden", offer), 400, "bad-room-name", /not a room name/],
      ["a full room", post("/whip/bad", offer), 503, "room-full", /room "bad" is full \(1 participants\)/],
      ["too large", post("/whip/other", `v=0\r\n${"a=x\r\n".repeat(40_000)}`), 413, "too-large", /larger than/],
      ["GET", fetch(endpoint(relay, "/whip/other")), 405, "method-not-allowed", /use POST \/whip\/other/],
      ["DELETE of no session", fetch(endpoint(relay, "/whip/other/nope"), { method: "DELETE" }), 404, "unknown-session", /no WHIP session nope in room "other"/],
      ["PATCH of no session", fetch(endpoint(relay, "/whip/other/nope"), { method: "PATCH", headers: { "content-type": "application/trickle-ice-sdpfrag" }, body: "a=end-of-candidates\r\n" }), 404, "unknown-session", /POST a new offer/],
      ["PATCH as SDP", fetch(endpoint(relay, "/whip/other/nope"), { method: "PATCH", headers: { "content-type": "application/sdp" }, body: offer }), 415, "unsupported-media-type", /application\/trickle-ice-sdpfrag/],
      ["a deeper path", fetch(endpoint(relay, "/whip/other/a/b"), { method: "DELETE" }), 404, "not-found", /POST \/whip\/<room>/],
    ];
    for (const [what, request, status, error, message] of cases) {
      const response = await request;
      expect(response.status, what).toBe(status);
      const body = await response.json();
      expect(body, what).toMatchObject({ error });
      expect(body.message, what).toMatch(message);
    }
    expect(relay.stats()).toEqual(before);
    await sleep(200);
    expect(member.events.slice(seen)).toEqual([]);
  });

  it("PATCH refusals on a live session: a bad fragment, an ICE restart without If-Match; the session goes on", async () => {
    relay = await startTestRelay();
    const member = await joinClient(relay, "patch", "member", log);
    clients.push(member);
    const whip = publisher();
    expect((await whip.publish(endpoint(relay, "/whip/patch"))).status).toBe(201);
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(whip.resource!, { method: "PATCH", headers: { "content-type": "application/trickle-ice-sdpfrag", ...headers }, body });
    const bad = await patch("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "bad-sdp", message: expect.stringMatching(/only a= and m= lines/) });
    const half = await patch("a=ice-ufrag:abcd\r\n", { "if-match": "*" });
    expect(half.status).toBe(400);
    const unconditional = await patch("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n");
    expect(unconditional.status).toBe(428);
    expect(await unconditional.json()).toMatchObject({ error: "precondition-required", message: expect.stringMatching(/If-Match: "\*"/) });
    // The session is intact: media flows, DELETE works.
    pacer.start();
    await eventually("media flows", () => member.received.size === 2 && [...member.received.values()].every((r) => r.packets > 20));
    expect((await whip.stop()).status).toBe(200);
  });

  it("CORS: a preflight from an allowed page is answered with what the page may send and read; another page is refused", async () => {
    relay = await startTestRelay({ allowedOrigins: ["https://studio.example"] });
    const preflight = await fetch(endpoint(relay, "/whip/cors"), {
      method: "OPTIONS", headers: { origin: "https://studio.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://studio.example");
    expect(preflight.headers.get("access-control-allow-methods")).toBe("POST, OPTIONS");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization, content-type, if-match/);
    expect(preflight.headers.get("access-control-expose-headers")).toMatch(/location, etag, link/);
    expect(preflight.headers.get("accept-post")).toBe("application/sdp");

    const whip = publisher();
    const offer = await whip.offer();
    const published = await fetch(endpoint(relay, "/whip/cors"), { method: "POST", headers: { origin: "https://studio.example", "content-type": "application/sdp" }, body: offer });
    expect(published.status).toBe(201);
    expect(published.headers.get("access-control-allow-origin")).toBe("https://studio.example");
    expect((await fetch(new URL(published.headers.get("location")!, endpoint(relay, "/")), { method: "DELETE", headers: { origin: "https://studio.example" } })).status).toBe(200);

    const foreign = await fetch(endpoint(relay, "/whip/cors"), { method: "POST", headers: { origin: "https://evil.example", "content-type": "application/sdp" }, body: offer });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(await foreign.json()).toMatchObject({ error: "forbidden", message: expect.stringMatching(/https:\/\/evil\.example may not use WHIP/) });
    expect(relay.stats().participants).toBe(0);
  });

  it("with TURN configured, the answer carries each TURN server as a Link with the session's own credentials", async () => {
    relay = await startTestRelay({ turn: { urls: ["turn:127.0.0.1:3478?transport=udp", "turns:127.0.0.1:5349?transport=tcp"], secret: "coturn-secret", ttlSeconds: 600, username: undefined, credential: undefined } });
    const whip = publisher();
    const response = await whip.publish(endpoint(relay, "/whip/turn"));
    expect(response.status).toBe(201);
    const links = response.headers.get("link")!.split(", ");
    expect(links).toHaveLength(2);
    const linkRe = /^<(turns?:127\.0\.0\.1:\d+\?transport=(?:udp|tcp))>; rel="ice-server"; username="(\d+):(P[A-Za-z0-9_-]+)"; credential="([A-Za-z0-9+/=]+)"; credential-type="password"$/;
    expect(links[0]).toMatch(linkRe);
    expect(links[1]).toMatch(linkRe);
    expect(linkRe.exec(links[0]!)![1]).toBe("turn:127.0.0.1:3478?transport=udp");
    const expiry = Number(linkRe.exec(links[0]!)![2]);
    expect(expiry).toBeGreaterThan(Date.now() / 1000);
  });
});
