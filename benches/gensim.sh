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
# SEEDS="1 2 3" trains each system once per training seed (the rounds run with the first) and
# adds the mean quality over the seeds: one run's hit@10 moves by a few hundredths with the
# seed and the Hogwild threads' interleaving, as much as the 0.03 margin it is checked against.
# Installs gensim in a venv under ~/.cache/hamlet the first time. Takes about 25 minutes.
# Usage: benches/gensim.sh [CORPUS_DIR]    EPOCHS=N MODES="dm dbow" THREADS=2 ROUNDS=4 SEEDS=1 override.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpora/rfc}
epochs=${EPOCHS:-5}
threads=${THREADS:-2}
rounds=${ROUNDS:-4}
seeds=${SEEDS:-1}
python=$(bash scripts/setup-gensim.sh)
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet --bin hamlet-extract
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DATABASE_URL="sqlite://$tmp/bench.sqlite3"
./target/release/hamlet import rfc "$corpus" >/dev/null
echo "benches/gensim.sh: $(nproc) cores, $threads threads, $epochs epochs, $(date -u +%Y-%m-%dT%H:%MZ)"
for mode in ${MODES:-dm dbow}; do
  first=1
  for seed in $seeds; do
    r=0
    [ "$first" = 1 ] && r=$rounds
    "$python" benches/gensim_compare.py --db "$tmp/bench.sqlite3" --mode "$mode" --epochs "$epochs" --threads "$threads" \
      --seed "$seed" --rounds "$r" --hamlet ./target/release/hamlet >"$tmp/gensim-$mode-$seed.json"
    ./target/release/hamlet evaluate --compat --mode "$mode" --epochs "$epochs" --threads "$threads" --seed "$seed" \
      --json 2>/dev/null >"$tmp/hamlet-$mode-$seed.json"
    if [ "$first" = 1 ]; then
      cp "$tmp/gensim-$mode-$seed.json" "$tmp/gensim-$mode.json"
      cp "$tmp/hamlet-$mode-$seed.json" "$tmp/hamlet-$mode.json"
      first=0
    fi
  done
  python3 - "$tmp/gensim-$mode.json" "$tmp/hamlet-$mode.json" "$mode" "$tmp" $seeds <<'PY'
import json, sys
g, h, mode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
tmp, seeds = sys.argv[4], sys.argv[5:]
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
if len(seeds) > 1:
    print(f"citation quality over training seeds {' '.join(seeds)} (gensim / hamlet):")
    sums = {"hit_at_10": [0.0, 0.0], "mrr_at_10": [0.0, 0.0]}
    for seed in seeds:
        gs = json.load(open(f"{tmp}/gensim-{mode}-{seed}.json"))["retrieval"]
        hs = json.load(open(f"{tmp}/hamlet-{mode}-{seed}.json"))["retrieval"]
        print(f"  seed {seed}: hit@10 {gs['hit_at_10']:.3f} / {hs['hit_at_10']:.3f}, "
              f"MRR@10 {gs['mrr_at_10']:.3f} / {hs['mrr_at_10']:.3f}")
        for k in sums:
            sums[k][0] += gs[k]
            sums[k][1] += hs[k]
    n = len(seeds)
    for k, label in (("hit_at_10", "hit@10"), ("mrr_at_10", "MRR@10")):
        gm, hm = sums[k][0] / n, sums[k][1] / n
        print(f"  mean {label}: gensim {gm:.3f}, hamlet {hm:.3f}, difference {hm - gm:+.3f}")
PY
done
