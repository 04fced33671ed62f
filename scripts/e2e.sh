#!/usr/bin/env bash
# End-to-end browser tests: builds the site and the server, then runs the
# Playwright suite in end2end/ (Debian's Chromium) against a real `radar serve`
# on a free port, once on a fresh SQLite database and once on a fresh
# PostgreSQL database (created with psql, dropped afterwards), both seeded
# through the CLI. Each run has its own fake WeCom/WeChat API (the integration
# tests' fake, built as the example `fakeweixin`) for the sign-in tests. The two runs go side by side. Exits non-zero when anything fails.
#
#   E2E_SKIP_BUILD=1        reuse the built site and server binary
#   E2E_RELEASE=1           test the release site (scripts/build-site.sh --release)
#   E2E_DB=sqlite|postgres  run on one database only (default: both)
#   E2E_SERIAL=1            run the two databases one after the other
#   E2E_PG_URL              PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
#   extra arguments go to `playwright test` (e.g. a file name or -g pattern)
#
# Screenshots: end2end/test-results/screens/ (SQLite run) and screens-postgres/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
export RADAR_SITE_ROOT="${RADAR_SITE_ROOT:-$CARGO_TARGET_DIR/site}"
PG_SERVER="${E2E_PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_SERVER="${PG_SERVER%/}"
dbs="${E2E_DB:-sqlite postgres}"

if [ ! -d end2end/node_modules/@playwright/test ]; then
  (cd end2end && npm ci --no-audit --no-fund)
fi
if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  if [ "${E2E_RELEASE:-0}" = 1 ]; then scripts/build-site.sh --release; else scripts/build-site.sh; fi
  cargo build -p server --bins --example fakeweixin
fi
RADAR="$CARGO_TARGET_DIR/debug/radar"
# The tests' fake WeCom/WeChat API (server/tests/api/fakeweixin.rs) as a process:
# each run's server signs reps and customers in through it.
FAKE="$CARGO_TARGET_DIR/debug/examples/fakeweixin"
FAKE_PERSON=e2e-weixin-user

work=$(mktemp -d "${TMPDIR:-/tmp}/radar-e2e.XXXXXX")
pg_db=""
cleanup() {
  local p
  for p in "$work"/*.pid; do
    [ -f "$p" ] || continue
    p=$(cat "$p")
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  if [ -n "$pg_db" ]; then
    psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Seeds a database through the CLI and writes the seed file the tests read.
seed() { # dir
  local dir=$1 company
  "$RADAR" demo --json > "$dir/demo.json"
  company=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).company_id)' "$dir/demo.json")
  # Customers of their own for tests that must not disturb each other's data.
  new_customer() { # name rep_id -> {"id","token","name"}
    local c
    c=$("$RADAR" admin customer create --name "$1" --company-id "$company")
    "$RADAR" admin relation create --user-id "$2" --customer-id "$(printf '%s' "$c" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')" > /dev/null
    node -e 'const c=JSON.parse(process.argv[1]); c.name=process.argv[2]; console.log(JSON.stringify(c))' "$c" "$1"
  }
  local xss offline article unread live history media search crowd crowd_id cid i signin signin_id upload
  xss=$(new_customer '<script>window.__xss=1</script><b>粗体</b> 😀' 2)
  offline=$(new_customer '离线测试客户' 2)
  article=$(new_customer '读文章的客户' 1)
  unread=$(new_customer '未读计数客户' 2)
  live=$(new_customer '实时列表客户' 1)
  history=$(new_customer '历史消息客户' 2)
  media=$(new_customer '多媒体客户' 2)
  search=$(new_customer '搜索测试客户' 2)
  upload=$(new_customer '发照片的客户' 2)
  # A rep with more customers than one page of the contact list (infinite scroll).
  crowd=$("$RADAR" admin user create --name '客户很多的销售' --company-id "$company")
  crowd_id=$(printf '%s' "$crowd" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  for i in $(seq -w 1 26); do
    cid=$("$RADAR" admin customer create --name "批量客户$i" --company-id "$company" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
    "$RADAR" admin relation create --user-id "$crowd_id" --customer-id "$cid" > /dev/null
  done
  # Sign-in through the fake: the company's WeCom app and Official Account, and
  # a rep mapped to the fake's person, with a customer of its own.
  printf 'corp-secret-Zq8vX2pL9kW4' | "$RADAR" admin company wecom --id "$company" \
    --corp-id wwfakecorp0001 --agent-id 1000002 --secret - > /dev/null
  printf 'app-secret-Mn3bV7cR1tY6' | "$RADAR" admin company gongzhonghao --id "$company" \
    --appid wxfakeapp00001 --secret - > /dev/null
  signin=$("$RADAR" admin user create --name '企微登录销售' --company-id "$company" --wecom-userid "$FAKE_PERSON")
  signin_id=$(printf '%s' "$signin" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  new_customer '企微登录的客户' "$signin_id" > /dev/null
  node -e '
    const fs = require("fs");
    const d = JSON.parse(fs.readFileSync(process.argv[1]));
    const [xss, offline, article, unread, live, history, media, crowd, signin, search, upload] = process.argv.slice(2, 13).map((s) => JSON.parse(s));
    d.extra = { xss, offline, article, unread, live, history, media, crowd, signin, search, upload };
    fs.writeFileSync(process.argv[13], JSON.stringify(d, null, 1));
  ' "$dir/demo.json" "$xss" "$offline" "$article" "$unread" "$live" "$history" "$media" "$crowd" "$signin" "$search" "$upload" "$dir/seed.json"
}

# Runs the whole suite against one database; output goes to $work/<name>.log.
suite() { # name database_url [playwright args...]
  local name=$1 url=$2 dir="$work/$1" port pid status=0 shots fake
  shift 2
  mkdir -p "$dir"
  export DATABASE_URL="$url"
  seed "$dir"
  "$FAKE" "$FAKE_PERSON" '企微登录销售' > "$dir/fake.url" 2> "$dir/fake.log" &
  echo "$!" > "$work/$name-fake.pid"
  for _ in $(seq 1 100); do [ -s "$dir/fake.url" ] && break; sleep 0.1; done
  fake=$(head -n1 "$dir/fake.url")
  if [ -z "$fake" ]; then
    echo "[$name] the fake WeCom/WeChat API did not start" >&2
    return 1
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RADAR_ADDR="127.0.0.1:$port" RADAR_PUBLIC_URL="http://127.0.0.1:$port" \
    RADAR_WECOM_API="$fake" RADAR_WECHAT_API="$fake" RADAR_WECHAT_OPEN="$fake" \
    RADAR_MEDIA_DIR="$dir/media" RADAR_LOG="${RADAR_LOG:-warn}" "$RADAR" serve > "$dir/server.log" 2>&1 &
  pid=$!
  echo "$pid" > "$work/$name.pid"
  if ! curl -sf --retry 50 --retry-delay 0 --retry-connrefused --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then
    echo "[$name] radar did not start:" >&2
    cat "$dir/server.log" >&2
    return 1
  fi
  shots=screens
  [ "$name" = sqlite ] || shots="screens-$name"
  (cd end2end && E2E_BASE_URL="http://127.0.0.1:$port" E2E_SEED="$dir/seed.json" E2E_SHOTS="$shots" \
    npx playwright test --output "test-results/artifacts-$name" "$@") || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kill "$(cat "$work/$name-fake.pid")" 2>/dev/null || true
  if [ $status != 0 ]; then
    echo "---- [$name] server log (tail) ----"
    tail -n 40 "$dir/server.log"
  fi
  return $status
}

declare -A urls
for d in $dbs; do
  case "$d" in
    sqlite) urls[$d]="sqlite://$work/sqlite.db?mode=rwc" ;;
    postgres)
      # Not scripts/pg-up.sh: its sweep of leftover test databases would hit
      # a `cargo test` running at the same time.
      if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
      fi
      pg_db="radar_e2e_$$_$(date +%s)"
      psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE \"$pg_db\"" >/dev/null
      urls[$d]="$PG_SERVER/$pg_db"
      ;;
    *) echo "unknown database '$d' (sqlite or postgres)" >&2; exit 2 ;;
  esac
done

failed=""
if [ "${E2E_SERIAL:-0}" = 1 ] || [ "$(echo $dbs | wc -w)" = 1 ]; then
  for d in $dbs; do
    echo "== e2e on $d"
    suite "$d" "${urls[$d]}" "$@" || failed="$failed $d"
  done
else
  declare -A jobs
  for d in $dbs; do
    suite "$d" "${urls[$d]}" "$@" > "$work/$d.log" 2>&1 &
    jobs[$d]=$!
  done
  for d in $dbs; do
    wait "${jobs[$d]}" || failed="$failed $d"
    echo "== e2e on $d"
    cat "$work/$d.log"
  done
fi

if [ -n "$failed" ]; then
  echo "e2e FAILED on:$failed" >&2
  exit 1
fi
echo "e2e passed on: $dbs"
