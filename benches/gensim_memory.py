"""gensim 4.4's resident memory for a Doc2Vec model of a given shape, for benches/scale.sh's ratio.

  python gensim_memory.py make PATH DOCS DIM VOCAB   writes a PV-DM model of that shape (Zipf
      word counts, random weights, tags "1".."DOCS"), as gensim's save() writes it;
  python gensim_memory.py load PATH                  loads it in this fresh process as a
      server would, infers one 10,000-word text and asks for a document's neighbours, and
      prints resident memory (MB) before loading, after loading and after the queries, as JSON.
"""
import json
import sys
import time


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


def word(i):
    s = ""
    while True:
        s = chr(97 + i % 26) + s
        i //= 26
        if i == 0:
            return s


if sys.argv[1] == "make":
    import numpy as np
    from gensim.models.doc2vec import Doc2Vec

    path, docs, dim, vocab = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    model = Doc2Vec(vector_size=dim, window=4, min_count=1, negative=5, sample=1e-3,
                    alpha=0.025, min_alpha=0.025, epochs=5, workers=1)
    model.build_vocab_from_freq({word(i): max(1_000_000_000 // (i + 1), 1) for i in range(vocab)})
    rng = np.random.default_rng(1)
    model.wv.vectors = rng.uniform(-1, 1, (vocab, dim)).astype(np.float32)
    model.syn1neg = rng.uniform(-1, 1, (vocab, dim)).astype(np.float32)
    model.dv.add_vectors([str(i) for i in range(1, docs + 1)],
                         rng.uniform(-1, 1, (docs, dim)).astype(np.float32))
    model.save(path)
else:
    before = rss_mb()
    from gensim.models.doc2vec import Doc2Vec
    imported = rss_mb()
    t = time.perf_counter()
    model = Doc2Vec.load(sys.argv[2])
    load_s = time.perf_counter() - t
    loaded = rss_mb()
    words = [model.wv.index_to_key[(i * 7919) % len(model.wv)] for i in range(10_000)]
    model.dv.most_similar([model.infer_vector(words)], topn=10)
    model.dv.most_similar("1", topn=10)
    print(json.dumps({"python_mb": before, "with_gensim_mb": imported, "loaded_mb": loaded,
                      "after_queries_mb": rss_mb(), "load_s": load_s,
                      "docs": len(model.dv), "vocab": len(model.wv), "dim": model.vector_size}))
