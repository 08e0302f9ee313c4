#!/usr/bin/env node
/**
 * `sfu-relay`: reads flags and environment, prints --help, starts the relay, stops it gracefully on
 * SIGINT/SIGTERM. `sfu-relay token ...` mints an access token instead (token-command.ts).
 */
import { helpText, parseConfig } from "./config.ts";
import { startRelay } from "./main.ts";
import { runTokenCommand } from "./token-command.ts";

if (process.argv[2] === "token") process.exit(await runTokenCommand(process.argv.slice(3), process.env));

const parsed = parseConfig(process.argv.slice(2), process.env);
if (!parsed.ok) {
  console.error(`sfu-relay: ${parsed.error}`);
  process.exit(2);
}
if (parsed.help) {
  console.log(helpText());
  process.exit(0);
}
// Loud on the terminal (not only in the JSON log) and once: what the operator must not miss.
if (parsed.config.keys.length === 0) {
  console.error("sfu-relay: WARNING: NO ACCESS CONTROL. No --keys (SFU_KEYS): anyone who reaches this relay joins any room and publishes. Configure keys before others can reach it (docs/auth.md).");
}
if (parsed.config.devTokens) {
  console.error("sfu-relay: WARNING: development tokens are on (--dev-tokens): GET /dev/token gives any allowed page a token for any room. Never in production.");
}
try {
  const relay = await startRelay(parsed.config);
  const stop = () => {
    relay.shutdown().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // SIGHUP (systemctl reload, a certbot deploy hook) picks up a renewed certificate without a restart.
  if (parsed.config.tlsCertPath !== undefined) {
    process.on("SIGHUP", () => {
      relay.reloadTls().catch((e: Error) => console.error(`sfu-relay: certificate not reloaded, the current one stays: ${e.message}`));
    });
  }
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === "EADDRINUSE" ? " (is another relay running? choose another --port)" : "";
  console.error(`sfu-relay: could not start: ${err.message}${hint}`);
  process.exit(1);
}
