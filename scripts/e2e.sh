#!/usr/bin/env bash
# End-to-end browser tests: builds the site and the server, starts a real
# `radar serve` on a free port with a fresh SQLite database seeded through the
# CLI, runs the Playwright suite in end2end/ with Debian's Chromium, stops the
# server. Exits non-zero when anything fails.
#
#   E2E_SKIP_BUILD=1   reuse the built site and server binary
#   E2E_RELEASE=1      test the release site (scripts/build-site.sh --release)
#   extra arguments go to `playwright test` (e.g. a file name or -g pattern)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
export RADAR_SITE_ROOT="${RADAR_SITE_ROOT:-$CARGO_TARGET_DIR/site}"

if [ ! -d end2end/node_modules/@playwright/test ]; then
  (cd end2end && npm ci --no-audit --no-fund)
fi
if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  if [ "${E2E_RELEASE:-0}" = 1 ]; then scripts/build-site.sh --release; else scripts/build-site.sh; fi
  cargo build -p server
fi
RADAR="$CARGO_TARGET_DIR/debug/radar"

work=$(mktemp -d "${TMPDIR:-/tmp}/radar-e2e.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$work/radar.db?mode=rwc"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$RADAR" demo --json > "$work/demo.json"
company=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).company_id)' "$work/demo.json")
# Customers of their own for tests that must not disturb each other's data.
new_customer() { # name rep_id -> {"id","token","name"}
  local c
  c=$("$RADAR" admin customer create --name "$1" --company-id "$company")
  "$RADAR" admin relation create --user-id "$2" --customer-id "$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$c")" > /dev/null
  node -e 'const c=JSON.parse(process.argv[1]); c.name=process.argv[2]; console.log(JSON.stringify(c))' "$c" "$1"
}
xss=$(new_customer '<script>window.__xss=1</script><b>粗体</b> 😀' 2)
offline=$(new_customer '离线测试客户' 2)
article=$(new_customer '读文章的客户' 1)
unread=$(new_customer '未读计数客户' 2)
live=$(new_customer '实时列表客户' 1)
history=$(new_customer '历史消息客户' 2)
media=$(new_customer '多媒体客户' 2)
# A rep with more customers than one page of the contact list (infinite scroll).
crowd=$("$RADAR" admin user create --name '客户很多的销售' --company-id "$company")
crowd_id=$(printf '%s' "$crowd" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
for i in $(seq -w 1 26); do
  cid=$("$RADAR" admin customer create --name "批量客户$i" --company-id "$company" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  "$RADAR" admin relation create --user-id "$crowd_id" --customer-id "$cid" > /dev/null
done
node -e '
  const fs = require("fs");
  const d = JSON.parse(fs.readFileSync(process.argv[1]));
  const [xss, offline, article, unread, live, history, media, crowd] = process.argv.slice(2, 10).map((s) => JSON.parse(s));
  d.extra = { xss, offline, article, unread, live, history, media, crowd };
  fs.writeFileSync(process.argv[10], JSON.stringify(d, null, 1));
' "$work/demo.json" "$xss" "$offline" "$article" "$unread" "$live" "$history" "$media" "$crowd" "$work/seed.json"

RADAR_ADDR="127.0.0.1:$port" RADAR_LOG="${RADAR_LOG:-warn}" "$RADAR" serve > "$work/server.log" 2>&1 &
pid=$!
if ! curl -sf --retry 50 --retry-delay 0 --retry-connrefused --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then
  echo "radar did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

status=0
(cd end2end && E2E_BASE_URL="http://127.0.0.1:$port" E2E_SEED="$work/seed.json" npx playwright test "$@") || status=$?
if [ $status != 0 ]; then
  echo "---- server log (tail) ----" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit $status
