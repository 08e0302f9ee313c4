/**
 * A WHEP client for tests: a werift peer connection with one recvonly audio and one recvonly video
 * m-line, its offer POSTed with node's fetch. It records per kind what arrives, checked against the
 * publishers' SentLog byte for byte (the payload layout of makePayload).
 */
import { RTCPeerConnection } from "werift";
import { LOOPBACK, OPUS, readPayload, type SentLog, VP8 } from "./werift-client.ts";
import { restartIceOverPatch } from "./whip-publisher.ts";

export interface ViewedTrack {
  packets: number;
  /** Payloads that are not what their publisher sent. */
  mismatches: number;
  keyframes: number;
  /** The track tags (one per publisher's track) seen, in order. */
  tags: number[];
}

export class WhepViewer {
  readonly pc = new RTCPeerConnection({ ...LOOPBACK(), codecs: { audio: [OPUS()], video: [VP8()] } });
  readonly received = { audio: newTrack(), video: newTrack() };
  resource: URL | undefined;
  answer: string | undefined;

  constructor(private readonly log: SentLog) {
    for (const kind of ["audio", "video"] as const) {
      const transceiver = this.pc.addTransceiver(kind, { direction: "recvonly" });
      transceiver.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((packet) => {
          const seen = this.received[kind];
          seen.packets++;
          const read = readPayload(packet.payload);
          if (read === undefined) {
            seen.mismatches++; // not a synthetic payload
            return;
          }
          const { key, tag, index } = read;
          if (key) seen.keyframes++;
          if (seen.tags.at(-1) !== tag) seen.tags.push(tag);
          if (!this.log.get(tag)?.[index]?.equals(packet.payload)) seen.mismatches++;
        });
      });
    }
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  /** POSTs the offer to `endpoint`; on 201 applies the answer and keeps Location. */
  async view(endpoint: string, token?: string): Promise<Response> {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/sdp", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: await this.offer(),
    });
    if (response.status !== 201) return response;
    this.resource = new URL(response.headers.get("location")!, endpoint);
    this.answer = await response.clone().text();
    await this.pc.setRemoteDescription({ type: "answer", sdp: this.answer });
    return response;
  }

  /** ICE restart through PATCH, as for WHIP. */
  async restartIce(): Promise<Response> {
    const restarted = await restartIceOverPatch(this.pc, this.resource!, this.answer!);
    this.answer = restarted.answer;
    return restarted.response;
  }

  async stop(): Promise<Response> {
    return fetch(this.resource!, { method: "DELETE" });
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}

function newTrack(): ViewedTrack {
  return { packets: 0, mismatches: 0, keyframes: 0, tags: [] };
}
