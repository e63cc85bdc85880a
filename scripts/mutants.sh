#!/usr/bin/env bash
# Mutation testing of the client rules, the reference server's routes and the edges where the
# SDK meets files, the environment and other programs (see docs/testing.md).
#
#   scripts/mutants.sh [--part core|dev|edges|all] [--only GLOB]... [--shard K/N] [--background]
#                      [--list] [ARGS...]
#
# --part core   syvault-proto: ops/, exchange.rs, cache.rs, retry.rs, folders.rs, client.rs and the
#               token lifecycle of jwt.rs (TokenMode, IssuedToken, TokenHolder), tested by the
#               core's unit and integration tests.
# --part dev    syvault-dev: routes/ and auth.rs, tested by syvault-dev's unit and integration
#               tests (its PostgreSQL tests run when `initdb` is found and skip otherwise,
#               unless CI=true, which makes them fail instead).
# --part edges  three runs, one after the other:
#               edges-proto: syvault-proto's private_file.rs, lease/rfc3339.rs and proxy.rs
#               with the feature `fs` on (private_file.rs exists only with it), tested by the
#               core's unit tests, which hold the tests of all three (the integration tests
#               reach rfc3339.rs only to write fixtures, and each would add a build of the
#               library per mutant);
#               edges-cli: syvault-cli's envfile.rs and template.rs, tested by the unit tests
#               of the `sy` binary, which hold theirs;
#               edges-run: the `run` and `inject` commands (commands/process.rs,
#               commands/inject.rs), tested by the unit tests of the `sy` binary and the
#               integration tests `sy` and `operators`, which run `sy run` and `sy inject`
#               against syvault-dev over real sockets (not `agent` and `lease`, which test
#               other commands and would double each mutant's time).
# --part all    core and dev in one run, then edges (the default).
# --only GLOB   only these files (repeatable), each one of the part's files or matching one of
#               its patterns, to measure one file at a time or the most important files first;
#               results go to mutants.out-<run>-<file>.
# --shard K/N   only the K-th of N consecutive slices (K from 0) of each run, so halves can run
#               one after the other or on two machines.
# --background  detach with nohup; the log goes to mutants.out-<part>.log.
# --list        list the mutants instead of testing them.
# Other arguments go to `cargo mutants` (for example `--re REGEX` or `--iterate`).
#
# Results land in mutants.out-<run>[-<file>...][-<K>of<N>]/mutants.out/ (caught.txt, missed.txt,
# timeout.txt, unviable.txt, outcomes.json), where <run> is core, dev or all for the rules and
# edges-proto, edges-cli or edges-run for the edges; .gitignore keeps them out of the repository, and a
# run into the same directory keeps the previous results in mutants.out.old.
# Doc tests are not run: they show the API to readers and are compiled and run by CI, but
# compiling each of them again for every mutant would multiply the run time.
set -euo pipefail
cd "$(dirname "$0")/.."

part=all shard="" background=false list=false
extra=() only=() passed=()
while [ $# -gt 0 ]; do
    case "$1" in
        --part) part="$2"; passed+=("$1" "$2"); shift 2 ;;
        --part=*) part="${1#*=}"; passed+=("$1"); shift ;;
        --shard) shard="$2"; passed+=("$1" "$2"); shift 2 ;;
        --shard=*) shard="${1#*=}"; passed+=("$1"); shift ;;
        --only) only+=("$2"); passed+=("$1" "$2"); shift 2 ;;
        --only=*) only+=("${1#*=}"); passed+=("$1"); shift ;;
        --background) background=true; shift ;;
        --list) list=true; passed+=("$1"); shift ;;
        *) extra+=("$1"); passed+=("$1"); shift ;;
    esac
done

case "$part" in
    core | dev | edges | all) ;;
    *) echo "--part must be core, dev, edges or all" >&2; exit 2 ;;
esac

if $background; then
    nohup "$0" "${passed[@]}" >"mutants.out-$part.log" 2>&1 &
    echo "started scripts/mutants.sh as pid $! (log: mutants.out-$part.log)"
    exit 0
fi

core_files=(
    'syvault-proto/src/ops/*.rs'
    syvault-proto/src/exchange.rs
    syvault-proto/src/cache.rs
    syvault-proto/src/retry.rs
    syvault-proto/src/folders.rs
    syvault-proto/src/client.rs
    syvault-proto/src/jwt.rs
)
dev_files=(
    'syvault-dev/src/routes/*.rs'
    syvault-dev/src/auth.rs
)
edges_proto_files=(
    syvault-proto/src/private_file.rs
    syvault-proto/src/lease/rfc3339.rs
    syvault-proto/src/proxy.rs
)
edges_cli_files=(
    syvault-cli/src/envfile.rs
    syvault-cli/src/template.rs
)
edges_run_files=(
    syvault-cli/src/commands/inject.rs
    syvault-cli/src/commands/process.rs
)
# jwt.rs: only the token lifecycle (TokenMode, IssuedToken, TokenHolder); signing, verifying and
# audience canonicalisation are covered by the vectors and are not client state-machine rules.
jwt_exclude='^syvault-proto/src/jwt\.rs:.*(for Header>|present_string|canonical_audience| sign | verify|in verify$|decode_json)'

# What each run builds and runs for every mutant: the library's unit tests and the integration
# tests, not the doc tests (see above), nor the examples and benchmarks, which assert nothing.
# The CLI has no library: its unit tests are those of the `sy` binary.
rules_tests=(--exclude-re "$jwt_exclude" --cargo-arg=--lib --cargo-arg=--tests)
edges_proto_tests=(--features fs --cargo-arg=--lib)
edges_cli_tests=(--cargo-arg=--bin=sy)
edges_run_tests=(--cargo-arg=--bin=sy --cargo-arg=--test=sy --cargo-arg=--test=operators)

# No debug info: each mutant rebuilds the crate and relinks every test binary, and debug info
# roughly doubles that time. The first build in the scratch copy builds the dependencies once.
# A caller may set these to reuse a target directory built with another setting.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG-0}"
export CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG-0}"

used_only=()

# covers GLOB FILES...: whether GLOB is one of FILES or matches one of their patterns.
covers() {
    local glob="$1" file
    shift
    for file in "$@"; do
        # shellcheck disable=SC2053 # the file patterns are globs
        if [[ "$glob" == "$file" || "$glob" == $file ]]; then
            return 0
        fi
    done
    return 1
}

# run NAME FILES... -- TEST-ARGS...: one `cargo mutants` run over FILES, or over those of
# --only that are among them. The rules' runs (core, dev, all) also take any other file of
# their crates that is not one of the edges, as they always have (notation/listed.rs, say).
run() {
    local name="$1" files=() tests=() glob
    shift
    while [ "$1" != -- ]; do files+=("$1"); shift; done
    shift
    tests=("$@")
    if [ ${#only[@]} -gt 0 ]; then
        local chosen=() crates=()
        case "$name" in
            core) crates=(syvault-proto) ;;
            dev) crates=(syvault-dev) ;;
            all) crates=(syvault-proto syvault-dev) ;;
        esac
        for glob in "${only[@]}"; do
            if covers "$glob" "${files[@]}" || {
                covers "${glob%%/*}" "${crates[@]}" &&
                    ! covers "$glob" "${edges_proto_files[@]}" "${edges_cli_files[@]}" \
                        "${edges_run_files[@]}"
            }; then
                chosen+=("$glob")
                used_only+=("$glob")
                name="$name-$(basename "$glob" .rs)"
            fi
        done
        [ ${#chosen[@]} -gt 0 ] || return 0
        files=("${chosen[@]}")
    fi
    local args=(mutants --workspace)
    for file in "${files[@]}"; do args+=(-f "$file"); done
    args+=("${tests[@]}")
    if $list; then
        cargo "${args[@]}" --list "${extra[@]}"
        return
    fi
    if [ -n "$shard" ]; then
        args+=(--shard "$shard")
        name="$name-${shard%/*}of${shard#*/}"
    fi
    local out="mutants.out-$name"
    mkdir -p "$out"
    args+=(
        --output "$out"
        # One job: the machines this runs on have two cores, and each build already uses both.
        --jobs 1
        # A mutant that loops (an eviction that never frees a slot, a retry that never stops)
        # is a timeout, not a hang: the test timeout is five times the unmutated run, and at
        # least 30 s on a loaded machine. A build that takes 10 minutes is stuck.
        --timeout-multiplier 5
        --minimum-test-timeout 30
        --build-timeout 600
        --no-times
        "${extra[@]}"
    )
    echo "scripts/mutants.sh: run $name" >&2
    # A run that misses mutants exits non-zero; the next run still starts.
    cargo "${args[@]}" || status=$?
}

status=0
case "$part" in
    core) run core "${core_files[@]}" -- "${rules_tests[@]}" ;;
    dev) run dev "${dev_files[@]}" -- "${rules_tests[@]}" ;;
    all) run all "${core_files[@]}" "${dev_files[@]}" -- "${rules_tests[@]}" ;;
esac
case "$part" in
    edges | all)
        run edges-proto "${edges_proto_files[@]}" -- "${edges_proto_tests[@]}"
        run edges-cli "${edges_cli_files[@]}" -- "${edges_cli_tests[@]}"
        run edges-run "${edges_run_files[@]}" -- "${edges_run_tests[@]}"
        ;;
esac
for glob in "${only[@]}"; do
    # shellcheck disable=SC2076 # a literal match
    if [[ ! " ${used_only[*]} " =~ " $glob " ]]; then
        echo "--only $glob: not a file of --part $part" >&2
        status=2
    fi
done
exit "$status"
