/**
 * What the e2e test reads from a demo page: the <sfu-room> element's status, its tiles, and per remote
 * track the receiving MediaStreamTrack and inbound-rtp counters. Runs inside the page (page.evaluate).
 */
import type { SfuRoomElement } from "@sfu-room/sdk";

export interface RemoteTrackProbe {
  participantId: string;
  name: string;
  trackId: string;
  kind: "audio" | "video";
  muted: boolean;
  /** id of the receiving MediaStreamTrack: must not change while the track lives. */
  mediaTrackId: string | null;
  readyState: string | null;
  packetsReceived: number;
  framesDecoded: number;
}

export interface TileProbe {
  participantId: string;
  self: boolean;
  source: string;
  video: string;
  audio: string;
  /** The <video> shows decoded pixels. */
  videoWidth: number;
  videoHeight: number;
  videoTrackId: string | null;
}

export interface PageProbe {
  status: string;
  participantId: string;
  tracks: RemoteTrackProbe[];
  tiles: TileProbe[];
  joinToFirstFrameMs: number | null;
}

/** Must be self-contained: it is serialized into the page. */
export async function probe(): Promise<PageProbe> {
  const el = document.querySelector("sfu-room") as SfuRoomElement | null;
  if (!el) return { status: "no-element", participantId: "", tracks: [], tiles: [], joinToFirstFrameMs: null };
  const room = el.session;
  const tracks: RemoteTrackProbe[] = [];
  for (const p of room?.participants.values() ?? []) {
    for (const t of p.tracks.values()) {
      const stats = await t.getStats();
      tracks.push({
        participantId: p.id,
        name: p.name,
        trackId: t.id,
        kind: t.kind,
        muted: t.muted,
        mediaTrackId: t.mediaStreamTrack?.id ?? null,
        readyState: t.mediaStreamTrack?.readyState ?? null,
        packetsReceived: stats?.packetsReceived ?? 0,
        framesDecoded: stats?.framesDecoded ?? 0,
      });
    }
  }
  const tiles = Array.from(el.shadowRoot!.querySelectorAll<HTMLElement>(".tile")).map((tile) => {
    const video = tile.querySelector("video");
    const stream = video?.srcObject as MediaStream | null | undefined;
    return {
      participantId: tile.dataset.participantId ?? "",
      self: tile.hasAttribute("data-self"),
      source: tile.dataset.source ?? "",
      video: tile.dataset.video ?? "",
      audio: tile.dataset.audio ?? "",
      videoWidth: video?.videoWidth ?? 0,
      videoHeight: video?.videoHeight ?? 0,
      videoTrackId: stream?.getVideoTracks()[0]?.id ?? null,
    };
  });
  const join = performance.getEntriesByName("sfu-room:join").at(-1);
  const frame = performance.getEntriesByName("sfu-room:first-remote-frame").at(-1);
  return {
    status: el.status,
    participantId: room?.local.id ?? "",
    tracks,
    tiles,
    joinToFirstFrameMs: join && frame && frame.startTime >= join.startTime ? Math.round(frame.startTime - join.startTime) : null,
  };
}

/** The audio level (0..1) the page decodes now of this participant's audio. Must be self-contained: it is serialized into the page. */
export async function audioLevelOf(participantId: string): Promise<number> {
  const remote = (document.querySelector("sfu-room") as SfuRoomElement).session?.participants.get(participantId);
  const audio = [...(remote?.tracks.values() ?? [])].find((t) => t.kind === "audio");
  return (await audio?.getStats())?.audioLevel ?? 0;
}

export interface LayoutProbe {
  viewportWidth: number;
  scrollWidth: number;
  /** Elements (tiles, controls) that stick out of the viewport horizontally. */
  overflowing: string[];
  controls: Array<{ part: string; height: number; width: number }>;
  tiles: number;
}

export function probeLayout(): LayoutProbe {
  const el = document.querySelector("sfu-room")!;
  const root = el.shadowRoot!;
  const vw = document.documentElement.clientWidth;
  const overflowing: string[] = [];
  for (const node of Array.from(root.querySelectorAll<HTMLElement>(".tile, .control, .controls, .grid, .notice"))) {
    const r = node.getBoundingClientRect();
    if (r.left < -0.5 || r.right > vw + 0.5) overflowing.push(`${node.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return {
    viewportWidth: vw,
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    overflowing,
    controls: Array.from(root.querySelectorAll<HTMLElement>('[part~="control"]')).map((c) => {
      const r = c.getBoundingClientRect();
      return { part: c.getAttribute("part") ?? "", height: r.height, width: r.width };
    }),
    tiles: root.querySelectorAll(".tile").length,
  };
}

export interface SelectedPair { connection: string; localType: string; localAddress: string; protocol: string; remoteAddress: string }

/** The candidate pair each of the <sfu-room>'s two connections selected. Must be self-contained: it is serialized into the page. */
export async function selectedPairs(): Promise<SelectedPair[]> {
  const room = (document.querySelector("sfu-room") as SfuRoomElement).session!;
  const out: SelectedPair[] = [];
  for (const [connection, pc] of Object.entries(room.peerConnections)) {
    if (!pc) continue;
    const stats = new Map<string, Record<string, string | undefined>>();
    let pairId: string | undefined;
    (await pc.getStats()).forEach((s) => {
      stats.set(s.id, s);
      if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? stats.get(pairId) : undefined;
    const local = pair ? stats.get(pair.localCandidateId!) : undefined;
    const remote = pair ? stats.get(pair.remoteCandidateId!) : undefined;
    out.push({ connection, localType: local?.candidateType ?? "", localAddress: String(local?.address), protocol: local?.protocol ?? "", remoteAddress: `${remote?.address}:${remote?.port}` });
  }
  return out;
}
