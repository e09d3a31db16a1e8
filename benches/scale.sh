#!/usr/bin/env bash
# [scale] figures for a model of the original's production shape: 43,000 documents, 52
# dimensions, 1,000,000 words, random weights (`hamlet model synth`, cached in data/scale/).
#   1. in one process (benches/scale.rs): load time (read and parse), resident memory after loading, most-similar
#      by identifier, infer + search for 10,000-word texts, resident memory after 200 of them;
#   2. the server (benches/boot.sh): the model fetched over loopback HTTP, checked and loaded
#      (cold cache), and the server's peak resident memory;
#   3. the server's resident memory after loading and after 200 uploads of 10,000 words;
#   4. gensim 4.4's resident memory for a model of the same shape (benches/gensim_memory.py, in
#      the venv scripts/setup-gensim.sh makes), and the ratio of ours to it.
# Targets ([scale] issue): RSS <= 400 MB; boot >= 300 MB/s; most-similar <= 1 ms; infer +
# search <= 30 ms median. Prints the figures; no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet --bin hamlet-extract
# ENGINE=1: the default engine's shape instead ([missing] budgets): 100 dimensions, a citation
# target and a title per document, and texts that cite 30 documents by identifier.
if [ "${ENGINE:-0}" = 1 ]; then
  model=data/scale/synth-engine-43000x100-1m.safetensors
  synth_flags="--engine --dim 100"
else
  model=data/scale/synth-43000x52-1m.safetensors
  synth_flags="--dim 52"
fi
catalog=${model%.safetensors}.catalog.jsonl
if [ ! -f "$model" ] || [ ! -f "$catalog" ]; then
  mkdir -p data/scale
  # shellcheck disable=SC2086
  ./target/release/hamlet model synth --docs 43000 $synth_flags --vocab 1000000 --output "$model" --catalog "$catalog"
fi
# The servers below list the synthetic model's documents from a catalogue of their own (results
# for documents the database does not hold are left out, which would measure less work).
db_dir=$(mktemp -d)
export DATABASE_URL="sqlite://$db_dir/scale.sqlite3"
./target/release/hamlet migrate >/dev/null
./target/release/hamlet import jsonl "$catalog" >/dev/null
for weights in f32 f16 i8; do
  echo "== in process (benches/scale.rs), HAMLET_MODEL_WEIGHTS=$weights"
  HAMLET_MODEL_WEIGHTS=$weights HAMLET_SCALE_MODEL="$model" cargo bench --quiet --bench scale 2>/dev/null
done
echo "== the server, model over loopback HTTP (benches/boot.sh), HAMLET_MODEL_WEIGHTS=${SERVE_WEIGHTS:=i8} (the heroku/aws default)"
size=$(stat -c %s "$model")
out=$(HAMLET_MODEL_WEIGHTS=$SERVE_WEIGHTS MODEL="$model" RUNS=${RUNS:-3} bash benches/boot.sh)
echo "$out"
ready=$(awk '/^cold median/ {for (i = 1; i <= NF; i++) if ($i == "ready") print $(i + 1)}' <<<"$out")
python3 -c "print(f'boot: {$size / 1e6:.0f} MB fetched, checked and loaded, ready after $ready s: {$size / 1e6 / $ready:.0f} MB/s including migrations and the catalog (target >= 300 MB/s)')"

echo "== the server's resident memory with the model loaded, then after 200 uploads of 10,000 words (HAMLET_MODEL_WEIGHTS=$SERVE_WEIGHTS)"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HAMLET_MODEL_WEIGHTS=$SERVE_WEIGHTS HAMLET_MODEL_PATH="$model" HAMLET_UPLOAD_RATE_PER_MINUTE=0 HAMLET_API_RATE_PER_MINUTE=0 \
  PORT=$port ./target/release/hamlet serve >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work" "$db_dir"' EXIT
until curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server/status"; }
loaded=$(rss)
echo "after loading: $loaded MB resident (target <= 400 MB)"
# 200 texts of 10,000 words, Zipf-drawn from the synthetic vocabulary (model::synth::word).
python3 - "$work" <<'PY'
import json, math, random, sys
def word(i):
    s = ""
    while True:
        s = chr(97 + i % 26) + s
        i //= 26
        if i == 0:
            return s
rng = random.Random(5)
ln = math.log(1_000_001)
for n in range(200):
    text = " ".join(word(min(int(math.exp(rng.random() * ln)) - 1, 999_999)) for _ in range(10_000))
    json.dump({"text": text, "limit": 10}, open(f"{sys.argv[1]}/{n}.json", "w"))
PY
for n in $(seq 0 199); do
  curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$work/$n.json" \
    "http://127.0.0.1:$port/api/recommend"
done
echo "after 200 uploads: $(rss) MB resident at once (target <= 400 MB); peak $(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$server/status") MB while loading"
sleep 12
later=$(rss)
echo "12 s later (the server gives freed heap pages back every 10 s): $later MB resident"
kill $server 2>/dev/null || true
wait $server 2>/dev/null || true

echo "== gensim 4.4 for the same shape (benches/gensim_memory.py): a PV-DM model of 43,000 documents, 52 dimensions, 1,000,000 words, loaded by Doc2Vec.load in a fresh process"
python=$(bash scripts/setup-gensim.sh)
gmodel=data/scale/gensim-43000x52-1m.model
[ -f "$gmodel" ] || "$python" benches/gensim_memory.py make "$gmodel" 43000 52 1000000
"$python" benches/gensim_memory.py load "$gmodel" | tee "$work/gensim.json"
"$python" - "$work/gensim.json" "$loaded" "$later" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
loaded, later = float(sys.argv[2]), float(sys.argv[3])
print(f"gensim: {g['loaded_mb']:.0f} MB resident after loading ({g['with_gensim_mb']:.0f} MB of it Python with gensim imported), "
      f"{g['after_queries_mb']:.0f} MB after inferring one text and a most-similar; loaded in {g['load_s']:.1f} s")
print(f"hamlet's server / gensim: {loaded / g['loaded_mb']:.2f} after loading, {later / g['after_queries_mb']:.2f} after queries")
PY
