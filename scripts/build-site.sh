#!/usr/bin/env bash
# Builds the web site the server hands out under /pkg: radar.js, radar_bg.wasm and
# radar.css, each with a brotli (.br) and a gzip (.gz) variant next to it, into
# $RADAR_SITE_ROOT (default $CARGO_TARGET_DIR/site). The server serves them
# under content-hashed names as well (server/src/assets.rs).
#
#   scripts/build-site.sh            debug WASM (fast to build, ~4 MB)
#   scripts/build-site.sh --release  size-optimised site: wasm-release profile,
#                                    async hydration stubbed out
#                                    (scripts/drop-hydrate-async.js),
#                                    wasm-opt -Os --converge (npm binaryen in
#                                    end2end/), short import names
#                                    (scripts/short-imports.js), JS and CSS
#                                    minified (npm esbuild in end2end/)
#
# Never builds `app` with both `ssr` and `hydrate`: only `-p frontend` for wasm32.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

release=0
for a in "$@"; do
  case "$a" in
    --release) release=1 ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
  esac
done

# The server asks for /pkg/radar_bg.wasm only when LEPTOS_OUTPUT_NAME was unset
# while it compiled; never let it leak into any cargo call.
unset LEPTOS_OUTPUT_NAME
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
SITE="${RADAR_SITE_ROOT:-$CARGO_TARGET_DIR/site}"
case "$SITE" in /*) ;; *) SITE="$ROOT/$SITE" ;; esac

want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "wasm-bindgen CLI $want is required (found '${have:-none}'):" >&2
  echo "  cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

if [ $release = 1 ]; then
  profile=wasm-release
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
else
  profile=debug
  cargo build -p frontend --lib --target wasm32-unknown-unknown
fi
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/frontend.wasm"

# No stale variant or snippet of an earlier build may survive.
rm -rf "$SITE/pkg"
mkdir -p "$SITE/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$SITE/pkg" --out-name radar "$wasm"

if [ $release = 1 ]; then
  opt="$ROOT/end2end/node_modules/.bin/wasm-opt"
  if [ ! -x "$opt" ]; then
    echo "wasm-opt from npm binaryen is missing: (cd end2end && npm ci)" >&2
    echo "(Debian's binaryen 108 produces a WASM that does not hydrate; do not use it.)" >&2
    exit 1
  fi
  esbuild="$ROOT/end2end/node_modules/.bin/esbuild"
  if [ ! -x "$esbuild" ]; then
    echo "esbuild from npm is missing: (cd end2end && npm ci)" >&2
    exit 1
  fi
  # tachys's async hydration is never started by this app (hydrate_body) but
  # kept alive by function pointers: stub it out so wasm-opt drops what only
  # it reaches (see the script). RADAR_KEEP_HYDRATE_ASYNC=1 skips this step.
  if [ "${RADAR_KEEP_HYDRATE_ASYNC:-0}" != 1 ]; then
    node scripts/drop-hydrate-async.js "$ROOT/end2end/node_modules/.bin/wasm-dis" \
      "$SITE/pkg/radar_bg.wasm" "$SITE/pkg/radar_bg.stub.wasm"
    mv "$SITE/pkg/radar_bg.stub.wasm" "$SITE/pkg/radar_bg.wasm"
  fi
  # -Os --converge: larger than -Oz raw but smaller after brotli, which is what
  # is sent (measured on 2026-11-30: 345,066 against 348,359 B brotli).
  "$opt" -Os --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types \
    -o "$SITE/pkg/radar_bg.opt.wasm" "$SITE/pkg/radar_bg.wasm"
  mv "$SITE/pkg/radar_bg.opt.wasm" "$SITE/pkg/radar_bg.wasm"
  # wasm-bindgen's import names carry 16 random hex digits each, in the WASM
  # and in the glue: short names save ~3 KB brotli in each.
  node scripts/short-imports.js "$SITE/pkg/radar_bg.wasm" "$SITE/pkg/radar.js"
  "$esbuild" "$SITE/pkg/radar.js" --minify --format=esm --log-level=warning \
    --outfile="$SITE/pkg/radar.min.js"
  mv "$SITE/pkg/radar.min.js" "$SITE/pkg/radar.js"
  "$esbuild" style/main.css --minify --log-level=warning --outfile="$SITE/pkg/radar.css"
else
  cp style/main.css "$SITE/pkg/radar.css"
fi

if [ -d public ] && [ -n "$(ls -A public 2>/dev/null)" ]; then cp -r public/. "$SITE/"; fi

# Precompressed variants (node's zlib: no extra tool). Brotli's best quality
# takes seconds on the release WASM; the much larger debug WASM gets a quick one.
quality=11
[ $release = 1 ] || quality=5
find "$SITE/pkg" -type f \( -name '*.js' -o -name '*.wasm' -o -name '*.css' \) -print0 |
  xargs -0 node -e '
    const fs = require("fs"), zlib = require("zlib");
    const q = Number(process.argv[1]);
    for (const f of process.argv.slice(2)) {
      const b = fs.readFileSync(f);
      fs.writeFileSync(f + ".br", zlib.brotliCompressSync(b, { params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: q,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }));
      fs.writeFileSync(f + ".gz", zlib.gzipSync(b, { level: 9 }));
    }' "$quality"

size() { stat -c %s "$1"; }
w="$SITE/pkg/radar_bg.wasm"
echo "site built in $SITE ($profile): radar_bg.wasm $(size "$w") bytes, $(size "$w.br") brotli, $(size "$w.gz") gzip"
