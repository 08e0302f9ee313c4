/**
 * BandwidthAllocator: shares one subscriber's estimated downlink among its video subscriptions and
 * says, per subscription, the highest layer that fits (the LayerSelector's bandwidth cap).
 *
 * Every subscription first gets its lowest layer (video never stops for bandwidth: a small picture beats
 * a frozen one), then layers are raised one step at a time, round-robin, lowest layer first, while the
 * budget lasts and up to what each subscription wants. Layer costs are the publisher's measured
 * bitrates; an unmeasured layer costs nothing (it is not flowing yet, or nobody sends it).
 */

export interface AllocationRequest {
  /** The layer the subscriber's wish picks (its LayerSelector result without a cap); -1 = paused. */
  wanted: number;
  /** Measured bitrate of each layer, bits/s, lowest first. */
  layerCosts: readonly number[];
}

/** Caps per request, in order: the highest affordable layer (>= 0), or -1 for a paused one. */
export function allocateLayers(budgetBps: number, requests: readonly AllocationRequest[]): number[] {
  const caps: number[] = requests.map((r) => (r.wanted < 0 ? -1 : 0));
  let spent = 0;
  for (let i = 0; i < requests.length; i++) if (caps[i]! >= 0) spent += requests[i]!.layerCosts[0] ?? 0;
  for (let raised = true; raised; ) {
    raised = false;
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const cap = caps[i]!;
      if (cap < 0 || cap >= r.wanted) continue;
      const extra = (r.layerCosts[cap + 1] ?? 0) - (r.layerCosts[cap] ?? 0);
      if (spent + extra > budgetBps) continue;
      spent += extra;
      caps[i] = cap + 1;
      raised = true;
    }
  }
  return caps;
}
