/**
 * GET /metrics: Prometheus text with the room counts read at scrape time and, per connection that
 * connected, the type and protocol of the candidate path ICE selected. TCP listeners of ICE-TCP go with
 * their connection.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import WebSocket from "ws";
import { Call } from "../support/call.ts";
import { eventually, startTestRelay } from "../support/relay-harness.ts";

async function scrape(relay: RunningRelay): Promise<{ contentType: string; samples: Map<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${relay.port}/metrics`);
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { contentType: res.headers.get("content-type") ?? "", samples };
}

describe("GET /metrics", () => {
  let relay: RunningRelay | undefined;
  let call: Call | undefined;
  afterEach(async () => {
    await call?.stop();
    call = undefined;
    await relay?.close();
    relay = undefined;
  });

  it("reports rooms, participants, tracks, subscriptions and the selected candidate paths of a call", async () => {
    relay = await startTestRelay();
    const idle = await scrape(relay);
    expect(idle.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(idle.samples.get("sfu_participants")).toBe(0);
    expect(idle.samples.get("sfu_rooms")).toBe(0);

    call = await Call.open(relay, "metrics");
    // Two participants, each with a publisher and a subscriber connection: four connected over host UDP
    // (werift clients send from the address they announce, so the relay sees their host candidates).
    await eventually("four connections counted", () => relay!.stats().peerConnections === 4);
    const { samples } = await scrape(relay);
    expect(samples.get("sfu_rooms")).toBe(1);
    expect(samples.get("sfu_participants")).toBe(2);
    expect(samples.get("sfu_tracks")).toBe(4);
    expect(samples.get("sfu_subscriptions")).toBe(4);
    expect(samples.get("sfu_peer_connections")).toBe(4);
    expect(samples.get("sfu_signaling_sessions")).toBe(2);
    const paths = [...samples].filter(([k]) => k.startsWith("sfu_selected_candidates_total{"));
    expect(paths).toEqual([['sfu_selected_candidates_total{type="host",protocol="udp"}', 4]]);
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
    const { samples } = await scrape(relay);
    ws.terminate();
    expect(samples.get("sfu_resumes_total")).toBe(1);
    expect(samples.get("sfu_resume_refusals_total")).toBe(1);
    expect(samples.get("sfu_rejoins_total")).toBe(1);
    // A second scrape reports the same totals (the counters take only what was added since).
    const again = await scrape(relay);
    expect(again.samples.get("sfu_resumes_total")).toBe(1);
    expect(again.samples.get("sfu_rejoins_total")).toBe(1);
  });

  it("answers anything but GET with 405", async () => {
    relay = await startTestRelay();
    const res = await fetch(`http://127.0.0.1:${relay.port}/metrics`, { method: "POST" });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ error: "use GET /metrics" });
  });
});
