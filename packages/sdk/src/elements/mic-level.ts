/**
 * The level of a microphone track, 0..1, read from a Web Audio analyser (the peak of the last frame of
 * samples). Used by the pre-join view's meter, before there is a Room whose sender could say it.
 */
export class MicLevel {
  readonly #context: AudioContext;
  readonly #analyser: AnalyserNode;
  readonly #samples: Float32Array<ArrayBuffer>;

  constructor(track: MediaStreamTrack) {
    this.#context = new AudioContext();
    this.#analyser = this.#context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#context.createMediaStreamSource(new MediaStream([track])).connect(this.#analyser);
    this.resume();
  }

  /** A context made without a user gesture may start suspended: call again from one (a click). */
  resume(): void {
    if (this.#context.state === "suspended") void this.#context.resume().catch(() => undefined);
  }

  read(): number {
    this.#analyser.getFloatTimeDomainData(this.#samples);
    let peak = 0;
    for (const s of this.#samples) peak = Math.max(peak, Math.abs(s));
    return Math.min(1, peak);
  }

  close(): void {
    void this.#context.close().catch(() => undefined);
  }
}
