#!/usr/bin/env bash
# [scale] figures for a model of the original's production shape: 43,000 documents, 52
# dimensions, 1,000,000 words, random weights (`hamlet model synth`, cached in data/scale/).
#   1. in one process (benches/scale.rs): load time, resident memory after loading, most-similar
#      by identifier, infer + search for 10,000-word texts, resident memory after 200 of them;
#   2. the server (bench/boot.sh): the model fetched over loopback HTTP, checked and loaded
#      (cold cache), and the server's peak resident memory.
# Targets ([scale] issue): RSS <= 400 MB; boot >= 300 MB/s; most-similar <= 1 ms; infer +
# search <= 30 ms median. Prints the figures; no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet
model=data/scale/synth-43000x52-1m.safetensors
if [ ! -f "$model" ]; then
  mkdir -p data/scale
  ./target/release/hamlet model synth --docs 43000 --dim 52 --vocab 1000000 --output "$model"
fi
echo "== in process (benches/scale.rs)"
HAMLET_SCALE_MODEL="$model" cargo bench --quiet --bench scale 2>/dev/null
echo "== the server, model over loopback HTTP (bench/boot.sh)"
size=$(stat -c %s "$model")
out=$(MODEL="$model" RUNS=${RUNS:-3} bash bench/boot.sh)
echo "$out"
ready=$(awk '/^cold median/ {for (i = 1; i <= NF; i++) if ($i == "ready") print $(i + 1)}' <<<"$out")
python3 -c "print(f'boot: {$size / 1e6:.0f} MB fetched, checked and loaded, ready after $ready s: {$size / 1e6 / $ready:.0f} MB/s including migrations and the catalog (target >= 300 MB/s)')"
