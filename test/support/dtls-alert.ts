/** Ends a werift peer connection's DTLS session as an authentic peer would: with a protected alert record. */
import type { WeriftClient } from "@sfu-room/test-peer";

/** The part of werift's DTLS socket the alert drives (not public API). */
interface DtlsSocketInternals {
  send(data: Buffer): Promise<void>;
  cipher: { encryptPacket(pkt: { recordLayerHeader: { contentType: number } }): unknown };
}

/** Sends an alert record protected like the peer's application data: what an authentic peer sends. */
export async function sendProtectedAlert(pc: WeriftClient["subscriber"], level: number, description: number): Promise<void> {
  const dtls = (pc!.dtlsTransports[0] as unknown as { dtls: DtlsSocketInternals }).dtls;
  const encrypt = dtls.cipher.encryptPacket.bind(dtls.cipher);
  dtls.cipher.encryptPacket = (pkt) => {
    pkt.recordLayerHeader.contentType = 21; // alert, authenticated and encrypted under the session's keys
    return encrypt(pkt);
  };
  try {
    await dtls.send(Buffer.from([level, description]));
  } finally {
    dtls.cipher.encryptPacket = encrypt;
  }
}
