/**
 * Private network namespaces for the runs that need an address other than loopback (network rule:
 * test traffic only to loopback or to namespaces the test creates). Firefox, aiortc and Janus never
 * use loopback candidates, so such a run re-executes its own command line inside a new namespace
 * (`unshare -n`, root only) that has lo and a veth pair with one address; the relay, the servers and
 * every client then run inside it, and nothing leaves it. Both ends of the pair stay in the namespace,
 * and the address is local, so packets to it go through the loopback device.
 */
import { spawn } from "node:child_process";

export interface NamespaceSpec {
  /** Environment variable set to "1" inside: tells the re-run from the first run. */
  marker: string;
  /** IPv4 address given to the first veth end (as a /24). */
  address: string;
  /** Names of the two veth ends. */
  veth: readonly [string, string];
  /** Gateway of a default route over the first end (Firefox gathers no candidates without one); none if undefined. */
  defaultRoute?: string;
}

/** The namespace of the browser suites (Firefox ESR needs an address and a default route). */
export const BROWSER_NAMESPACE: NamespaceSpec = { marker: "SFU_TEST_NETNS", address: "10.213.0.1", veth: ["v0", "v1"], defaultRoute: "10.213.0.254" };

export function insideNamespace(spec: NamespaceSpec): boolean {
  return process.env[spec.marker] === "1";
}

/** Creating a network namespace (and links in it) needs root. */
export function canCreateNamespace(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Re-runs this process's command line (same Node, same flags, same arguments) inside a new network
 * namespace set up as `spec` says; resolves with its exit code. SIGINT/SIGTERM are passed on to it.
 */
export function reexecInNamespace(spec: NamespaceSpec): Promise<number> {
  const [a, b] = spec.veth;
  const setup = [
    "set -e",
    "ip link set lo up",
    `ip link add ${a} type veth peer name ${b}`,
    `ip addr add ${spec.address}/24 dev ${a}`,
    `ip link set ${a} up`,
    `ip link set ${b} up`,
    ...(spec.defaultRoute ? [`ip route add default via ${spec.defaultRoute} dev ${a}`] : []),
    'exec "$@"',
  ].join("; ");
  const child = spawn("unshare", ["-n", "sh", "-c", setup, "sh", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [spec.marker]: "1" },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  return new Promise((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`could not start unshare for a network namespace: ${e.message}`)));
    child.once("exit", (code, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
