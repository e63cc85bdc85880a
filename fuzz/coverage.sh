#!/usr/bin/env bash
# Coverage growth per target: libFuzzer's `cov:` (edges) and `ft:` (features) once the seeds
# are loaded, and after a fixed number of executions from them. Prints a Markdown table.
#
#   fuzz/coverage.sh                        # every target, 500,000 executions each
#   RUNS=100000 fuzz/coverage.sh decrypt    # one target, shorter
#
# Each run starts from the committed seeds alone (a fresh, empty corpus directory takes what it
# finds and is deleted afterwards), with inputs up to 4 KiB as in CI, one job, no sanitizer.
# `TARGET_DIR=` builds elsewhere than fuzz/target. Needs cargo-fuzz 0.13.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-500000}"
target_dir=(--target-dir "${TARGET_DIR:-fuzz/target}")

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    list=$(cargo fuzz list)
    mapfile -t targets <<<"$list"
fi
if [ "${#targets[@]}" -eq 0 ] || [ -z "${targets[0]}" ]; then
    echo "no fuzz targets" >&2
    exit 1
fi

cargo fuzz build --sanitizer none "${target_dir[@]}" >&2

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# `#N INITED cov: C ft: F ...` → "C | F"
counts() {
    grep -E "^#[0-9]+[[:space:]]+$1 " "$2" | tail -1 | sed -E 's/.* cov: ([0-9]+) ft: ([0-9]+).*/\1 | \2/'
}

echo "| target | seeds | cov: at start | ft: at start | cov: after $runs | ft: after $runs | exec/s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for target in "${targets[@]}"; do
    corpus="$scratch/$target"
    log="$scratch/$target.log"
    mkdir -p "$corpus"
    cargo fuzz run --sanitizer none "${target_dir[@]}" "$target" "$corpus" "fuzz/seeds/$target" \
        -- -runs="$runs" -max_len=4096 -seed=1 -print_final_stats=1 >"$log" 2>&1 || {
        echo "$target failed, log:" >&2
        tail -40 "$log" >&2
        exit 1
    }
    seeds=$(find "fuzz/seeds/$target" -type f | wc -l)
    start=$(counts INITED "$log")
    end=$(counts DONE "$log")
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    echo "| \`$target\` | $seeds | ${start%% |*} | ${start##*| } | ${end%% |*} | ${end##*| } | $rate |"
done
