/**
 * The relay's logger: pino's JSON lines (one object a line, for journald, Loki, `jq`) unless the
 * operator asks for `--log-format pretty`, which `npm start` does: one readable, coloured line per
 * event on a terminal. Pretty printing runs in this thread and writes synchronously, so the last
 * lines before an exit are not lost; it costs more per line, so it is for development.
 */
import { pino, type Logger } from "pino";
import pinoPretty from "pino-pretty";

export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function createLogger(level: string, format: LogFormat): Logger {
  if (format === "json") return pino({ level });
  return pino({ level }, pinoPretty({ sync: true, singleLine: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }));
}
