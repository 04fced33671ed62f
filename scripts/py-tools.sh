#!/usr/bin/env bash
# A Python venv with the API document tools (openapi-spec-validator, jsonschema,
# schemathesis) and moto's S3 server (the media tests' S3 mode), pinned;
# idempotent and safe to run concurrently. Prints the venv's directory:
# $RADAR_PY_TOOLS, else $CARGO_TARGET_DIR/py-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
venv="${RADAR_PY_TOOLS:-$target/py-tools}"
want="openapi-spec-validator==0.9.0 jsonschema==4.26.0 schemathesis==4.32.5 moto[server]==5.2.5"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ "$(cat "$venv/.radar-stamp" 2>/dev/null)" != "$want" ]; then
  echo "py-tools: installing $want into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
  echo "$want" > "$venv/.radar-stamp"
fi
echo "$venv"
