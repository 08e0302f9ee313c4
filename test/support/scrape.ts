/** GET /metrics of a test relay, parsed by a Prometheus text-format parser (not by the relay's own code). */
import { expect } from "vitest";
import type { RunningRelay } from "@sfu-room/relay";
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";

export class Scrape {
  readonly contentType: string;
  readonly families: Map<string, PrometheusFamily>;

  constructor(contentType: string, families: PrometheusFamily[]) {
    this.contentType = contentType;
    this.families = new Map(families.map((f) => [f.name, f]));
  }

  static async of(relay: RunningRelay): Promise<Scrape> {
    const res = await fetch(`http://127.0.0.1:${relay.port}/metrics`);
    expect(res.status).toBe(200);
    return new Scrape(res.headers.get("content-type") ?? "", parsePrometheusTextFormat(await res.text()));
  }

  /** The value of the sample of `name` with exactly these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const sample = this.families.get(name)?.metrics.find((m) => sameLabels(m.labels ?? {}, labels));
    return sample?.value === undefined ? undefined : Number(sample.value);
  }

  /** Every label value of every sample. */
  labelValues(): string[] {
    return [...this.families.values()].flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
