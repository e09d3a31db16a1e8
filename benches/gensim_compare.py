"""gensim's side of benches/gensim.sh: trains gensim 4.4 Doc2Vec on the same collection, split
and settings as `hamlet evaluate`, and prints the same figures as JSON.

Same split: identifiers are assigned to test/validation/train exactly as src/model/eval.rs does
(splitmix64 of the identifier), the test documents are left out of training and queried by their
full text. Same tokens: lower-cased \\w+ runs. Same word count: gensim's own trained-word count
(in-vocabulary words after downsampling, each document capped at its 10,000-word limit, which
hamlet reproduces with --max-doc-words 10000).
"""
import argparse
import json
import re
import sqlite3
import statistics
import subprocess
import time

from gensim.models.doc2vec import Doc2Vec, TaggedDocument

M64 = (1 << 64) - 1


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def part_of(identifier, seed):
    h = splitmix(seed ^ ((identifier & M64) * 0x9E3779B97F4A7C15 & M64)) % 1000
    return "test" if h < 50 else "validation" if h < 100 else "train"


WORD = re.compile(r"\w+")


def tokens(text):
    return [t.lower() for t in WORD.findall(text)]


def quantile(values, q):
    values = sorted(values)
    return values[round((len(values) - 1) * q)] if values else 0.0


def train_gensim(model, corpus, epochs):
    """Trains `epochs` epochs; returns (effective words, seconds)."""
    t0 = time.perf_counter()
    model.train(corpus, total_examples=len(corpus), epochs=epochs)
    seconds = time.perf_counter() - t0
    # gensim 4.4's train() returns nothing; its summary ("training on N raw words (M effective
    # words) took ...") is kept in the model's lifecycle events.
    summary = [e["msg"] for e in model.lifecycle_events if "effective words" in e.get("msg", "")][-1]
    return int(re.search(r"\((\d+) effective words\)", summary).group(1)), seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--mode", choices=["dm", "dbow"], default="dm")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split-seed", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1, help="gensim's training seed")
    ap.add_argument("--rounds", type=int, default=0,
                    help="then this many paired one-epoch trainings, gensim's and hamlet's back to back")
    ap.add_argument("--hamlet", help="the hamlet binary, for --rounds")
    args = ap.parse_args()

    db = sqlite3.connect(args.db)
    rows = db.execute(
        "SELECT t.document_identifier, t.body FROM document_texts t JOIN documents d "
        "ON d.identifier = t.document_identifier WHERE d.unextractable = 0 ORDER BY 1"
    ).fetchall()
    links = db.execute(
        "SELECT DISTINCT document_identifier, target_identifier FROM citations WHERE target_identifier IS NOT NULL"
    ).fetchall()
    train = [(i, t) for i, t in rows if part_of(i, args.split_seed) != "test"]
    queries = [(i, t) for i, t in rows if part_of(i, args.split_seed) == "test"]
    corpus = [TaggedDocument(tokens(t), [str(i)]) for i, t in train]

    model = Doc2Vec(
        vector_size=52, window=4, min_count=10, negative=5, hs=0, sample=1e-3,
        alpha=0.025, min_alpha=0.025, epochs=args.epochs, dm=1 if args.mode == "dm" else 0,
        # gensim 4.4 ignores dm_mean: Word2Vec.__init__ sets cbow_mean (default 1) after it, so
        # PV-DM always averages. cbow_mean=1 says so; it is what the original model did too.
        cbow_mean=1, workers=args.threads, seed=args.seed,
    )
    model.build_vocab(corpus)
    trained_words, train_seconds = train_gensim(model, corpus, model.epochs)

    in_model = {str(i) for i, _ in train}
    cites = {}
    for a, b in links:
        if str(b) in in_model:
            cites.setdefault(a, set()).add(b)
    infer_ms, hits, recall, mrr, n = [], 0.0, 0.0, 0.0, 0
    for i, text in queries:
        words = tokens(text)
        t = time.perf_counter()
        vector = model.infer_vector(words)
        top = [int(tag) for tag, _ in model.dv.most_similar([vector], topn=10)]
        infer_ms.append((time.perf_counter() - t) * 1e3)
        relevant = cites.get(i, set())
        if not relevant:
            continue
        n += 1
        found = [d for d in top if d in relevant]
        hits += 1.0 if found else 0.0
        recall += len(found) / len(relevant)
        ranks = [k for k, d in enumerate(top) if d in relevant]
        mrr += 1.0 / (ranks[0] + 1) if ranks else 0.0
    similar_ms = []
    for i, _ in train[:1000]:
        t = time.perf_counter()
        model.dv.most_similar(str(i), topn=10)
        similar_ms.append((time.perf_counter() - t) * 1e3)
    # Paired rounds: the shared machine's speed drifts by tens of percent from minute to
    # minute, so one long run of each side can land in different weather. Each round trains
    # one epoch of gensim (continuing the model above: the same work per word) and one of
    # hamlet (`hamlet evaluate --compat`, the same split), back to back, alternating which
    # goes first; the ratio of each pair is what the script reports.
    rounds = []
    for r in range(args.rounds):
        def ours():
            out = subprocess.run(
                [args.hamlet, "evaluate", "--compat", "--mode", args.mode, "--epochs", "1",
                 "--threads", str(args.threads), "--split-seed", str(args.split_seed), "--json"],
                check=True, capture_output=True, text=True).stdout
            return json.loads(out)["train_words_per_second"]

        def theirs():
            words, seconds = train_gensim(model, corpus, 1)
            return words / seconds

        if r % 2 == 0:
            g = theirs()
            h = ours()
        else:
            h = ours()
            g = theirs()
        rounds.append({"gensim": g, "hamlet": h})
    print(json.dumps({
        "mode": args.mode,
        "rounds": rounds,
        "train_documents": len(corpus),
        "retrieval": {"queries": n, "hit_at_10": hits / max(n, 1), "recall_at_10": recall / max(n, 1), "mrr_at_10": mrr / max(n, 1)},
        "train_words_per_second": trained_words / train_seconds,
        "train_words": trained_words,
        "latency": {"infer_median_ms": quantile(infer_ms, 0.5), "infer_p95_ms": quantile(infer_ms, 0.95), "similar_median_ms": quantile(similar_ms, 0.5)},
        "queries_timed": len(infer_ms),
    }))


if __name__ == "__main__":
    main()
