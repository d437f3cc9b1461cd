#!/usr/bin/env bash
# MJPEG over HTTP figures for BENCHMARKS.md (issue 16), all in one run, on loopback only:
#
#  (1) server-mio --http serving one 25 fps stream to N HTTP viewers (http-load): server CPU
#      per viewer-frame, RSS per viewer, fps and late frames; beside the same server serving
#      the same stream to N RTSP/TCP readers (rtsp-load --transport tcp). Both for the sample
#      file (--loop) and for a live source (an exec: path replaying the file with ffmpeg -re);
#  (2) the raw loopback TCP write ceiling of the same run (tcp-ceiling: N connections, one
#      part of the measured JPEG size each 40 ms, readers in the same process);
#  (3) a self-check: http-load against tcp-ceiling --serve (both tools must agree).
#
#   scripts/bench/http.sh                        # N=500, DUR=10, ~2 min
#   N=100 DUR=5 scripts/bench/http.sh            # quicker
#   PARTS="ceiling selfcheck" scripts/bench/http.sh   # no server needed
#   HTTP_PATH='/%s/stream.mjpg' OUT=/tmp/http SKIP_BUILD=1 scripts/bench/http.sh
#
# HTTP_PATH is a printf template of the request path, %s being the stream's name
# (sample.mjpeg for the file, cam for the live path). The parts "file" and "live" need
# server-mio with --http; the script stops at once when `server-mio --help` lacks it.
# Needs: cargo, ffmpeg. Every process runs under `timeout`; every load run is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${N:-500}
DUR=${DUR:-10}
PARTS=${PARTS:-"file live ceiling selfcheck"}
HTTP_PATH=${HTTP_PATH:-/%s/stream.mjpg}
OUT=${OUT:-$ROOT/target/bench/http-$(date +%Y%m%d-%H%M%S)}
P0=${P0:-18700}
mkdir -p "$OUT"
BIN=$ROOT/target/release
RESULTS=$OUT/results.txt
: > "$RESULTS"
# shellcheck source=lib.sh
. "$ROOT/scripts/bench/lib.sh"

{
    machine_info
    echo "parts: $PARTS; viewers: $N; path template: $HTTP_PATH"
} | tee "$OUT/machine.txt" >&2

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building (release)"
    pkgs=(-p rtsp-load)
    if part file || part live; then pkgs+=(-p server-mio); fi
    cargo build --release "${pkgs[@]}" 2>&1 | tail -1 >&2
fi
for b in http-load tcp-ceiling rtsp-load; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }
done
if part file || part live; then
    [ -x "$BIN/server-mio" ] || { echo "missing $BIN/server-mio" >&2; exit 1; }
    if ! "$BIN/server-mio" --help 2>/dev/null | grep -q -- '--http'; then
        echo "http.sh: $BIN/server-mio has no --http option (issue 16's HTTP server is not" \
            "in this tree): the parts \"file\" and \"live\" need it." >&2
        echo "http.sh: run PARTS=\"ceiling selfcheck\" for the tools alone." >&2
        exit 3
    fi
fi

MEDIA=$OUT/media
mkdir -p "$MEDIA"
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=384x288:rate=25 -t 10 -pix_fmt yuvj420p \
    -huffman default -force_duplicated_matrix 1 -f mjpeg "$MEDIA/sample.mjpeg"
log "media: $(stat -c %s "$MEDIA/sample.mjpeg") bytes"
# The live source: the same frames, paced by ffmpeg -re, looping.
EXEC="exec:ffmpeg -loglevel error -re -stream_loop -1 -i $MEDIA/sample.mjpeg -c copy -f mjpeg -"
printf '[paths.cam]\nsource = "%s"\n' "$EXEC" > "$OUT/live.toml"

# server NAME RTSP_PORT HTTP_PORT CONFIG|- ARGS... : server-mio under timeout; sets SP, TP.
server() {
    local name=$1 port=$2 hport=$3 config=$4; shift 4
    local cfg=(); [ "$config" != - ] && cfg=(--config "$config")
    RUST_LOG=warn timeout -k 5 300 "$BIN/server-mio" "${cfg[@]}" --port "$port" \
        --http "$hport" --bind 127.0.0.1 --media "$MEDIA" --fps 25 "${LIMITS[@]}" "$@" \
        > "$OUT/server-$name.log" 2>&1 &
    TP=$!
    SP=$(child_of "$TP")
    if ! wait_port "$port" || ! wait_port "$hport"; then
        log "server $name did not start"; cat "$OUT/server-$name.log" >&2; exit 1
    fi
}

# ---------------------------------------------------------------------------------------------
# (1) N HTTP viewers, then N RTSP/TCP readers, of the file and of the live source. A server of
# its own for every measurement (the same flags), so that RSS growth is the measured kind's.
PORT=$P0
HPORT=$((P0 + 1))
for kind in file live; do
    part "$kind" || continue
    if [ "$kind" = file ]; then
        name=sample.mjpeg; args=(- --loop)
    else
        name=cam; args=("$OUT/live.toml")
    fi
    # shellcheck disable=SC2059
    path=$(printf "$HTTP_PATH" "$name")
    server "$kind-http" "$PORT" "$HPORT" "${args[@]}"
    sleep 1
    record "http $kind n=$N" timeout -k 5 $((DUR + 30)) "$BIN/http-load" \
        "http://127.0.0.1:$HPORT$path" --viewers "$N" --duration "$DUR" --server-pid "$SP" --quiet
    stop "$SP" "$TP"
    sleep 1
    server "$kind-rtsp" "$PORT" "$HPORT" "${args[@]}"
    sleep 1
    record "rtsp-tcp $kind n=$N" timeout -k 5 $((DUR + 30)) "$BIN/rtsp-load" \
        "rtsp://127.0.0.1:$PORT/$name" --sessions "$N" --duration "$DUR" --transport tcp \
        --server-pid "$SP" --quiet
    stop "$SP" "$TP"
    sleep 1
done

# ---------------------------------------------------------------------------------------------
# (2) The raw loopback TCP write ceiling with the JPEG size measured above (else the file's
# mean frame size).
FB=$(grep '^http file' "$RESULTS" | grep -o 'jpeg_bytes=[0-9]*' | tail -1 | cut -d= -f2 || true)
if [ -z "$FB" ] || [ "$FB" = 0 ]; then
    FB=$(( $(stat -c %s "$MEDIA/sample.mjpeg") / 250 ))
fi
if part ceiling; then
    record "tcp-ceiling n=$N" timeout -k 5 $((DUR + 20)) "$BIN/tcp-ceiling" --viewers "$N" \
        --duration "$DUR" --frame-bytes "$FB"
fi

# ---------------------------------------------------------------------------------------------
# (3) Self-check: http-load (its own process, source addresses spread) against tcp-ceiling
# --serve; http-load's server_cpu_per_viewer_frame_us should match the writer's figure.
if part selfcheck; then
    SPORT=$((P0 + 9))
    timeout -k 5 $((DUR + 40)) "$BIN/tcp-ceiling" --serve --port "$SPORT" --viewers "$N" \
        --duration $((DUR + 30)) --frame-bytes "$FB" > "$OUT/selfcheck-writer.log" 2>&1 &
    TP=$!
    SP=$(child_of "$TP")
    wait_port "$SPORT" || { log "tcp-ceiling --serve did not start"; exit 1; }
    record "selfcheck http-load n=$N" timeout -k 5 $((DUR + 30)) "$BIN/http-load" \
        "http://127.0.0.1:$SPORT/stream.mjpg" --viewers "$N" --duration "$DUR" \
        --server-pid "$SP" --quiet
    # The writer ends once every viewer has gone.
    wait "$TP" || true
    echo "selfcheck writer n=$N | $(grep '^mode=' "$OUT/selfcheck-writer.log" | tail -1)" \
        | tee -a "$RESULTS" >&2
fi

log "done: $RESULTS"
uptime >&2
