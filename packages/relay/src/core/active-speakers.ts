/**
 * ActiveSpeakers: who speaks in each room, and who dominates, from the audio level each publisher puts
 * in its packets (RFC 6464 `ssrc-audio-level`: -dBov, 0 loudest, 127 silence). The shell passes the
 * level of each packet; this machine counts it (no allocation: a few numbers per track) and decides
 * once per interval, on the `timeout` input, in the manner of LiveKit's audio level observer:
 *
 * - An interval counts as speech for a track when at least `minActiveShare` of its packets were at
 *   `activeLevel` or louder (a click or one loud packet is not speech). Its level is the mean linear
 *   amplitude of those packets, smoothed over intervals.
 * - A track enters the speaking set with its first speech interval and stays in it for `holdMs` after
 *   its last one: pauses between words do not make the set flicker.
 * - The dominant speaker stays dominant while speaking, unless another speaker is louder by
 *   `switchRatio`: two people at equal levels never take the place from each other.
 * - The room hears `active-speakers` (dominant first, then the others in the order they started) when
 *   the set or the dominant changes: at most once per interval, never for a level change alone.
 *   Someone who joins (or resumes) while someone speaks hears the last message at once.
 *
 * Muted tracks count as silence and leave the set at the next evaluation, without the hold. The clock
 * only runs (a `timeout` wanted) while someone speaks or a packet at speech level arrived: a room of
 * silent microphones costs no wake-ups.
 */
import type { ActiveSpeakersMessage, Speaker } from "@sfu-room/protocol";
import type { Participant } from "./participant.ts";
import type { OutputQueue } from "./output-queue.ts";
import type { Publication } from "./publication.ts";
import type { Room } from "./room.ts";
import type { Millis, ParticipantId } from "./types.ts";

export const SPEECH = {
  /** Evaluation period (LiveKit's update interval): at most one message per room per interval. */
  intervalMs: 400,
  /** -dBov: a packet at this level or louder is voice (LiveKit's default). */
  activeLevel: 35,
  /** Share of an interval's packets that must be voice for the interval to count as speech. */
  minActiveShare: 0.4,
  /** A speaker stays in the set this long after their last speech interval. */
  holdMs: 1200,
  /** Weight of the newest interval in the smoothed level. */
  smoothing: 0.5,
  /** A challenger takes the dominant place only when louder than the dominant by this factor (+3.5 dB). */
  switchRatio: 1.5,
} as const;

/** Linear amplitude of each RFC 6464 level (10^(-dBov/20)): a table, so packets cost no Math.pow. */
const AMPLITUDE = Float64Array.from({ length: 128 }, (_, dBov) => 10 ** (-dBov / 20));

/** One audio track's counts for the current interval and its speaking state. */
interface TrackSpeech {
  readonly pub: Publication;
  /** The interval these counts belong to (stale counts are reset on the first packet of a new one). */
  epoch: number;
  packets: number;
  voicePackets: number;
  voiceAmplitude: number;
  /** Smoothed level, 0..1. */
  level: number;
  /** In the speaking set since (undefined: not speaking), and when their last speech interval ended. */
  speakingSince: Millis | undefined;
  lastSpeechAt: Millis;
}

export class ActiveSpeakers {
  private readonly tracks = new Map<Publication, TrackSpeech>();
  /** What each room was last told (dominant first) and its ids as "id,id,..."; a room absent was told nothing (or []). */
  private readonly told = new Map<Room, { key: string; message: ActiveSpeakersMessage }>();
  /** The dominant speaker of each room that has one. */
  private readonly dominant = new Map<Room, ParticipantId>();
  private epoch = 0;
  /** Next evaluation; Infinity while nobody speaks and no voice arrived. */
  private nextAt = Infinity;
  private readonly out: OutputQueue;

  constructor(out: OutputQueue) {
    this.out = out;
  }

  get deadline(): Millis {
    return this.nextAt;
  }

  /** One packet's level (-dBov, 0..127) on an audio track. The hot path: counts only. */
  add(pub: Publication, dBov: number, now: Millis): void {
    if (this.nextAt === Infinity && dBov <= SPEECH.activeLevel && !pub.muted) {
      // The first voice after a quiet spell starts the clock, with a fresh interval: the silence
      // counted since the last evaluation would otherwise outweigh this interval's speech.
      this.epoch++;
      this.nextAt = now + SPEECH.intervalMs;
    }
    let t = this.tracks.get(pub);
    if (t === undefined) {
      t = { pub, epoch: this.epoch, packets: 0, voicePackets: 0, voiceAmplitude: 0, level: 0, speakingSince: undefined, lastSpeechAt: 0 };
      this.tracks.set(pub, t);
    } else if (t.epoch !== this.epoch) {
      t.epoch = this.epoch;
      t.packets = t.voicePackets = t.voiceAmplitude = 0;
    }
    if (pub.muted) return;
    t.packets++;
    if (dBov > SPEECH.activeLevel) return;
    t.voicePackets++;
    t.voiceAmplitude += AMPLITUDE[dBov]!;
  }

  /** Someone joined or resumed: they hear who speaks now (the room hears only changes). */
  catchUp(participant: Participant): void {
    const told = this.told.get(participant.room);
    if (told !== undefined) this.out.signal(participant.id, told.message);
  }

  /** The track is gone (unpublished, its publisher left): its room hears it at the next evaluation. */
  forget(pub: Publication): void {
    this.tracks.delete(pub);
  }

  /** Time passed: when an interval is over, decide and tell the rooms whose speakers changed. */
  onTimeout(now: Millis): void {
    if (now < this.nextAt) return;
    const epoch = this.epoch++;
    let anyoneSpeaks = false;
    const byRoom = new Map<Room, TrackSpeech[]>();
    for (const t of this.tracks.values()) {
      this.evaluate(t, t.epoch === epoch, now);
      if (t.speakingSince === undefined) continue;
      anyoneSpeaks = true;
      const room = t.pub.publisher.room;
      const list = byRoom.get(room);
      if (list === undefined) byRoom.set(room, [t]);
      else list.push(t);
    }
    for (const room of this.told.keys()) if (!byRoom.has(room)) this.tell(room, []);
    for (const [room, speaking] of byRoom) this.tell(room, this.rank(room, speaking));
    this.nextAt = anyoneSpeaks ? now + SPEECH.intervalMs : Infinity;
  }

  /** Closes one track's interval: its smoothed level and whether it speaks. */
  private evaluate(t: TrackSpeech, counted: boolean, now: Millis): void {
    const speech = counted && t.voicePackets > 0 && t.voicePackets >= SPEECH.minActiveShare * t.packets;
    const intervalLevel = speech ? t.voiceAmplitude / t.voicePackets : 0;
    t.level += (intervalLevel - t.level) * SPEECH.smoothing;
    // Muted (by them, or by the server API): out at once, whatever came before the mute; the hold is
    // for pauses between words.
    if (speech && !t.pub.muted) {
      t.lastSpeechAt = now;
      t.speakingSince ??= now;
    } else if (t.speakingSince !== undefined && (t.pub.muted || now - t.lastSpeechAt >= SPEECH.holdMs)) {
      t.speakingSince = undefined;
      t.level = 0;
    }
  }

  /** The room's speakers, one per participant (their loudest track), dominant first. */
  private rank(room: Room, speaking: TrackSpeech[]): Speaker[] {
    // Decided on the levels as reported (rounded), so that equal levels are equal, not a float hair apart.
    const byParticipant = new Map<ParticipantId, { level: number; since: Millis }>();
    for (const t of speaking) {
      const id = t.pub.publisher.id;
      const level = Math.round(t.level * 1000) / 1000;
      const seen = byParticipant.get(id);
      if (seen === undefined) byParticipant.set(id, { level, since: t.speakingSince! });
      else byParticipant.set(id, { level: Math.max(seen.level, level), since: Math.min(seen.since, t.speakingSince!) });
    }
    // In the order they started (the map keeps track order for equal times: deterministic).
    const speakers = [...byParticipant].sort((a, b) => a[1].since - b[1].since);
    let loudest = speakers[0]!;
    for (const s of speakers) if (s[1].level > loudest[1].level) loudest = s;
    const current = speakers.find(([id]) => id === this.dominant.get(room));
    const dominant = current !== undefined && loudest[1].level <= current[1].level * SPEECH.switchRatio ? current : loudest;
    this.dominant.set(room, dominant[0]);
    return [dominant, ...speakers.filter((s) => s !== dominant)].map(([participantId, { level }]) => ({ participantId, level }));
  }

  /** Sends the room its speakers when the set or the dominant differs from what it was told. */
  private tell(room: Room, speakers: Speaker[]): void {
    const key = speakers.map((s) => s.participantId).join(",");
    if ((this.told.get(room)?.key ?? "") === key) {
      if (key === "") this.told.delete(room);
      return;
    }
    const message: ActiveSpeakersMessage = { type: "active-speakers", speakers };
    if (key === "") {
      this.told.delete(room);
      this.dominant.delete(room);
    } else {
      this.told.set(room, { key, message });
    }
    for (const p of room.participants.values()) this.out.signal(p.id, message);
  }
}
