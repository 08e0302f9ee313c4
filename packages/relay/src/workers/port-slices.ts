/** Each worker's own part of the configured media port ranges: workers must never race for one port. */
import type { RelayConfig } from "../config.ts";

/** Slice `index` of `count` equal slices of the inclusive range (the last ports left over stay unused). */
export function portSlice(range: [number, number], count: number, index: number): [number, number] {
  const size = Math.floor((range[1] - range[0] + 1) / count);
  const first = range[0] + index * size;
  return [first, first + size - 1];
}

/** Worker `index`'s configuration: the relay's, with its slice of the UDP and TCP ranges. */
export function workerConfig(config: RelayConfig, index: number): RelayConfig {
  // An unset TCP range stays unset: it means "the UDP range", which is then the worker's UDP slice.
  return {
    ...config,
    udpPortRange: config.udpPortRange && portSlice(config.udpPortRange, config.workers, index),
    tcpPortRange: config.tcpPortRange && portSlice(config.tcpPortRange, config.workers, index),
  };
}
