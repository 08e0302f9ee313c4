/**
 * <sfu-room server="ws://127.0.0.1:7880/ws" room="standup" name="Ada"></sfu-room>
 *
 * Joins the room when it has `server` and `room` (unless `manual`, or `prejoin`: then a pre-join view
 * with a camera preview, device pickers and a microphone meter comes first), publishes camera and microphone
 * (unless `video="off"` / `audio="off"`), and shows everyone in a responsive grid with a control bar.
 * Attribute changes apply live: server/room/name/token rejoin, audio/video turn the devices on and off.
 * The public properties are the page's: the element never writes them (the control bar changes the
 * devices, not `video`/`audio`). Each concern lives in its controller; this file wires and renders.
 * docs/element.md is the reference.
 */
import { html, LitElement, nothing, type PropertyDeclarations, type PropertyValues, type TemplateResult } from "lit";
import { ref } from "lit/directives/ref.js";
import { RoomError, screenShareSupported, type Room, type SendOptions, type SendResult, type SimulcastOptions, type VideoQuality } from "../room/index.ts";
import { captureOptions } from "../room/connect-options.ts";
import { layoutConverter, onOffConverter, qualityConverter, type TileLayout } from "./attributes.ts";
import { AudioUnlockController } from "./audio-unlock.ts";
import { renderControls } from "./controls.ts";
import { DeviceListController } from "./device-list.ts";
import { E2eeController } from "./e2ee-controller.ts";
import type { SfuRoomEventMap } from "./events.ts";
import { renderGrid } from "./grid.ts";
import { JoinController, type SfuRoomStatus } from "./join-controller.ts";
import { MediaChoice } from "./media-choice.ts";
import { renderNotices, withNotice, type Notice } from "./notices.ts";
import { renderPanel, renderReconnecting } from "./panels.ts";
import { PrejoinPreview } from "./prejoin-preview.ts";
import { renderPrejoin } from "./prejoin-view.ts";
import { RemoteQualityController } from "./remote-quality.ts";
import { SpeakingController } from "./speaking.ts";
import { SpeakerStageController } from "./speaker-stage.ts";
import { StageSizeController } from "./stage-size.ts";
import { styles } from "./styles.ts";

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
    prejoin: { type: Boolean },
    simulcast: { converter: onOffConverter },
    simulcastOptions: { attribute: false },
    quality: { converter: qualityConverter },
    reconnectTimeout: { type: Number, attribute: "reconnect-timeout" },
    e2eeKey: { type: String, attribute: "e2ee-key" },
    layout: { converter: layoutConverter },
    devicesOpen: { state: true },
    notices: { state: true },
  };

  /** Relay signaling URL, e.g. ws://127.0.0.1:7880/ws. */
  declare server: string;
  /** Room name. */
  declare room: string;
  /** Your display name. */
  declare name: string;
  /** Access token for relays that require one. */
  declare token: string;
  /** The page wants the microphone on (default): applied at join and whenever it changes. */
  declare audio: boolean;
  /** The page wants the camera on (default): applied at join and whenever it changes. */
  declare video: boolean;
  /** Do not join by itself: call join(). */
  declare manual: boolean;
  /** Show the pre-join view (camera preview, devices, microphone level, Join) instead of joining by itself. */
  declare prejoin: boolean;
  /** Send the camera as simulcast layers (default on: the preset, up to three, captured at 1280x720); `simulcast="off"` sends one plain encoding. */
  declare simulcast: boolean;
  /** Simulcast layers and bitrates to use instead of the preset (property only; implies `simulcast`). */
  declare simulcastOptions: SimulcastOptions | undefined;
  /** The quality asked for every remote video: auto (by tile size, the default), low, medium or high. */
  declare quality: VideoQuality;
  /** How long to try getting back in after the connection is lost, in ms (default 60000; 0: do not). */
  declare reconnectTimeout: number | undefined;
  /** End-to-end encryption with this passphrase (everyone in the room sets the same); "" (default): off. */
  declare e2eeKey: string;
  /** `grid` (default): equal tiles; `speaker`: the latest dominant speaker's camera on the stage, the others in a strip. */
  declare layout: TileLayout;
  /** The device picker is open. */
  declare protected devicesOpen: boolean;
  /** Non-fatal errors of this join, until dismissed. */
  declare protected notices: readonly Notice[];

  readonly #media = new MediaChoice();
  readonly #e2ee = new E2eeController();
  readonly #joining = new JoinController(this, {
    target: () => ({ server: this.server, room: this.room, name: this.name, token: this.token, encrypted: this.e2eeKey !== "" }),
    manual: () => this.manual || this.prejoin,
    connectOptions: () => ({
      ...this.#media.connectOptions(),
      simulcast: this.#simulcast(),
      ...this.#e2ee.connectOptions(this.e2eeKey),
      ...(this.reconnectTimeout !== undefined && Number.isFinite(this.reconnectTimeout) ? { reconnectTimeoutMs: this.reconnectTimeout } : {}),
    }),
    started: () => {
      this.#preview.release(); // the join captures the same devices anew
      this.notices = [];
      this.devicesOpen = false;
    },
    joined: (room) => {
      this.#media.joined(room);
      void this.#devices.refresh(); // labels are readable now that the devices are in use
    },
    notice: (error) => {
      this.notices = withNotice(this.notices, error);
    },
  });
  readonly #preview = new PrejoinPreview(
    this,
    () => ({
      shown: this.#showsPrejoin(),
      camera: this.#media.wants("camera"),
      microphone: this.#media.wants("microphone"),
      cameraConstraints: captureOptions({ simulcast: this.#simulcast() }).video,
      cameraId: this.#joining.nextDevices.videoinput,
      microphoneId: this.#joining.nextDevices.audioinput,
    }),
    () => void this.#devices.refresh(), // labels are readable once a device is in use
  );
  readonly #speaking = new SpeakingController(this, () => this.#joining.room);
  readonly #speakerStage = new SpeakerStageController(this, () => this.#joining.room);
  readonly #audio = new AudioUnlockController(this);
  readonly #stage = new StageSizeController(this);
  readonly #devices = new DeviceListController(this);
  // Works by itself after each render (hostUpdated): nothing here calls it.
  readonly #quality = new RemoteQualityController(this, () => this.#joined(), () => this.quality);

  constructor() {
    super();
    this.server = "";
    this.room = "";
    this.name = "";
    this.token = "";
    this.audio = true;
    this.video = true;
    this.manual = false;
    this.prejoin = false;
    this.simulcast = true;
    this.simulcastOptions = undefined;
    this.quality = "auto";
    this.reconnectTimeout = undefined;
    this.e2eeKey = "";
    this.layout = "grid";
    this.devicesOpen = false;
    this.notices = [];
  }

  /** Where the element is: idle, joining, joined, reconnecting, left or failed. */
  get status(): SfuRoomStatus {
    return this.#joining.status;
  }

  /**
   * The headless Room behind the element while joining or joined (statistics, advanced use); a new
   * Room for every join, undefined in between.
   */
  get session(): Room | undefined {
    return this.#joining.room;
  }

  /** Joins `room` on `server`. Resolves when joined; rejects with a RoomError (also fired as `error`). */
  join(): Promise<void> {
    return this.#joining.join();
  }

  /** Leaves the room (fires `left` with reason "user"). */
  leave(): Promise<void> {
    return this.#joining.leave("user");
  }

  /** Turns the camera on or off (the `video` property stays as the page set it); resolves with the new state. */
  toggleCamera(): Promise<boolean> {
    return this.#toggled(this.#media.toggle("camera", this.#joined()));
  }

  /** Mutes or unmutes the microphone (`audio` stays as the page set it); resolves with the new state (true = on). */
  toggleMicrophone(): Promise<boolean> {
    return this.#toggled(this.#media.toggle("microphone", this.#joined()));
  }

  /** Before joining a toggle changes only the wish, which the pre-join view shows: render it. */
  async #toggled(state: Promise<boolean>): Promise<boolean> {
    const on = await state;
    this.requestUpdate();
    return on;
  }

  /** Starts or stops sharing the screen; resolves with the new state. */
  async toggleScreenShare(): Promise<boolean> {
    const room = this.#joined();
    if (!room) return false;
    await room.setScreenShareEnabled(!room.local.isScreenShareEnabled).catch(() => undefined);
    return room.local.isScreenShareEnabled;
  }

  /**
   * Sends a data message (Room.send): to everyone else, or to `options.to`; reliable unless
   * `reliable: false`. Others receive it as a `data` event. Rejects with a RoomError (`not-connected`
   * before joining, `data-too-large`, `data-channel-closed`, `unknown-participant`, `invalid-message`).
   */
  send(data: string | ArrayBuffer | Uint8Array, options?: SendOptions): Promise<SendResult> {
    const room = this.#joined();
    if (!room) return Promise.reject(new RoomError("not-connected", "<sfu-room> is not in a room: join before sending data."));
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

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The page's wishes: `video`/`audio` apply when the page changes them (the first update included),
    // before rendering, so what renders (the pre-join view and its preview) already follows them.
    if (changed.has("video")) this.#media.pageWants("camera", this.video, this.#joined());
    if (changed.has("audio")) this.#media.pageWants("microphone", this.audio, this.#joined());
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("e2eeKey")) this.#e2ee.keySet(this.e2eeKey);
    if (changed.has("server") || changed.has("room") || changed.has("name") || changed.has("token") || changed.has("e2eeKey")) this.#joining.targetSet();
  }

  #simulcast(): boolean | SimulcastOptions {
    return this.simulcastOptions ?? this.simulcast;
  }

  /** The pre-join view is up: asked for, and not joined (nor joining, left or failed) yet. */
  #showsPrejoin(): boolean {
    return this.prejoin && this.#joining.status === "idle";
  }

  /** The Room, once joined (controls act on it only then; also while it reconnects: it catches up once back). */
  #joined(): Room | undefined {
    const { status, room } = this.#joining;
    return status === "joined" || status === "reconnecting" ? room : undefined;
  }

  protected override render(): TemplateResult {
    const room = this.#joined();
    const { status, fatal } = this.#joining;
    return html`<div class="root" part="container" data-status=${status}>
      <div class="stage" part="stage" ${ref(this.#stage.observe)}>
        ${room
          ? this.#renderGrid(room)
          : this.#showsPrejoin()
            ? this.#renderPrejoin()
            : renderPanel({ status, fatal, manual: this.manual, server: this.server, room: this.room }, () => void this.join().catch(() => undefined))}
        ${status === "reconnecting" ? renderReconnecting() : nothing}
        ${renderNotices(this.notices, this.#audio.blocked, {
          enableAudio: () => this.#audio.unlock(),
          dismiss: (id) => (this.notices = this.notices.filter((n) => n.id !== id)),
        })}
      </div>
      ${room ? this.#renderControls(room) : nothing}
    </div>`;
  }

  #renderGrid(room: Room): TemplateResult {
    return renderGrid(room, {
      selfName: this.name,
      selfSpeaking: this.#speaking.selfSpeaking,
      width: this.#stage.width,
      height: this.#stage.height,
      gap: parseFloat(getComputedStyle(this).getPropertyValue("--sfu-room-gap")) || 8,
      unlock: this.#audio,
      featured: this.layout === "speaker" ? this.#speakerStage.featured() : undefined,
      stopPresenting: () => void this.toggleScreenShare(),
    });
  }

  #renderPrejoin(): TemplateResult {
    const preview = this.#preview;
    return renderPrejoin(
      {
        room: this.room,
        canJoin: Boolean(this.server && this.room),
        cameraOn: this.#media.wants("camera"),
        microphoneOn: this.#media.wants("microphone"),
        preview: preview.tracks.camera,
        level: preview.level,
        errors: [preview.errors.camera, preview.errors.microphone].filter((e) => e !== undefined),
        cameras: this.#devices.cameras,
        microphones: this.#devices.microphones,
        cameraId: this.#joining.nextDevices.videoinput ?? preview.tracks.camera?.getSettings().deviceId,
        microphoneId: this.#joining.nextDevices.audioinput ?? preview.tracks.microphone?.getSettings().deviceId,
      },
      {
        toggleCamera: () => void this.toggleCamera(),
        toggleMicrophone: () => void this.toggleMicrophone(),
        pickDevice: (kind, deviceId) => {
          this.#joining.preferDevice(kind, deviceId);
          this.requestUpdate();
        },
        join: () => void this.join().catch(() => undefined),
        wake: () => preview.wake(),
      },
    );
  }

  #renderControls(room: Room): TemplateResult {
    const local = room.local;
    return renderControls(
      {
        microphoneOn: local.isMicrophoneEnabled,
        cameraOn: local.isCameraEnabled,
        screenOn: local.isScreenShareEnabled,
        screenSupported: screenShareSupported(),
        devicesOpen: this.devicesOpen,
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
          this.devicesOpen = !this.devicesOpen;
          if (this.devicesOpen) void this.#devices.refresh();
        },
        pickDevice: (kind, deviceId) => void room.switchDevice(kind, deviceId).catch(() => undefined),
        leave: () => void this.leave(),
      },
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "sfu-room": SfuRoomElement;
  }
}
