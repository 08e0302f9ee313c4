/**
 * `npm start`'s development tokens: with --dev-tokens on, GET /dev/token gives an allowed page a token
 * that joins its room (and only it); a foreign page gets 403, and without the flag there is no endpoint.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import { type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { startTestRelay } from "../support/relay-harness.ts";

const KEYS = [{ id: "dev", secret: "a-development-secret-of-32-chars!!" }];

describe("development tokens", () => {
  let relay: RunningRelay | undefined;
  const clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await relay?.close();
    relay = undefined;
  });

  const get = (path: string, origin?: string) =>
    fetch(`http://127.0.0.1:${relay!.port}${path}`, origin === undefined ? {} : { headers: { origin } });

  it("mint a token for the asked room that joins it, with the name, for an allowed page only", async () => {
    relay = await startTestRelay({ keys: KEYS, devTokens: true });
    const res = await get("/dev/token?room=lobby&name=Dana", "http://localhost:3000");
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const { token } = (await res.json()) as { token: string };

    const log: SentLog = new Map();
    const watcher = new WeriftClient({ name: "watcher", log });
    const dana = new WeriftClient({ name: "ignored", log });
    clients.push(watcher, dana);
    await watcher.connect(relay.signalUrl);
    // Its own token, under the same name: one identity has one session in a room (docs/auth.md), and each token minted here is a new identity.
    const watcherToken = ((await (await get("/dev/token?room=lobby&name=Dana", "http://localhost:3000")).json()) as { token: string }).token;
    await watcher.join("lobby", true, watcherToken);
    await dana.connect(relay.signalUrl);
    const elsewhere = await dana.request({ type: "join", id: "j1", room: "other", name: "x", autoSubscribe: true, token });
    expect(elsewhere).toMatchObject({ type: "error", code: "unauthorized" });
    const joined = await dana.request({ type: "join", id: "j2", room: "lobby", name: "x", autoSubscribe: true, token });
    expect(joined).toMatchObject({ type: "joined", room: "lobby", participants: [{ name: "Dana" }] });

    const foreign = await get("/dev/token?room=lobby", "https://evil.example");
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(await get("/dev/token", "http://localhost:3000")).toMatchObject({ status: 400 });
  });

  it("are not served unless asked for", async () => {
    relay = await startTestRelay({ keys: KEYS });
    expect((await get("/dev/token?room=lobby")).status).toBe(404);
  });
});
