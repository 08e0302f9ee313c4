/** Shared helpers of the component tests (they run in the browser). */
import "@sfu-room/sdk";
import { Room, RoomError, type RoomEvents, type SfuRoomElement, type SfuRoomEventMap } from "@sfu-room/sdk";

export interface TestConfig {
  relay: string;
  fullRelay: string;
  /** A relay that allows 20 data frames per second (bursts of 40). */
  dataLimitedRelay: string;
  /** A relay that allows 16 MiB/s of data per participant. */
  dataFastRelay: string;
  droppingRelay: string;
  /** A relay that keeps no session once its WebSocket drops (resume refused). */
  noResumeRelay: string;
  /** A relay that keeps a session two minutes after its WebSocket drops. */
  longResumeRelay: string;
  /** Makes and cuts TCP proxies in front of `relay` or a relay that keeps no sessions (support/proxy-control.ts). */
  proxyControl: string;
  firefoxMedia: boolean;
}

export const config = (window as unknown as { __SFU_TEST__: TestConfig }).__SFU_TEST__;
export const isFirefox = navigator.userAgent.includes("Firefox");
/** Whether this browser can open media connections to the test relay (see run-components.ts). */
export const mediaNetwork = !isFirefox || config.firefoxMedia;

/** A signaling path to `config.relay` of this test's own, which the test can cut. */
export interface SignalingProxy {
  /** The relay's signaling URL through the proxy. */
  url: string;
  /** Resets its connections and refuses new ones for `ms` (returns once the reset is done). */
  cut(ms: number): Promise<void>;
}

/**
 * `to`: "relay" (keeps a dropped session 20 s for a resume), "noResumeRelay" (does not: a rejoin
 * follows), "longResumeRelay" (keeps it two minutes).
 */
export async function signalingProxy(to: "relay" | "noResumeRelay" | "longResumeRelay"): Promise<SignalingProxy> {
  const made = await fetch(`${config.proxyControl}/proxy?to=${to}`, { method: "POST" });
  const { url } = (await made.json()) as { url: string };
  const port = new URL(url).port;
  return {
    url,
    cut: async (ms) => {
      const res = await fetch(`${config.proxyControl}/proxy/${port}/cut?ms=${ms}`, { method: "POST" });
      if (!res.ok) throw new Error(`cut failed: ${await res.text()}`);
    },
  };
}

export function uniqueRoom(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mounted: HTMLElement[] = [];

/** Creates <sfu-room> with the given attributes inside an 800x500 box and attaches it to the page. */
export function mount(attributes: Record<string, string>, size = { width: 800, height: 500 }): SfuRoomElement {
  const box = document.createElement("div");
  box.style.cssText = `width:${size.width}px;height:${size.height}px;`;
  const el = document.createElement("sfu-room");
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  box.append(el);
  document.body.append(box);
  mounted.push(box);
  return el;
}

/** Removes every mounted element (they leave their rooms) and waits a moment for the leaves to go out. */
export async function unmountAll(): Promise<void> {
  for (const box of mounted.splice(0)) box.remove();
  await new Promise((r) => setTimeout(r, 100));
}

export function nextEvent<K extends keyof SfuRoomEventMap>(el: SfuRoomElement, type: K, timeoutMs = 20_000): Promise<SfuRoomEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${type}" event within ${timeoutMs} ms`)), timeoutMs);
    el.addEventListener(
      type,
      (e) => {
        clearTimeout(timer);
        resolve(e);
      },
      { once: true },
    );
  });
}

export function $(el: SfuRoomElement, selector: string): HTMLElement | null {
  return el.shadowRoot!.querySelector<HTMLElement>(selector);
}

export function $$(el: SfuRoomElement, selector: string): HTMLElement[] {
  return Array.from(el.shadowRoot!.querySelectorAll<HTMLElement>(selector));
}

/** The pre-join view's camera preview capture, while it shows one. */
export function previewTrack(el: SfuRoomElement): MediaStreamTrack | undefined {
  const video = $(el, '[part~="prejoin-video"]') as HTMLVideoElement | null;
  return video && !video.hidden ? (video.srcObject as MediaStream | null)?.getVideoTracks()[0] : undefined;
}

export async function previewPlaying(el: SfuRoomElement): Promise<void> {
  await until("the camera preview plays", () => (($(el, '[part~="prejoin-video"]') as HTMLVideoElement | null)?.videoWidth ?? 0) > 0);
}

export function selfTile(el: SfuRoomElement): HTMLElement | null {
  return $(el, '.tile[data-self][data-source="camera"]');
}

export function remoteTiles(el: SfuRoomElement): HTMLElement[] {
  return $$(el, ".tile:not([data-self])");
}

/** The RoomError a promise rejects with (any other outcome fails the test). */
export async function rejection(promise: Promise<unknown>): Promise<RoomError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof RoomError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

const rooms: Room[] = [];

/** A headless Room that disconnectRooms() ends after the test. */
export function newRoom(): Room {
  const room = new Room();
  rooms.push(room);
  return room;
}

export async function disconnectRooms(): Promise<void> {
  await Promise.all(rooms.splice(0).map((room) => room.disconnect()));
}

/** The next `type` event of a Room. */
export function nextRoomEvent<K extends keyof RoomEvents>(room: Room, type: K): Promise<RoomEvents[K]> {
  return new Promise((resolve) => room.once(type, resolve));
}
