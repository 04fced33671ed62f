#!/usr/bin/env bash
# Every test: formatting and lints, unit and integration tests on SQLite and
# PostgreSQL, the Playwright end-to-end suite in Chromium, and a benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=$PWD/target}"
export CARGO_TARGET_DIR CARGO_TERM_COLOR=never
unset LEPTOS_OUTPUT_NAME
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

step setup
scripts/setup.sh --browser
scripts/pg-up.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy -p server -p bench --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

# Includes the OpenAPI checks (tests/api/openapi.rs, golden.rs): they use the
# viewer and the Python venv that setup.sh installed.
step "unit and integration tests (SQLite and PostgreSQL)"
cargo test -p app -p server -p bench

if [ -x scripts/e2e.sh ]; then
  # On the release site: what ships, including build-site's release-only
  # steps (async hydration stubbed out, short import names, minified JS), which
  # only a browser hydrating every page can vouch for.
  step "end-to-end tests (Playwright, Chromium; SQLite and PostgreSQL; release site)"
  E2E_RELEASE=1 scripts/e2e.sh
fi

if [ -x scripts/bench-smoke.sh ]; then
  step "benchmark smoke run"
  scripts/bench-smoke.sh
fi
step done
