#!/usr/bin/env bash
# The first day of a Heroku deployment, played on this machine with the real parts (run by
# scripts/test.sh, about two minutes): a fresh PostgreSQL database, moto's S3 server as the model
# bucket, and the Heroku CLI's `heroku local` running the Procfile with the heroku profile.
#
#   1. empty database, no model: the release process migrates;
#   2. two web processes come up in the "no model yet" state (ready; the API says why it 503s);
#   3. a one-off import (RFCs from ../shared) shows on both web processes;
#   4. a one-off `train --publish s3://…`: both web processes serve it within the check interval;
#   5. a second publish is hot-swapped while both are under load: not one request fails;
#   6. a corrupt publish (a truncated model whose manifest checksum matches it) and a manifest
#      whose checksum matches nothing are refused: the second model keeps serving;
#   7. a second one-off import (JSON lines streamed on standard input) shows on both.
# Each step prints PASS or FAIL; the script stops at the first FAIL with the web processes' log.
# Needs target/release/hamlet and hamlet-extract (cargo build --release, or the test run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
corpus=${HAMLET_DEMO_CORPUS:-$root/../shared/corpora/rfc}
work=$(mktemp -d)
db=hamlet_day_one_$$
admin=$(bash scripts/ensure-postgres.sh)
# The long-running parts each run in a process group of their own (setsid), stopped whole:
# heroku local runs foreman, which runs the web processes, and pyenv's python3 shim forks the
# interpreter, so killing the process started leaves the rest running.
groups=()
stop_group() {
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
cleanup() {
  local pids g
  for g in "${groups[@]}"; do stop_group "$g"; done
  pids=$(jobs -p)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  wait 2>/dev/null || true
  psql "$admin" -qAtc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { echo "day-one: $*"; }
pass() { echo "PASS $1"; }
fail() {
  echo "FAIL $1"
  echo "--- heroku local (last 40 lines) ---"; tail -40 "$work/web.log" 2>/dev/null || true
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A port P with P+1 free as well: heroku local gives web.1 the port asked and web.2 the next.
free_pair() {
  python3 - <<'PY'
import socket
while True:
    a = socket.socket(); a.bind(("0.0.0.0", 0)); port = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("0.0.0.0", port + 1))
    except OSError:
        continue
    print(port)
    break
PY
}
get() { curl -sS --max-time 10 "$@"; }
# has URL TEXT: the page at URL answers 2xx and contains TEXT (read whole: no early-closed pipe).
has() { local body; body=$(get -f "$1") && grep -qi -- "$2" <<<"$body"; }
# until SECONDS CMD...: runs CMD every half second until it succeeds or SECONDS pass.
until_ok() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
served_sha() { get "http://127.0.0.1:$1/health/ready" | python3 -c 'import json,sys; m=json.load(sys.stdin).get("model") or {}; print(m.get("sha256",""))'; }
both_serve() { [ "$(served_sha "$web1")" = "$1" ] && [ "$(served_sha "$web2")" = "$1" ]; }
manifest_sha() { python3 "$work/s3.py" sha; }

[ -x target/release/hamlet ] && [ -x target/release/hamlet-extract ] \
  || cargo build --release --quiet --bin hamlet --bin hamlet-extract
[ -d "$corpus" ] || { say "the RFC corpus is missing at $corpus"; exit 1; }

# --- the parts: the Heroku CLI (pinned), moto's S3 server, an empty database ------------------
export HEROKU_DISABLE_AUTOUPDATE=1 HEROKU_SKIP_ANALYTICS=1 DISABLE_TELEMETRY=true
cli=${XDG_CACHE_HOME:-$HOME/.cache}/hamlet/heroku-cli
heroku=$cli/node_modules/.bin/heroku
[ -x "$heroku" ] || npm install --silent --no-fund --no-audit --prefix "$cli" heroku@11.10.0 >/dev/null
python3 -c 'import moto.server, boto3' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1' \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'moto[server]==5.2.1'

s3port=$(free_port)
setsid python3 -m moto.server -H 127.0.0.1 -p "$s3port" >"$work/moto.log" 2>&1 &
groups+=($!)
until_ok 20 curl -fsS "http://127.0.0.1:$s3port/moto-api/" || { say "moto did not start"; cat "$work/moto.log"; exit 1; }
export AWS_ACCESS_KEY_ID=day-one AWS_SECRET_ACCESS_KEY=day-one AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$s3port"
# The bucket, and the writes that `hamlet publish` refuses to make (the corrupt publishes).
cat >"$work/s3.py" <<'PY'
import hashlib, json, os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
bucket, prefix = "hamlet-models", "prod"
what = sys.argv[1]
if what == "bucket":
    s3.create_bucket(Bucket=bucket)
elif what == "sha":
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/manifest.json")["Body"].read()
        print(json.loads(body)["sha256"])
    except s3.exceptions.NoSuchKey:
        print("")
elif what in ("truncated", "mismatch"):
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/manifest.json")["Body"].read())
    model = s3.get_object(Bucket=bucket, Key=f"{prefix}/{manifest['model']}")["Body"].read()
    if what == "truncated":  # a model cut in half, with a manifest that vouches for the half
        model = model[: len(model) // 2]
        sha = hashlib.sha256(model).hexdigest()
    else:  # the right model, a checksum of nothing
        sha = "0" * 64
    key = f"models/{hashlib.sha256(model).hexdigest()}-{what}.safetensors"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=model)
    manifest.update(model=key, sha256=sha, size_bytes=len(model))
    s3.put_object(Bucket=bucket, Key=f"{prefix}/manifest.json", Body=json.dumps(manifest).encode())
    print(sha)
PY
python3 "$work/s3.py" bucket

psql "$admin" -qAtc "drop database if exists $db with (force)" >/dev/null
psql "$admin" -qAtc "create database $db" >/dev/null
dburl="${admin%/*}/$db"

# The app's config vars, as `heroku config` would hold them (MODEL_CHECK_INTERVAL_SECS short
# so the play takes minutes; the default is 300).
cat >"$work/.env" <<ENV
HAMLET_PROFILE=heroku
DATABASE_URL=$dburl
SECRET_KEY=$(openssl rand -hex 32)
MODEL_URL=s3://hamlet-models/prod/manifest.json
MODEL_CHECK_INTERVAL_SECS=2
MODEL_CACHE_DIR=$work/model-cache
HAMLET_LOG_FORMAT=text
HEROKU_APP_NAME=hamlet-day-one
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
AWS_REGION=$AWS_REGION
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
ENV
local_run() { "$heroku" local:run -e "$work/.env" -- "$@"; }

# --- 1. the release phase migrates the empty database -------------------------------------------
"$heroku" local release -e "$work/.env" >"$work/release.log" 2>&1 || true
tables=$(psql "$dburl" -qAtc "select count(*) from information_schema.tables where table_name = 'documents'")
[ "$tables" = 1 ] || { cat "$work/release.log"; fail "release: the database was not migrated"; }
pass "release (heroku local release) migrated an empty database"

# --- 2. two web processes, no model yet -----------------------------------------------------
port=$(free_pair)
setsid "$heroku" local web=2 -e "$work/.env" -p "$port" >"$work/web.log" 2>&1 &
groups+=($!)
web1=$port
web2=$((port + 1))
for p in "$web1" "$web2"; do
  until_ok 60 curl -fsS "http://127.0.0.1:$p/health/ready" || fail "web on port $p did not become ready"
done
for p in "$web1" "$web2"; do
  code=$(get -o "$work/body.json" -D "$work/headers" -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"text":"congestion control for reliable transport"}' "http://127.0.0.1:$p/api/recommend")
  [ "$code" = 503 ] && grep -qi '^retry-after:' "$work/headers" && grep -q 'no recommendation model' "$work/body.json" \
    || fail "web $p without a model: /api/recommend answered $code $(cat "$work/body.json")"
  has "http://127.0.0.1:$p/upload/recommend" 'no recommendation model is in service' || fail "web $p: the upload page does not say there is no model"
done
pass "two web processes are ready with no model: the API answers 503 + Retry-After with the reason"

# --- 3. a one-off import shows on every web process -----------------------------------------------
local_run bin/hamlet import rfc "$corpus" --only 8000-8149 >"$work/import.log" 2>&1 \
  || { cat "$work/import.log"; fail "one-off import"; }
for p in "$web1" "$web2"; do
  has "http://127.0.0.1:$p/api/documents/8000" '"identifier"' || fail "web $p does not show an imported document"
done
pass "one-off import (150 RFCs): both web processes show the documents"

# --- 4. a one-off train --publish: both web processes pick it up -------------------------------------
train() { local_run bin/hamlet train --dim 16 --epochs "$1" --output "$work/model-$1.safetensors" \
  --publish s3://hamlet-models/prod >"$work/train-$1.log" 2>&1 || { cat "$work/train-$1.log"; fail "one-off train --publish"; }; }
train 4
first=$(manifest_sha)
[ -n "$first" ] || fail "train --publish wrote no manifest"
until_ok 30 both_serve "$first" || fail "the first model was not served by both web processes within 30 s"
for p in "$web1" "$web2"; do
  has "http://127.0.0.1:$p/api/documents/8000/similar?min_score=-1" '"results"' || fail "web $p: no similar documents"
done
pass "one-off train --publish s3://: both web processes serve ${first:0:12}"

# --- 5. a second publish under load: zero failed requests -------------------------------------------
cat >"$work/load.py" <<'PY'
import sys, threading, time, urllib.request, urllib.error
ports, stop = sys.argv[1:-1], sys.argv[-1]
paths = ["/api/documents/8000/similar?min_score=-1", "/similar_to/8001/", "/api/documents/8002/similar"]
codes, lock = {}, threading.Lock()
def hammer(port):
    i = 0
    while True:
        try:
            with open(stop): return
        except FileNotFoundError: pass
        url = f"http://127.0.0.1:{port}{paths[i % len(paths)]}"; i += 1
        try:
            code = urllib.request.urlopen(url, timeout=10).status
        except urllib.error.HTTPError as e: code = e.code
        except Exception as e: code = type(e).__name__
        with lock: codes[code] = codes.get(code, 0) + 1
threads = [threading.Thread(target=hammer, args=(p,)) for p in ports for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(f"{k}={v}" for k, v in sorted(codes.items(), key=str)))
PY
python3 "$work/load.py" "$web1" "$web2" "$work/stop" >"$work/load.out" 2>&1 &
load=$!
sleep 2
train 5
second=$(manifest_sha)
[ "$second" != "$first" ] || fail "the second training published the same model"
until_ok 30 both_serve "$second" || fail "the second model was not served by both web processes within 30 s"
sleep 2
touch "$work/stop"; wait "$load" || true
counts=$(cat "$work/load.out")
total=$(echo "$counts" | tr ' ' '\n' | awk -F= '{s+=$2} END {print s+0}')
[[ "$counts" =~ ^200=[0-9]+$ ]] && [ "$total" -gt 50 ] \
  || fail "hot swap under load: status counts $counts (want only 200s)"
pass "second publish hot-swapped on both web processes under load: $total requests, all 200"

# --- 6. corrupt publishes are refused; the second model keeps serving --------------------------------
for kind in truncated mismatch; do
  python3 "$work/s3.py" "$kind" >/dev/null
  sleep 6 # three check intervals
  both_serve "$second" || fail "after a $kind publish, the web processes do not serve ${second:0:12}"
  for p in "$web1" "$web2"; do
    get -f "http://127.0.0.1:$p/health/ready" >/dev/null || fail "web $p is not ready after a $kind publish"
    has "http://127.0.0.1:$p/api/documents/8000/similar?min_score=-1" '"results"' \
      || fail "web $p: no results after a $kind publish"
  done
done
refusals=$(grep -c 'could not be used' "$work/web.log" || true)
[ "$refusals" = 4 ] || fail "want each refusal logged once by each web process (4 lines), found $refusals"
pass "a truncated model and a wrong checksum are refused; both web processes keep ${second:0:12}"

# --- 7. a later one-off import, streamed from "a laptop", shows on every web process ---------------
# As `heroku run --no-tty "bin/hamlet import jsonl -" < collection.jsonl` does: the one-off
# process has no copy of the file; the lines (texts inline) come on standard input.
echo '{"identifier": 990001, "title": "A thesis streamed to a one-off dyno", "year": 2026, "text": "Congestion control for reliable transport over lossy links."}' \
  | local_run bin/hamlet import jsonl - >"$work/import2.log" 2>&1 \
  || { cat "$work/import2.log"; fail "second one-off import (jsonl on standard input)"; }
for p in "$web1" "$web2"; do
  has "http://127.0.0.1:$p/api/documents/990001" 'streamed to a one-off dyno' || fail "web $p does not show the second import"
done
pass "a later one-off import (JSON lines on standard input) shows on both web processes"
say "the first day played through"
