/**
 * Webhooks (docs/api.md): a receiver in the test (a node http server on 127.0.0.1) gets the room's
 * events in the order they happened, each signed so that LiveKit's own WebhookReceiver (from
 * livekit-server-sdk) accepts it; a receiver that fails first gets the event again after a back-off,
 * with the order kept; a stopped relay sends nothing more.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebhookReceiver } from "livekit-server-sdk";
import { afterEach, describe, expect, it } from "vitest";
import { mintToken, type RunningRelay, type SigningKey } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { eventually, sleep, startTestRelay } from "../support/relay-harness.ts";

const KEYS: SigningKey[] = [
  { id: "hook-key", secret: "the-secret-that-signs-the-webhooks-0123" },
  { id: "other-key", secret: "a-second-key-that-signs-nothing-here-01" },
];

interface Delivery {
  body: string;
  authorization: string | undefined;
  contentType: string | undefined;
}

/** A webhook receiver that answers 500 to its first `failures` requests, then 200. */
class Receiver {
  readonly server: Server;
  /** Every request, failed ones included, in arrival order. */
  readonly requests: Delivery[] = [];
  /** The requests answered 200. */
  readonly accepted: Delivery[] = [];

  constructor(private failures = 0) {
    this.server = createServer((req, res) => void this.onRequest(req).then((ok) => res.writeHead(ok ? 200 : 500).end()));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  private async onRequest(req: IncomingMessage): Promise<boolean> {
    let body = "";
    for await (const chunk of req) body += chunk;
    const delivery = { body, authorization: req.headers.authorization, contentType: req.headers["content-type"] };
    this.requests.push(delivery);
    if (this.failures > 0) {
      this.failures--;
      return false;
    }
    this.accepted.push(delivery);
    return true;
  }

  events(): string[] {
    return this.accepted.map((d) => {
      const e = JSON.parse(d.body);
      return [e.event, e.participant?.identity, e.track?.type].filter((x) => x !== undefined).join(" ");
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("webhooks", () => {
  let relay: RunningRelay | undefined;
  let receivers: Receiver[] = [];
  let clients: WeriftClient[] = [];
  const log: SentLog = new Map();
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
    relay = undefined;
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });

  async function start(...rs: Receiver[]): Promise<void> {
    receivers = rs;
    const webhookUrls = await Promise.all(rs.map((r) => r.listen()));
    relay = await startTestRelay({ keys: KEYS, webhookUrls });
  }

  async function joined(identity: string): Promise<WeriftClient> {
    const c = new WeriftClient({ name: identity, log });
    await c.connect(relay!.signalUrl);
    clients.push(c);
    await c.join("r", true, await mintToken(KEYS[0]!, { identity, metadata: `${identity}'s`, video: { room: "r", roomJoin: true }, ttlSeconds: 600 }));
    return c;
  }

  /** alice joins and publishes a microphone and a camera, bob joins, alice leaves, bob leaves. */
  async function aRoomsLife(): Promise<string[]> {
    const alice = await joined("alice");
    await alice.publish([{ kind: "audio" }, { kind: "video" }]);
    const bob = await joined("bob");
    await alice.request({ type: "leave", id: "l" });
    await bob.request({ type: "leave", id: "l" });
    return [
      "room_started", "participant_joined alice", "track_published alice AUDIO", "track_published alice VIDEO", "participant_joined bob",
      "track_unpublished alice AUDIO", "track_unpublished alice VIDEO", "participant_left alice", "participant_left bob", "room_finished",
    ];
  }

  it("a receiver gets a room's events in order, each signed as LiveKit signs them (its WebhookReceiver accepts them)", async () => {
    const receiver = new Receiver();
    await start(receiver);
    const expected = await aRoomsLife();
    await eventually("every event arrives", () => receiver.accepted.length >= expected.length);
    expect(receiver.events()).toEqual(expected);

    const livekit = new WebhookReceiver(KEYS[0]!.id, KEYS[0]!.secret);
    for (const d of receiver.accepted) {
      expect(d.contentType).toBe("application/webhook+json");
      const event = await livekit.receive(d.body, d.authorization);
      expect(event.event).toBe(JSON.parse(d.body).event);
    }
    const joinedEvent = await livekit.receive(receiver.accepted[1]!.body, receiver.accepted[1]!.authorization);
    expect(joinedEvent.room?.name).toBe("r");
    expect(joinedEvent.participant).toMatchObject({ identity: "alice", sid: clients[0]!.participantId, metadata: "alice's" });
    const trackEvent = await livekit.receive(receiver.accepted[3]!.body, receiver.accepted[3]!.authorization);
    expect(trackEvent.track).toMatchObject({ sid: clients[0]!.outgoing[1]!.trackId, mimeType: "video/VP8", muted: false });
    expect(JSON.parse(receiver.accepted[3]!.body).track).toMatchObject({ type: "VIDEO", source: "CAMERA" });
    expect(new Set(receiver.accepted.map((d) => JSON.parse(d.body).id)).size).toBe(expected.length);

    // A body changed on the way, or a signature by another key, is refused by the receiver.
    const first = receiver.accepted[0]!;
    await expect(livekit.receive(first.body.replace("room_started", "room_finished"), first.authorization)).rejects.toThrow(/sha256 checksum of body does not match/);
    await expect(new WebhookReceiver(KEYS[1]!.id, KEYS[1]!.secret).receive(first.body, first.authorization)).rejects.toThrow();
  });

  it("a receiver that fails first gets the event again after a back-off, and the order is kept; every URL gets every event", async () => {
    const flaky = new Receiver(2);
    const steady = new Receiver();
    await start(flaky, steady);
    const expected = await aRoomsLife();
    await eventually("every event arrives at both", () => flaky.accepted.length >= expected.length && steady.accepted.length >= expected.length);
    expect(flaky.events()).toEqual(expected);
    expect(steady.events()).toEqual(expected);
    // room_started was tried three times (two 500s), with the same body and id; nothing else twice.
    expect(flaky.requests.slice(0, 3).map((d) => d.body)).toEqual([0, 1, 2].map(() => flaky.accepted[0]!.body));
    expect(flaky.requests).toHaveLength(expected.length + 2);
  });

  it("a stopped relay sends nothing more: the back-off of a failing receiver ends with it", async () => {
    const down = new Receiver(Infinity);
    await start(down);
    await joined("alice");
    await eventually("the first attempt arrives", () => down.requests.length >= 1);
    await relay!.close();
    relay = undefined;
    const attempts = down.requests.length;
    await sleep(1500); // past the next back-offs (0.5 s, then 1 s)
    expect(down.requests.length).toBe(attempts);
  });

  it("needs keys to sign with, and http(s) URLs", async () => {
    const { parseConfig } = await import("@sfu-room/relay");
    expect(parseConfig(["--webhook-url", "http://127.0.0.1:9/hook"], {})).toEqual({ ok: false, error: "--webhook-url needs a key to sign the events with: give --keys too" });
    expect(parseConfig(["--webhook-url", "ftp://example.org/x"], {})).toEqual({ ok: false, error: '--webhook-url: "ftp://example.org/x" is not an http:// or https:// URL' });
    const keys = `${KEYS[0]!.id}:${KEYS[0]!.secret}`;
    const ok = parseConfig(["--keys", keys, "--webhook-url", "http://127.0.0.1:9/a", "--webhook-url", "https://backend.example.org/b"], {});
    expect(ok.ok && ok.config.webhookUrls).toEqual(["http://127.0.0.1:9/a", "https://backend.example.org/b"]);
  });
});
