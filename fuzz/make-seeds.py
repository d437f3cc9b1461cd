#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/ from the interop captures and test data.

Usage (from the repository root or fuzz/): python3 fuzz/make-seeds.py [SHARED_DIR]
SHARED_DIR defaults to ../shared next to the repository (the interop transcripts and RTP
vectors live in SHARED_DIR/interop). The seeds are checked in; this script only documents how
they were made. server_session and client_session take structured (`arbitrary`) input, so
their seeds are a minimized sample of inputs found by fuzzing, not made here.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared")
INTEROP = os.path.join(SHARED, "interop")
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def records(packets):
    return b"".join(struct.pack(">H", len(p)) + p for p in packets)


# ---- transcripts: RTSP messages per direction ------------------------------------------------
HEAD = re.compile(r"^\[t=[\d.]+ (tcp#\d+) (C->S|S->C)\]$")


def messages(path):
    """(conn, direction, bytes) for every RTSP message block of a transcript."""
    out = []
    cur = None
    for line in open(path, encoding="utf-8").read().split("\n"):
        m = HEAD.match(line)
        if m:
            cur = (m.group(1), m.group(2), [])
            out.append(cur)
        elif line.startswith("[t=") or line.startswith("# "):
            cur = None
        elif cur is not None:
            cur[2].append(line)
    result = []
    for conn, direction, lines in out:
        lines = [l for l in lines if not l.startswith("<-- body")]
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            continue
        if "" in lines:
            i = lines.index("")
            head, body = lines[:i], lines[i + 1:]
        else:
            head, body = lines, []
        body_bytes = ("\r\n".join(body) + "\r\n").encode() if body else b""
        msg = ("\r\n".join(head) + "\r\n\r\n").encode() + body_bytes
        result.append((conn, direction, msg))
    return result


T = os.path.join(INTEROP, "transcripts")
streams = {}
header_values = set()
for name in sorted(os.listdir(T)):
    if not name.endswith(".txt") or "trace" in name or "probe-view" in name:
        continue
    for conn, direction, msg in messages(os.path.join(T, name)):
        streams.setdefault((name, conn, direction), b"")
        streams[(name, conn, direction)] += msg
        for line in msg.decode(errors="replace").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() in ("transport", "session", "range", "rtp-info", "public"):
                header_values.add(v.strip())

# rtsp_decoder: 1 flag byte + 8 seed bytes, then the stream.
PICK = ["exchange-gst-tcp.txt", "exchange-ffmpeg-udp.txt", "exchange-raw-errors.txt",
        "exchange-keepalive-timeout6.txt"]
for (name, conn, direction), data in sorted(streams.items()):
    if name in PICK and conn == "tcp#0" or (name == "exchange-raw-errors.txt"):
        tag = f"{name[9:-4]}-{conn[4:]}-{'req' if direction == 'C->S' else 'resp'}"
        write("rtsp_decoder", tag, b"\x00" + struct.pack("<Q", 0x0123456789ABCDEF) + data)
# The course lab's dialect: LF-only requests, a reply without the final empty line.
write("rtsp_decoder", "lab-req", b"\x01" + b"\x07" * 8 +
      b"SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n"
      b"PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: 123456\n\n")
write("rtsp_decoder", "lab-resp-flush", b"\x05" + b"\x03" * 8 +
      b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 123456")
write("rtsp_decoder", "interleaved", b"\x00" + b"\x00" * 8 +
      b"$\x01\x00\x08\x81\xc9\x00\x01\x12\x34\x56\x78" +
      b"GET_PARAMETER rtsp://h/x RTSP/1.0\r\nCSeq: 9\r\n\r\n")

# rtsp_headers: header values seen on the wire.
for i, v in enumerate(sorted(header_values)):
    write("rtsp_headers", f"h{i:02}", v)
for i, v in enumerate(["npt=1:02:03.5-", "npt=-20", "npt=12.5-20", "RTP/UDP; client_port= 25000",
                       "url=rtsp://a/s=0;seq=1;rtptime=2,url=rtsp://a/s=1;seq=3"]):
    write("rtsp_headers", f"x{i:02}", v)

# sdp_parse: the SDP test vectors of rtsp-core.
SDP = os.path.join(ROOT, "rtsp-core", "testdata", "sdp")
for name in sorted(os.listdir(SDP)):
    write("sdp_parse", name, read(SDP, name))

# url_parse: URLs, and "base\ncontrol" joins.
for i, u in enumerate([
    "rtsp://127.0.0.1:8554/test",
    "rtsp://user:p%40ss@cam.local:554/live/ch0?x=1",
    "rtsp://[::1]:8554/test/\nstream=0",
    "rtsp://127.0.0.1:8554/test\nrtsp://127.0.0.1:8554/test/trackID=0",
    "rtsp://h/a/b/\n../c",
    "rtsp://h:99999/\n*",
]):
    write("url_parse", f"u{i}", u)

# ---- RTP ---------------------------------------------------------------------------------------
V = os.path.join(INTEROP, "rtp_vectors")


def pkts(d):
    return [read(V, d, n) for n in sorted(os.listdir(os.path.join(V, d))) if n.endswith(".rtp")]


for d in ["ffmpeg-rtpenc-sample", "vlc-sample", "gst-interleaved-640x480"]:
    write("jpeg_depacketize", d, records(pkts(d)))
    write("rtp_header", d + "-0", pkts(d)[0][:200])
write("rtp_header", "csrc-ext-pad",
      bytes([0xB2, 0x9A, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
             0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 0xAA, 0xBB, 0, 0, 3]))
write("rtp_header", "lab-v0", bytes([0x00, 0x9A, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xD8]))

# ---- RTCP (as in the transcripts: RR+SDES from ffmpeg/gst, SR+SDES from gst, BYE) -------------


def rtcp(pt, count, body):
    body += b"\x00" * (-len(body) % 4)
    return struct.pack(">BBH", 0x80 | count, pt, len(body) // 4) + body


def sdes(ssrc, cname):
    item = bytes([1, len(cname)]) + cname + b"\x00"
    item += b"\x00" * (-len(item) % 4)
    return rtcp(202, 1, struct.pack(">I", ssrc) + item)


block = struct.pack(">IIIIII", 0x4E2C7C52, 0x00000003, 0x0000A0F2, 12, 0x0F6C7A7C, 0x00010000)
write("rtcp", "rr-sdes", rtcp(201, 1, struct.pack(">I", 0x74F83DCF) + block) +
      sdes(0x74F83DCF, b"user2678723605@host-1baf7757"))
write("rtcp", "sr-sdes", rtcp(200, 0, struct.pack(">IIIIII", 0x4E2C7C52, 4004604494, 0x0F6C7A7C,
                                                   2040960802, 1026, 1360855)) +
      sdes(0x4E2C7C52, b"user80125802@host-377701b9"))
write("rtcp", "sr-bye", rtcp(200, 0, struct.pack(">IIIIII", 0, 1, 2, 3, 4, 5)) +
      rtcp(203, 1, struct.pack(">I", 0) + b"\x08teardown"))
write("rtcp", "app-padded", rtcp(204, 0, struct.pack(">I", 1) + b"name") +
      bytes([0xA0, 201, 0, 1, 0, 0, 0, 4]))

# ---- JPEG / MJPEG ------------------------------------------------------------------------------
TD = os.path.join(ROOT, "mjpeg", "testdata")
for name in sorted(os.listdir(TD)):
    if name.endswith(".jpg"):
        write("jpeg_parse", name, read(TD, name))
write("jpeg_parse", "ffmpeg-frame0.jpg", read(V, "ffmpeg-rtpenc-sample", "frame0.jpg"))
# corpus/jpeg_parse/post-scan-dqt.jpg (not made here): mjpeg::testpattern::frame(1, 64, 48) with
# a DQT (table 0, all ones) inserted before its EOI.

mj = read(TD, "ffmpeg-420-std.mjpeg")
write("mjpeg_split", "concatenated", b"\x00" * 8 + mj)
write("mjpeg_split", "concatenated-chunks", b"\x11\x22\x33\x44\x55\x66\x77\x88" + mj)
small = [read(TD, "ffmpeg-422.jpg"), read(TD, "ffmpeg-444.jpg")]
write("mjpeg_split", "lab", b"\x05" * 8 + b"".join(b"%05d" % len(f) + f for f in small))
write("mjpeg_split", "truncated", b"\x09" * 8 + small[0][: len(small[0]) // 2])

# ---- HTTP -------------------------------------------------------------------------------------
# The first byte picks the parser's limits; the rest is one connection's bytes.
write("http_request", "page", b"\x00GET / HTTP/1.1\r\nHost: a\r\n\r\n")
write("http_request", "live", b"\x40GET /cam/stream.mjpg HTTP/1.1\r\nHost: a\r\n\r\n")
write("http_request", "file", b"\x81GET /clip/stream.mjpg HTTP/1.0\r\n\r\n")
write("http_request", "kick", b"\x05POST /api/sessions/1/kick HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
write("http_request", "metrics", b"\xffGET /metrics HTTP/1.1\r\nAuthorization: Basic YTpi\r\n\r\n")

total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(CORPUS) for f in fs)
print(f"corpus: {total} bytes")
