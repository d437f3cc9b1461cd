#!/usr/bin/env bash
# Build every fuzz target and run each for SECONDS (default 60) on the stable toolchain
# (sanitizers off). Fails (exit 1) when any target crashes; the crashing input is saved in
# fuzz/artifacts/<target>/ and its path printed.
#
#   fuzz/run-all.sh [SECONDS] [TARGET...]
#
# Seeds come from fuzz/corpus/<target>/ (read only); what the fuzzer finds goes to
# fuzz/work/<target>/ (ignored by git). Extra libFuzzer flags: FUZZ_FLAGS="-rss_limit_mb=4096".
set -uo pipefail

cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -s none || exit 1

failed=()
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
    echo "=== $t: ${secs}s"
    # Corpus dirs: new inputs go to the first (work/), the checked-in seeds are only read.
    # shellcheck disable=SC2086
    cargo fuzz run -s none "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_FLAGS:-} >"work/$t.log" 2>&1
    rc=$?
    grep -E -A1 "panicked" "work/$t.log" | head -2
    grep -E "DONE|stat::number_of_executed_units|SUMMARY|Test unit written|^Done [0-9]+ runs" "work/$t.log" | grep -v "^INFO"
    if [ "$rc" -ne 0 ]; then
        echo "!!! $t crashed; see fuzz/work/$t.log and fuzz/artifacts/$t/"
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all ${#targets[@]} targets ran ${secs}s without a crash"
