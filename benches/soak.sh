#!/usr/bin/env bash
# Soak: a bounded load on loopback with wrk (64 connections for 10 minutes by default) over a
# mix of pages and API routes with random documents of the collection (identifiers read from
# the database first, leaving out the few with no extractable text, which the API answers with
# 422: so every request has an answer, and any 4xx or 5xx is an error), counting
# answers by status class. Targets: zero errors ([scale]), zero 5xx ([harden]). Uses the dev
# collection and model in ./data (scripts/run.sh), or DATABASE_URL (sqlite:// or postgres://).
#
#   benches/soak.sh                          # 10 minutes, 64 connections
#   DURATION=60s WARMUP=5s CONNECTIONS=64 benches/soak.sh
#   HAMLET_MODEL_PATH=data/scale/synth-43000x52-1m.safetensors HAMLET_MODEL_WEIGHTS=i8 benches/soak.sh
#                                          # [scale]: at full scale (benches/scale.sh makes the model)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-8091}
WARMUP=${WARMUP:-150s}
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet --bin hamlet-extract
[ -f "${HAMLET_MODEL_PATH:-data/model.safetensors}" ] || { echo "benches/soak.sh: run scripts/run.sh first (data/ is missing)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
PORT=$PORT HAMLET_LOG_FORMAT=json ./target/release/hamlet serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
# The readiness polls above logged 503s while starting: count only what the soak caused.
before=$(wc -l <"$work/server.log")
# The documents the pages and routes may ask for: the collection's identifiers.
db=${DATABASE_URL:-sqlite://data/hamlet.sqlite3}
case "$db" in
  sqlite://*) python3 -c 'import sqlite3, sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT identifier FROM documents WHERE unextractable = 0")]' "${db#sqlite://}" ;;
  *) psql -Atq "$db" -c "SELECT identifier FROM documents WHERE unextractable = 0" ;;
esac >"$work/ids.txt"
[ -s "$work/ids.txt" ] || { echo "benches/soak.sh: no documents in $db" >&2; exit 1; }
export SOAK_IDS="$work/ids.txt"
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server/status"; }
# Warm up, then take the starting resident memory: long enough for the bounded caches to fill
# (the rendered-page cache, HAMLET_PAGE_CACHE_MB, takes about 2.5 minutes to reach its 16 MB
# at full scale; with it off, resident memory is flat from the first seconds).
wrk -t2 -c"$CONNECTIONS" -d"$WARMUP" -s benches/soak.lua "http://127.0.0.1:$PORT" >/dev/null
rss_start=$(rss)
# Resident memory every 30 s during the soak, to see whether it levels off.
(while kill -0 "$server" 2>/dev/null; do sleep 30; rss >>"$work/rss.txt"; echo >>"$work/rss.txt"; done) &
sampler=$!
echo "wrk: $CONNECTIONS connections for $DURATION, 2 threads, loopback, $(nproc) cores shared with the server, $(wc -l <"$work/ids.txt") documents"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s benches/soak.lua "http://127.0.0.1:$PORT" \
  | grep -E "Requests/sec|Latency|99%|answers|socket errors"
kill -0 "$server" || { echo "the server died"; tail -20 "$work/server.log"; exit 1; }
rss_end=$(rss)
kill "$sampler" 2>/dev/null || true
echo "resident memory every 30 s (MB): $(tr '\n' ' ' <"$work/rss.txt" 2>/dev/null)"
echo "server alive after the soak; resident memory ${rss_start} MB after warm-up, ${rss_end} MB at the end ($(python3 -c "print(f'{($rss_end - $rss_start) / $rss_start * 100:+.1f}%')")), peak $(( $(awk '/VmHWM/ {print $2}' /proc/$server/status) / 1024 )) MB"
echo "5xx logged by the server during the soak: $(tail -n +"$((before + 1))" "$work/server.log" | grep -c '"status":5' || true)"
