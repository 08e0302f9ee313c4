/**
 * Who may open a signaling WebSocket, decided before the upgrade so that a refused client costs the
 * relay nothing: the page's origin, sockets per remote address, and sockets that have not joined yet.
 * It owns the counts; each admitted socket holds a ticket that it settles when it joins and when it
 * closes.
 */
import { originAllowed } from "./origin-policy.ts";

export interface AdmissionLimits {
  maxPendingSessions: number;
  maxSessionsPerAddress: number;
  allowedOrigins: readonly string[];
}

/** An HTTP refusal of the upgrade: the status and a body that says what to do. */
export interface Refusal {
  status: 403 | 429 | 503;
  message: string;
}

/** One admitted socket's share of the counts. Both methods are idempotent. */
export interface AdmissionTicket {
  joined(): void;
  closed(): void;
}

export class Admission {
  private pending = 0;
  private readonly perAddress = new Map<string, number>();

  private readonly limits: AdmissionLimits;

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  /** Why this handshake is refused, or undefined when it may proceed (then call admit). */
  refusal(origin: string | undefined, address: string): Refusal | undefined {
    const { allowedOrigins, maxSessionsPerAddress, maxPendingSessions } = this.limits;
    if (!originAllowed(origin, allowedOrigins)) {
      origin = origin?.slice(0, 200);
      return {
        status: 403,
        message:
          `pages from origin ${JSON.stringify(origin)} may not open this relay's WebSocket. To allow them, start the relay with ` +
          `--allowed-origins ${origin},${allowedOrigins.join(",")} (or the SFU_ALLOWED_ORIGINS environment variable).`,
      };
    }
    if ((this.perAddress.get(address) ?? 0) >= maxSessionsPerAddress) {
      return {
        status: 429,
        message:
          `${maxSessionsPerAddress} signaling WebSockets are already open from ${address}, the most allowed; close one, ` +
          `or raise --max-sessions-per-ip (SFU_MAX_SESSIONS_PER_IP).`,
      };
    }
    if (this.pending >= maxPendingSessions) {
      return {
        status: 503,
        message:
          `${maxPendingSessions} WebSockets are waiting to join, the most the relay holds; try again in a few seconds ` +
          `(operators: --max-pending-sessions, SFU_MAX_PENDING_SESSIONS).`,
      };
    }
    return undefined;
  }

  admit(address: string): AdmissionTicket {
    this.pending++;
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    let pending = true;
    let open = true;
    const settlePending = () => {
      if (pending) this.pending--;
      pending = false;
    };
    return {
      joined: settlePending,
      closed: () => {
        settlePending();
        if (!open) return;
        open = false;
        const left = (this.perAddress.get(address) ?? 1) - 1;
        if (left > 0) this.perAddress.set(address, left);
        else this.perAddress.delete(address);
      },
    };
  }
}

/** The address a socket counts against: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address. */
export function addressKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "unknown";
  return remoteAddress.startsWith("::ffff:") && remoteAddress.includes(".") ? remoteAddress.slice(7) : remoteAddress;
}
