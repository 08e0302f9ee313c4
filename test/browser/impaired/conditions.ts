/**
 * The link conditions of issue 12's table, each on one side's access link (the subscriber's downlink
 * or the publisher's uplink), as the impairment forwarder applies them.
 */
import type { LinkConditions } from "../../support/impairment/forwarder.ts";
import type { Side } from "./rig.ts";

export interface Condition {
  /** As the table names it. */
  name: string;
  /** A short id for --rows. */
  id: string;
  side: Side;
  direction: "up" | "down";
  conditions: LinkConditions;
}

const DOWN = { side: "subscriber", direction: "down" } as const;
const UP = { side: "publisher", direction: "up" } as const;
const JITTER = { delayMs: 100, jitterMs: 30 };

export const CONDITIONS: Condition[] = [
  { id: "down500", name: "receiver's downlink 500 kbit/s", ...DOWN, conditions: { rateBps: 500_000 } },
  { id: "down300loss1", name: "receiver's downlink 300 kbit/s + 1% loss", ...DOWN, conditions: { rateBps: 300_000, loss: 0.01 } },
  { id: "up500", name: "publisher's uplink 500 kbit/s", ...UP, conditions: { rateBps: 500_000 } },
  { id: "up300loss1", name: "publisher's uplink 300 kbit/s + 1% loss", ...UP, conditions: { rateBps: 300_000, loss: 0.01 } },
  { id: "uploss2", name: "publisher's uplink 2% loss", ...UP, conditions: { loss: 0.02 } },
  { id: "downloss10", name: "receiver's downlink 10% loss", ...DOWN, conditions: { loss: 0.1 } },
  { id: "uploss10", name: "publisher's uplink 10% loss", ...UP, conditions: { loss: 0.1 } },
  { id: "downjitter", name: "receiver's downlink 3% loss, 100 ms ± 30 ms", ...DOWN, conditions: { loss: 0.03, ...JITTER } },
  { id: "upjitter", name: "publisher's uplink 3% loss, 100 ms ± 30 ms", ...UP, conditions: { loss: 0.03, ...JITTER } },
];
