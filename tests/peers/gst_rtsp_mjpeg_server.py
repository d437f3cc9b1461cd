#!/usr/bin/python3
"""A third-party RTSP peer for the client interop tests: gst-rtsp-server (GStreamer 1.22,
through Python GI) serving MJPEG as RTP/JPEG (RFC 2435, payload type 26), loopback only.

Run it with the system interpreter (/usr/bin/python3: it has the `gi` bindings) and a bound:
    timeout 120 /usr/bin/python3 tests/peers/gst_rtsp_mjpeg_server.py --seconds 100
It binds 127.0.0.1 on --port (0 = any free port) and prints one line
    READY rtsp://127.0.0.1:PORT/MOUNT
once it accepts connections, then serves until --seconds have passed.

Sources:
  default      videotestsrc -> I420 -> jpegenc (quality --quality) -> rtpjpegpay
               (I420 matters: without it jpegenc gets 4:4:4, which RFC 2435 cannot carry,
               and rtpjpegpay refuses every frame.)
  --file F     a concatenated-JPEG file, looped: multifilesrc -> jpegparse -> videorate
               (re-stamps the frames at --fps) -> rtpjpegpay. Frames with a DRI marker are
               sent as RFC 2435 types 64/65 (restart markers).

Debian packages: gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad (jpegparse, for --file).
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def pipeline(opts):
    pay = "rtpjpegpay name=pay0 pt=26"
    if opts.file:
        return (
            f"( multifilesrc location={opts.file} loop=true "
            f"caps=image/jpeg,framerate={opts.fps}/1 ! jpegparse ! videorate ! {pay} )"
        )
    return (
        "( videotestsrc is-live=true "
        f"! video/x-raw,format=I420,width={opts.width},height={opts.height},framerate={opts.fps}/1 "
        f"! jpegenc quality={opts.quality} ! {pay} )"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--mount", default="/test")
    ap.add_argument("--seconds", type=int, default=60, help="stop after this long")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--quality", type=int, default=85, help="jpegenc quality 1-100")
    ap.add_argument("--file", help="serve this concatenated-JPEG file (looped)")
    opts = ap.parse_args()

    Gst.init(None)
    launch = pipeline(opts)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(opts.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    server.get_mount_points().add_factory(opts.mount, factory)
    if server.attach(None) == 0:
        sys.exit("cannot listen (port in use?)")
    port = server.get_bound_port()
    print(f"READY rtsp://127.0.0.1:{port}{opts.mount}", flush=True)
    print(f"launch: {launch}", file=sys.stderr, flush=True)
    loop = GLib.MainLoop()
    GLib.timeout_add_seconds(opts.seconds, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
