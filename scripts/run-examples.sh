#!/usr/bin/env bash
# Runs every example end to end against an embedded dev server and fails if any of them does:
# the quickstart and the settings example to completion, the axum service until its /health answers, then a Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --examples -p syvault-ureq -p syvault-hyper
cargo run --locked -q -p syvault-ureq --example quickstart
cargo run --locked -q -p syvault-ureq --example settings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
LISTEN=127.0.0.1:0 cargo run --locked -q -p syvault-hyper --example axum_service >"$log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 600); do
    url=$(sed -n 's|^serving \(http://[^ ]*/health\).*|\1|p' "$log")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "axum_service exited early" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "axum_service never started serving" >&2; kill "$pid"; exit 1; }
python3 - "$url" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as answer:
    body = answer.read().decode()
    assert answer.status == 200, answer.status
print("axum_service /health:", body)
PY
kill -INT "$pid"
wait "$pid"
cat "$log"
grep -q '^stopped$' "$log" || { echo "axum_service did not shut down cleanly" >&2; exit 1; }
