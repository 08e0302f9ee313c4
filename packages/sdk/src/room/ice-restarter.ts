/**
 * When a session restarts ICE, and the restart itself: fresh ICE credentials on both peer connections
 * (`restart-ice`; the relay answers the publisher's offer and sends a new subscriber offer), nothing
 * else renegotiated. Triggers: the browser's word that the network changed (network-watch.ts), a peer
 * connection ICE-"disconnected" for more than ICE_DISCONNECTED_RESTART_MS, and a resume after the
 * media path went down or the network changed meanwhile. Without signaling a restart is remembered
 * for the resume. A path that does not come back after a resume's restart is reported (`noRecovery`):
 * resuming again would not help, a rejoin may.
 */
import { watchNetwork } from "./network-watch.ts";
import type { PublisherTransport } from "./publisher-transport.ts";
import { RelayRequestError, type SignalClient } from "./signal-client.ts";

/** How long a peer connection may stay ICE-"disconnected" before ICE is restarted. */
export const ICE_DISCONNECTED_RESTART_MS = 2_000;
/**
 * How long the relay may take to answer `restart-ice` (it answers in well under a second). A network
 * change usually kills the WebSocket too, silently (its TCP connection is bound to the address that
 * went), so a restart that gets no answer in this time means the signaling is gone: resume instead of
 * waiting for the socket to time out.
 */
export const RESTART_REPLY_MS = 4_000;
/** After a resume that restarted ICE: how long the media path may take to come back. */
export const MEDIA_RECOVERY_MS = 10_000;

export interface IceRestarterHost {
  /** The signaling client when the session is usable (joined, not lost, not closed). */
  usableSignal(): SignalClient | undefined;
  publisher(): PublisherTransport | undefined;
  peerConnections(): Array<RTCPeerConnection | undefined>;
  /** The media path did not come back within MEDIA_RECOVERY_MS of a resume's restart. */
  noRecovery(): void;
  /** The relay did not answer a restart within RESTART_REPLY_MS: the WebSocket is taken as dead. */
  signalSilent(): void;
}

export class IceRestarter {
  readonly #host: IceRestarterHost;
  /** The network changed, ICE stalled or the media failed while signaling was down: restart once resumed. */
  #wanted = false;
  #restarting: Promise<void> | undefined;
  #disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  #recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #stopWatching: () => void;

  constructor(host: IceRestarterHost) {
    this.#host = host;
    this.#stopWatching = watchNetwork(() => void this.restart());
  }

  /** Whether a peer connection has no working path. */
  get mediaDown(): boolean {
    return this.#host.peerConnections().some((pc) => pc?.connectionState === "failed" || pc?.connectionState === "disconnected");
  }

  /** Restarts ICE now, or (signaling down) once the session is resumed. */
  restart(): Promise<void> {
    const signal = this.#host.usableSignal();
    const publisher = this.#host.publisher();
    if (!signal?.open || !publisher) {
      this.#wanted = true;
      return Promise.resolve();
    }
    if (this.#restarting) return this.#restarting;
    this.#wanted = false;
    this.#restarting = publisher
      .restartIce(async (sdp) => (await signal.request({ type: "restart-ice", ...(sdp !== undefined ? { sdp } : {}) }, RESTART_REPLY_MS)).sdp)
      .catch((e: unknown) => {
        if (!(e instanceof RelayRequestError) && signal.open && signal === this.#host.usableSignal()) {
          // No answer at all: the socket is dead without knowing it. The resume restarts ICE.
          this.#wanted = true;
          this.#host.signalSilent();
          return;
        }
        // The relay could not restart (an older relay, or the session just went): a path that stays down fails, and the session is lost then.
        if (signal.open) console.warn(`[sfu-room] ICE restart failed: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => (this.#restarting = undefined));
    return this.#restarting;
  }

  /** A peer connection's state changed: a path "disconnected" for too long gets a restart. */
  peerStateChanged(): void {
    const disconnected = () => this.#host.peerConnections().some((pc) => pc?.connectionState === "disconnected");
    if (!disconnected()) {
      clearTimeout(this.#disconnectedTimer);
      this.#disconnectedTimer = undefined;
    } else if (this.#disconnectedTimer === undefined) {
      this.#disconnectedTimer = setTimeout(() => {
        this.#disconnectedTimer = undefined;
        if (disconnected()) void this.restart();
      }, ICE_DISCONNECTED_RESTART_MS);
    }
  }

  /** The media path failed: the resume must restart ICE. */
  want(): void {
    this.#wanted = true;
  }

  /** The session is resumed: restart ICE if the path is down or a restart was wanted, and watch it come back. */
  resumed(): void {
    if (!this.#wanted && !this.mediaDown) return;
    void this.restart();
    clearTimeout(this.#recoveryTimer);
    this.#recoveryTimer = setTimeout(() => {
      if (this.#host.usableSignal() && this.mediaDown) this.#host.noRecovery();
    }, MEDIA_RECOVERY_MS);
  }

  close(): void {
    this.#stopWatching();
    clearTimeout(this.#disconnectedTimer);
    clearTimeout(this.#recoveryTimer);
  }
}
