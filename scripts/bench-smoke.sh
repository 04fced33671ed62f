#!/usr/bin/env bash
# A few-seconds run of every benchmark scenario on SQLite and PostgreSQL, so the
# harness cannot rot. It checks that the harness works and that no acknowledged
# message is missing; it never judges timings (`radar-bench --smoke` exits
# non-zero only for harness errors, failed requests and lost messages).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$PWD/target}"
export CARGO_TARGET_DIR
unset LEPTOS_OUTPUT_NAME
cargo build -p server --bin radar -p bench --bin radar-bench
out="${BENCH_SMOKE_OUT:-$CARGO_TARGET_DIR/bench-smoke.json}"
export RADAR_BENCH_PG_URL="${RADAR_BENCH_PG_URL:-${RADAR_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}}"
"$CARGO_TARGET_DIR/debug/radar-bench" --smoke --backends sqlite,postgres --out "$out"
# The report must name every scenario (a result, an error or a reason to skip).
for s in '"baseline"' '"rest-read"' '"rest-write"' '"endpoints"' '"idle"' '"push"' '"pages"' '"scaling"' '"postgres"' '"sqlite"'; do
  grep -q "$s" "$out" || { echo "bench smoke: $s missing from $out" >&2; exit 1; }
done
echo "bench smoke: ok ($out)"
