#!/usr/bin/env bash
# Installs what building and testing Radar needs; fast when everything is present.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Chromium and the
# Chinese and emoji fonts for e2e tests and their screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'setup: %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen crate version pinned in Cargo.toml.
want_wb=0.2.130
if ! command -v wasm-bindgen >/dev/null || ! wasm-bindgen --version | grep -q "$want_wb"; then
  log "installing wasm-bindgen-cli $want_wb (about 3 minutes)"
  # Not --locked: the locked webpki-roots version is missing from the registry.
  cargo install wasm-bindgen-cli --version "$want_wb"
fi

# radar-bench's endpoints scenario also drives load with wrk (BENCHMARKS.md);
# without it that part of the run is skipped with the reason in the report.
if ! command -v wrk >/dev/null; then
  log "installing wrk (radar-bench's external load generator)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq wrk >/dev/null
fi

if [ "${1:-}" = "--browser" ]; then
  # Chromium, plus fonts so that screenshots show Chinese text and emoji
  # instead of empty boxes.
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # The PostgreSQL TLS test (tests/api/ops/tls.rs) makes its certificates with it.
  command -v openssl >/dev/null || missing+=(openssl)
  for pkg in fonts-wqy-microhei fonts-noto-color-emoji; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if [ -f end2end/package.json ]; then
  stamp=end2end/node_modules/.radar-lock
  if [ ! -f "$stamp" ] || ! cmp -s end2end/package-lock.json "$stamp"; then
    log "installing npm packages for end2end/"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
    cp end2end/package-lock.json "$stamp"
  fi
fi

# The /docs viewer: Scalar's standalone bundle from npm, checked against its
# pinned integrity, embedded into the server binary by server/build.rs.
scalar_version=1.72.1
scalar_integrity=sha512-XpEJ0rfc/cXbCrR+iC4kK0o/WwX2dTtGQbT049OlPKAHD6IMIFdTeGz2r+M27P2EDWKyUITRm/NzlP8z2pw/Ow==
if [ "$(cat vendor/docs/version 2>/dev/null)" != "$scalar_version" ]; then
  log "fetching @scalar/api-reference $scalar_version (the /docs viewer)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@scalar/api-reference@$scalar_version" >/dev/null)
  tgz="$tmp/scalar-api-reference-$scalar_version.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$scalar_integrity" ]; then
    echo "setup: @scalar/api-reference $scalar_version: integrity $got, expected $scalar_integrity" >&2
    exit 1
  fi
  tar xzf "$tgz" -C "$tmp" package/dist/browser/standalone.js
  mkdir -p vendor/docs
  cp "$tmp/package/dist/browser/standalone.js" vendor/docs/viewer.js
  echo "$scalar_version" > vendor/docs/version
  rm -rf "$tmp"
fi

# Python tools of the API document tests (tests/api/openapi.rs): a venv with
# openapi-spec-validator, jsonschema and schemathesis, pinned.
scripts/py-tools.sh >/dev/null
