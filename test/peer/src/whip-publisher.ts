/**
 * A WHIP client (RFC 9725) for tests: a werift peer connection offering synthetic Opus + VP8 (the same
 * tracks WeriftClient publishes, logged the same way, so receivers compare byte for byte), with the
 * HTTP side done by node's fetch exactly as any WHIP encoder would: POST the offer, apply the answer,
 * PATCH for an ICE restart, DELETE to stop.
 */
import type { RTCPeerConnection } from "werift";
import { startRestartedIce } from "@sfu-room/relay/ice-restart";
import { publisherPeer, type SentLog, SyntheticTrack } from "./werift-client.ts";

export class WhipPublisher {
  readonly pc: RTCPeerConnection;
  readonly outgoing: SyntheticTrack[] = [];
  /** The session's URL (from Location), once published. */
  resource: URL | undefined;
  etag: string | undefined;
  answer: string | undefined;

  constructor(private readonly log: SentLog, kinds: ReadonlyArray<"audio" | "video"> = ["audio", "video"]) {
    this.pc = publisherPeer("VP8");
    for (const kind of kinds) {
      const track = new SyntheticTrack(kind, kind === "audio" ? "opus" : "VP8", log, kind === "audio" ? 80 : 1000);
      const transceiver = this.pc.addTransceiver(track.track, { direction: "sendonly" });
      transceiver.sender.onPictureLossIndication.subscribe(() => track.requestKeyframe());
      this.outgoing.push(track);
    }
  }

  /** The offer as a WHIP client POSTs it. */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  /** POSTs the offer to `endpoint`; on 201 applies the answer and keeps Location and ETag. */
  async publish(endpoint: string, token?: string): Promise<Response> {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/sdp", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: await this.offer(),
    });
    if (response.status !== 201) return response;
    this.answer = await response.clone().text();
    this.resource = new URL(response.headers.get("location")!, endpoint);
    this.etag = response.headers.get("etag") ?? undefined;
    await this.pc.setRemoteDescription({ type: "answer", sdp: this.answer });
    return response;
  }

  /** ICE restart through PATCH (RFC 9725 4.4.2): new credentials out, the relay's new ones applied. */
  async restartIce(): Promise<Response> {
    const restarted = await restartIceOverPatch(this.pc, this.resource!, this.answer!);
    this.answer = restarted.answer;
    this.etag = restarted.response.headers.get("etag") ?? this.etag;
    return restarted.response;
  }

  /** DELETE: ends the session on the relay (the connection is closed by close()). */
  async stop(): Promise<Response> {
    return fetch(this.resource!, { method: "DELETE" });
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}

/**
 * An ICE restart of a WHIP or WHEP session (RFC 9725 4.4.2): the restart offer's new credentials go out
 * in a PATCH; on 200 the answer to it is the session's answer with the relay's new credentials and
 * candidates, and is applied.
 */
export async function restartIceOverPatch(pc: RTCPeerConnection, resource: URL, answer: string): Promise<{ response: Response; answer: string }> {
  await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
  const offer = pc.localDescription!.sdp;
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offer)![1]!;
  const pwd = /^a=ice-pwd:(\S+)/m.exec(offer)![1]!;
  const response = await fetch(resource, {
    method: "PATCH",
    headers: { "content-type": "application/trickle-ice-sdpfrag", "if-match": "*" },
    body: `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\n`,
  });
  if (response.status !== 200) return { response, answer };
  const fragment = await response.clone().text();
  const relayUfrag = /^a=ice-ufrag:(\S+)/m.exec(fragment)![1]!;
  const relayPwd = /^a=ice-pwd:(\S+)/m.exec(fragment)![1]!;
  const candidates = fragment.match(/^a=candidate:.*\r?\n/gm) ?? [];
  const restarted = answer
    .replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${relayUfrag}`)
    .replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${relayPwd}`)
    .replace(/^a=candidate:.*\r?\n/gm, "")
    .replace(/^a=end-of-candidates\r?\n/gm, (end) => candidates.join("") + end);
  await pc.setRemoteDescription({ type: "answer", sdp: restarted });
  startRestartedIce(pc);
  return { response, answer: restarted };
}
