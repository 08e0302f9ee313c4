#!/usr/bin/python3
"""
An sfu-room client on aiortc (a WebRTC stack that is neither werift nor a browser), written from
docs/protocol.md alone: it joins a room over the JSON signaling, publishes VP8 video and Opus audio
of its own (a colour-bar pattern, a 440 Hz tone), answers every subscriber offer, opens the two
negotiated data channels, and decodes every track it receives.

    /usr/bin/python3 test/aiortc/client.py --url ws://127.0.0.1:7880/ws --room demo --name aiortc

It reports on stdout, one JSON object a line: {"event": "joined", ...}, "published", "offer" (each
subscriber offer it answered: its mids with a track, its m-lines, how many are rejected), "stats"
(every half second: per received track the frames decoded, their size, for audio the loudest
sample), "data" (a data message: channel, from, topic, text or hex), "error" (an error frame from
the relay), "fatal" (then it exits 1). Each line of stdin is a data message to send, as JSON:
{"text": "hi", "topic": "chat", "to": [ids], "reliable": true} ("hex" instead of "text" for bytes;
everything but the payload optional). It leaves the room (`leave`) when stdin closes or on SIGTERM.
aiortc never offers loopback candidates: run relay and client in a network namespace with an
address (docs/interop.md).
"""
import argparse
import asyncio
import fractions
import json
import re
import signal
import sys
import time

import av
import numpy
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack

VIDEO_WIDTH, VIDEO_HEIGHT = 320, 240
AUDIO_RATE, AUDIO_PTIME = 48000, 0.020
TONE_HZ = 440


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class ColourBars(VideoStreamTrack):
    """Eight vertical colour bars with a white band moving down them: 30 frames/s, never two frames alike in a row."""

    def __init__(self):
        super().__init__()
        bars = numpy.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
                            [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]], dtype=numpy.uint8)
        self.image = numpy.repeat(bars, VIDEO_WIDTH // len(bars), axis=0)[numpy.newaxis, :, :].repeat(VIDEO_HEIGHT, axis=0)
        self.count = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        image = self.image.copy()
        band = (self.count * 4) % VIDEO_HEIGHT
        image[band:band + 8, :, :] = 255
        self.count += 1
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(MediaStreamTrack):
    """A 440 Hz sine, mono, in 20 ms frames paced by the clock."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self.samples = int(AUDIO_RATE * AUDIO_PTIME)
        self.sent = 0
        self.start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.time()
        else:
            await asyncio.sleep(max(0, self.start + self.sent / AUDIO_RATE - time.time()))
        t = (numpy.arange(self.samples) + self.sent) / AUDIO_RATE
        pcm = (numpy.sin(2 * numpy.pi * TONE_HZ * t) * 8000).astype(numpy.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, self.sent, fractions.Fraction(1, AUDIO_RATE)
        self.sent += self.samples
        return frame


class Received:
    """What this client decoded of one remote track."""

    def __init__(self, mid, info):
        self.mid = mid
        self.track_id = info.get("trackId")
        self.participant_id = info.get("participantId")
        self.kind = info.get("kind")
        self.frames = 0
        self.width = 0
        self.height = 0
        self.sample_rate = 0
        self.peak = 0  # audio: the loudest decoded sample so far, of 32768 (0: only silence arrived)
        self.ended = False

    async def decode(self, track):
        try:
            while True:
                frame = await track.recv()  # a decoded av.VideoFrame / av.AudioFrame
                self.frames += 1
                if isinstance(frame, av.VideoFrame):
                    self.width, self.height = frame.width, frame.height
                else:
                    self.sample_rate = frame.sample_rate
                    self.peak = max(self.peak, int(numpy.abs(frame.to_ndarray().astype(numpy.int32)).max()))
        except MediaStreamError:
            self.ended = True

    def summary(self):
        fields = {"mid": self.mid, "trackId": self.track_id, "participantId": self.participant_id,
                  "kind": self.kind, "frames": self.frames, "ended": self.ended}
        if self.kind == "video":
            fields.update(width=self.width, height=self.height)
        else:
            fields.update(sampleRate=self.sample_rate, peak=self.peak)
        return fields


class Client:
    def __init__(self, ws, args):
        self.ws = ws
        self.args = args
        self.next_id = 0
        self.replies = {}  # request id -> Future of the reply (or error) frame
        self.offers = asyncio.Queue()  # subscriber-offer frames, answered one at a time (section 7.3)
        self.subscriber = None
        self.publisher = None
        self.channels = []
        self.received = []  # Received, one per remote track, in arrival order
        self.mapping = {}  # mid -> SubscriberTrack of the latest offer
        self.participant_id = None

    # ---- signaling (sections 2, 4, 5) ----

    async def send(self, message):
        await self.ws.send(json.dumps(message))

    async def request(self, message):
        """Sends a request with a fresh id; returns its reply, or raises on an `error` reply."""
        self.next_id += 1
        request_id = str(self.next_id)
        reply = asyncio.get_running_loop().create_future()
        self.replies[request_id] = reply
        await self.send({**message, "id": request_id})
        frame = await reply
        if frame["type"] == "error":
            raise RuntimeError(f"{message['type']} refused: {frame['code']}: {frame['message']}")
        return frame

    async def read(self):
        async for data in self.ws:
            frame = json.loads(data)
            kind = frame.get("type")
            if "id" in frame and frame["id"] in self.replies:
                self.replies.pop(frame["id"]).set_result(frame)
            elif kind == "subscriber-offer":
                await self.offers.put(frame)
            elif kind == "error":  # errors without id: about a subscriber-answer, or unreadable frames
                report("error", code=frame["code"], message=frame["message"])
            elif kind in ("participant-joined", "participant-left", "track-published", "track-unpublished"):
                report(kind, **{k: v for k, v in frame.items() if k != "type"})
        for reply in self.replies.values():
            reply.set_exception(ConnectionError("the relay closed the WebSocket"))

    # ---- subscriber connection (section 7.3, 7.5) ----

    async def answer_offers(self):
        while True:
            offer = await self.offers.get()
            first = self.subscriber is None
            if first:
                self.subscriber = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                self.subscriber.on("track", self.on_track)
            self.mapping = {t["mid"]: t for t in offer["tracks"]}
            await self.subscriber.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
            if first:
                # Negotiated channels, created after the first offer is applied and before answering.
                self.channels = [
                    self.subscriber.createDataChannel("sfu-reliable", negotiated=True, id=0, ordered=True),
                    self.subscriber.createDataChannel("sfu-lossy", negotiated=True, id=1, ordered=False, maxRetransmits=0),
                ]
                for channel in self.channels:
                    channel.on("message", lambda data, label=channel.label: self.on_data(label, data))
            await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
            await self.send({"type": "subscriber-answer", "offerId": offer["offerId"], "sdp": self.subscriber.localDescription.sdp})
            media = re.findall(r"^m=\w+ (\d+) ", offer["sdp"], re.M)
            report("offer", offerId=offer["offerId"], mids=sorted(self.mapping), mLines=len(media), rejected=media.count("0"))

    def on_track(self, track):
        mid = next(t.mid for t in self.subscriber.getTransceivers() if t.receiver.track is track)
        received = Received(mid, self.mapping.get(mid, {}))
        self.received.append(received)
        asyncio.ensure_future(received.decode(track))

    # ---- data messages (section 7.5) ----

    def on_data(self, label, data):
        """Reports one data frame: its channel, the sender the relay stamped, topic, and payload."""
        if not isinstance(data, bytes) or len(data) < 4 or data[0] != 1:
            report("data-invalid", channel=label, length=len(data))
            return
        header_length = int.from_bytes(data[2:4], "big")
        header = json.loads(data[4:4 + header_length])
        payload = data[4 + header_length:]
        body = {"text": payload.decode()} if data[1] & 1 else {"hex": payload.hex()}
        report("data", channel=label, **{k: header[k] for k in ("from", "topic") if k in header}, **body)

    def send_data(self, command):
        """Sends {"text" or "hex", "topic"?, "to"?, "reliable"?} (a line of stdin) as one data frame."""
        header = {k: command[k] for k in ("topic", "to") if k in command}
        if "text" in command:
            flags, payload = 1, command["text"].encode()
        else:
            flags, payload = 0, bytes.fromhex(command["hex"])
        encoded = json.dumps(header, separators=(",", ":")).encode()
        channel = self.channels[0 if command.get("reliable", True) else 1]
        channel.send(bytes([1, flags]) + len(encoded).to_bytes(2, "big") + encoded + payload)

    # ---- publisher connection (section 7.2) ----

    async def publish(self):
        self.publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        video = self.publisher.addTransceiver(ColourBars(), direction="sendonly")
        video.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in ("video/VP8", "video/rtx")])
        audio = self.publisher.addTransceiver(Tone(), direction="sendonly")
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        tracks = [{"mid": video.mid, "kind": "video", "source": "camera"}, {"mid": audio.mid, "kind": "audio", "source": "microphone"}]
        answer = await self.request({"type": "publish-offer", "sdp": self.publisher.localDescription.sdp, "tracks": tracks})
        await self.publisher.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        report("published", tracks=answer["tracks"])

    async def report_stats(self):
        while True:
            await asyncio.sleep(0.5)
            report("stats", connection=self.subscriber.connectionState if self.subscriber else "new",
                   channels=[c.readyState for c in self.channels], tracks=[r.summary() for r in self.received])

    async def run(self, stop):
        try:
            await self.session(stop)
        finally:
            # Closing stops aiortc's decoder threads, which would otherwise keep the process alive.
            for pc in (self.subscriber, self.publisher):
                if pc:
                    await pc.close()

    async def session(self, stop):
        reader = asyncio.ensure_future(self.read())
        join = {"type": "join", "room": self.args.room, "name": self.args.name}
        if self.args.token:
            join["token"] = self.args.token
        joined = await self.request(join)
        self.participant_id = joined["participantId"]
        report("joined", participantId=self.participant_id, participants=[p["id"] for p in joined["participants"]])
        tasks = [asyncio.ensure_future(self.answer_offers()), asyncio.ensure_future(self.report_stats())]
        if not self.args.no_publish:
            await self.publish()
        done, _ = await asyncio.wait([*tasks, reader, stop], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop and task.exception():
                raise task.exception()
        if stop in done:
            await self.request({"type": "leave"})


async def main():
    parser = argparse.ArgumentParser(description="sfu-room client on aiortc")
    parser.add_argument("--url", default="ws://127.0.0.1:7880/ws")
    parser.add_argument("--room", required=True)
    parser.add_argument("--name", default="aiortc")
    parser.add_argument("--token", help="access token (a JWT), for a relay with keys such as npm start's (docs/interop.md)")
    parser.add_argument("--no-publish", action="store_true", help="receive only")
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    def request_stop():
        if not stop.done():
            stop.set_result(None)
    loop.add_signal_handler(signal.SIGTERM, request_stop)
    loop.add_signal_handler(signal.SIGINT, request_stop)
    # Frames from the relay are not bounded by the client limit; a big room's `joined` can be large (section 2).
    async with websockets.connect(args.url, max_size=4 << 20) as ws:
        client = Client(ws, args)

        def read_command():
            line = sys.stdin.readline()
            if not line:
                loop.remove_reader(sys.stdin)
                request_stop()
            elif line.strip():
                client.send_data(json.loads(line))
        loop.add_reader(sys.stdin, read_command)
        await client.run(stop)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # the test reads this line; the traceback goes to stderr
        import traceback
        traceback.print_exc()
        report("fatal", message=f"{type(e).__name__}: {e}")
        sys.exit(1)
