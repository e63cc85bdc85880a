#!/usr/bin/env bash
# A fuzzing campaign: runs every target, one at a time, for a fixed number of executions and
# records what happened in fuzz/campaign-results.md (appended) and fuzz/campaign-logs/.
#
#   fuzz/campaign.sh                    # 10,000,000 executions per target
#   RUNS=200000 fuzz/campaign.sh        # a shorter campaign
#   RUNS=1000000 fuzz/campaign.sh decrypt notation   # only some targets
#
# Each run starts from the committed seeds and the local corpus (fuzz/corpus/<target>, which
# grows as the run finds new coverage). A crash stops the run of its target; the reproducer is
# in fuzz/artifacts/<target>/ and the table says "crash". The command needs cargo-fuzz 0.13.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-10000000}"
max_len="${MAX_LEN:-16384}"
results=fuzz/campaign-results.md
logs=fuzz/campaign-logs
mkdir -p "$logs"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    # Capture the list first: a failing `cargo fuzz list` must stop the campaign.
    list=$(cargo fuzz list)
    mapfile -t targets <<<"$list"
fi
if [ "${#targets[@]}" -eq 0 ] || [ -z "${targets[0]}" ]; then
    echo "no fuzz targets" >&2
    exit 1
fi

cargo fuzz build --sanitizer none

if [ ! -f "$results" ]; then
    {
        echo "| date (UTC) | target | executions | seconds | exec/s | result |"
        echo "|---|---|---:|---:|---:|---|"
    } >"$results"
fi

for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    log="$logs/$target.log"
    started=$(date +%s)
    # No sanitizer: it needs a nightly compiler; panics and assertion failures still stop the run.
    if cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
        -- -runs="$runs" -max_len="$max_len" -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result=crash
    fi
    seconds=$(( $(date +%s) - started ))
    # A run that ended without its final statistics (killed, or crashed hard) still reports
    # the last execution count it printed.
    executions=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
    executions=${executions:-$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)}
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
    if [ "$result" = crash ]; then
        echo "$target: crash, see $log and fuzz/artifacts/$target/" >&2
    fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(date -u '+%Y-%m-%d %H:%M')" "$target" \
        "${executions:-?}" "$seconds" "${rate:-?}" "$result" >>"$results"
    tail -1 "$results"
done
