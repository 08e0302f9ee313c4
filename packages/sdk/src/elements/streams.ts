const streams = new WeakMap<MediaStreamTrack, MediaStream>();

/** One MediaStream per track, so re-renders never re-assign srcObject (which would restart playback). */
export function streamOf(track: MediaStreamTrack | undefined): MediaStream | null {
  if (!track) return null;
  let stream = streams.get(track);
  if (!stream) {
    stream = new MediaStream([track]);
    streams.set(track, stream);
  }
  return stream;
}
