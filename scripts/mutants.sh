#!/usr/bin/env bash
# Mutation testing of the client rules and the reference server's routes (see docs/testing.md).
#
#   scripts/mutants.sh [--part core|dev|all] [--only GLOB]... [--shard K/N] [--background] [--list]
#                      [ARGS...]
#
# --part core   syvault-proto: ops/, exchange.rs, cache.rs, retry.rs, folders.rs, client.rs and the
#               token lifecycle of jwt.rs (TokenMode, IssuedToken, TokenHolder), tested by the
#               core's unit and integration tests.
# --part dev    syvault-dev: routes/ and auth.rs, tested by syvault-dev's unit and integration
#               tests (its PostgreSQL tests run when `initdb` is found and skip otherwise,
#               unless CI=true, which makes them fail instead).
# --part all    both (the default).
# --only GLOB   only these files of the part (repeatable), to measure one file at a time or
#               the most important files first; results go to mutants.out-<part>-<file>.
# --shard K/N   only the K-th of N consecutive slices (K from 0), so halves can run one after the
#               other or on two machines.
# --background  detach with nohup; the log goes to mutants.out-<name>.log.
# --list        list the mutants instead of testing them.
# Other arguments go to `cargo mutants` (for example `--re REGEX` or `--iterate`).
#
# Results land in mutants.out-<part>[-<file>...][-<K>of<N>]/mutants.out/ (caught.txt, missed.txt,
# timeout.txt, unviable.txt, outcomes.json), which .gitignore keeps out of the repository; a
# run into the same directory keeps the previous results in mutants.out.old.
# Doc tests are not run: they show the API to readers and are compiled and run by CI, but
# compiling each of them again for every mutant would multiply the run time.
set -euo pipefail
cd "$(dirname "$0")/.."

part=all shard="" background=false list=false
extra=() only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --part) part="$2"; shift 2 ;;
        --part=*) part="${1#*=}"; shift ;;
        --shard) shard="$2"; shift 2 ;;
        --shard=*) shard="${1#*=}"; shift ;;
        --only) only+=(-f "$2"); shift 2 ;;
        --only=*) only+=(-f "${1#*=}"); shift ;;
        --background) background=true; shift ;;
        --list) list=true; shift ;;
        *) extra+=("$1"); shift ;;
    esac
done

core_files=(
    -f 'syvault-proto/src/ops/*.rs'
    -f syvault-proto/src/exchange.rs
    -f syvault-proto/src/cache.rs
    -f syvault-proto/src/retry.rs
    -f syvault-proto/src/folders.rs
    -f syvault-proto/src/client.rs
    -f syvault-proto/src/jwt.rs
)
dev_files=(
    -f 'syvault-dev/src/routes/*.rs'
    -f syvault-dev/src/auth.rs
)
# jwt.rs: only the token lifecycle (TokenMode, IssuedToken, TokenHolder); signing, verifying and
# audience canonicalisation are covered by the vectors and are not client state-machine rules.
jwt_exclude='^syvault-proto/src/jwt\.rs:.*(for Header>|present_string|canonical_audience| sign | verify|in verify$|decode_json)'

case "$part" in
    core) files=("${core_files[@]}") ;;
    dev) files=("${dev_files[@]}") ;;
    all) files=("${core_files[@]}" "${dev_files[@]}") ;;
    *) echo "--part must be core, dev or all" >&2; exit 2 ;;
esac

# No debug info: each mutant rebuilds the crate and relinks every test binary, and debug info
# roughly doubles that time. The first build in the scratch copy builds the dependencies once.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0

if [ ${#only[@]} -gt 0 ]; then
    files=("${only[@]}")
fi

args=(mutants --workspace "${files[@]}" --exclude-re "$jwt_exclude")
if $list; then
    exec cargo "${args[@]}" --list "${extra[@]}"
fi

name="$part"
for ((i = 1; i < ${#only[@]}; i += 2)); do
    base="${only[i]##*/}"
    name="$name-${base%.rs}"
done
if [ -n "$shard" ]; then
    args+=(--shard "$shard")
    name="$name-${shard%/*}of${shard#*/}"
fi
out="mutants.out-$name"
mkdir -p "$out"
args+=(
    --output "$out"
    # One job: the machines this runs on have two cores, and each build already uses both.
    --jobs 1
    # A mutant that loops (an eviction that never frees a slot, a retry that never stops) is a
    # timeout, not a hang: the test timeout is five times the unmutated run, and at least 30 s
    # on a loaded machine. A build that takes 10 minutes is stuck.
    --timeout-multiplier 5
    --minimum-test-timeout 30
    --build-timeout 600
    --no-times
    # The library's unit tests and the integration tests, built and run; not the doc tests
    # (see above), nor the examples and benchmarks, which assert nothing.
    --cargo-arg=--lib
    --cargo-arg=--tests
    "${extra[@]}"
)

if $background; then
    nohup cargo "${args[@]}" >"$out.log" 2>&1 &
    echo "started cargo mutants as pid $! (log: $out.log, results: $out/mutants.out/)"
else
    cargo "${args[@]}"
fi
