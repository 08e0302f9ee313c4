import { afterEach, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import type { RunningRelay } from "@sfu-room/relay";
import { Pacer, type SentLog, WeriftClient } from "@sfu-room/test-peer";
import { eventually, startTestRelay } from "../support/relay-harness.ts";
import { makeSelfSigned } from "../support/self-signed.ts";

/** GET over HTTPS trusting only `ca`: the status and the fingerprint of the certificate the relay presented. */
function httpsGet(url: string, ca: string): Promise<{ status: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, fingerprint }));
    }).on("error", reject);
  });
}

describe("TLS directly on the relay (--tls-cert / --tls-key)", () => {
  let relay: RunningRelay | undefined;
  let clients: WeriftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await relay?.close();
    relay = undefined;
  });

  it("werift clients join over wss:// with the self-signed certificate as their CA, and media flows", async () => {
    const tls = makeSelfSigned();
    relay = await startTestRelay({ tlsCertPath: tls.certPath, tlsKeyPath: tls.keyPath });
    expect(relay.signalUrl).toBe(`wss://127.0.0.1:${relay.port}/ws`);
    const log: SentLog = new Map();
    for (const name of ["alice", "bob"]) {
      const c = new WeriftClient({ name, log });
      clients.push(c);
      await c.connect(relay.signalUrl, { ca: tls.cert });
      await c.join("tls-room", true);
      await c.publish([{ kind: "audio" }, { kind: "video" }]);
    }
    await Promise.all(clients.map((c) => c.connected()));
    const pacer = new Pacer(() => clients);
    pacer.start();
    await eventually("each receives the other's 2 tracks", () =>
      clients.every((c) => c.received.size === 2 && [...c.received.values()].every((r) => r.packets > 30)),
    );
    await pacer.stop();
    for (const c of clients) for (const r of c.received.values()) expect(r.mismatches).toBe(0);
    // The rest of the HTTP routes are on HTTPS too (same server, same handlers).
    expect((await httpsGet(`https://127.0.0.1:${relay.port}/health`, tls.cert)).status).toBe(200);
  });

  it("a client that does not trust the certificate is refused by its own TLS check, and plain ws:// gets no session", async () => {
    const tls = makeSelfSigned();
    relay = await startTestRelay({ tlsCertPath: tls.certPath, tlsKeyPath: tls.keyPath });
    const untrusting = new WeriftClient({ name: "eve", log: new Map() });
    await expect(untrusting.connect(relay.signalUrl)).rejects.toThrow(/self[- ]signed/i);
    const plain = new WeriftClient({ name: "mallory", log: new Map() });
    await expect(plain.connect(`ws://127.0.0.1:${relay.port}/ws`)).rejects.toThrow();
    expect(relay.stats().sessions).toBe(0);
  });

  it("reloadTls (SIGHUP) serves a renewed certificate to new connections; a bad file is refused and the current one stays", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sfu-tls-live-"));
    const first = makeSelfSigned(dir);
    relay = await startTestRelay({ tlsCertPath: first.certPath, tlsKeyPath: first.keyPath });
    const url = `https://127.0.0.1:${relay.port}/health`;
    const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
    expect((await httpsGet(url, first.cert)).fingerprint).toBe(fingerprintOf(first.cert));

    const renewed = makeSelfSigned(mkdtempSync(join(tmpdir(), "sfu-tls-new-")));
    copyFileSync(renewed.certPath, first.certPath);
    copyFileSync(renewed.keyPath, first.keyPath);
    await relay.reloadTls();
    expect((await httpsGet(url, renewed.cert)).fingerprint).toBe(fingerprintOf(renewed.cert));

    writeFileSync(first.certPath, "not a certificate\n");
    await expect(relay.reloadTls()).rejects.toThrow(`--tls-cert: ${first.certPath} is not a PEM certificate`);
    expect((await httpsGet(url, renewed.cert)).fingerprint).toBe(fingerprintOf(renewed.cert));
  });

  it("refuses to start with a file it cannot read, a file that is not PEM, or a key of another certificate, naming the file", async () => {
    const a = makeSelfSigned();
    const b = makeSelfSigned();
    const missing = join(tmpdir(), "sfu-tls-no-such-dir", "cert.pem");
    await expect(startTestRelay({ tlsCertPath: missing, tlsKeyPath: a.keyPath })).rejects.toThrow(`--tls-cert: cannot read ${missing}`);
    await expect(startTestRelay({ tlsCertPath: a.certPath, tlsKeyPath: a.certPath })).rejects.toThrow(`--tls-key: ${a.certPath} is not a PEM private key`);
    await expect(startTestRelay({ tlsCertPath: a.keyPath, tlsKeyPath: a.keyPath })).rejects.toThrow(`--tls-cert: ${a.keyPath} is not a PEM certificate`);
    await expect(startTestRelay({ tlsCertPath: a.certPath, tlsKeyPath: b.keyPath })).rejects.toThrow(`--tls-cert/--tls-key: ${a.certPath} and ${b.keyPath} cannot be used together`);
    await expect(startTestRelay({ tlsCertPath: a.certPath })).rejects.toThrow("--tls-cert needs --tls-key");
  });
});
