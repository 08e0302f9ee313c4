/**
 * Joining and leaving for <sfu-room>: one Room per join, the element's `status`, the error that put it
 * out of the room, joining by itself once it has a server and a room (unless `manual`), and leaving and
 * joining again when server, room, name or token change (the protocol has no rename or move). A lost
 * connection is the Room's to repair (it resumes or rejoins by itself): the status is "reconnecting"
 * meanwhile, and the element stays in the room until the Room gives up.
 */
import type { ReactiveController, ReactiveElement } from "lit";
import { Room, RoomError, type ConnectOptions, type RoomErrorCode } from "../room/index.ts";
import { fire, type LeftReason } from "./events.ts";
import { forwardRoomEvents, summary } from "./room-events.ts";

export type SfuRoomStatus = "idle" | "joining" | "joined" | "reconnecting" | "left" | "failed";

/** Errors after which the element is out of the room. */
const FATAL: ReadonlySet<RoomErrorCode> = new Set([
  "relay-unreachable",
  "connection-lost",
  "reconnect-failed",
  "kicked",
  "room-full",
  "unauthorized",
  "bad-room-name",
  "join-failed",
  "e2ee-unsupported",
]);

/** Where to join. */
export interface JoinTarget {
  server: string;
  room: string;
  name: string;
  token: string;
  /** End-to-end encryption on (`e2ee-key`): turning it on or off joins again. */
  encrypted: boolean;
}

/** What the controller asks of the element. */
export interface JoinHooks {
  target(): JoinTarget;
  /** True while the element waits for join() (the `manual` attribute, or the pre-join view's Join). */
  manual(): boolean;
  /** The rest of the connect options (capture, simulcast), read at each join. */
  connectOptions(): Omit<ConnectOptions, "name" | "token">;
  /** A join starts: the element resets what belongs to one join. */
  started(): void;
  joined(room: Room): void;
  /** An error that leaves the element in the room: shown as a dismissable notice. */
  notice(error: RoomError): void;
}

export class JoinController implements ReactiveController {
  status: SfuRoomStatus = "idle";
  /** The Room of the current join, while joining or joined. */
  room: Room | undefined;
  /** Why the element is out of the room (status "failed"). */
  fatal: { code: RoomErrorCode; message: string } | undefined;
  readonly #host: ReactiveElement;
  readonly #hooks: JoinHooks;
  #pending: Promise<void> | undefined;
  #scheduled = false;
  /** What the current Room was joined with, to tell a real change from a re-set of the same value. */
  #joinedWith: JoinTarget = { server: "", room: "", name: "", token: "", encrypted: false };
  /** The devices the next Room captures: the previous Room's choice (left, or lost for good), or the pre-join view's. */
  #nextDevices: Room["local"]["preferredDevices"] = {};

  constructor(host: ReactiveElement, hooks: JoinHooks) {
    this.#host = host;
    this.#hooks = hooks;
    host.addController(this);
  }

  /** Resolves when joined; rejects with a RoomError (also fired as `error`). Joining already: the same promise. */
  join(): Promise<void> {
    if (this.#pending) return this.#pending;
    if (this.status === "joined") return Promise.resolve();
    const run = this.#join().finally(() => {
      if (this.#pending === run) this.#pending = undefined;
    });
    this.#pending = run;
    return run;
  }

  async leave(reason: LeftReason): Promise<void> {
    const room = this.room;
    if (!room) return;
    this.room = undefined;
    this.#nextDevices = { ...room.local.preferredDevices };
    // A join still under way settles late (a permission prompt, a WebSocket that does not open): it ends
    // as "cancelled", and the next join() must not wait for it or get its rejection.
    this.#pending = undefined;
    const wasIn = this.status === "joined" || this.status === "joining" || this.status === "reconnecting";
    await room.disconnect();
    // After a rejoin or a removal nothing is left to offer; after the user left, "Rejoin".
    this.#setStatus(reason === "user" ? "left" : "idle");
    if (wasIn) fire(this.#host, "left", { room: room.roomName, reason });
  }

  get nextDevices(): Readonly<Room["local"]["preferredDevices"]> {
    return this.#nextDevices;
  }

  /** Picks a device for the next Room (the pre-join view's pickers). */
  preferDevice(kind: "videoinput" | "audioinput", deviceId: string): void {
    this.#nextDevices = { ...this.#nextDevices, [kind]: deviceId };
  }

  /** The element's server, room, name or token were set: join, or rejoin if they changed. */
  targetSet(): void {
    if (this.status === "joined" || this.status === "joining" || this.status === "reconnecting") {
      if (this.#targetChanged()) void this.#rejoin();
    } else {
      this.#autoJoin();
    }
  }

  hostConnected(): void {
    // Back in the page (moved): join again. The first connection joins from the first update instead.
    if (this.#host.hasUpdated) this.#autoJoin();
  }

  hostDisconnected(): void {
    void this.leave("removed").then(() => {
      if (this.#host.isConnected) this.#autoJoin(); // moved, not removed
    });
  }

  #targetChanged(): boolean {
    const was = this.#joinedWith;
    const now = this.#hooks.target();
    return was.server !== now.server || was.room !== now.room || was.name !== now.name || was.token !== now.token || was.encrypted !== now.encrypted;
  }

  #canAutoJoin(): boolean {
    const { server, room } = this.#hooks.target();
    if (this.#hooks.manual() || !this.#host.isConnected || !server || !room) return false;
    return this.status === "idle" || (this.status === "failed" && this.#targetChanged());
  }

  #autoJoin(): void {
    if (this.#scheduled || !this.#canAutoJoin()) return;
    this.#scheduled = true;
    // A microtask later, so setting several attributes in a row joins once, with all of them.
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#canAutoJoin()) this.join().catch(() => undefined);
    });
  }

  async #rejoin(): Promise<void> {
    if (this.#scheduled) return;
    this.#scheduled = true;
    await Promise.resolve(); // the same microtask batching as #autoJoin
    this.#scheduled = false;
    if (this.#pending) await this.#pending.catch(() => undefined);
    if (!this.#targetChanged() || (await this.#refreshedToken())) return;
    await this.leave("rejoin");
    const { server, room } = this.#hooks.target();
    if (server && room) await this.join().catch(() => undefined);
  }

  /**
   * Only the token changed: the session takes it in place (refresh-token), keeping the call. False when
   * something else changed or the relay refused it (another identity, say): then a rejoin uses it.
   */
  async #refreshedToken(): Promise<boolean> {
    const was = this.#joinedWith;
    const now = this.#hooks.target();
    const room = this.room;
    if (!room || !now.token || was.server !== now.server || was.room !== now.room || was.name !== now.name || was.encrypted !== now.encrypted) return false;
    try {
      await room.refreshToken(now.token);
    } catch {
      return false;
    }
    if (this.room === room) this.#joinedWith = now;
    return true;
  }

  async #join(): Promise<void> {
    const target = this.#hooks.target();
    if (!target.server || !target.room) {
      const error = new RoomError("join-failed", "Set the server and room attributes before joining.");
      this.#report(error);
      this.#setStatus("failed");
      throw error;
    }
    performance.mark("sfu-room:join");
    const room = new Room();
    // Rejoin, or try again after a failure: the devices picked in the previous Room stay picked.
    Object.assign(room.local.preferredDevices, this.#nextDevices);
    this.room = room;
    this.fatal = undefined;
    this.#joinedWith = target;
    this.#hooks.started();
    this.#watch(room);
    this.#setStatus("joining");
    try {
      await room.connect(target.server, target.room, {
        ...this.#hooks.connectOptions(),
        name: target.name,
        ...(target.token ? { token: target.token } : {}),
      });
    } catch (e) {
      if (this.room === room) {
        this.room = undefined;
        this.#setStatus("failed");
      }
      throw e;
    }
    if (this.room !== room) throw new RoomError("join-failed", "The join was cancelled.");
    // Lost again while publishing: joined, and already getting the connection back.
    this.#setStatus(room.state === "reconnecting" ? "reconnecting" : "joined");
    fire(this.#host, "joined", { room: room.roomName, participantId: room.local.id, participants: [...room.participants.values()].map(summary) });
    this.#hooks.joined(room);
  }

  #watch(room: Room): void {
    const current = () => this.room === room;
    forwardRoomEvents(room, this.#host, current);
    room.on("reconnecting", (detail) => {
      if (!current()) return;
      this.#setStatus("reconnecting");
      fire(this.#host, "reconnecting", detail);
    });
    room.on("resumed", () => {
      if (!current()) return;
      this.#setStatus("joined");
      fire(this.#host, "resumed", {});
    });
    room.on("rejoined", (detail) => {
      if (!current()) return;
      this.#setStatus("joined");
      fire(this.#host, "rejoined", detail);
    });
    room.on("error", (error) => {
      if (current()) this.#report(error);
    });
    room.on("disconnected", ({ reason, error }) => {
      if (!current() || reason === "client") return;
      this.room = undefined;
      this.#nextDevices = { ...room.local.preferredDevices };
      if (error) this.fatal = { code: error.code, message: error.message };
      this.#setStatus("failed");
      fire(this.#host, "left", { room: room.roomName, reason: reason === "kicked" ? "kicked" : "connection-lost" });
    });
  }

  #report(error: RoomError): void {
    const fatal = FATAL.has(error.code);
    if (fatal) this.fatal = { code: error.code, message: error.message };
    else this.#hooks.notice(error);
    fire(this.#host, "error", { code: error.code, message: error.message, fatal });
    this.#host.requestUpdate();
  }

  #setStatus(status: SfuRoomStatus): void {
    this.status = status;
    this.#host.requestUpdate();
  }
}
