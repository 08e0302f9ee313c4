/**
 * UDP datagrams the kernel dropped because a socket's receive buffer was full, per process:
 * /proc/net/udp{,6} has a `drops` column per socket, /proc/PID/fd links sockets to processes.
 * The harness runs in its own network namespace, so these are only the bench's sockets.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function dropsByInode(): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      out.set(f[9]!, Number(f[12]));
    }
  }
  return out;
}

/** Total receive-buffer drops so far on the sockets of each group of processes. */
export function udpDrops(groups: Record<string, number[]>): Record<string, number> {
  const drops = dropsByInode();
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    let sum = 0;
    for (const pid of pids) for (const inode of socketInodes(pid)) sum += drops.get(inode) ?? 0;
    out[name] = sum;
  }
  return out;
}
