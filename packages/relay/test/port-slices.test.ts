import { describe, expect, it } from "vitest";
import { DEFAULT_RELAY_CONFIG } from "../src/config.ts";
import { workerConfig } from "../src/workers/port-slices.ts";

describe("each worker's media ports", () => {
  it("splits the UDP and TCP ranges into equal slices that never overlap, leftover ports unused", () => {
    const config = { ...DEFAULT_RELAY_CONFIG, workers: 3, udpPortRange: [40000, 40100] as [number, number], tcpPortRange: [41000, 41029] as [number, number] };
    const slices = [0, 1, 2].map((i) => workerConfig(config, i));
    expect(slices.map((c) => c.udpPortRange)).toEqual([[40000, 40032], [40033, 40065], [40066, 40098]]);
    expect(slices.map((c) => c.tcpPortRange)).toEqual([[41000, 41009], [41010, 41019], [41020, 41029]]);
  });

  it("leaves unset ranges unset: any port, and TCP on the worker's own UDP slice", () => {
    const config = { ...DEFAULT_RELAY_CONFIG, workers: 2, udpPortRange: [40000, 40009] as [number, number] };
    expect(workerConfig(config, 1)).toMatchObject({ udpPortRange: [40005, 40009], tcpPortRange: undefined });
    expect(workerConfig({ ...config, udpPortRange: undefined }, 0)).toMatchObject({ udpPortRange: undefined, tcpPortRange: undefined });
  });
});
