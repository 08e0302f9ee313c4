/**
 * The `subscription-settings` of one received video track, kept in sync with the relay: the quality
 * asked for, and the size and visibility of the elements showing it (several elements: visible if any
 * is, the size of the largest visible one). Only changes are sent: a quality change or a tile coming
 * into view at once, a tile leaving view after HIDE_DELAY_MS, size changes of more than 10 % after
 * SIZE_DELAY_MS (so a window being dragged to a new size sends one message, not fifty).
 */
import type { Quality } from "@sfu-room/protocol";
import type { ElementView } from "./element-view.ts";

/** The protocol's `Quality` under the name the SDK's docs use. */
export type VideoQuality = Quality;

export interface SubscriptionSettings {
  quality?: VideoQuality;
  width?: number;
  height?: number;
  visible?: boolean;
}

export type SettingsSink = (settings: SubscriptionSettings) => Promise<void>;

export const HIDE_DELAY_MS = 100;
export const SIZE_DELAY_MS = 300;
/** What the relay assumes for a new subscription (docs/protocol.md, subscription-settings). */
const RELAY_DEFAULTS: SubscriptionSettings = { quality: "auto", visible: true };

export class ViewSettings {
  #quality: VideoQuality = "auto";
  readonly #views = new Map<object, ElementView>();
  #sent: SubscriptionSettings = { ...RELAY_DEFAULTS };
  #active = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  readonly #sink: SettingsSink;

  constructor(sink: SettingsSink) {
    this.#sink = sink;
  }

  get quality(): VideoQuality {
    return this.#quality;
  }

  /** Sends the quality now when subscribed (resolves on the relay's ok), else keeps it for the subscription. */
  setQuality(quality: VideoQuality): Promise<void> {
    this.#quality = quality;
    return this.#active ? this.#flush() : Promise.resolve();
  }

  setView(key: object, view: ElementView): void {
    this.#views.set(key, view);
    this.#schedule();
  }

  removeView(key: object): void {
    if (this.#views.delete(key)) this.#schedule();
  }

  /** The track is now received (again): the relay starts from its defaults, so send whatever differs. */
  activate(): void {
    this.#active = true;
    this.#sent = { ...RELAY_DEFAULTS };
    void this.#flush().catch(() => undefined);
  }

  deactivate(): void {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** What the relay should know now. */
  #desired(): SubscriptionSettings {
    const out: SubscriptionSettings = { quality: this.#quality };
    if (this.#views.size === 0) return out;
    const views = [...this.#views.values()];
    const shown = views.filter((v) => v.visible);
    out.visible = shown.length > 0;
    const sized = (shown.length > 0 ? shown : views).filter((v) => v.width > 0 && v.height > 0);
    if (sized.length > 0) {
      out.width = Math.max(...sized.map((v) => v.width));
      out.height = Math.max(...sized.map((v) => v.height));
    }
    return out;
  }

  /** The fields that differ from what was sent (sizes only beyond 10 %). */
  #changes(): SubscriptionSettings {
    const want = this.#desired();
    const sent = this.#sent;
    const out: SubscriptionSettings = {};
    if (want.quality !== sent.quality) out.quality = want.quality!;
    if (want.visible !== undefined && want.visible !== sent.visible) out.visible = want.visible;
    if (want.width !== undefined && want.height !== undefined) {
      const far = (a: number, b: number | undefined) => b === undefined || Math.abs(a - b) > b * 0.1;
      if (far(want.width, sent.width) || far(want.height, sent.height)) {
        out.width = want.width;
        out.height = want.height;
      }
    }
    return out;
  }

  #schedule(): void {
    if (!this.#active) return;
    const changes = this.#changes();
    const delay =
      changes.quality !== undefined || changes.visible === true
        ? 0
        : changes.visible === false
          ? HIDE_DELAY_MS
          : changes.width !== undefined
            ? SIZE_DELAY_MS
            : undefined;
    if (delay === undefined) return;
    const at = Date.now() + delay;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      void this.#flush().catch(() => undefined);
    }, delay);
  }

  async #flush(): Promise<void> {
    if (!this.#active) return;
    const changes = this.#changes();
    if (Object.keys(changes).length === 0) return;
    const before = this.#sent;
    this.#sent = { ...this.#sent, ...changes };
    try {
      await this.#sink(changes);
    } catch (e) {
      this.#sent = before; // not applied: sent again with the next change
      throw e;
    }
  }
}
