#!/usr/bin/env bash
# Makes sure the local PostgreSQL the tests use answers (it normally already runs).
set -euo pipefail
url="${RADAR_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "pg-up: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# Leftovers of interrupted test runs.
psql -q "$url" -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'radar_t_%'" 2>/dev/null |
  while read -r db; do psql -q "$url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
