/**
 * Dynacast: tells each publisher which simulcast layers of its track somebody needs now (the layer a
 * subscription targets, and the one it still forwards until a switch completes), so the publisher can
 * stop encoding the others. The message goes out whenever that set changes; a publisher starts by
 * sending every layer, so that is what it is assumed to be told at first. Tracks without simulcast are
 * never mentioned.
 *
 * A mirrored participant's track (rooms spanning nodes) is one stream here: what its "publisher" is told
 * is instead the one layer of its origin's that this node's subscribers need (`upstream-layer`), which
 * the pipe asks the origin node for. Then only that layer crosses between the nodes.
 */
import { selectLayer } from "./layer-selector.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Publication } from "./publication.ts";
import type { SubscriptionTable } from "./subscription-table.ts";

export class Dynacast {
  /** Per simulcast publication: the layers last told to its publisher. */
  private readonly told = new Map<Publication, boolean[]>();
  /** Per mirrored publication: the upstream layer last asked for. */
  private readonly asked = new Map<Publication, number>();
  private readonly table: SubscriptionTable;
  private readonly out: OutputQueue;

  constructor(table: SubscriptionTable, out: OutputQueue) {
    this.table = table;
    this.out = out;
  }

  /** Something that may change the layers in use of `pub` happened: tell its publisher if they did. */
  update(pub: Publication): void {
    if (pub.upstream !== undefined) return this.updateUpstream(pub, pub.upstream.layers.length);
    if (pub.layerCount < 2) return;
    const inUse = Array.from({ length: pub.layerCount }, () => false);
    for (const sub of this.table.ofTrack(pub.id)) {
      if (sub.targetLayer >= 0) inUse[sub.targetLayer] = true;
      if (sub.currentLayer >= 0) inUse[sub.currentLayer] = true;
    }
    const told = this.told.get(pub);
    if (told === undefined ? inUse.every(Boolean) : inUse.every((w, i) => w === told[i])) return;
    this.told.set(pub, inUse);
    this.out.signal(pub.publisher.id, { type: "layers-wanted", trackId: pub.id, rids: pub.layers.filter((_, i) => inUse[i]) });
  }

  /**
   * Its publisher's session was replaced (a resume) and may have missed the last message: say it again.
   * Nothing is said when nothing ever was (the publisher still sends every layer, as at first).
   */
  repeat(pub: Publication): void {
    const told = this.told.get(pub);
    if (told !== undefined) this.out.signal(pub.publisher.id, { type: "layers-wanted", trackId: pub.id, rids: pub.layers.filter((_, i) => told[i]) });
  }

  /** The track is gone. */
  forget(pub: Publication): void {
    this.told.delete(pub);
    this.asked.delete(pub);
  }

  /** The highest origin layer any subscriber here would pick (bandwidth aside: each link caps its own here). */
  private updateUpstream(pub: Publication, layerCount: number): void {
    let wanted = -1;
    for (const sub of this.table.ofTrack(pub.id)) wanted = Math.max(wanted, selectLayer(sub.wish, Math.max(1, layerCount), pub.upstream!.layerSizes, Infinity));
    if (this.asked.get(pub) === wanted) return;
    this.asked.set(pub, wanted);
    this.out.push({ type: "upstream-layer", publisherId: pub.publisher.id, trackId: pub.id, layer: wanted });
  }
}
