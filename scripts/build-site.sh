#!/usr/bin/env bash
# Builds the WASM bundle and the static site (pkg/radar.js, pkg/radar_bg.wasm,
# pkg/radar.css) into $RADAR_SITE_ROOT (default $CARGO_TARGET_DIR/site).
# Usage: scripts/build-site.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$PWD/target}"
export CARGO_TARGET_DIR
# The server asks for /pkg/radar_bg.wasm only when LEPTOS_OUTPUT_NAME was unset
# while it compiled; never let it leak into any cargo call.
unset LEPTOS_OUTPUT_NAME
profile=debug
flags=()
if [ "${1:-}" = "--release" ]; then
  profile=wasm-release
  flags=(--profile wasm-release)
fi
site="${RADAR_SITE_ROOT:-$CARGO_TARGET_DIR/site}"
cargo build -p frontend --lib --target wasm32-unknown-unknown "${flags[@]}"
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name radar \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/frontend.wasm"
if [ "$profile" = wasm-release ]; then
  # Debian's wasm-opt (binaryen 108) breaks hydration; use npm's binaryen.
  wasm_opt="$PWD/end2end/node_modules/.bin/wasm-opt"
  if [ -x "$wasm_opt" ]; then
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$site/pkg/radar_bg.wasm" -o "$site/pkg/radar_bg.wasm.opt"
    mv "$site/pkg/radar_bg.wasm.opt" "$site/pkg/radar_bg.wasm"
  else
    echo "build-site: $wasm_opt missing (npm install in end2end/); wasm left unoptimised" >&2
  fi
fi
cp style/main.css "$site/pkg/radar.css"
if [ -d public ] && [ -n "$(ls -A public 2>/dev/null)" ]; then cp -r public/. "$site/"; fi
echo "site built in $site ($profile)"
