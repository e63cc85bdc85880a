#!/usr/bin/env bash
# Builds the npm package of syvault-wasm (@syvault/sdk) and packs it:
#
#   target/wasm-package/package/           the package's files
#   target/wasm-package/syvault-sdk-<version>.tgz   what `npm publish` would upload
#
# Steps: the wasm32 build (profile wasm-release), wasm-bindgen twice (the ES module glue for
# every runtime, the CommonJS glue for Node's `require`; both drive the same .wasm), wasm-opt
# -Oz --converge from binaryen (installed from syvault-wasm/js/tools' lock), the entry points and types
# from syvault-wasm/js (with hits.js, which answers fresh reads in JavaScript), the licences and README, package.json with the crate's version, a check
# of the size bounds, and `npm pack`.
#
# Needs: the wasm32-unknown-unknown target, the wasm-bindgen CLI of the version in Cargo.lock
# (`cargo install wasm-bindgen-cli --version <it>`), Node 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

# The bounds the module must stay within (bytes): hosts download it, and edge runtimes limit
# the size of what they run. The goal is 450 000 and 180 000 gzipped; the module is not there
# yet (syvault-wasm/README.md, "Size and speed", says where the bytes go), so these bounds hold
# what it has reached and stop it from growing.
MAX_WASM=${SYVAULT_WASM_MAX_BYTES:-534950}
MAX_WASM_GZIP=${SYVAULT_WASM_MAX_GZIP_BYTES:-231500}

out=target/wasm-package
pkg=$out/package
raw=target/wasm32-unknown-unknown/wasm-release/syvault_wasm.wasm

bindgen_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
    echo "wasm-bindgen $bindgen_version is needed (cargo install wasm-bindgen-cli --version $bindgen_version)" >&2
    exit 1
fi

# The compact forms of the AES and SHA-256 code (configuration flags of those crates): slower,
# but they run once per request or token, never on a cached read, and are a tenth of the size.
rustflags='--cfg aes_compact --cfg sha2_backend_soft="compact"'
# Panic locations name their source files: the registry's absolute path (it differs from machine
# to machine) is cut off, so that the module is the same wherever it is built, and smaller. The
# sources are fetched first, so that the registry's directory exists on a fresh machine.
cargo fetch --locked --target wasm32-unknown-unknown
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    case $dir in *" "*) ;; *) rustflags+=" --remap-path-prefix=$dir=" ;; esac
done
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=$rustflags
cargo build -p syvault-wasm --target wasm32-unknown-unknown --profile wasm-release --locked
rm -rf "$out"
mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$out/web" "$raw"
wasm-bindgen --target nodejs --no-typescript --out-dir "$out/node" "$raw"
# Both glues must load the one module the package ships.
cmp "$out/web/syvault_wasm_bg.wasm" "$out/node/syvault_wasm_bg.wasm"

(cd syvault-wasm/js/tools && npm ci --no-audit --no-fund --loglevel=error)
# The features Rust enables by default on wasm32, which wasm-opt must be told of.
syvault-wasm/js/tools/node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/web/syvault_wasm_bg.wasm" -o "$pkg/syvault_wasm_bg.wasm"

cp "$out/web/syvault_wasm.js" "$pkg/syvault_wasm.js"
cp "$out/node/syvault_wasm.js" "$pkg/syvault_wasm.cjs"
cp syvault-wasm/js/{node,deno,workerd,browser,hits}.js syvault-wasm/js/index.cjs "$pkg/"
# hits.js for `require`: the same code as a CommonJS module.
{
    sed 's/^export function answerHits/function answerHits/' syvault-wasm/js/hits.js
    printf '\nmodule.exports = { answerHits };\n'
} > "$pkg/hits.cjs"
grep -q '^function answerHits' "$pkg/hits.cjs"
cp syvault-wasm/js/index.d.ts "$pkg/index.d.ts"
cp syvault-wasm/js/index.d.ts "$pkg/index.d.cts"
cp LICENSE-MIT LICENSE-APACHE syvault-wasm/README.md "$pkg/"
version=$(cargo metadata --no-deps --format-version 1 --locked \
    | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const p = JSON.parse(s).packages.find((p) => p.name === "syvault-wasm");
        process.stdout.write(p.version);
    })')
node -e 'const fs = require("fs");
    const manifest = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    manifest.version = process.argv[2];
    fs.writeFileSync(process.argv[3], JSON.stringify(manifest, null, 2) + "\n");' \
    syvault-wasm/js/package.json "$version" "$pkg/package.json"

bytes_raw=$(stat -c %s "$out/web/syvault_wasm_bg.wasm")
bytes=$(stat -c %s "$pkg/syvault_wasm_bg.wasm")
bytes_gzip=$(gzip -9 -c "$pkg/syvault_wasm_bg.wasm" | wc -c)
echo "syvault_wasm_bg.wasm: $bytes_raw bytes from wasm-bindgen, $bytes after wasm-opt -Oz" \
    "(bound $MAX_WASM), $bytes_gzip gzipped (bound $MAX_WASM_GZIP)"
if [ "$bytes" -gt "$MAX_WASM" ] || [ "$bytes_gzip" -gt "$MAX_WASM_GZIP" ]; then
    echo "the WebAssembly module is over its size bounds" >&2
    exit 1
fi

npm pack --pack-destination "$out" "./$pkg" --loglevel=error >/dev/null
ls "$out"/*.tgz
