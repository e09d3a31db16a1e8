#!/usr/bin/env bash
# Soak: a bounded load on loopback with wrk (64 connections for 10 minutes by default) over a
# mix of pages and API routes with random documents, counting answers by status class. The
# [harden] target: zero 5xx. Uses the dev collection and model in ./data (scripts/run.sh).
#
#   bench/soak.sh                          # 10 minutes, 64 connections
#   DURATION=60s CONNECTIONS=64 bench/soak.sh
#   HAMLET_MODEL_PATH=data/scale/synth-43000x52-1m.safetensors HAMLET_MODEL_WEIGHTS=i8 bench/soak.sh
#                                          # [scale]: at full scale (bench/scale.sh makes the model)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-8091}
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet
[ -f "${HAMLET_MODEL_PATH:-data/model.safetensors}" ] || { echo "bench/soak.sh: run scripts/run.sh first (data/ is missing)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
PORT=$PORT HAMLET_LOG_FORMAT=json ./target/release/hamlet serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
# The readiness polls above logged 503s while starting: count only what the soak caused.
before=$(wc -l <"$work/server.log")
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server/status"; }
# Warm up (page cache, allocator) for a few seconds, then take the starting resident memory.
wrk -t2 -c"$CONNECTIONS" -d5s -s bench/soak.lua "http://127.0.0.1:$PORT" >/dev/null
rss_start=$(rss)
echo "wrk: $CONNECTIONS connections for $DURATION, 2 threads, loopback, $(nproc) cores shared with the server"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s bench/soak.lua "http://127.0.0.1:$PORT" \
  | grep -E "Requests/sec|Latency|99%|answers|socket errors"
kill -0 "$server" || { echo "the server died"; tail -20 "$work/server.log"; exit 1; }
rss_end=$(rss)
echo "server alive after the soak; resident memory ${rss_start} MB after warm-up, ${rss_end} MB at the end ($(python3 -c "print(f'{($rss_end - $rss_start) / $rss_start * 100:+.1f}%')")), peak $(( $(awk '/VmHWM/ {print $2}' /proc/$server/status) / 1024 )) MB"
echo "5xx logged by the server during the soak: $(tail -n +"$((before + 1))" "$work/server.log" | grep -c '"status":5' || true)"
