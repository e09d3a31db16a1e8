#!/usr/bin/env python3
"""Learns the default engine's re-ranker (src/model/rerank.rs) from `hamlet evaluate --dump`.

    for k in 0 1 2 3; do                                   # training queries: each quarter
      hamlet evaluate --split fold --fold $k --dump fold$k.tsv  # of the training split, held
    done                                                   # out of its own training
    hamlet evaluate --split validation --dump val.tsv      # checked here, never learned from
    python3 scripts/learn-rerank.py fold0.tsv fold1.tsv fold2.tsv fold3.tsv val.tsv \
        src/model/rerank.json

Any number of training dumps (at least one), then the check dump, then where to write.

LambdaMART (LightGBM's lambdarank) over the "missing" and "cited" views' candidates. The dump
(built with `cargo build --release --features lab`) writes, after its fixed columns (view,
query, named, known, relevant), the features `rerank::FEATURES` names, computed by the same
code the server runs; this script learns on those columns as the header names them and writes
the names into the JSON, which a unit test checks against `rerank::FEATURES`. A dump holds a
query's 200 best candidates as the server sees them, known ones too (the visible half,
boilerplate): they count in the per-query features (rank, score over the best, "X / most") but
are neither learned from nor judged. Research only: needs numpy and lightgbm
(`pip install numpy lightgbm`); the service reads the JSON it writes and needs neither.
"""
import json
import sys

import lightgbm as lgb
import numpy as np

# The dump's columns before the features (src/app/evaluate/dump.rs, FIXED).
FIXED = ['view', 'query', 'named', 'known', 'relevant']
PARAMS = dict(objective='lambdarank', learning_rate=0.05, num_leaves=7, min_data_in_leaf=50,
              bagging_fraction=0.8, bagging_freq=1, feature_fraction=0.8,
              lambdarank_truncation_level=20, verbose=-1, num_threads=2, seed=1)
ROUNDS = 300


def load(path):
    lines = open(path).read().splitlines()
    head = lines[0].split('\t')
    rows = [l.split('\t') for l in lines[1:]]
    view = np.array([r[0] for r in rows])
    query = np.array([int(r[1]) for r in rows])
    num = np.array([[float(x) for x in r[2:]] for r in rows], dtype=np.float32)
    return head[2:], view, query, num


def groups(view, query, name):
    """Row indices of each query of one view (the dump writes a query's rows together)."""
    idx = np.where(view == name)[0]
    q = query[idx]
    cut = np.r_[0, np.where(q[1:] != q[:-1])[0] + 1, len(q)]
    return [idx[cut[i]:cut[i + 1]] for i in range(len(cut) - 1)]


def feature_names(names):
    """The feature columns, as the dump's header names them (`rerank::FEATURES`)."""
    assert names[:len(FIXED) - 2] == FIXED[2:], f'not a dump of this version: {names[:5]}'
    return names[len(FIXED) - 2:]


def features(names, num):
    return num[:, len(FIXED) - 2:]


def unknown(num, names, gs):
    """Each query's rows less those the reader knows (the visible half, boilerplate): they
    take part in the per-query features, as they do in the server, but are neither learned
    from nor judged."""
    if 'known' not in names:
        return gs
    known = num[:, names.index('known')]
    return [g[known[g] == 0] for g in gs]


def mrr(gs, score, named, relevant, new_first):
    total = 0.0
    for g in gs:
        s = score[g] - (100 * named[g] if new_first else 0)
        top = relevant[g][np.argsort(-s, kind='stable')[:10]]
        hit = np.nonzero(top)[0]
        total += 1 / (hit[0] + 1) if len(hit) else 0
    return total / max(len(gs), 1)


def tree(node):
    """A LightGBM tree as flat arrays: feature (-1 at a leaf), threshold, left, right, value."""
    out = dict(feature=[], threshold=[], left=[], right=[], value=[])

    def walk(n):
        i = len(out['feature'])
        for k in out:
            out[k].append(0)
        if 'leaf_value' in n:
            out['feature'][i], out['value'][i] = -1, n['leaf_value']
            return i
        assert n['decision_type'] == '<=', n
        out['feature'][i], out['threshold'][i] = n['split_feature'], n['threshold']
        out['left'][i] = walk(n['left_child'])
        out['right'][i] = walk(n['right_child'])
        return i

    walk(node)
    return out


def main(train_paths, check_path, out_path):
    xs, ys, sizes = [], [], []
    for path in train_paths:
        names, view, query, num = load(path)
        gs = groups(view, query, 'missing') + groups(view, query, 'cited')
        x = features(names, num)
        gs = [g for g in unknown(num, names, gs) if len(g)]
        rows = np.concatenate(gs)
        xs.append(x[rows])
        ys.append(num[rows, names.index('relevant')])
        sizes += [len(g) for g in gs]
        print(f'{path}: {len(gs)} queries, {len(rows)} candidates')
    data = lgb.Dataset(np.vstack(xs), np.concatenate(ys), group=sizes)
    model = lgb.train(PARAMS, data, num_boost_round=ROUNDS)
    names_c, view_c, query_c, num_c = load(check_path)
    named, relevant = num_c[:, names_c.index('named')], num_c[:, names_c.index('relevant')]
    for v, new_first in [('missing', True), ('cited', False)]:
        g = groups(view_c, query_c, v)
        xc = features(names_c, num_c)
        p = np.zeros(len(num_c))
        p[np.concatenate(g)] = model.predict(xc[np.concatenate(g)])
        g = unknown(num_c, names_c, g)
        base = mrr(g, num_c[:, names_c.index('score')], named, relevant, new_first)
        print(f'{check_path}: {v} ({len(g)} queries) MRR@10 {base:.3f} by the score, '
              f'{mrr(g, p, named, relevant, new_first):.3f} re-ranked')
    dump = model.dump_model()
    json.dump(dict(features=feature_names(names), params=PARAMS,
                   rounds=ROUNDS, trees=[tree(t['tree_structure']) for t in dump['tree_info']]),
              open(out_path, 'w'), separators=(',', ':'))


if __name__ == '__main__':
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1:-2], sys.argv[-2], sys.argv[-1])
