/**
 * `sfu-relay`: reads flags and environment, prints --help, starts the relay, stops it on SIGINT/SIGTERM.
 * `sfu-relay token ...` mints an access token instead (token-command.ts).
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
try {
  const relay = await startRelay(parsed.config);
  const stop = () => {
    relay.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === "EADDRINUSE" ? " (is another relay running? choose another --port)" : "";
  console.error(`sfu-relay: could not start: ${err.message}${hint}`);
  process.exit(1);
}
