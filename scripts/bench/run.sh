#!/usr/bin/env bash
# Reproduces the BENCHMARKS.md table: the raw loopback UDP ceiling (udp-ceiling), our server
# (server-mio) and gst-rtsp-server (per-client pipelines and --shared), all measured with the same
# load generator (rtsp-load) at the same session counts, on loopback only.
#
#   scripts/bench/run.sh                    # counts 1 100 1000 2000 (+ ours at 4000 5000), ~12 min
#   COUNTS="1 100" DUR=5 scripts/bench/run.sh   # quicker
#   OUT=/tmp/bench scripts/bench/run.sh     # results directory (default target/bench/DATE)
#   SKIP_BUILD=1 scripts/bench/run.sh       # use the release binaries already built
#   SETUP_K=1000 SETUP_REPS=5               # the setup-latency turns (ours, rtsp-ceiling); 0 skips
#   GRO=1 scripts/bench/run.sh              # receivers use UDP_GRO (rtsp-load/udp-ceiling --gro)
#   SOURCES=8 scripts/bench/run.sh          # rtsp-load from 8 source addresses (default 1)
#
# Needs: cargo, ffmpeg (to make the MJPEG file), /usr/bin/python3 with gst-rtsp-server GI
# bindings (see ../shared/interop/README.md; the gst part is skipped without them).
# Every server runs under `timeout` and is stopped by its PID; every load run is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
COUNTS=${COUNTS-"1 100 1000 2000"}
GST_COUNTS=${GST_COUNTS-"1 100 1000"}
# Our server only, beyond the common counts: where it stops keeping time (its capacity).
CAPACITY_COUNTS=${CAPACITY_COUNTS-"4000 5000"}
DUR=${DUR:-10}          # seconds of load per run (setup included)
GST_DUR=${GST_DUR:-15}  # gst-rtsp-server accepts with a backlog of 5: give setup more time
OUT=${OUT:-$ROOT/target/bench/$(date +%Y%m%d-%H%M%S)}
# GRO=1: every receiver (rtsp-load, udp-ceiling) takes GSO trains whole (UDP_GRO). On loopback
# the receivers' per-datagram work otherwise runs in the sender's context and counts as the
# server's CPU; on a real network it happens on the clients' machines.
GRO_FLAG=()
if [ "${GRO:-0}" = 1 ]; then GRO_FLAG=(--gro); fi
# SOURCES=N: rtsp-load's source addresses (127.0.0.2, ...). Default 1 (127.0.0.1 alone), as the
# figures of BENCHMARKS.md were measured: every server here runs with its per-IP limits raised.
SRC_FLAG=(--sources "${SOURCES:-1}")
PORT_OURS=${PORT_OURS:-18554}
PORT_GST=${PORT_GST:-18556}
GST_LAUNCHER=${GST_LAUNCHER:-$ROOT/../shared/interop/gst_rtsp_mjpeg_server.py}
mkdir -p "$OUT"
BIN=$ROOT/target/release
RESULTS=$OUT/results.txt
: > "$RESULTS"
# shellcheck source=lib.sh
. "$ROOT/scripts/bench/lib.sh"

machine() {
    echo "date: $(date -u +%FT%TZ)"
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -r)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem: $(free -h | awk '/Mem:/ {print $2}')"
    echo "uptime: $(uptime)"
    echo "rustc: $(rustc --version)"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo none) (dirty: $(git status --porcelain 2>/dev/null | wc -l) files)"
    echo "receivers: ${GRO_FLAG[*]:-plain recvmmsg}"
}

machine | tee "$OUT/machine.txt" >&2

if [ "${SKIP_BUILD:-0}" = 1 ]; then
    log "SKIP_BUILD=1: using the binaries already in $BIN"
else
    log "building (release)"
    cargo build --release -p server-mio -p rtsp-load -p udp-ceiling -p rtsp-ceiling 2>&1 | tail -1 >&2
fi
for b in server-mio rtsp-load udp-ceiling rtsp-ceiling; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }
done

# The MJPEG file every server streams: 384x288, 25 fps, 10 s, RFC 2435 carriable (4:2:0,
# standard Huffman tables), concatenated JPEG.
MEDIA=$OUT/media
mkdir -p "$MEDIA"
if [ ! -s "$MEDIA/sample.mjpeg" ]; then
    ffmpeg -loglevel error -y -f lavfi -i testsrc=size=384x288:rate=25 -t 10 -pix_fmt yuvj420p \
        -huffman default -force_duplicated_matrix 1 -f mjpeg "$MEDIA/sample.mjpeg"
fi
log "media: $(stat -c %s "$MEDIA/sample.mjpeg") bytes"

# ---------------------------------------------------------------------------------------------
# (b) our server, then (a) the ceiling with the datagram sizes rtsp-load measured on it.
PPF=5; BPP=1240
for k in $COUNTS $CAPACITY_COUNTS; do
    t=$((DUR + 30))
    RUST_LOG=warn timeout -k 5 "$t" "$BIN/server-mio" --port "$PORT_OURS" --bind 127.0.0.1 \
        --media "$MEDIA" --loop --fps 25 --max-sessions 20000 --max-connections 20000 \
        --max-connections-per-ip 20000 > "$OUT/server-mio-$k.log" 2>&1 &
    tp=$!
    sp=$(child_of "$tp")
    wait_port "$PORT_OURS" || { log "server-mio did not start"; stop "$sp" "$tp"; continue; }
    sleep 0.5
    record "ours k=$k" timeout -k 5 $((DUR + 20)) "$BIN/rtsp-load" "${GRO_FLAG[@]}" "${SRC_FLAG[@]}" \
        "rtsp://127.0.0.1:$PORT_OURS/sample.mjpeg" --sessions "$k" --duration "$DUR" --server-pid "$sp"
    stop "$sp" "$tp"
    line=$(tail -1 "$RESULTS")
    p=$(echo "$line" | grep -o 'pkts_per_frame=[0-9.]*' | cut -d= -f2 || true)
    b=$(echo "$line" | grep -o 'bytes_per_pkt=[0-9]*' | cut -d= -f2 || true)
    case " $COUNTS " in
        *" $k "*) if [ -n "$p" ] && [ "$p" != "0.00" ]; then PPF=$p; BPP=$b; fi ;;
    esac
    sleep 1
done
# One TCP-interleaved run (the client machine depacketizes; counted from its frames).
TCP_K=${TCP_K:-100}
if [ "$TCP_K" -gt 0 ]; then
    RUST_LOG=warn timeout -k 5 $((DUR + 30)) "$BIN/server-mio" --port "$PORT_OURS" --bind 127.0.0.1 \
        --media "$MEDIA" --loop --fps 25 --max-sessions 20000 --max-connections 20000 \
        --max-connections-per-ip 20000 > "$OUT/server-mio-tcp.log" 2>&1 &
    tp=$!
    sp=$(child_of "$tp")
    if wait_port "$PORT_OURS"; then
        sleep 0.5
        record "ours-tcp k=$TCP_K" timeout -k 5 $((DUR + 20)) "$BIN/rtsp-load" "${GRO_FLAG[@]}" "${SRC_FLAG[@]}" \
            "rtsp://127.0.0.1:$PORT_OURS/sample.mjpeg" --sessions "$TCP_K" --duration "$DUR" \
            --transport tcp --server-pid "$sp"
    fi
    stop "$sp" "$tp"
fi
FRAME_BYTES=$(python3 -c "print(round($PPF*$BPP))")
log "ceiling frame: $FRAME_BYTES bytes (measured $PPF datagrams x $BPP B)"

for k in $COUNTS; do
    for mode in gso sendmmsg sendto; do
        record "ceiling $mode k=$k" timeout -k 5 $((DUR + 20)) "$BIN/udp-ceiling" "${GRO_FLAG[@]}" \
            --sessions "$k" --duration "$DUR" --mode "$mode" --frame-bytes "$FRAME_BYTES"
    done
done
for mode in gso sendmmsg sendto; do
    record "ceiling-max $mode k=1000" timeout -k 5 25 "$BIN/udp-ceiling" "${GRO_FLAG[@]}" \
        --sessions 1000 --duration 5 --mode "$mode" --max --frame-bytes "$FRAME_BYTES"
done

# ---------------------------------------------------------------------------------------------
# Setup latency: SETUP_K sessions opened at once, our server and rtsp-ceiling (canned replies,
# no media: the control-path floor of this machine and load generator) by turns, so that both
# see the same background load. Each run is a fresh server.
SETUP_K=${SETUP_K:-1000}
SETUP_REPS=${SETUP_REPS:-5}
# setup_turn WHO REP SERVER-COMMAND... : one burst of SETUP_K sessions against a fresh server.
setup_turn() {
    local who=$1 rep=$2; shift 2
    "$@" > "$OUT/setup-$who-$rep.log" 2>&1 &
    local tp=$! sp
    sp=$(child_of "$tp")
    if wait_port "$PORT_OURS"; then
        sleep 0.5
        record "setup $who #$rep" timeout -k 5 25 "$BIN/rtsp-load" "${GRO_FLAG[@]}" "${SRC_FLAG[@]}" \
            "rtsp://127.0.0.1:$PORT_OURS/sample.mjpeg" --sessions "$SETUP_K" --duration 3 \
            --server-pid "$sp" --setup-trace "$OUT/setup-$who-$rep.csv"
    fi
    stop "$sp" "$tp"
}
for rep in $(seq 1 "$SETUP_REPS"); do
    setup_turn ours "$rep" env RUST_LOG=warn timeout -k 5 30 "$BIN/server-mio" \
        --port "$PORT_OURS" --bind 127.0.0.1 --media "$MEDIA" --loop --fps 25 \
        --max-sessions 20000 --max-connections 20000 --max-connections-per-ip 20000
    setup_turn ceiling "$rep" timeout -k 5 30 "$BIN/rtsp-ceiling" --port "$PORT_OURS" --seconds 25
    sleep 1
done

# ---------------------------------------------------------------------------------------------
# (c) gst-rtsp-server: a pipeline per client, then one shared pipeline.
if [ -f "$GST_LAUNCHER" ] && /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null; then
    for shared in no yes; do
        counts=$GST_COUNTS; [ "$shared" = yes ] && counts=$COUNTS
        for k in $counts; do
            extra=(); [ "$shared" = yes ] && extra=(--shared)
            t=$((GST_DUR + 40))
            timeout -k 5 "$t" /usr/bin/python3 "$GST_LAUNCHER" --port "$PORT_GST" \
                --file "$MEDIA/sample.mjpeg" --fps 25 --seconds $((t - 5)) "${extra[@]}" \
                > "$OUT/gst-$shared-$k.log" 2>&1 &
            tp=$!
            sp=$(child_of "$tp")
            wait_port "$PORT_GST" || { log "gst did not start"; stop "$sp" "$tp"; continue; }
            sleep 0.5
            record "gst shared=$shared k=$k" timeout -k 5 $((GST_DUR + 20)) "$BIN/rtsp-load" "${GRO_FLAG[@]}" "${SRC_FLAG[@]}" \
                "rtsp://127.0.0.1:$PORT_GST/test" --sessions "$k" --duration "$GST_DUR" --server-pid "$sp"
            stop "$sp" "$tp"
            sleep 1
        done
    done
else
    log "gst-rtsp-server (python3-gi, gir1.2-gst-rtsp-server-1.0) not available: skipped"
fi

log "done: $RESULTS"
machine | tail -4 >&2
python3 "$ROOT/scripts/bench/table.py" "$RESULTS" | tee "$OUT/table.md"
