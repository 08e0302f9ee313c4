/**
 * GET /metrics: Prometheus text, read with a Prometheus text-format parser: the room counts read at
 * scrape time and, per connection that connected, the type and protocol of the candidate path ICE
 * selected; RTP and RTCP counters that move while media flows; joins by result; data messages; Node's
 * default metrics. No label carries a participant or track id.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RELAY_CONFIG, type RunningRelay } from "@sfu-room/relay";
import type { WeriftClient } from "@sfu-room/test-peer";
import WebSocket from "ws";
import { Call } from "../support/call.ts";
import { eventually, joinClient, startTestRelay } from "../support/relay-harness.ts";
import { Scrape } from "../support/scrape.ts";

/** Scrapes until `check` holds (a liveness limit, not a timing assertion). */
async function scrapeUntil(relay: RunningRelay, what: string, check: (s: Scrape) => boolean, timeoutMs = 20_000): Promise<Scrape> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const scrape = await Scrape.of(relay);
    if (check(scrape)) return scrape;
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const RTP = ["in", "out"].flatMap((direction) => ["audio", "video"].map((kind) => ({ direction, kind })));

describe("GET /metrics", () => {
  let relay: RunningRelay | undefined;
  let call: Call | undefined;
  let clients: WeriftClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await call?.stop();
    call = undefined;
    await relay?.close();
    relay = undefined;
  });

  it("reports rooms, participants, tracks, subscriptions and the selected candidate paths of a call", async () => {
    relay = await startTestRelay();
    const idle = await Scrape.of(relay);
    expect(idle.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(idle.value("sfu_participants")).toBe(0);
    expect(idle.value("sfu_rooms")).toBe(0);

    call = await Call.open(relay, "metrics");
    // Two participants, each with a publisher and a subscriber connection: four connected over host UDP
    // (werift clients send from the address they announce, so the relay sees their host candidates).
    await eventually("four connections counted", () => relay!.stats().peerConnections === 4);
    const scrape = await Scrape.of(relay);
    expect(scrape.value("sfu_rooms")).toBe(1);
    expect(scrape.value("sfu_participants")).toBe(2);
    // Each publishes audio and video and receives the other's.
    for (const kind of ["audio", "video"]) {
      expect(scrape.value("sfu_tracks", { kind })).toBe(2);
      expect(scrape.value("sfu_subscriptions", { kind })).toBe(2);
    }
    expect(scrape.value("sfu_peer_connections")).toBe(4);
    expect(scrape.value("sfu_peer_connection_states", { state: "connected" })).toBe(4);
    expect(scrape.value("sfu_peer_connection_states", { state: "failed" })).toBe(0);
    expect(scrape.value("sfu_signaling_sessions")).toBe(2);
    expect(scrape.families.get("sfu_selected_candidates_total")?.metrics).toEqual([{ labels: { type: "host", protocol: "udp" }, value: "4" }]);
  });

  it("counts resumes, refused resumes and rejoins", async () => {
    relay = await startTestRelay();
    call = await Call.open(relay, "metrics");
    const { alice } = call;
    alice.dropSignaling();
    await eventually("the relay noticed the drop", () => relay!.stats().sessions === 1);
    expect(await alice.resume(relay.signalUrl, { secret: "not-the-grant", windowMs: 0 })).toMatchObject({ code: "resume-refused" });
    expect(await alice.resume(relay.signalUrl)).toMatchObject({ type: "resumed" });
    // A client that lost its session joins again and says so.
    const ws = new WebSocket(relay.signalUrl);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const joined = new Promise((resolve) => ws.once("message", resolve));
    ws.send(JSON.stringify({ type: "join", id: "j", room: "metrics", name: "back", rejoinOf: { participantId: "Pgone", secret: "from-a-relay-before-a-restart" } }));
    expect(JSON.parse(String(await joined))).toMatchObject({ type: "joined" });
    const scrape = await Scrape.of(relay);
    ws.terminate();
    expect(scrape.value("sfu_resumes_total")).toBe(1);
    expect(scrape.value("sfu_resume_refusals_total")).toBe(1);
    expect(scrape.value("sfu_rejoins_total")).toBe(1);
    // A second scrape reports the same totals (a counter read at scrape is not added up twice).
    const again = await Scrape.of(relay);
    expect(again.value("sfu_resumes_total")).toBe(1);
    expect(again.value("sfu_rejoins_total")).toBe(1);
  });

  it("counts RTP in and out, PLIs, joins by result and data messages while a call goes on; no id labels; Node's metrics", async () => {
    relay = await startTestRelay({ core: { ...DEFAULT_RELAY_CONFIG.core, maxParticipantsPerRoom: 2, keyframeRequestIntervalMs: 100 } });
    call = await Call.open(relay, "metrics");
    const { alice, bob } = call;
    const first = await Scrape.of(relay);
    await call.mediaFlows();
    const second = await Scrape.of(relay);
    for (const labels of RTP) {
      expect(second.value("sfu_rtp_packets_total", labels), `packets ${labels.direction} ${labels.kind}`).toBeGreaterThan(first.value("sfu_rtp_packets_total", labels)!);
      expect(second.value("sfu_rtp_bytes_total", labels), `bytes ${labels.direction} ${labels.kind}`).toBeGreaterThan(first.value("sfu_rtp_bytes_total", labels)!);
    }
    // Everything the clients received was forwarded, and counted, by the relay.
    for (const kind of ["audio", "video"]) {
      const received = [alice, bob].flatMap((c) => [...c.received.values()]).filter((t) => t.kind === kind).reduce((n, t) => n + t.packets, 0);
      expect(received).toBeGreaterThan(0);
      expect((await Scrape.of(relay)).value("sfu_rtp_packets_total", { direction: "out", kind })).toBeGreaterThanOrEqual(received);
    }

    // Bob's decoder asks for a keyframe of Alice's video: over signaling, and as an RTCP PLI.
    const aliceVideo = alice.outgoing.find((t) => t.kind === "video")!;
    const plis = (s: Scrape, direction: string) => s.value("sfu_plis_total", { direction })!;
    expect(await bob.request({ type: "request-keyframe", id: bob.id(), trackId: aliceVideo.trackId })).toMatchObject({ type: "ok" });
    const afterRequest = await scrapeUntil(relay, "a PLI sent to alice", (s) => plis(s, "to-publishers") > plis(second, "to-publishers"));
    // The RTCP goes over the bundled transport; the relay finds the sender by the media SSRC it names.
    const ssrc = [...bob.received.get(aliceVideo.trackId)!.ssrcs][0]!;
    await bob.subscriber!.getTransceivers().find((t) => t.kind === "video")!.receiver.sendRtcpPLI(ssrc);
    await scrapeUntil(relay, "bob's PLI counted", (s) => plis(s, "from-subscribers") > plis(afterRequest, "from-subscribers"));

    // A third participant is refused (the room holds two); a data message is relayed, one refused.
    const carol = new WebSocket(relay.signalUrl);
    await new Promise((resolve, reject) => carol.once("open", resolve).once("error", reject));
    const refused = new Promise((resolve) => carol.once("message", resolve));
    carol.send(JSON.stringify({ type: "join", id: "j", room: "metrics", name: "carol" }));
    expect(JSON.parse(String(await refused))).toMatchObject({ type: "error", code: "room-full" });
    carol.terminate();
    alice.sendData("hello bob", { topic: "chat" });
    alice.sendData("to nobody", { to: ["Pghost"], id: "m-ghost" });
    const last = await scrapeUntil(relay, "both data messages counted", (s) => s.value("sfu_data_messages_total", { result: "refused" }) === 1);
    expect(last.value("sfu_data_messages_total", { result: "relayed" })).toBe(1);
    expect(last.value("sfu_joins_total", { result: "ok" })).toBe(2);
    expect(last.value("sfu_joins_total", { result: "room-full" })).toBe(1);
    const joinSeconds = last.families.get("sfu_join_duration_seconds")!;
    expect(joinSeconds.type).toBe("HISTOGRAM");
    expect(joinSeconds.metrics[0]!.count).toBe("2");

    // No label names a participant or a track.
    const ids = [alice.participantId, bob.participantId, ...[alice, bob].flatMap((c) => c.outgoing.map((t) => t.trackId))];
    expect(ids.every((id) => id.length > 0)).toBe(true);
    const labels = last.labelValues();
    expect(labels.filter((v) => ids.some((id) => v.includes(id)))).toEqual([]);
    // Node's default metrics, event-loop lag included.
    expect(last.value("nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(last.families.get("process_cpu_user_seconds_total")?.type).toBe("COUNTER");
    expect(last.value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });

  it("counts the NACKs for packets lost on the way, to the publisher and from the subscriber", async () => {
    relay = await startTestRelay();
    call = await Call.open(relay, "metrics");
    const nacks = (s: Scrape, direction: string) => s.value("sfu_nacks_total", { direction })!;
    const before = await Scrape.of(relay);
    // Packets of Alice's video go missing: the relay asks her for them, and Bob, who sees the same gap
    // in what the relay forwards, asks the relay.
    const video = call.alice.outgoing.find((t) => t.kind === "video")!;
    for (let i = 0; i < 5; i++) {
      video.losePackets(2);
      await new Promise((r) => setTimeout(r, 100));
    }
    await scrapeUntil(relay, "NACKs both ways", (s) => nacks(s, "to-publishers") > nacks(before, "to-publishers") && nacks(s, "from-subscribers") > nacks(before, "from-subscribers"));
  });

  it("counts simulcast layer switches", async () => {
    relay = await startTestRelay({ core: { ...DEFAULT_RELAY_CONFIG.core, keyframeRequestIntervalMs: 100 } });
    const pub = await joinClient(relay, "sim", "pub", new Map());
    const sub = await joinClient(relay, "sim", "sub", new Map());
    clients.push(pub, sub);
    const track = await pub.publishSimulcast(["q", "h", "f"], [{ width: 320, height: 180 }, { width: 640, height: 360 }, { width: 1280, height: 720 }]);
    timer = setInterval(() => track.sendFrame(), 15);
    await eventually("the subscriber receives the track", () => (sub.received.get(track.trackId)?.packets ?? 0) > 20);
    const before = (await Scrape.of(relay)).value("sfu_layer_switches_total")!;
    expect(await sub.request({ type: "subscription-settings", id: sub.id(), trackId: track.trackId, quality: "low" })).toMatchObject({ type: "ok" });
    await scrapeUntil(relay, "the switch to the low layer counted", (s) => s.value("sfu_layer_switches_total")! === before + 1);
  });

  it("answers anything but GET with 405", async () => {
    relay = await startTestRelay();
    const res = await fetch(`http://127.0.0.1:${relay.port}/metrics`, { method: "POST" });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ error: "use GET /metrics" });
  });
});
