#!/usr/bin/env bash
# Live fan-out figures for BENCHMARKS.md, all in one run, on loopback only:
#
#  (1) one live 25 fps source (an exec: source replaying the sample file with `ffmpeg -re`)
#      fanned out to K UDP readers and to T TCP readers, beside the same file played from disk
#      by the same server to the same numbers of readers: server CPU per packet, loss, timing;
#  (2) publisher -> reader latency (live-latency): server-mio (--publish) against
#      gst-rtsp-server relaying the same published stream (scripts/bench/gst_live_relay.py);
#  (3) origin -> edge: one origin with the live source, three edges pulling it, E readers on
#      each edge; the origin's CPU and sessions, beside the origin serving the readers itself.
#
#   scripts/bench/live.sh                      # K=2000 T=200 E=500, ~6 min
#   K=500 T=50 E=100 DUR=5 scripts/bench/live.sh  # quicker
#   OUT=/tmp/live SKIP_BUILD=1 scripts/bench/live.sh
#   PARTS="fanout" GRO=1 scripts/bench/live.sh   # some parts only; receivers with UDP_GRO
#
# Needs: cargo, ffmpeg, /usr/bin/python3 with gst-rtsp-server GI bindings (latency against gst
# is skipped without them). Every process runs under `timeout`; every load run is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
K=${K:-2000}
T=${T:-200}
E=${E:-500}
DUR=${DUR:-10}
LAT_FRAMES=${LAT_FRAMES:-500}
PARTS=${PARTS:-"fanout latency cluster"}
# GRO=1: rtsp-load takes GSO trains whole (UDP_GRO); on loopback the receivers' per-datagram
# work otherwise runs in the server's context (see BENCHMARKS.md, run D).
GRO_FLAG=()
if [ "${GRO:-0}" = 1 ]; then GRO_FLAG=(--gro); fi
OUT=${OUT:-$ROOT/target/bench/live-$(date +%Y%m%d-%H%M%S)}
P0=${P0:-18600}
mkdir -p "$OUT"
BIN=$ROOT/target/release
RESULTS=$OUT/results.txt
: > "$RESULTS"
# shellcheck source=lib.sh
. "$ROOT/scripts/bench/lib.sh"

cpu_ticks() {  # utime+stime of PID $1, in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# server NAME PORT CONFIG|- ARGS... : starts server-mio under timeout; sets SP (pid), TP.
server() {
    local name=$1 port=$2 config=$3; shift 3
    local cfg=(); [ "$config" != - ] && cfg=(--config "$config")
    RUST_LOG=warn timeout -k 5 300 "$BIN/server-mio" "${cfg[@]}" --port "$port" \
        --bind 127.0.0.1 --media "$MEDIA" --fps 25 "${LIMITS[@]}" "$@" \
        > "$OUT/server-$name.log" 2>&1 &
    TP=$!
    SP=$(child_of "$TP")
    wait_port "$port" || { log "server $name did not start"; cat "$OUT/server-$name.log" >&2; exit 1; }
}

# live_config FILE SOURCE : a config with one path `cam` pulled from SOURCE.
live_config() {
    printf '[paths.cam]\nsource = "%s"\n' "$2" > "$1"
}

{
    machine_info
    echo "parts: $PARTS; receivers: ${GRO_FLAG[*]:-plain recvmmsg}"
} | tee "$OUT/machine.txt" >&2

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building (release)"
    cargo build --release -p server-mio -p rtsp-load -p udp-ceiling 2>&1 | tail -1 >&2
fi

MEDIA=$OUT/media
mkdir -p "$MEDIA"
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=384x288:rate=25 -t 10 -pix_fmt yuvj420p \
    -huffman default -force_duplicated_matrix 1 -f mjpeg "$MEDIA/sample.mjpeg"
# The live source: the same frames, paced by ffmpeg -re, looping.
EXEC="exec:ffmpeg -loglevel error -re -stream_loop -1 -i $MEDIA/sample.mjpeg -c copy -f mjpeg -"
live_config "$OUT/live.toml" "$EXEC"

# ---------------------------------------------------------------------------------------------
# (1) fan-out: file, then live, to K UDP readers and T TCP readers.
PORT=$P0
part fanout && for kind in file live; do
    for tr in udp tcp; do
        n=$K; [ "$tr" = tcp ] && n=$T
        if [ "$kind" = file ]; then
            server "$kind-$tr" "$PORT" - --loop
            url="rtsp://127.0.0.1:$PORT/sample.mjpeg"
        else
            server "$kind-$tr" "$PORT" "$OUT/live.toml"
            url="rtsp://127.0.0.1:$PORT/cam"
        fi
        sleep 1
        record "fanout $kind $tr k=$n" timeout -k 5 $((DUR + 30)) "$BIN/rtsp-load" "${GRO_FLAG[@]}" "$url" \
            --sessions "$n" --duration "$DUR" --transport "$tr" --server-pid "$SP" --quiet
        stop "$SP" "$TP"
        sleep 1
    done
done

# The raw loopback UDP ceiling in the same run: K sessions of the frames measured above, with
# each send mode of udp-ceiling (no RTSP, no RTP headers built per session: the floor).
if part fanout; then
    line=$(grep '^fanout file udp' "$RESULTS" | tail -1)
    ppf=$(echo "$line" | grep -o 'pkts_per_frame=[0-9.]*' | cut -d= -f2)
    bpp=$(echo "$line" | grep -o 'bytes_per_pkt=[0-9]*' | cut -d= -f2)
    fb=$(python3 -c "print(round(${ppf:-4} * ${bpp:-1160}))")
    for mode in gso sendmmsg; do
        record "ceiling $mode k=$K" timeout -k 5 $((DUR + 20)) "$BIN/udp-ceiling" "${GRO_FLAG[@]}" \
            --sessions "$K" --duration "$DUR" --mode "$mode" --frame-bytes "$fb"
    done
fi

# ---------------------------------------------------------------------------------------------
# (2) latency publisher -> reader, UDP and TCP readers; ours, then gst-rtsp-server.
part latency && for tr in udp tcp; do
    server "lat-$tr" "$PORT" - --publish cam
    record "latency ours $tr" timeout -k 5 $((LAT_FRAMES / 25 + 30)) "$BIN/live-latency" \
        "rtsp://127.0.0.1:$PORT/cam" --frames "$LAT_FRAMES" --transport "$tr" \
        --csv "$OUT/latency-ours-$tr.csv"
    stop "$SP" "$TP"
    sleep 1
done
GST_PORT=$((P0 + 10))
if ! part latency; then
    :
elif /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null; then
    for tr in udp tcp; do
        timeout -k 5 $((LAT_FRAMES / 25 + 60)) /usr/bin/python3 "$ROOT/scripts/bench/gst_live_relay.py" \
            --port "$GST_PORT" --seconds $((LAT_FRAMES / 25 + 50)) > "$OUT/gst-relay-$tr.log" 2>&1 &
        tp=$!
        sp=$(child_of "$tp")
        wait_port "$GST_PORT" || { log "gst relay did not start"; stop "$sp" "$tp"; continue; }
        record "latency gst $tr" timeout -k 5 $((LAT_FRAMES / 25 + 30)) "$BIN/live-latency" \
            "rtsp://127.0.0.1:$GST_PORT/pub" --read "rtsp://127.0.0.1:$GST_PORT/cam" \
            --frames "$LAT_FRAMES" --transport "$tr" --csv "$OUT/latency-gst-$tr.csv"
        stop "$sp" "$tp"
        sleep 1
    done
else
    log "gst-rtsp-server GI bindings not available: gst latency skipped"
fi

# ---------------------------------------------------------------------------------------------
# (3) origin -> 3 edges x E readers; then the origin alone serving 3 x E readers.
ORIGIN=$((P0 + 20))
if ! part cluster; then
    log "done: $RESULTS"
    exit 0
fi
server origin "$ORIGIN" "$OUT/live.toml"
OSP=$SP; OTP=$TP
live_config "$OUT/edge.toml" "rtsp://127.0.0.1:$ORIGIN/cam"
EDGES=(); ETPS=()
for i in 1 2 3; do
    server "edge$i" $((ORIGIN + i)) "$OUT/edge.toml"
    EDGES+=("$SP"); ETPS+=("$TP")
done
sleep 2
t0=$(cpu_ticks "$OSP"); s0=$(date +%s.%N)
PIDS=()
for i in 1 2 3; do
    record "edge$i e=$E" timeout -k 5 $((DUR + 30)) "$BIN/rtsp-load" "${GRO_FLAG[@]}" \
        "rtsp://127.0.0.1:$((ORIGIN + i))/cam" --sessions "$E" --duration "$DUR" \
        --server-pid "${EDGES[$((i - 1))]}" --quiet &
    PIDS+=($!)
done
sleep $((DUR / 2))
# Control connections at the origin while 3 x E readers play on the edges: one per edge.
oconns=$(ss -Htn state established "( sport = :$ORIGIN )" | wc -l)
for p in "${PIDS[@]}"; do wait "$p" || true; done
t1=$(cpu_ticks "$OSP"); s1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
ocpu=$(python3 -c "print(f'{100*($t1-$t0)/$hz/($s1-$s0):.2f}')")
echo "origin 3 edges x $E | cpu=${ocpu}% window_s=$(python3 -c "print(f'{$s1-$s0:.1f}')") origin_connections=$oconns" \
    | tee -a "$RESULTS" >&2
for i in 0 1 2; do stop "${EDGES[$i]}" "${ETPS[$i]}"; done
stop "$OSP" "$OTP"
sleep 1
server origin-direct "$ORIGIN" "$OUT/live.toml"
sleep 1
record "origin direct k=$((3 * E))" timeout -k 5 $((DUR + 30)) "$BIN/rtsp-load" "${GRO_FLAG[@]}" \
    "rtsp://127.0.0.1:$ORIGIN/cam" --sessions $((3 * E)) --duration "$DUR" \
    --server-pid "$SP" --quiet
stop "$SP" "$TP"

log "done: $RESULTS"
uptime >&2
