/**
 * The relay's own TLS (`--tls-cert` / `--tls-key`): the rule that they come as a pair, and reading them
 * into a secure context with an error that says which file is wrong and how. Read at start and again on
 * SIGHUP (a renewed Let's Encrypt certificate), so a bad file never replaces a good one.
 */
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Both or neither: one alone would silently serve plain ws:// to clients told to use wss://. */
export function tlsPairError(certPath: string | undefined, keyPath: string | undefined): string | undefined {
  if (certPath !== undefined && keyPath === undefined) return "--tls-cert needs --tls-key (SFU_TLS_KEY) too: the private key of that certificate";
  if (keyPath !== undefined && certPath === undefined) return "--tls-key needs --tls-cert (SFU_TLS_CERT) too: the certificate (chain) of that key";
  return undefined;
}

async function readPem(path: string, flag: string, label: RegExp, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
  if (!label.test(bytes.toString("latin1"))) throw new Error(`${flag}: ${path} is not a PEM ${what} (no "-----BEGIN ...-----" block)`);
  return bytes;
}

/** Reads and checks the pair; throws an Error naming the flag and the file. */
export async function readTlsFiles(certPath: string, keyPath: string): Promise<TlsFiles> {
  const cert = await readPem(certPath, "--tls-cert", /-----BEGIN CERTIFICATE-----/, "certificate");
  const key = await readPem(keyPath, "--tls-key", /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, "private key");
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`--tls-cert/--tls-key: ${certPath} and ${keyPath} cannot be used together: ${(e as Error).message}`);
  }
  return { cert, key };
}
