#!/usr/bin/env bash
# hamlet's paragraph vectors against gensim 4.4 in one run, on the RFC collection, same split,
# same settings (the original's: 52 dims, window 4, min_count 10, negative 5, sample 1e-3,
# alpha 0.025 constant, 5 epochs, gensim's 10,000-word cap per document), same 2 threads.
# Prints, for PV-DM and PV-DBOW: training words/s (gensim's effective-word count), infer+top10
# median and p95 latency over the held-out test documents (about 460, one at a time),
# most-similar latency for known documents, and citation retrieval (hit@10, recall@10, MRR@10).
# Then ROUNDS (4) paired one-epoch trainings of each, back to back, alternating which goes
# first, and the median of their words/s ratios: on a shared machine whose speed drifts, that
# ratio is steadier than the one of the two long runs above.
# Installs gensim in a venv under ~/.cache/hamlet the first time. Takes about 25 minutes.
# Usage: bench/gensim.sh [CORPUS_DIR]      EPOCHS=N MODES="dm dbow" THREADS=2 ROUNDS=4 override.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpora/rfc}
epochs=${EPOCHS:-5}
threads=${THREADS:-2}
rounds=${ROUNDS:-4}
python=$(bash scripts/setup-gensim.sh)
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DATABASE_URL="sqlite://$tmp/bench.sqlite3"
./target/release/hamlet import rfc "$corpus" >/dev/null
echo "bench/gensim.sh: $(nproc) cores, $threads threads, $epochs epochs, $(date -u +%Y-%m-%dT%H:%MZ)"
for mode in ${MODES:-dm dbow}; do
  "$python" bench/gensim_compare.py --db "$tmp/bench.sqlite3" --mode "$mode" --epochs "$epochs" --threads "$threads" \
    --rounds "$rounds" --hamlet ./target/release/hamlet >"$tmp/gensim-$mode.json"
  ./target/release/hamlet evaluate --compat --mode "$mode" --epochs "$epochs" --threads "$threads" --json 2>/dev/null >"$tmp/hamlet-$mode.json"
  python3 - "$tmp/gensim-$mode.json" "$tmp/hamlet-$mode.json" "$mode" <<'PY'
import json, sys
g, h, mode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
rows = [
    ("training words/s (M)", g["train_words_per_second"] / 1e6, h["train_words_per_second"] / 1e6, "higher"),
    ("infer+top10 median ms", g["latency"]["infer_median_ms"], h["latency"]["infer_median_ms"], "lower"),
    ("infer+top10 p95 ms", g["latency"]["infer_p95_ms"], h["latency"]["infer_p95_ms"], "lower"),
    ("most-similar median ms", g["latency"]["similar_median_ms"], h["latency"]["similar_median_ms"], "lower"),
    ("citation hit@10", g["retrieval"]["hit_at_10"], h["retrieval"]["hit_at_10"], "higher"),
    ("citation recall@10", g["retrieval"]["recall_at_10"], h["retrieval"]["recall_at_10"], "higher"),
    ("citation MRR@10", g["retrieval"]["mrr_at_10"], h["retrieval"]["mrr_at_10"], "higher"),
]
print(f"\nPV-{mode.upper()}: {g['retrieval']['queries']} queries scored, {g['queries_timed']} timed; trained on {h['train_documents']} documents")
print(f"{'':26} {'gensim':>10} {'hamlet':>10} {'hamlet/gensim':>14}")
for name, gv, hv, _ in rows:
    print(f"{name:26} {gv:10.3f} {hv:10.3f} {hv / gv if gv else float('nan'):14.2f}")
if g["rounds"]:
    ratios = sorted(r["hamlet"] / r["gensim"] for r in g["rounds"])
    pairs = ", ".join(f"{r['hamlet'] / 1e6:.2f}/{r['gensim'] / 1e6:.2f}" for r in g["rounds"])
    median = (ratios[(len(ratios) - 1) // 2] + ratios[len(ratios) // 2]) / 2
    print(f"training words/s, {len(ratios)} paired 1-epoch rounds (hamlet/gensim M): {pairs}")
    print(f"  ratio median {median:.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f})")
PY
done
