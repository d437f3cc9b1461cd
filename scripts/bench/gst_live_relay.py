#!/usr/bin/python3
"""gst-rtsp-server relaying a published MJPEG stream to readers (for live-latency).

Run it with the system interpreter (/usr/bin/python3 has the gi bindings) and a bound:
    timeout 120 /usr/bin/python3 scripts/bench/gst_live_relay.py --port 8560 --seconds 100

Two mount points in one gst-rtsp-server (GStreamer 1.22):
  /pub  RECORD (ANNOUNCE + RECORD from a publisher):
        rtpjpegdepay name=depay0 ! appsink        (the RTP/JPEG frames, back to JPEG)
  /cam  PLAY, one shared pipeline for every reader:
        appsrc (live, stamped on arrival) ! rtpjpegpay name=pay0 pt=26
and, in between, each JPEG the appsink gets is pushed into the appsrc (a Python callback per
frame; nothing is decoded or encoded: the scan data goes through byte for byte, as through
server-mio). --latency sets the factories' latency (the RECORD side's rtpjitterbuffer holds
packets that long; gst-rtsp-server's default is 200 ms).

It binds 127.0.0.1 only, prints "READY rtsp://127.0.0.1:PORT" once it listens, and stops
after --seconds.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# The readers' appsrc, once /cam's shared media exists.
STATE = {"src": None, "frames": 0, "pushed": 0}


def on_sample(sink):
    sample = sink.emit("pull-sample")
    if sample is None:
        return Gst.FlowReturn.EOS
    STATE["frames"] += 1
    src = STATE["src"]
    if src is not None:
        buf = sample.get_buffer().copy()
        # appsrc do-timestamp=true stamps it with the running time of its arrival.
        buf.pts = Gst.CLOCK_TIME_NONE
        buf.dts = Gst.CLOCK_TIME_NONE
        if src.emit("push-buffer", buf) == Gst.FlowReturn.OK:
            STATE["pushed"] += 1
    return Gst.FlowReturn.OK


def pub_configure(_factory, media):
    sink = media.get_element().get_by_name("sink")
    sink.connect("new-sample", on_sample)


def cam_configure(_factory, media):
    STATE["src"] = media.get_element().get_by_name("src")

    def gone(_media):
        STATE["src"] = None

    media.connect("unprepared", gone)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--seconds", type=int, default=60, help="stop after this long")
    ap.add_argument("--fps", type=int, default=25, help="nominal rate in the readers' caps")
    ap.add_argument("--width", type=int, default=384, help="frame width in the readers' caps")
    ap.add_argument("--height", type=int, default=288, help="frame height in the readers' caps")
    ap.add_argument("--latency", type=int, default=0,
                    help="factories' latency, ms (gst-rtsp-server's default: 200)")
    ap.add_argument("--verbose", action="store_true", help="counts every second")
    opts = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(opts.port))
    # A thread per client: by default all clients share one, and a reader's DESCRIBE, which
    # waits there for /cam to preroll, would hold up the publisher's interleaved RTP that the
    # preroll needs (until the DESCRIBE times out).
    server.get_thread_pool().set_max_threads(16)
    mounts = server.get_mount_points()

    pub = GstRtspServer.RTSPMediaFactory()
    pub.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
    pub.set_launch(
        "( rtpjpegdepay name=depay0 ! appsink name=sink emit-signals=true sync=false "
        "max-buffers=4 drop=true )"
    )
    pub.set_latency(opts.latency)
    pub.connect("media-configure", pub_configure)
    mounts.add_factory("/pub", pub)

    cam = GstRtspServer.RTSPMediaFactory()
    cam.set_shared(True)
    cam.set_launch(
        "( appsrc name=src is-live=true do-timestamp=true format=time "
        f"caps=image/jpeg,width={opts.width},height={opts.height},framerate={opts.fps}/1 "
        "! rtpjpegpay name=pay0 pt=26 )"
    )
    cam.set_latency(opts.latency)
    cam.connect("media-configure", cam_configure)
    mounts.add_factory("/cam", cam)

    if server.attach(None) == 0:
        sys.exit("cannot listen (port in use?)")
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}", flush=True)
    loop = GLib.MainLoop()
    GLib.timeout_add_seconds(opts.seconds, loop.quit)
    if opts.verbose:
        def tick():
            print(f"frames received {STATE['frames']}, relayed {STATE['pushed']}",
                  file=sys.stderr, flush=True)
            return True
        GLib.timeout_add_seconds(1, tick)
    loop.run()
    print(f"frames received {STATE['frames']}, relayed {STATE['pushed']}", file=sys.stderr)


if __name__ == "__main__":
    main()
