#!/usr/bin/env bash
# [map] figures: the collection map at the original's scale, 43,000 documents.
#   1. the layout: `hamlet model layout` on a synthetic 43,000 x 52 model (time; and, when the
#      dev model data/model.safetensors exists, how well its map keeps neighbourhoods);
#   2. the /map/ page in headless Chromium (benches/map.rs): load time, frame time over a
#      zoom-and-pan sequence, requestAnimationFrame-paced frame intervals, hover lookup.
# Synthetic vectors are random, so their map is a blob: it measures cost, not quality (the
# synthetic key terms give it region names to draw, as a trained model has). Prints
# the figures; no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet --bin hamlet-extract
model=data/scale/map-43000x52.safetensors
mkdir -p data/scale
catalog=data/scale/map-43000x52.catalog.jsonl
if [ ! -f "$model" ] || [ ! -f "$catalog" ]; then
  ./target/release/hamlet model synth --docs 43000 --dim 52 --vocab 20000 --output "$model.tmp" --catalog "$catalog" >/dev/null
  echo "== layout of 43,000 documents (hamlet model layout)"
  ./target/release/hamlet model layout "$model.tmp" --output "$model" 2>/dev/null
  rm -f "$model.tmp" "$model.tmp.sha256"
fi
if [ -f data/model.safetensors ]; then
  echo "== layout of the dev model (data/model.safetensors), written to a scratch copy"
  scratch=$(mktemp -d)
  ./target/release/hamlet model layout data/model.safetensors --output "$scratch/m.safetensors" 2>/dev/null
  rm -rf "$scratch"
fi
echo "== /map/ in headless Chromium, 1280x1000, the 43,000-document model"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The synthetic model's own catalogue, so the page carries real titles as it would in service.
DATABASE_URL="sqlite://$work/map.sqlite3" ./target/release/hamlet migrate >/dev/null
DATABASE_URL="sqlite://$work/map.sqlite3" ./target/release/hamlet import jsonl "$catalog" >/dev/null
DATABASE_URL="sqlite://$work/map.sqlite3" HAMLET_MODEL_PATH="$model" PORT=$port \
  ./target/release/hamlet serve >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
HAMLET_MAP_URL="http://127.0.0.1:$port/map/" cargo bench --quiet --bench map 2>/dev/null
