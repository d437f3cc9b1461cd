# Shared by scripts/bench/run.sh, live.sh and http.sh (sourced): logging, a bounded measurement,
# starting and stopping servers under `timeout`, `part` (PARTS), server-mio's raised LIMITS.
# Needs OUT and RESULTS set.

log() { echo "[$(date +%T)] $*" | tee -a "$OUT/run.log" >&2; }

# record LABEL COMMAND... : runs a bounded measurement, keeps its last machine-readable line.
record() {
    local label=$1; shift
    local f="$OUT/$(echo "$label" | tr ' /=' '___').log"
    log "$label: $*"
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    set +e
    "$@" > "$f" 2>&1
    local rc=$?
    set -e
    local last; last=$(grep -E '^(sessions=|mode=|frames=|viewers=)' "$f" | tail -1 || true)
    echo "$label | rc=$rc load_before=$load | $last" | tee -a "$RESULTS" >&2
}

wait_port() {  # wait (bounded) until something listens on 127.0.0.1:$1
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

child_of() {  # the PID of the (single) child of PID $1: the program under `timeout`
    local c=""
    for _ in $(seq 1 50); do
        c=$(cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}')
        [ -n "$c" ] && break
        sleep 0.1
    done
    echo "$c"
}

stop() {  # stop PID $1 (SIGINT, then SIGKILL), reap its timeout wrapper $2
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
}

part() {  # whether part $1 is among $PARTS
    case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# server-mio's limits raised out of the way of every load (per-IP ones included).
# shellcheck disable=SC2034
LIMITS=(--max-sessions 20000 --max-connections 20000 --max-connections-per-ip 20000
    --max-sessions-per-ip 20000)

machine_info() {  # the machine and tree, for machine.txt
    echo "date: $(date -u +%FT%TZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "git: $(git rev-parse --short HEAD) (dirty: $(git status --porcelain | wc -l) files)"
    echo "uptime: $(uptime)"
}
