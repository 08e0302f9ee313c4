/**
 * <sfu-room server="ws://127.0.0.1:7880/ws" room="standup" name="Ada"></sfu-room>
 *
 * Joins the room when it has `server` and `room` (unless `manual`), publishes camera and microphone
 * (unless `video="off"` / `audio="off"`), and shows everyone in a responsive grid with a control bar.
 * Attribute changes apply live: server/room/name rejoin, audio/video turn the devices on and off.
 * docs/element.md is the reference.
 */
import { html, LitElement, nothing, type PropertyDeclarations, type PropertyValues, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { listDevices, Room, RoomError, screenShareSupported, type RoomErrorCode, type SendOptions, type SendResult, type SimulcastOptions, type VideoQuality } from "../room/index.ts";
import { onOffConverter, qualityConverter } from "./attributes.ts";
import { renderControls } from "./controls.ts";
import type { ErrorDetail, LeftReason, ParticipantSummary, SfuRoomEventMap } from "./events.ts";
import { speakerIcon } from "./icons.ts";
import { AdaptiveStream } from "./adaptive-stream.ts";
import { gridLayout } from "./layout.ts";
import { SpeakingController } from "./speaking.ts";
import { styles } from "./styles.ts";
import { buildTiles, renderTile, streamOf } from "./tiles.ts";

export type SfuRoomStatus = "idle" | "joining" | "joined" | "left" | "failed";

/** Errors after which the element is out of the room. */
const FATAL: ReadonlySet<RoomErrorCode> = new Set([
  "relay-unreachable",
  "connection-lost",
  "kicked",
  "room-full",
  "unauthorized",
  "bad-room-name",
  "join-failed",
]);

interface Notice {
  id: number;
  code: RoomErrorCode;
  message: string;
}

export class SfuRoomElement extends LitElement {
  static override styles = styles;
  static override properties: PropertyDeclarations = {
    server: { type: String },
    room: { type: String },
    name: { type: String },
    token: { type: String },
    audio: { converter: onOffConverter },
    video: { converter: onOffConverter },
    manual: { type: Boolean },
    simulcast: { type: Boolean },
    simulcastOptions: { attribute: false },
    quality: { converter: qualityConverter },
  };

  /** Relay signaling URL, e.g. ws://127.0.0.1:7880/ws. */
  declare server: string;
  /** Room name. */
  declare room: string;
  /** Your display name. */
  declare name: string;
  /** Access token for relays that require one. */
  declare token: string;
  /** Microphone on (default) or off. */
  declare audio: boolean;
  /** Camera on (default) or off. */
  declare video: boolean;
  /** Do not join by itself: call join(). */
  declare manual: boolean;
  /** Send the camera as simulcast layers (the preset: up to three, captured at 1280x720). */
  declare simulcast: boolean;
  /** Simulcast layers and bitrates to use instead of the preset (property only; implies `simulcast`). */
  declare simulcastOptions: SimulcastOptions | undefined;
  /** The quality asked for every remote video: auto (by tile size, the default), low, medium or high. */
  declare quality: VideoQuality;

  #status: SfuRoomStatus = "idle";
  #session: Room | undefined;
  #joinPromise: Promise<void> | undefined;
  #joinScheduled = false;
  #fatal: { code: RoomErrorCode; message: string } | undefined;
  #notices: Notice[] = [];
  #noticeId = 0;
  #audioBlocked = false;
  #devicesOpen = false;
  #devices: { cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] } = { cameras: [], microphones: [] };
  #layout = { width: 0, height: 0 };
  #resizeObserver: ResizeObserver | undefined;
  readonly #speaking = new SpeakingController(this, () => this.#session);
  readonly #adaptive = new AdaptiveStream();
  readonly #onDeviceChange = () => void this.#refreshDevices();

  constructor() {
    super();
    this.server = "";
    this.room = "";
    this.name = "";
    this.token = "";
    this.audio = true;
    this.video = true;
    this.manual = false;
    this.simulcast = false;
    this.simulcastOptions = undefined;
    this.quality = "auto";
  }

  /** Where the element is: idle, joining, joined, left or failed. */
  get status(): SfuRoomStatus {
    return this.#status;
  }

  /** The headless Room behind the element while joining or joined (for statistics and advanced use). */
  get session(): Room | undefined {
    return this.#session;
  }

  /** Joins `room` on `server`. Resolves when joined; rejects with a RoomError (also fired as `error`). */
  join(): Promise<void> {
    if (this.#joinPromise) return this.#joinPromise;
    if (this.#status === "joined") return Promise.resolve();
    const run = this.#join().finally(() => {
      if (this.#joinPromise === run) this.#joinPromise = undefined;
    });
    this.#joinPromise = run;
    return run;
  }

  /** Leaves the room (fires `left` with reason "user"). */
  async leave(): Promise<void> {
    await this.#leave("user");
  }

  /** Turns the camera on or off; resolves with the new state. */
  async toggleCamera(): Promise<boolean> {
    const next = !(this.#session ? this.#session.local.isCameraEnabled : this.video);
    this.video = next;
    if (this.#session && this.#status === "joined") await this.#session.setCameraEnabled(next).catch(() => undefined);
    return this.#session && this.#status === "joined" ? this.#session.local.isCameraEnabled : next;
  }

  /** Mutes or unmutes the microphone; resolves with the new state (true = on). */
  async toggleMicrophone(): Promise<boolean> {
    const next = !(this.#session ? this.#session.local.isMicrophoneEnabled : this.audio);
    this.audio = next;
    if (this.#session && this.#status === "joined") await this.#session.setMicrophoneEnabled(next).catch(() => undefined);
    return this.#session && this.#status === "joined" ? this.#session.local.isMicrophoneEnabled : next;
  }

  /** Starts or stops sharing the screen; resolves with the new state. */
  async toggleScreenShare(): Promise<boolean> {
    const room = this.#session;
    if (!room || this.#status !== "joined") return false;
    await room.setScreenShareEnabled(!room.local.isScreenShareEnabled).catch(() => undefined);
    return room.local.isScreenShareEnabled;
  }

  /**
   * Sends a data message (Room.send): to everyone else, or to `options.to`; reliable unless
   * `reliable: false`. Others receive it as a `data` event. Rejects with a RoomError (`not-connected`
   * before joining, `data-too-large`, `data-channel-closed`, `unknown-participant`, `invalid-message`).
   */
  send(data: string | ArrayBuffer | Uint8Array, options?: SendOptions): Promise<SendResult> {
    const room = this.#session;
    if (!room || this.#status !== "joined") return Promise.reject(new RoomError("not-connected", "<sfu-room> is not in a room: join before sending data."));
    return room.send(data, options);
  }

  // Typed listeners: el.addEventListener("joined", (e) => e.detail.participantId)
  override addEventListener<K extends keyof SfuRoomEventMap>(
    type: K,
    listener: (this: SfuRoomElement, ev: SfuRoomEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: HTMLElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: unknown, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject, options);
  }

  override removeEventListener<K extends keyof SfuRoomEventMap>(
    type: K,
    listener: (this: SfuRoomElement, ev: SfuRoomEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: unknown, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject, options);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    navigator.mediaDevices?.addEventListener?.("devicechange", this.#onDeviceChange);
    if (this.hasUpdated) this.#maybeAutoJoin();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.#onDeviceChange);
    this.#resizeObserver?.disconnect();
    this.#resizeObserver = undefined;
    this.#adaptive.reset(undefined);
    if (this.#session) {
      void this.#leave("removed").then(() => {
        this.#status = "idle";
      });
    }
  }

  protected override firstUpdated(): void {
    this.#observeStage();
  }

  protected override updated(changed: PropertyValues<this>): void {
    this.#observeStage();
    this.#playAudio();
    this.#watchFirstFrame();
    this.#adaptive.update(this.#status === "joined" ? this.#session : undefined, this.renderRoot, this.quality);
    const target = changed.has("server") || changed.has("room") || changed.has("name") || changed.has("token");
    if (target && (this.#status === "joined" || this.#status === "joining") && this.#targetChanged()) {
      void this.#rejoin();
    } else if (target && (this.#status === "idle" || this.#status === "failed")) {
      this.#maybeAutoJoin();
    }
    if (this.#status === "joined" && this.#session) {
      if (changed.has("audio") && this.#session.local.isMicrophoneEnabled !== this.audio) {
        void this.#session.setMicrophoneEnabled(this.audio).catch(() => undefined);
      }
      if (changed.has("video") && this.#session.local.isCameraEnabled !== this.video) {
        void this.#session.setCameraEnabled(this.video).catch(() => undefined);
      }
    }
  }

  // --- joining and leaving ---

  /** What the current session was joined with, to tell a real change from a re-set of the same value. */
  #joinedWith = { server: "", room: "", name: "", token: "" };

  #targetChanged(): boolean {
    const w = this.#joinedWith;
    return w.server !== this.server || w.room !== this.room || w.name !== this.name || w.token !== this.token;
  }

  #maybeAutoJoin(): void {
    if (this.manual || this.#joinScheduled || !this.isConnected || !this.server || !this.room) return;
    if (this.#status !== "idle" && !(this.#status === "failed" && this.#targetChanged())) return;
    this.#joinScheduled = true;
    // A microtask later, so setting several attributes in a row joins once, with all of them.
    queueMicrotask(() => {
      this.#joinScheduled = false;
      if (this.isConnected && !this.manual && this.server && this.room && (this.#status === "idle" || this.#status === "failed")) {
        this.join().catch(() => undefined);
      }
    });
  }

  async #rejoin(): Promise<void> {
    if (this.#joinScheduled) return;
    this.#joinScheduled = true;
    await Promise.resolve();
    this.#joinScheduled = false;
    if (this.#joinPromise) await this.#joinPromise.catch(() => undefined);
    if (!this.#targetChanged()) return;
    await this.#leave("rejoin");
    if (this.server && this.room) await this.join().catch(() => undefined);
  }

  /** performance.mark("sfu-room:first-remote-frame") when the first remote video frame of a join is shown. */
  #firstFrameMarked = false;
  readonly #watchedVideos = new WeakSet<HTMLVideoElement>();

  #watchFirstFrame(): void {
    if (this.#firstFrameMarked || this.#status !== "joined") return;
    for (const video of Array.from(this.renderRoot.querySelectorAll<HTMLVideoElement>(".tile:not([data-self]) video"))) {
      if (this.#watchedVideos.has(video) || !video.srcObject) continue;
      this.#watchedVideos.add(video);
      const mark = () => {
        if (this.#firstFrameMarked) return;
        this.#firstFrameMarked = true;
        performance.mark("sfu-room:first-remote-frame");
      };
      // loadeddata: the first decoded frame reached the element (fires in background tabs too).
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) mark();
      else video.addEventListener("loadeddata", mark, { once: true });
    }
  }

  async #join(): Promise<void> {
    if (!this.server || !this.room) {
      const error = new RoomError("join-failed", "Set the server and room attributes before joining.");
      this.#onError(error);
      this.#setStatus("failed");
      throw error;
    }
    performance.mark("sfu-room:join");
    this.#firstFrameMarked = false;
    const room = new Room();
    this.#session = room;
    this.#fatal = undefined;
    this.#notices = [];
    this.#joinedWith = { server: this.server, room: this.room, name: this.name, token: this.token };
    this.#wire(room);
    this.#setStatus("joining");
    try {
      await room.connect(this.server, this.room, {
        name: this.name,
        audio: this.audio,
        video: this.video,
        simulcast: this.simulcastOptions ?? this.simulcast,
        ...(this.token ? { token: this.token } : {}),
      });
    } catch (e) {
      if (this.#session === room) {
        this.#session = undefined;
        this.#setStatus("failed");
      }
      throw e;
    }
    if (this.#session !== room) throw new RoomError("join-failed", "The join was cancelled.");
    this.#setStatus("joined");
    this.#dispatch("joined", {
      room: room.roomName,
      participantId: room.local.id,
      participants: [...room.participants.values()].map(summary),
    });
    void this.#refreshDevices();
  }

  async #leave(reason: LeftReason): Promise<void> {
    const room = this.#session;
    if (!room) return;
    this.#session = undefined;
    this.#devicesOpen = false;
    this.#audioBlocked = false;
    const wasIn = this.#status === "joined" || this.#status === "joining";
    await room.disconnect();
    this.#setStatus(reason === "rejoin" ? "idle" : "left");
    if (wasIn) this.#dispatch("left", { room: room.roomName, reason });
  }

  #wire(room: Room): void {
    const update = () => {
      if (this.#session === room) this.requestUpdate();
    };
    room.on("connection-state", ({ state }) => {
      if (this.#session !== room) return;
      this.#dispatch("connection-state", { state });
      update();
    });
    room.on("participant-joined", ({ participant }) => {
      if (this.#session !== room) return;
      this.#dispatch("participant-joined", { participant: summary(participant) });
      update();
    });
    room.on("participant-left", ({ participant }) => {
      if (this.#session !== room) return;
      this.#dispatch("participant-left", { participant: summary(participant) });
      update();
    });
    for (const type of [
      "track-published",
      "track-unpublished",
      "track-subscribed",
      "track-unsubscribed",
      "track-muted",
      "track-unmuted",
      "local-track-published",
      "local-track-unpublished",
      "local-track-updated",
    ] as const) {
      room.on(type, update);
    }
    room.on("data", (detail) => {
      if (this.#session === room) this.#dispatch("data", detail);
    });
    room.on("error", (error) => {
      if (this.#session === room) this.#onError(error);
    });
    room.on("disconnected", ({ reason, error }) => {
      if (this.#session !== room || reason === "client") return;
      this.#session = undefined;
      this.#fatal = error ? { code: error.code, message: error.message } : this.#fatal;
      this.#setStatus("failed");
      this.#dispatch("left", { room: room.roomName, reason: reason === "kicked" ? "kicked" : "connection-lost" });
    });
  }

  #onError(error: RoomError): void {
    const fatal = FATAL.has(error.code);
    if (fatal) this.#fatal = { code: error.code, message: error.message };
    else {
      this.#notices = [...this.#notices.filter((n) => n.code !== error.code), { id: ++this.#noticeId, code: error.code, message: error.message }];
    }
    this.#dispatch("error", { code: error.code, message: error.message, fatal } satisfies ErrorDetail);
    this.requestUpdate();
  }

  #setStatus(status: SfuRoomStatus): void {
    this.#status = status;
    this.requestUpdate();
  }

  #dispatch<K extends keyof SfuRoomEventMap>(type: K, detail: SfuRoomEventMap[K]["detail"]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // --- devices, audio playback, layout ---

  async #refreshDevices(): Promise<void> {
    this.#devices = await listDevices().catch(() => ({ cameras: [], microphones: [] }));
    this.requestUpdate();
  }

  #playAudio(): void {
    for (const audio of Array.from(this.renderRoot.querySelectorAll<HTMLAudioElement>("audio"))) {
      if (!audio.paused || !audio.srcObject) continue;
      audio.play().catch((e: unknown) => {
        if (e instanceof DOMException && e.name === "NotAllowedError" && !this.#audioBlocked) {
          this.#audioBlocked = true;
          this.requestUpdate();
        }
      });
    }
  }

  #enableAudio(): void {
    const audios = Array.from(this.renderRoot.querySelectorAll<HTMLAudioElement>("audio"));
    void Promise.all(audios.map((a) => a.play())).then(
      () => {
        this.#audioBlocked = false;
        this.requestUpdate();
      },
      () => undefined,
    );
  }

  #observeStage(): void {
    const stage = this.renderRoot.querySelector<HTMLElement>(".stage");
    if (!stage || this.#resizeObserver || typeof ResizeObserver === "undefined") return;
    this.#resizeObserver = new ResizeObserver((entries) => {
      const box = entries[0]?.contentRect;
      if (!box) return;
      if (Math.abs(box.width - this.#layout.width) >= 1 || Math.abs(box.height - this.#layout.height) >= 1) {
        this.#layout = { width: box.width, height: box.height };
        // Next frame: re-rendering inside the observer's delivery would be a "ResizeObserver loop".
        requestAnimationFrame(() => this.requestUpdate());
      }
    });
    this.#resizeObserver.observe(stage);
  }

  // --- rendering ---

  protected override render(): TemplateResult {
    return html`<div class="root" part="container" data-status=${this.#status}>
      <div class="stage" part="stage">${this.#renderStage()} ${this.#renderNotices()}</div>
      ${this.#status === "joined" && this.#session ? this.#renderControls(this.#session) : nothing}
    </div>`;
  }

  #renderStage(): TemplateResult {
    const room = this.#session;
    switch (this.#status) {
      case "idle":
        return this.manual || !this.server || !this.room
          ? this.#panel("status", this.room ? `Ready to join “${this.room}”.` : "Waiting for a room to join.", "Join", this.server && this.room ? () => void this.join().catch(() => undefined) : undefined)
          : this.#panel("status", `Joining “${this.room}”…`);
      case "joining":
        return this.#panel("status", `Joining “${this.room}”…`);
      case "left":
        return this.#panel("status", `You left “${this.room}”.`, "Rejoin", () => void this.join().catch(() => undefined));
      case "failed":
        return this.#panel("error", this.#fatal?.message ?? "Something went wrong.", "Try again", () => void this.join().catch(() => undefined));
      case "joined":
        return room ? this.#renderGrid(room) : this.#panel("status", "");
    }
  }

  #panel(kind: "status" | "error", text: string, action?: string, onAction?: () => void): TemplateResult {
    return html`<div class="panel" part=${kind === "error" ? "panel error" : "panel"} data-kind=${kind} role=${kind === "error" ? "alert" : "status"}>
      <p part="message" data-code=${kind === "error" ? (this.#fatal?.code ?? "") : ""}>${text}</p>
      ${action && onAction ? html`<button class="action" part="action" @click=${onAction}>${action}</button>` : nothing}
    </div>`;
  }

  #renderGrid(room: Room): TemplateResult {
    const tiles = buildTiles(room, this.name, this.#speaking.speaking);
    const gap = parseFloat(getComputedStyle(this).getPropertyValue("--sfu-room-gap")) || 8;
    const { tileWidth, tileHeight } = gridLayout(this.#layout.width - 2 * gap, this.#layout.height - 2 * gap, tiles.length, gap);
    const audioTracks = [...room.participants.values()].flatMap((p) => p.audioTracks).filter((t) => t.mediaStreamTrack);
    return html`<div class="grid" part="grid" style="--_tile-w:${tileWidth}px;--_tile-h:${tileHeight}px" data-count=${tiles.length}>
        ${repeat(tiles, (t) => t.key, renderTile)}
      </div>
      ${repeat(
        audioTracks,
        (t) => t.id,
        (t) => html`<audio data-track-id=${t.id} .srcObject=${streamOf(t.mediaStreamTrack)} autoplay></audio>`,
      )}`;
  }

  #renderNotices(): TemplateResult {
    return html`<div class="notices">
      ${this.#audioBlocked
        ? html`<button class="audio-prompt" part="audio-prompt" @click=${() => this.#enableAudio()}>
            ${speakerIcon} Tap to enable audio
          </button>`
        : nothing}
      ${this.#notices.map(
        (n) => html`<div class="notice" part="notice" role="alert" data-code=${n.code}>
          <span>${n.message}</span>
          <button aria-label="Dismiss" title="Dismiss" @click=${() => this.#dismiss(n.id)}>×</button>
        </div>`,
      )}
    </div>`;
  }

  #dismiss(id: number): void {
    this.#notices = this.#notices.filter((n) => n.id !== id);
    this.requestUpdate();
  }

  #renderControls(room: Room): TemplateResult {
    const local = room.local;
    return renderControls(
      {
        microphoneOn: local.isMicrophoneEnabled,
        cameraOn: local.isCameraEnabled,
        screenOn: local.isScreenShareEnabled,
        screenSupported: screenShareSupported(),
        devicesOpen: this.#devicesOpen,
        cameras: this.#devices.cameras,
        microphones: this.#devices.microphones,
        cameraId: local.tracks.get("camera")?.deviceId ?? local.preferredDevices.videoinput,
        microphoneId: local.tracks.get("microphone")?.deviceId ?? local.preferredDevices.audioinput,
      },
      {
        toggleMicrophone: () => void this.toggleMicrophone(),
        toggleCamera: () => void this.toggleCamera(),
        toggleScreenShare: () => void this.toggleScreenShare(),
        toggleDevices: () => {
          this.#devicesOpen = !this.#devicesOpen;
          if (this.#devicesOpen) void this.#refreshDevices();
          this.requestUpdate();
        },
        pickDevice: (kind, deviceId) => void room.switchDevice(kind, deviceId).catch(() => undefined),
        leave: () => void this.leave(),
      },
    );
  }
}

function summary(p: { id: string; name: string }): ParticipantSummary {
  return { id: p.id, name: p.name };
}

declare global {
  interface HTMLElementTagNameMap {
    "sfu-room": SfuRoomElement;
  }
}
