#!/usr/bin/env bash
# Start-up figures: how soon `hamlet serve` binds its port (/health/live answers) and how soon
# it is ready (/health/ready: database migrated, catalog read, model fetched, checked and
# loaded), with the model fetched over HTTP from a local server: cold (empty MODEL_CACHE_DIR)
# and warm (cached file reused). The [ops] target: bound within 1 s whatever the model's size.
# Needs data/hamlet.sqlite3 and data/model.safetensors (scripts/run.sh makes both); MODEL=FILE
# picks another model. Prints one line per run and the medians, with the server's peak resident
# memory (VmHWM) after one similar_to page: the figure app.json's dyno size rests on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet --bin hamlet-extract
model=${MODEL:-data/model.safetensors}
db=${DATABASE_URL:-sqlite://data/hamlet.sqlite3}
runs=${RUNS:-3}
[ -f "$model" ] || { echo "benches/boot.sh: $model is missing (scripts/run.sh trains it)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
ln -s "$(realpath "$model")" "$work/model.safetensors"
sha=$(sha256sum "$model" | cut -d' ' -f1)
size=$(stat -c %s "$model")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
pids+=($!)
until curl -fsS -o /dev/null "http://127.0.0.1:$http_port/model.safetensors" 2>/dev/null; do sleep 0.1; done

now() { date +%s.%N; }
# Runs the server once; prints "live_s ready_s".
one() {
  local cache=$1 port
  port=$(free_port)
  local start; start=$(now)
  DATABASE_URL=$db PORT=$port MODEL_URL="http://127.0.0.1:$http_port/model.safetensors" \
    MODEL_SHA256=$sha MODEL_CACHE_DIR=$cache HAMLET_LOG_FORMAT=json \
    ./target/release/hamlet serve >"$work/serve.log" 2>&1 &
  local pid=$!
  local live="" ready=""
  while [ -z "$ready" ]; do
    if [ -z "$live" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null; then
      live=$(python3 -c "print($(now) - $start)")
    fi
    if [ -n "$live" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
      ready=$(python3 -c "print($(now) - $start)")
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.01
  done
  # Resident memory once ready, and after one page that uses the model.
  curl -fsS -o /dev/null "http://127.0.0.1:$port/similar_to/9000/" || true
  local rss; rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '%.3f %.3f %s\n' "$live" "$ready" "$rss"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "model: $model ($size bytes), database: ${db%%://*}, $runs runs each"
for kind in cold warm; do
  : >"$work/$kind"
  for i in $(seq "$runs"); do
    cache="$work/cache-$kind"
    [ "$kind" = cold ] && rm -rf "$cache"
    read -r live ready rss < <(one "$cache")
    echo "$live $ready $rss" >>"$work/$kind"
    echo "$kind run $i: bound (/health/live) after ${live} s, ready after ${ready} s, peak RSS $((rss / 1024)) MB"
  done
done
for kind in cold warm; do
  echo "$kind median: bound $(cut -d' ' -f1 "$work/$kind" | median) s, ready $(cut -d' ' -f2 "$work/$kind" | median) s, peak RSS $(( $(cut -d' ' -f3 "$work/$kind" | median) / 1024 )) MB"
done
