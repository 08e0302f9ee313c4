/** `sfu-relay`: reads flags and environment, prints --help, starts the relay, stops it gracefully on SIGINT/SIGTERM. */
import { helpText, parseConfig } from "./config.ts";
import { startRelay } from "./main.ts";

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
    relay.shutdown().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === "EADDRINUSE" ? " (is another relay running? choose another --port)" : "";
  console.error(`sfu-relay: could not start: ${err.message}${hint}`);
  process.exit(1);
}
