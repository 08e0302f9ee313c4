/**
 * The SfuShell a configuration describes, and the WHIP/WHEP sessions on it: one for the single-process
 * relay (main.ts), one per worker process (workers/worker-main.ts).
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RelayConfig } from "./config.ts";
import type { RoomEventOutput } from "./core/index.ts";
import type { SelectedPath } from "./rtc/selected-path.ts";
import { nativeAcceleratorFor } from "./rtc/fast-send/native-accelerator.ts";
import { turnIceServers } from "./rtc/turn-credentials.ts";
import { verifyToken } from "./signal/access-token.ts";
import { SfuShell } from "./shell/sfu-shell.ts";
import { WhipSessions } from "./signal/whip-sessions.ts";

export interface SfuHooks {
  /** A peer connection connected over this candidate pair (the metrics count them). */
  onPathSelected(path: SelectedPath): void;
  /** Where the core's room events go; undefined: nowhere. */
  onRoomEvent: ((event: RoomEventOutput) => void) | undefined;
}

/** Mints an unguessable id with this prefix (participants, tracks, sessions). */
export function newId(prefix: string): string {
  return prefix + randomBytes(6).toString("base64url");
}

/** Mints a secret (resume grants, WHIP resource ids and ETags). */
export function newSecret(): string {
  return randomBytes(18).toString("base64url");
}

/** Throws NativeAcceleratorMissingError for `--native-send on` without the module. */
export function sfuFromConfig(config: RelayConfig, log: Logger, hooks: SfuHooks): SfuShell {
  return new SfuShell({
    core: config.core,
    net: {
      bindAddress: config.rtcBindAddress, announcedAddresses: config.announcedAddresses, udpPortRange: config.udpPortRange,
      iceTcp: config.iceTcp, tcpPortRange: config.tcpPortRange, onPathSelected: hooks.onPathSelected,
      accelerator: nativeAcceleratorFor(config.nativeSend),
    },
    iceServers: (participantId) => turnIceServers(config.turn, participantId, Date.now()),
    peerTimeoutMs: config.peerTimeoutMs,
    log,
    newId,
    newSecret,
    verifyToken: config.keys.length > 0 ? (token) => verifyToken(token, config.keys) : undefined,
    onRoomEvent: hooks.onRoomEvent,
  });
}

/** WHIP/WHEP sessions on `shell`, checking tokens as its joins do; `onEnded`: see WhipSessionsOptions. */
export function whipSessionsFromConfig(config: RelayConfig, shell: SfuShell, onEnded?: (resourceId: string) => void): WhipSessions {
  const tokens = config.keys.length > 0 ? (token: string | undefined) => verifyToken(token, config.keys) : undefined;
  return new WhipSessions({ shell, verifyToken: tokens, newSecret, onEnded });
}
