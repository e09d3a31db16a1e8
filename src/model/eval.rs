//! How good "similar" is, measured two ways (pure functions over identifiers and a model).
//!
//! Citation retrieval: held-out documents are left out of training; each is queried by its full
//! text (an inferred vector) and its top 10 are scored against the collection documents it
//! cites: hit@10 (at least one cited document in the top 10), recall@10 (the share of its cited
//! documents found there) and MRR@10 (1 / rank of the first one, 0 past 10).
//!
//! Odd one out (the original Hamlet's model selection): triples (A, B, C) where A and B share
//! an author (or, failing that, a department) and C shares neither with them; the model picks
//! the document least similar to the other two, and scores when it picks C.
//!
//! Splits are fixed by hashing each identifier with a seed: 5% test, a disjoint 5% for
//! validation (tune there; report test once), the rest for training.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::model::kernel::{splitmix, Rng};
use crate::model::Doc2Vec;

/// Which held-out part a document falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Train,
    Validation,
    Test,
}

/// The part of `id` for a split seeded with `seed`: 5% test, 5% validation.
pub fn part_of(id: i64, seed: u64) -> Part {
    match splitmix(seed ^ (id as u64).wrapping_mul(0x9E3779B97F4A7C15)) % 1000 {
        0..=49 => Part::Test,
        50..=99 => Part::Validation,
        _ => Part::Train,
    }
}

/// How many parts `--split fold` cuts the training documents into.
pub const FOLDS: u8 = 4;

/// Whether a training document of a split seeded with `seed` is in part `fold` (of `FOLDS`),
/// the part `--split fold --fold N` holds out (a hash independent of `part_of`'s).
pub fn in_fold(id: i64, seed: u64, fold: u8) -> bool {
    splitmix(seed ^ 0x5EED_F01D ^ (id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)) % FOLDS as u64
        == fold as u64
}

/// Retrieval scores over a set of queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Retrieval {
    pub queries: usize,
    pub hit_at_10: f64,
    pub recall_at_10: f64,
    pub mrr_at_10: f64,
}

/// Scores ranked result lists against the relevant identifiers of each query; queries with
/// nothing relevant are not counted.
pub fn retrieval(queries: &[(Vec<i64>, HashSet<i64>)], k: usize) -> Retrieval {
    let mut r = Retrieval::default();
    for (ranked, relevant) in queries {
        if relevant.is_empty() {
            continue;
        }
        r.queries += 1;
        let top = &ranked[..ranked.len().min(k)];
        let found = top.iter().filter(|d| relevant.contains(d)).count();
        if found > 0 {
            r.hit_at_10 += 1.0;
        }
        r.recall_at_10 += found as f64 / relevant.len() as f64;
        if let Some(rank) = top.iter().position(|d| relevant.contains(d)) {
            r.mrr_at_10 += 1.0 / (rank + 1) as f64;
        }
    }
    if r.queries > 0 {
        let n = r.queries as f64;
        r.hit_at_10 /= n;
        r.recall_at_10 /= n;
        r.mrr_at_10 /= n;
    }
    r
}

/// The "missing" protocol's split of what a query cites ([missing], issue 21): a visible half
/// the draft keeps, a hidden half it must be told about. Each cited document falls on a side
/// by a hash of (query, cited), so the split is fixed; when the hash puts every one on the same
/// side, the ones with the lower half of hash values become visible. `None` for fewer than two.
pub fn halves(query: i64, cited: &HashSet<i64>, seed: u64) -> Option<(HashSet<i64>, HashSet<i64>)> {
    if cited.len() < 2 {
        return None;
    }
    let hash = |c: i64| {
        splitmix(
            seed ^ (query as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (c as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        )
    };
    let mut order: Vec<(u64, i64)> = cited.iter().map(|&c| (hash(c), c)).collect();
    order.sort_unstable();
    let (mut visible, mut hidden): (HashSet<i64>, HashSet<i64>) = (HashSet::new(), HashSet::new());
    for &(h, c) in &order {
        if h & 1 == 0 {
            visible.insert(c);
        } else {
            hidden.insert(c);
        }
    }
    if visible.is_empty() || hidden.is_empty() {
        let half = order.len() / 2;
        visible = order[..half].iter().map(|(_, c)| *c).collect();
        hidden = order[half..].iter().map(|(_, c)| *c).collect();
    }
    Some((visible, hidden))
}

/// `ranked` without the documents in `known` (the reader's visible citations, boilerplate),
/// cut to `k`.
pub fn unknown_only(ranked: &[i64], known: &HashSet<i64>, k: usize) -> Vec<i64> {
    ranked
        .iter()
        .copied()
        .filter(|d| !known.contains(d))
        .take(k)
        .collect()
}

/// Odd-one-out accuracy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OddOneOut {
    pub triples: usize,
    pub accuracy: f64,
}

/// Builds up to `n` triples from `groups` (author or department -> documents) among the
/// documents the model knows, and scores the model on them. Deterministic for a seed.
pub fn odd_one_out(
    model: &Doc2Vec,
    groups: &HashMap<i64, Vec<i64>>,
    n: usize,
    seed: u64,
) -> OddOneOut {
    let known: Vec<i64> = model.doc_ids().to_vec();
    if known.len() < 3 {
        return OddOneOut::default();
    }
    let mut member_of: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut usable: Vec<Vec<i64>> = Vec::new();
    let mut keys: Vec<&i64> = groups.keys().collect();
    keys.sort();
    for key in keys {
        let docs: Vec<i64> = groups[key]
            .iter()
            .copied()
            .filter(|d| model.contains(*d))
            .collect();
        for d in &docs {
            member_of.entry(*d).or_default().insert(*key);
        }
        if docs.len() >= 2 {
            usable.push(docs);
        }
    }
    if usable.is_empty() {
        return OddOneOut::default();
    }
    let mut rng = Rng::new(seed);
    let (mut triples, mut right) = (0usize, 0usize);
    let empty = HashSet::new();
    for _ in 0..n * 20 {
        if triples == n {
            break;
        }
        let g = &usable[rng.below(usable.len() as u32) as usize];
        let a = g[rng.below(g.len() as u32) as usize];
        let b = g[rng.below(g.len() as u32) as usize];
        let c = known[rng.below(known.len() as u32) as usize];
        let (ga, gb, gc) = (
            member_of.get(&a).unwrap_or(&empty),
            member_of.get(&b).unwrap_or(&empty),
            member_of.get(&c).unwrap_or(&empty),
        );
        if a == b || c == a || c == b || !gc.is_disjoint(ga) || !gc.is_disjoint(gb) {
            continue;
        }
        let (Some(va), Some(vb), Some(vc)) = (
            model.document_vector(a),
            model.document_vector(b),
            model.document_vector(c),
        ) else {
            continue;
        };
        let (ab, ac, bc) = (
            Doc2Vec::cosine(va, vb),
            Doc2Vec::cosine(va, vc),
            Doc2Vec::cosine(vb, vc),
        );
        triples += 1;
        // The closest pair stays together; the third is the odd one out.
        if ab >= ac && ab >= bc {
            right += 1;
        }
    }
    OddOneOut {
        triples,
        accuracy: if triples > 0 {
            right as f64 / triples as f64
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrieval_metrics() {
        let q = vec![
            (vec![5, 1, 7], HashSet::from([1, 9])), // hit at rank 2, 1 of 2 found
            (vec![4, 6, 8], HashSet::from([2])),    // miss
            (vec![3], HashSet::new()),              // nothing relevant: not counted
        ];
        let r = retrieval(&q, 10);
        assert_eq!(r.queries, 2);
        assert!((r.hit_at_10 - 0.5).abs() < 1e-12);
        assert!((r.recall_at_10 - 0.25).abs() < 1e-12);
        assert!((r.mrr_at_10 - 0.25).abs() < 1e-12);
        assert_eq!(
            retrieval(
                &[(
                    vec![1; 20]
                        .into_iter()
                        .enumerate()
                        .map(|(i, _)| i as i64)
                        .collect(),
                    HashSet::from([15])
                )],
                10
            )
            .hit_at_10,
            0.0
        );
    }

    #[test]
    fn halves_are_fixed_disjoint_and_never_empty() {
        assert!(halves(1, &HashSet::from([5]), 1).is_none());
        for q in 0..200 {
            let cited: HashSet<i64> = (0..(2 + q % 7)).map(|c| c * 13 + q).collect();
            let (v, h) = halves(q, &cited, 1).unwrap();
            assert!(!v.is_empty() && !h.is_empty());
            assert!(v.is_disjoint(&h));
            assert_eq!(v.len() + h.len(), cited.len());
            assert_eq!(halves(q, &cited, 1), Some((v, h)));
        }
        assert_eq!(
            unknown_only(&[1, 2, 3, 4, 5], &HashSet::from([2, 4]), 2),
            [1, 3]
        );
    }

    #[test]
    fn splits_are_fixed_and_proportionate() {
        let parts: Vec<Part> = (0..20_000).map(|id| part_of(id, 1)).collect();
        let test = parts.iter().filter(|p| **p == Part::Test).count();
        let val = parts.iter().filter(|p| **p == Part::Validation).count();
        assert!(
            (800..1200).contains(&test) && (800..1200).contains(&val),
            "{test} {val}"
        );
        assert_eq!(part_of(9000, 1), part_of(9000, 1));
        assert_ne!(
            (0..100).map(|i| part_of(i, 1)).collect::<Vec<_>>(),
            (0..100).map(|i| part_of(i, 2)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn folds_cut_the_documents_into_four_near_equal_parts() {
        let mut sizes = [0usize; FOLDS as usize];
        for id in 0..20_000 {
            let of: Vec<u8> = (0..FOLDS).filter(|&k| in_fold(id, 1, k)).collect();
            assert_eq!(of.len(), 1, "document {id} is in folds {of:?}");
            sizes[of[0] as usize] += 1;
        }
        assert!(
            sizes.iter().all(|s| (4_700..5_300).contains(s)),
            "{sizes:?}"
        );
    }
}
