#!/usr/bin/python3
"""
A WHIP publisher on GStreamer's webrtcbin (what simple-whip-client does, for Debian 12, whose
`simple-whip-client` package aborts at start: docs/whip-whep.md). It publishes a test pattern
(videotestsrc, VP8) and a tone (audiotestsrc, Opus) over one sendonly max-bundle connection:

    /usr/bin/python3 test/gstreamer/whip-publish.py --url http://127.0.0.1:7880/whip/standup [--token TOKEN]

It waits for ICE gathering to complete and POSTs the whole offer (no trickle: the relay is ICE-lite),
applies the 201 answer and keeps the Location; SIGTERM or SIGINT (Ctrl+C) sends DELETE to it and
exits. It reports on stdout, one JSON object a line: {"event": "offer", "bytes": n}, "published"
(status, location), "connection" (webrtcbin's connection state as it changes), "deleted" (the
DELETE's status; then it exits 0), "refused" (a POST answered with anything but 201: status and body;
exits 1), "fatal" (message; exits 1).

Debian packages: python3-gi, gir1.2-gstreamer-1.0, gir1.2-gst-plugins-base-1.0,
gir1.2-gst-plugins-bad-1.0, gstreamer1.0-plugins-base, -good, -bad, gstreamer1.0-nice.
"""
import argparse
import json
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

# Payload types as simple-whip-client's documented pipelines use them; the answer keeps them.
VIDEO_PT, AUDIO_PT = 96, 111


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def pipeline_description(args):
    return (
        f"webrtcbin name=webrtc bundle-policy=max-bundle "
        f"videotestsrc is-live=true pattern={args.pattern} ! video/x-raw,width={args.width},height={args.height},framerate={args.framerate}/1 "
        f"! videoconvert ! queue ! vp8enc deadline=1 keyframe-max-dist={2 * args.framerate} "
        f"! rtpvp8pay pt={VIDEO_PT} ! application/x-rtp,media=video,encoding-name=VP8,payload={VIDEO_PT},clock-rate=90000 ! webrtc. "
        f"audiotestsrc is-live=true wave=sine freq={args.tone} volume={args.volume} ! audioconvert ! audioresample ! queue ! opusenc "
        f"! rtpopuspay pt={AUDIO_PT} ! application/x-rtp,media=audio,encoding-name=OPUS,payload={AUDIO_PT},clock-rate=48000 ! webrtc. "
    )


class Publisher:
    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.location = None
        self.exit_code = 0
        self.pipeline = Gst.parse_launch(pipeline_description(args))
        self.webrtc = self.pipeline.get_by_name("webrtc")
        if args.local_address:
            # Host candidates from these addresses only (libnice leaves loopback out by default).
            # Held for the pipeline's life: GStreamer 1.22's webrtcbin keeps its ICE object floating,
            # so Python's wrapper takes the only reference and would free it with the wrapper.
            self.ice = self.webrtc.get_property("ice-agent")
            for address in args.local_address:
                self.ice.emit("add-local-ip-address", address)
        for transceiver in self.transceivers():
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        self.webrtc.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering_state)
        self.webrtc.connect("notify::connection-state", self.on_connection_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def transceivers(self):
        found, index = [], 0
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            found.append(transceiver)
            index += 1
        return found

    def start(self):
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.fail("the pipeline did not start (a GStreamer plugin missing?)")

    def on_negotiation_needed(self, webrtc):
        webrtc.emit("create-offer", None, Gst.Promise.new_with_change_func(self.on_offer_created, None))

    def on_offer_created(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply is not None else None
        if offer is None:
            return GLib.idle_add(self.fail, f"webrtcbin made no offer: {reply.to_string() if reply else 'no reply'}")
        self.webrtc.emit("set-local-description", offer, None)

    def on_gathering_state(self, webrtc, _pspec):
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            # Every candidate is in the local description now: POST it from the main loop.
            GLib.idle_add(self.post_offer)

    def on_connection_state(self, webrtc, _pspec):
        state = webrtc.get_property("connection-state").value_nick
        GLib.idle_add(self.report_once, "connection", {"state": state})

    @staticmethod
    def report_once(event, fields):
        report(event, **fields)
        return GLib.SOURCE_REMOVE

    def post_offer(self):
        if self.location is not None:
            return False
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        report("offer", bytes=len(sdp))
        headers = {"content-type": "application/sdp"}
        if self.args.token:
            headers["authorization"] = f"Bearer {self.args.token}"
        request = urllib.request.Request(self.args.url, data=sdp.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.args.http_timeout) as response:
                status, answer, location = response.status, response.read().decode(), response.headers.get("location")
        except urllib.error.HTTPError as refusal:
            report("refused", status=refusal.code, body=refusal.read().decode(errors="replace"))
            self.exit_code = 1
            self.stop()
            return False
        except (urllib.error.URLError, OSError) as e:
            return self.fail(f"POST {self.args.url}: {e}")
        if status != 201 or not location:
            report("refused", status=status, body=answer)
            self.exit_code = 1
            self.stop()
            return False
        self.location = urllib.parse.urljoin(self.args.url, location)
        result, message = GstSdp.SDPMessage.new_from_text(answer)
        if result != GstSdp.SDPResult.OK:
            return self.fail(f"the answer is not SDP: {answer[:200]}")
        description = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        self.webrtc.emit("set-remote-description", description, None)
        report("published", status=status, location=self.location)
        return False

    def delete(self):
        """Ends the session (the relay removes the participant); then stops."""
        if self.location is not None:
            headers = {"authorization": f"Bearer {self.args.token}"} if self.args.token else {}
            request = urllib.request.Request(self.location, headers=headers, method="DELETE")
            try:
                with urllib.request.urlopen(request, timeout=self.args.http_timeout) as response:
                    report("deleted", status=response.status, location=self.location)
            except urllib.error.HTTPError as e:
                report("deleted", status=e.code, location=self.location, body=e.read().decode(errors="replace"))
                self.exit_code = 1
            except (urllib.error.URLError, OSError) as e:
                report("fatal", message=f"DELETE {self.location}: {e}")
                self.exit_code = 1
            self.location = None
        self.stop()
        return GLib.SOURCE_REMOVE

    def on_error(self, _bus, message):
        error, debug = message.parse_error()
        self.fail(f"{error.message} ({debug})")

    def fail(self, message):
        report("fatal", message=message)
        self.exit_code = 1
        self.stop()
        return False

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)
        self.loop.quit()


def main():
    parser = argparse.ArgumentParser(description="Publish a test pattern and a tone over WHIP with GStreamer's webrtcbin.")
    parser.add_argument("--url", required=True, help="the WHIP endpoint, e.g. http://127.0.0.1:7880/whip/standup?name=GStreamer")
    parser.add_argument("--token", help="sent as Authorization: Bearer (a relay with --keys)")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--framerate", type=int, default=15)
    parser.add_argument("--pattern", default="ball", help="videotestsrc's pattern (ball, smpte, ...)")
    parser.add_argument("--tone", type=float, default=440, help="the sine's frequency in Hz")
    parser.add_argument("--volume", type=float, default=0.25, help="the sine's amplitude, 0..1 of full scale")
    parser.add_argument("--local-address", action="append", help="gather host candidates from this address only (repeatable; e.g. 127.0.0.1)")
    parser.add_argument("--http-timeout", type=float, default=10)
    args = parser.parse_args()

    Gst.init(None)
    loop = GLib.MainLoop()
    try:
        publisher = Publisher(args, loop)
    except GLib.Error as e:
        report("fatal", message=f"the pipeline could not be built (a GStreamer plugin missing?): {e.message}")
        return 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, publisher.delete)
    publisher.start()
    loop.run()
    return publisher.exit_code


if __name__ == "__main__":
    sys.exit(main())
