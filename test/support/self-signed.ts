/** A throw-away self-signed certificate for localhost/127.0.0.1, made with openssl in a fresh directory. */
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SelfSigned {
  certPath: string;
  keyPath: string;
  /** The PEM text of the certificate (what a client passes as `ca` to trust it). */
  cert: string;
  /** base64 SHA-256 of the public key (SPKI), as Chromium's --ignore-certificate-errors-spki-list wants it. */
  spkiSha256: string;
}

/** `dir`: where to write cert.pem and key.pem (default: a new temporary directory). */
export function makeSelfSigned(dir = mkdtempSync(join(tmpdir(), "sfu-tls-"))): SelfSigned {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", keyPath, "-out", certPath,
  ], { stdio: "pipe" });
  const cert = readFileSync(certPath, "utf8");
  const spki = new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" });
  return { certPath, keyPath, cert, spkiSha256: createHash("sha256").update(spki).digest("base64") };
}
