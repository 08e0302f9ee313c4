/**
 * This client's own media: camera, microphone and screen share (with its sound when the browser offers
 * it), captured locally and published on the publisher connection once the room is connected. One LocalParticipant lives as long as its Room:
 * connect() configures it and publishes, the end of a connection stops its captures (each track gets
 * `track-unpublished`); its listeners and the device choice stay. Tracks enabled while disconnected
 * are a preview: connect() stops them and captures what it publishes.
 *
 * - Camera off stops the capture (the camera light goes out), sends no media on the m-line
 *   (`replaceTrack(null)`) and announces `mute`; on captures again and unmutes. The track keeps its
 *   relay id, so nobody renegotiates.
 * - Microphone off disables the track (silence, the device stays open so unmuting is instant) and
 *   announces `mute`.
 * - Device switching captures the new device and swaps it in with `replaceTrack` mid-call.
 * - Operations are queued, so quick double clicks cannot interleave.
 */
import { Emitter } from "./emitter.ts";
import { RoomError } from "./errors.ts";
import { captureBoth, captureCamera, captureMicrophone, captureScreen, type CaptureConstraints, type LocalSource } from "./local-media.ts";
import type { PublisherTransport } from "./publisher-transport.ts";
import type { ConnectionQuality, TrackInfo } from "@sfu-room/protocol";
import type { CurrentSignal } from "./signal-client.ts";
import { cameraPlan, type EncodingPlan, screenPlan, type SimulcastOptions } from "./simulcast.ts";
import { LocalTrack } from "./local-track.ts";
import { Dynacast } from "./dynacast.ts";
import { captureOptions } from "./connect-options.ts";

export interface LocalParticipantEvents {
  "track-published": LocalTrack;
  "track-unpublished": LocalTrack;
  /** Muted/unmuted, camera turned off/on, device switched. */
  "track-updated": LocalTrack;
  /** Your `name` or `metadata` changed (the server API's UpdateParticipant). */
  updated: LocalParticipant;
}

export interface CaptureOptions {
  audio: CaptureConstraints;
  video: CaptureConstraints;
  /** Simulcast for the camera: true for the preset, an object to choose layers and bitrates. */
  simulcast: boolean | SimulcastOptions;
}

export class LocalParticipant extends Emitter<LocalParticipantEvents> {
  /** Relay participant id while connected. */
  id = "";
  name = "";
  /** Opaque text from your token's `metadata` or the server API; undefined when none (or unknown yet). */
  metadata: string | undefined;
  readonly tracks = new Map<LocalSource, LocalTrack>();
  /** Tracks the user muted or unmuted while the signaling was down: reconcile() sends these, follows the relay on the rest. */
  readonly #changedWhileAway = new Set<LocalTrack>();
  /** The relay counts this client among the active speakers (`active-speakers-changed` on Room). */
  isSpeaking = false;
  /** The smoothed level 0..1 the relay gave when it last changed the speakers; 0 while not speaking. */
  speakingLevel = 0;
  /** How well your connections carry media, as the relay rates them (`connection-quality-changed` on Room). */
  connectionQuality: ConnectionQuality = "good";
  /** The devices chosen with switchDevice(), for every capture from then on (also before connecting). */
  readonly preferredDevices: { audioinput?: string; videoinput?: string } = {};
  /** connect()'s defaults until it gives its own, so a preview made before joining captures as the join will. */
  #capture: CaptureOptions = captureOptions({});
  #publisher: PublisherTransport | undefined;
  #signal: CurrentSignal | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Counts connection starts and ends (prepare, detach): a capture that spans one is not kept. */
  #epoch = 0;
  readonly #dynacast = new Dynacast((trackId) => [...this.tracks.values()].find((t) => t.trackId === trackId)?.sender);

  get isCameraEnabled(): boolean {
    const t = this.tracks.get("camera");
    return t !== undefined && t.mediaStreamTrack !== undefined && !t.muted;
  }

  get isMicrophoneEnabled(): boolean {
    const t = this.tracks.get("microphone");
    return t !== undefined && t.mediaStreamTrack !== undefined && !t.muted;
  }

  get isScreenShareEnabled(): boolean {
    return this.tracks.has("screen");
  }

  /** Audio level 0..1 of the microphone as sent (0 when unknown or muted). */
  async audioLevel(): Promise<number> {
    const t = this.tracks.get("microphone");
    if (!t?.sender || t.muted) return 0;
    let level = 0;
    const report = await t.sender.getStats();
    report.forEach((s: RTCStats & { kind?: string; audioLevel?: number }) => {
      if (s.type === "media-source" && s.kind === "audio" && typeof s.audioLevel === "number") level = s.audioLevel;
    });
    return level;
  }

  setCameraEnabled(enabled: boolean): Promise<void> {
    return this.#enqueue(() => (enabled ? this.#cameraOn() : this.#cameraOff()));
  }

  setMicrophoneEnabled(enabled: boolean): Promise<void> {
    return this.#enqueue(() => this.#microphone(enabled));
  }

  setScreenShareEnabled(enabled: boolean): Promise<void> {
    return this.#enqueue(async () => {
      if (enabled) return this.#screenOn();
      await this.#remove("screen");
      await this.#remove("screen-audio");
    });
  }

  /** Stops publishing a source altogether (the relay unpublishes it; the others see it go). */
  unpublish(source: LocalSource): Promise<void> {
    return this.#enqueue(() => this.#remove(source));
  }

  /** @internal The relay changed your name or metadata (`participant-updated` about you). */
  updated(info: { name: string; metadata?: string | undefined }): void {
    if (this.name === info.name && this.metadata === info.metadata) return;
    this.name = info.name;
    this.metadata = info.metadata;
    this.emit("updated", this);
  }

  /**
   * @internal The relay muted or unmuted one of your tracks (the server API). Muting applies as the
   * user's own would (the camera released, the microphone silenced). An unmute never turns a device
   * on: only the user does that, so while the track is still off here the relay is told so again.
   */
  mutedByRelay(trackId: string, muted: boolean): Promise<void> {
    return this.#enqueue(async () => {
      const t = [...this.tracks.values()].find((x) => x.trackId === trackId);
      if (t) await this.#followRelayMute(t, muted);
    });
  }

  async #followRelayMute(t: LocalTrack, muted: boolean): Promise<void> {
    if (!muted) {
      if (t.muted) await this.#mute(t, true);
      return;
    }
    if (t.muted) return;
    if (t.source === "camera") await this.#cameraOff();
    else if (t.source === "microphone") await this.#microphone(false);
    else await this.#remove(t.source);
  }

  /** @internal The relay unpublished one of your tracks (a refreshed token without its grant): it stops here too. */
  unpublishedByRelay(trackId: string): Promise<void> {
    return this.#enqueue(async () => {
      const t = [...this.tracks.values()].find((x) => x.trackId === trackId);
      if (t) await this.#remove(t.source);
    });
  }

  /** Uses another camera or microphone from now on; switches the live track mid-call with replaceTrack. */
  switchDevice(kind: "videoinput" | "audioinput", deviceId: string): Promise<void> {
    // Remembered at once, so a capture already queued (connect's) uses it too.
    this.preferredDevices[kind] = deviceId;
    return this.#enqueue(async () => {
      const t = this.tracks.get(kind === "videoinput" ? "camera" : "microphone");
      const old = t?.mediaStreamTrack;
      if (!t || !old || old.getSettings().deviceId === deviceId) return;
      const capture = kind === "videoinput" ? captureCamera : captureMicrophone;
      const constraints = kind === "videoinput" ? this.#capture.video : this.#capture.audio;
      const next = await this.#kept(async () => {
        try {
          return await capture(constraints, deviceId);
        } catch (e) {
          // Phones often cannot open two cameras at once: release the old one and try again.
          if (!(e instanceof RoomError) || !e.code.endsWith("-in-use")) throw e;
          old.stop();
          return capture(constraints, deviceId);
        }
      });
      if (!next) return;
      next.enabled = old.enabled;
      await t.sender?.replaceTrack(next);
      old.stop();
      t.mediaStreamTrack = next;
      this.emit("track-updated", t);
    });
  }

  /**
   * @internal Dynacast: the relay says which simulcast layers of a track anyone receives; the others
   * stop being encoded (and resume when listed again).
   */
  setLayersWanted(trackId: string, rids: string[]): Promise<void> {
    return this.#dynacast.set(trackId, rids);
  }

  /** @internal connect() starts: its name and capture options; a preview is stopped (the join captures anew). */
  prepare(name: string, capture: CaptureOptions): void {
    this.#epoch++;
    this.name = name;
    this.#capture = capture;
    this.#dropTracks();
  }

  /**
   * @internal Captures what connect() publishes, camera and microphone with one permission prompt,
   * while the join goes on; resolves with what could not be captured. When `cancelled()` says the
   * join ended meanwhile, the captures are stopped instead of kept.
   */
  captureForJoin(cancelled: () => boolean): Promise<RoomError[]> {
    return this.#enqueue(async () => {
      const devices = { audio: this.preferredDevices.audioinput, video: this.preferredDevices.videoinput };
      const media = await captureBoth(this.#capture.audio, this.#capture.video, devices);
      const captured = [["microphone", media.audio], ["camera", media.video]] as const;
      if (cancelled()) {
        for (const [, track] of captured) track?.stop();
        return [];
      }
      for (const [source, track] of captured) {
        if (!track) continue;
        if (this.tracks.has(source)) {
          track.stop(); // turned on meanwhile (setCameraEnabled before connect() finished preparing): keep that one
          continue;
        }
        this.#watchEnded(source, track);
        this.tracks.set(source, new LocalTrack(source, track));
      }
      return media.errors;
    });
  }

  /** @internal The room is connected: publish every local track that is not published yet. */
  async attach(signal: CurrentSignal, publisher: PublisherTransport): Promise<void> {
    this.#signal = signal;
    this.#publisher = publisher;
    await this.#enqueue(() => this.#publishPending());
  }

  /**
   * @internal The connection is being replaced (a rejoin): its publications are forgotten, the
   * captures are kept (the same tracks, the same devices) for the next attach() to publish again. A
   * camera turned off has no capture to keep: it goes (`track-unpublished`), and turning it on later
   * publishes anew.
   */
  detachForRejoin(): void {
    this.#publisher = undefined;
    this.#signal = undefined;
    this.#dynacast.clear();
    for (const [source, t] of [...this.tracks]) {
      t.trackId = undefined;
      t.sender = undefined;
      if (t.mediaStreamTrack) continue;
      this.tracks.delete(source);
      this.emit("track-unpublished", t);
    }
  }

  /**
   * @internal After a resume: `relayTracks` are this participant's publications as the relay has them.
   * What changed locally during the gap is sent now: mutes, a track removed, a track added.
   */
  reconcile(relayTracks: readonly TrackInfo[]): Promise<void> {
    return this.#enqueue(async () => {
      const publisher = this.#publisher;
      if (!publisher) return;
      const local = new Map([...this.tracks.values()].filter((t) => t.trackId !== undefined).map((t) => [t.trackId!, t]));
      for (const info of relayTracks) {
        const t = local.get(info.id);
        if (!t) await publisher.unpublish(info.id); // removed during the gap
        else if (t.muted === info.muted) continue;
        // The user changed it during the gap: theirs goes. Otherwise the relay changed it (the server
        // API muted it while this client was away): follow it, as when told at once.
        else if (this.#changedWhileAway.has(t)) await this.#mute(t, t.muted);
        else await this.#followRelayMute(t, info.muted);
      }
      this.#changedWhileAway.clear();
      await this.#publishPending();
    });
  }

  /** @internal The connection ended: stop every capture and forget the publications (listeners stay). */
  detach(): void {
    this.#epoch++;
    this.#publisher = undefined;
    this.#signal = undefined;
    this.#dynacast.clear();
    this.#changedWhileAway.clear();
    this.id = "";
    this.#dropTracks();
  }

  #dropTracks(): void {
    const dropped = [...this.tracks.values()];
    this.tracks.clear();
    for (const t of dropped) {
      t.mediaStreamTrack?.stop();
      this.emit("track-unpublished", t);
    }
  }

  /**
   * Runs a capture (getUserMedia, getDisplayMedia, which may wait for the user); undefined, with the new
   * track stopped, when the connection ended or a new one started meanwhile: its tracks were dropped, and
   * a capture finishing late must not stay on (the camera light, a screen share) with nothing to stop it.
   */
  async #kept<T extends MediaStreamTrack | { video: MediaStreamTrack; audio: MediaStreamTrack | undefined }>(capture: () => Promise<T>): Promise<T | undefined> {
    const epoch = this.#epoch;
    const captured = await capture();
    if (epoch === this.#epoch) return captured;
    for (const track of captured instanceof MediaStreamTrack ? [captured] : [captured.video, captured.audio]) track?.stop();
    return undefined;
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #publishPending(): Promise<void> {
    const publisher = this.#publisher;
    if (!publisher) return;
    const pending = [...this.tracks.values()].filter((t) => t.trackId === undefined && t.mediaStreamTrack !== undefined);
    if (pending.length === 0) return;
    let publications;
    try {
      publications = await publisher.publish(
        pending.map((t) => {
          const plan = this.#plan(t);
          return { track: t.mediaStreamTrack!, source: t.source, muted: t.muted, ...(plan ? { plan } : {}) };
        }),
      );
    } catch (e) {
      // The token does not allow these: no retry (a reconnect's) would send them, so nothing stays captured.
      if (e instanceof RoomError && e.code === "forbidden") this.#dropUnpublished(pending);
      throw e;
    }
    if (this.#publisher !== publisher) return; // detached meanwhile: these tracks are already dropped
    publications.forEach((p, i) => {
      const t = pending[i]!;
      t.trackId = p.trackId;
      t.sender = p.sender;
      this.emit("track-published", t);
      if (this.#dynacast.has(p.trackId)) void this.#dynacast.apply(p.trackId).catch(() => undefined);
    });
  }

  /** Stops captures that were never published and forgets them (the source reads as off). */
  #dropUnpublished(tracks: readonly LocalTrack[]): void {
    for (const t of tracks) {
      if (this.tracks.get(t.source) !== t) continue;
      t.mediaStreamTrack?.stop();
      this.tracks.delete(t.source);
      this.emit("track-updated", t);
    }
  }

  /** The encoding preset of a source: simulcast camera (when asked for), screen share, or the browser's default. */
  #plan(t: LocalTrack): EncodingPlan | undefined {
    if (t.source === "screen") return screenPlan();
    if (t.source !== "camera" || this.#capture.simulcast === false) return undefined;
    const { width, height } = t.mediaStreamTrack?.getSettings() ?? {};
    return cameraPlan({ width, height }, this.#capture.simulcast);
  }

  async #mute(t: LocalTrack, muted: boolean): Promise<void> {
    t.muted = muted;
    // Not connected (reconnecting): the relay learns it from reconcile() after the resume.
    const signal = this.#signal?.();
    if (t.trackId !== undefined && signal?.open) await signal.request({ type: "mute", trackId: t.trackId, muted });
    else this.#changedWhileAway.add(t);
  }

  async #cameraOn(): Promise<void> {
    const t = this.tracks.get("camera");
    if (t?.mediaStreamTrack && !t.muted) return;
    const track = await this.#kept(() => captureCamera(this.#capture.video, this.preferredDevices.videoinput));
    if (!track) return;
    this.#watchEnded("camera", track);
    if (!t) {
      this.tracks.set("camera", new LocalTrack("camera", track));
      await this.#publishPending();
      return;
    }
    t.mediaStreamTrack?.stop();
    t.mediaStreamTrack = track;
    await t.sender?.replaceTrack(track);
    await this.#mute(t, false);
    this.emit("track-updated", t);
  }

  async #cameraOff(): Promise<void> {
    const t = this.tracks.get("camera");
    if (!t) return;
    if (t.trackId === undefined) {
      // Never published (not connected yet): just stop the preview.
      this.#dropUnpublished([t]);
      return;
    }
    t.mediaStreamTrack?.stop();
    t.mediaStreamTrack = undefined;
    await t.sender?.replaceTrack(null);
    await this.#mute(t, true);
    this.emit("track-updated", t);
  }

  async #microphone(enabled: boolean): Promise<void> {
    const t = this.tracks.get("microphone");
    if (!t) {
      if (!enabled) return;
      const track = await this.#kept(() => captureMicrophone(this.#capture.audio, this.preferredDevices.audioinput));
      if (!track) return;
      this.#watchEnded("microphone", track);
      this.tracks.set("microphone", new LocalTrack("microphone", track));
      await this.#publishPending();
      return;
    }
    if (t.muted === !enabled) return;
    if (t.mediaStreamTrack) t.mediaStreamTrack.enabled = enabled;
    await this.#mute(t, !enabled);
    this.emit("track-updated", t);
  }

  async #screenOn(): Promise<void> {
    if (this.tracks.has("screen")) return;
    const captured = await this.#kept(() => captureScreen());
    if (!captured) return;
    // The shared tab's sound, when the browser offered it: published with the picture, in one negotiation.
    const shared = ([["screen", captured.video], ["screen-audio", captured.audio]] as const).filter(
      (entry): entry is readonly ["screen" | "screen-audio", MediaStreamTrack] => entry[1] !== undefined,
    );
    for (const [source, track] of shared) {
      this.#watchEnded(source, track);
      this.tracks.set(source, new LocalTrack(source, track));
    }
    try {
      await this.#publishPending();
    } catch (e) {
      for (const [source, track] of shared) {
        track.stop();
        this.tracks.delete(source);
      }
      throw e;
    }
  }

  async #remove(source: LocalSource): Promise<void> {
    const t = this.tracks.get(source);
    if (!t) return;
    this.tracks.delete(source);
    t.mediaStreamTrack?.stop();
    if (t.trackId !== undefined) this.#dynacast.forget(t.trackId);
    if (t.trackId !== undefined && this.#publisher) await this.#publisher.unpublish(t.trackId);
    this.emit("track-unpublished", t);
  }

  /** A capture that ends by itself (device unplugged, "stop sharing" in the browser's bar). */
  #watchEnded(source: LocalSource, track: MediaStreamTrack): void {
    track.addEventListener("ended", () => {
      const t = this.tracks.get(source);
      if (t?.mediaStreamTrack !== track) return;
      if (source === "screen") void this.setScreenShareEnabled(false).catch(() => undefined);
      else if (source === "screen-audio") void this.unpublish("screen-audio").catch(() => undefined);
      else if (source === "camera") void this.setCameraEnabled(false).catch(() => undefined);
      else void this.setMicrophoneEnabled(false).catch(() => undefined);
    });
  }
}
