#!/usr/bin/env bash
# Builds Radar in release (server + WASM site), seeds demo data into SQLite,
# prints the URLs to open and serves until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$PWD/target}"
export CARGO_TARGET_DIR
unset LEPTOS_OUTPUT_NAME
scripts/setup.sh
export RADAR_SITE_ROOT="${RADAR_SITE_ROOT:-$CARGO_TARGET_DIR/site}"
scripts/build-site.sh --release
RADAR_EMBED_SITE="$RADAR_SITE_ROOT" cargo build --release -p server
bin="$CARGO_TARGET_DIR/release/radar"
export DATABASE_URL="${DATABASE_URL:-sqlite://$PWD/radar.db?mode=rwc}"
export RADAR_ADDR="${RADAR_ADDR:-127.0.0.1:3000}"
export RADAR_PUBLIC_URL="${RADAR_PUBLIC_URL:-http://$RADAR_ADDR}"
"$bin" demo
echo
echo "Serving on $RADAR_PUBLIC_URL (database $DATABASE_URL). Ctrl-C stops."
exec "$bin" serve
