"""Trains small gensim 4.4 Doc2Vec models for tests/gensim.rs and writes what gensim answers.

Usage: python train.py OUT_DIR. The corpus is made up here (twelve topics of made-up words over
a shared common vocabulary), so nothing from ../shared is copied. Writes, per model NAME:
NAME.model as gensim saves it by default (arrays inside the pickle), NAME-split.model with
every array in a .npy file beside it (sep_limit=0), and NAME.json: the hyper-parameters and
gensim's most_similar lists for some documents. Also writes word2vec.model, a model that is not
a Doc2Vec.
"""
import json
import random
import sys

from gensim.models.doc2vec import Doc2Vec, TaggedDocument
from gensim.models.word2vec import Word2Vec

out = sys.argv[1]
rng = random.Random(7)
topics = [[f"t{t}w{i}" for i in range(40)] for t in range(12)]
common = [f"c{i}" for i in range(60)]
texts = []
for d in range(240):
    topic = topics[d % 12]
    n = rng.randint(80, 200)
    texts.append([rng.choice(topic) if rng.random() < 0.85 else rng.choice(common) for _ in range(n)])

models = {
    # PV-DM as the original trained it (gensim 4.4 averages the context whatever dm_mean says),
    # string tags.
    "dm": (dict(dm=1, vector_size=24, window=4, min_count=2, negative=5, sample=1e-3,
                alpha=0.025, min_alpha=0.025, epochs=10), lambda i: str(1000 + i)),
    # PV-DBOW with word training, plain integer tags 0..n-1.
    "dbow": (dict(dm=0, dbow_words=1, vector_size=16, window=3, min_count=3, negative=4,
                  epochs=8), lambda i: i),
}
for name, (params, tag) in models.items():
    corpus = [TaggedDocument(words, [tag(i)]) for i, words in enumerate(texts)]
    model = Doc2Vec(corpus, workers=1, seed=3, **params)
    model.save(f"{out}/{name}.model")
    model.save(f"{out}/{name}-split.model", sep_limit=0)
    similar = {}
    for i in range(0, 240, 12):
        similar[str(tag(i))] = [[int(k), float(s)] for k, s in model.dv.most_similar(tag(i), topn=10)]
    info = dict(dim=model.vector_size, window=model.window, negative=model.negative,
                epochs=model.epochs, dm=int(model.dm), cbow_mean=int(model.cbow_mean),
                dbow_words=int(model.dbow_words), vocab=len(model.wv), docs=len(model.dv),
                first_word=model.wv.index_to_key[0], first_count=int(model.wv.get_vecattr(0, "count")),
                similar=similar)
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(info, f)

Word2Vec(texts[:20], vector_size=8, min_count=1, workers=1, seed=1).save(f"{out}/word2vec.model")
