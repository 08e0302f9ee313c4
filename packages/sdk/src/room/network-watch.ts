/**
 * The browser's word that the network changed: `online` after an outage, and the Network Information
 * API's `change` (Wi-Fi to cellular, a new address) where it exists (Chromium). Either means the
 * selected ICE path may be dead while nothing has failed yet: the caller restarts ICE.
 */
interface NetworkInformationLike extends EventTarget {
  readonly type?: string;
}

/** Calls `changed` on each sign of a network change; returns a function that stops watching. */
export function watchNetwork(changed: () => void): () => void {
  if (typeof window === "undefined") return () => undefined;
  const connection = (navigator as Navigator & { connection?: NetworkInformationLike }).connection;
  window.addEventListener("online", changed);
  connection?.addEventListener("change", changed);
  return () => {
    window.removeEventListener("online", changed);
    connection?.removeEventListener("change", changed);
  };
}
