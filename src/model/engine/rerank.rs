//! The default engine's learned second look at a text's best candidates: a small ensemble of
//! regression trees (LambdaMART) that reorders the `CANDIDATES` best documents by the score,
//! from the score's parts and what the collection's links say about each candidate.
//!
//! The trees (`rerank.json`) were learned with `scripts/learn-rerank.py` from
//! `hamlet evaluate --split fold --fold 0..3 --dump`: queries drawn from each quarter of the RFC
//! training split, held out of the model they were asked of, judged on the "missing" and
//! "cited" views over the candidates the server sees (docs/MODEL.md, "The re-ranker"). The
//! service reads them once. The trees choose the order; the score a result shows is the
//! engine's score of its place (the candidates' scores, best first, down the new order), so
//! the badges fall down the list and a threshold keeps as many results as before (issue 41).

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Engine;
use crate::model::engine::links::popularity;
use crate::model::engine::score::{Named, Parts};

/// How many of a text's best documents by the score the re-ranker reorders.
pub(crate) const CANDIDATES: usize = 200;

/// What the trees read of each candidate, in their order: the one list, computed by
/// `Engine::features` for serving and for the research bench's dump, whose header names them
/// for `scripts/learn-rerank.py`, which writes them into `rerank.json`. "cites": how many
/// documents the text cites; "score": the engine's score times its weights' total; the parts;
/// "self": 1 / k for each of the k documents the text cites; "popularity": ln(1 + cited by)
/// over its largest; "co-cited/pop": co-citation over the candidate's citers rather than their
/// square root; "co-cited max": the strongest co-citation; "key terms": the share of the
/// candidate's key-term weight (idf) the text holds; "coupled 50^2": what the 50 documents
/// coupled most with the text cite, weighted by the coupling squared; "peers mixed": what the
/// 20 documents nearest by cosine plus coupling cite; "a*b": products of the parts; "log
/// rank": ln(1 + place by the score); "score / best"; then "X / most" (`RELATIVE`).
pub const FEATURES: [&str; 31] = [
    "cites",
    "score",
    "citation",
    "title",
    "cosine",
    "co-cited",
    "neighbours",
    "coupled",
    "self",
    "popularity",
    "co-cited/pop",
    "co-cited max",
    "key terms",
    "coupled 50^2",
    "peers mixed",
    "citation*co-cited",
    "citation*neighbours",
    "co-cited*neighbours",
    "log rank",
    "score / best",
    "citation / most",
    "title / most",
    "cosine / most",
    "co-cited / most",
    "neighbours / most",
    "coupled / most",
    "co-cited/pop / most",
    "co-cited max / most",
    "key terms / most",
    "coupled 50^2 / most",
    "peers mixed / most",
];

/// The features read a second time over their largest value among the candidates ("X /
/// most"): how a candidate stands against the rest of this text's list, not against every
/// text's (by position in `FEATURES`: citation to coupled, then co-cited/pop to peers mixed).
const RELATIVE: [usize; 11] = [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14];

/// Where the candidate's own features end and the relative ones begin.
const OWN: usize = FEATURES.len() - RELATIVE.len();

/// One tree, as flat arrays: at node `i`, a leaf with `value[i]` where `feature[i]` is -1,
/// else `left[i]` when the feature is at most `threshold[i]`, `right[i]` otherwise.
#[derive(Deserialize)]
struct Tree {
    feature: Vec<i32>,
    threshold: Vec<f64>,
    left: Vec<u32>,
    right: Vec<u32>,
    value: Vec<f64>,
}

impl Tree {
    /// Walks this tree alone (the reference `predict`'s compact walk is checked against).
    #[cfg(test)]
    fn predict(&self, x: &[f32]) -> f64 {
        let mut i = 0usize;
        loop {
            let f = self.feature[i];
            if f < 0 {
                return self.value[i];
            }
            i = if f64::from(x[f as usize]) <= self.threshold[i] {
                self.left[i]
            } else {
                self.right[i]
            } as usize;
        }
    }

    /// Whether every node points inside the tree at a feature there is.
    fn valid(&self) -> bool {
        let n = self.feature.len();
        n > 0
            && [
                self.threshold.len(),
                self.left.len(),
                self.right.len(),
                self.value.len(),
            ]
            .iter()
            .all(|&l| l == n)
            && (0..n).all(|i| {
                self.feature[i] < 0
                    || ((self.feature[i] as usize) < FEATURES.len()
                        && (self.left[i] as usize) < n
                        && (self.right[i] as usize) < n
                        && self.left[i] as usize > i
                        && self.right[i] as usize > i)
            })
    }
}

#[derive(Deserialize)]
struct Ensemble {
    features: Vec<String>,
    trees: Vec<Tree>,
}

/// A tree node as `Nodes` keeps it: `feature` `LEAF` at a leaf (then `threshold` is its
/// value), else the index of the left child in `Nodes::all` (the right one is `right`).
#[derive(Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
}

const LEAF: u32 = u32::MAX;

/// Every tree's nodes in one array, each tree's root at `roots[t]`: what `predict` walks,
/// 200 candidates by 300 trees a query, without chasing five arrays a node.
struct Nodes {
    all: Vec<Node>,
    roots: Vec<u32>,
}

/// The trees shipped with the service, read once.
fn ensemble() -> &'static Nodes {
    static TREES: OnceLock<Nodes> = OnceLock::new();
    TREES.get_or_init(|| {
        let e: Ensemble =
            serde_json::from_str(include_str!("rerank.json")).expect("rerank.json parses");
        assert!(
            e.features == FEATURES && e.trees.iter().all(Tree::valid),
            "rerank.json does not match rerank::FEATURES"
        );
        let mut nodes = Nodes {
            all: Vec::new(),
            roots: Vec::new(),
        };
        for t in &e.trees {
            let base = nodes.all.len() as u32;
            nodes.roots.push(base);
            nodes.all.extend((0..t.feature.len()).map(|i| {
                if t.feature[i] < 0 {
                    Node {
                        threshold: t.value[i],
                        feature: LEAF,
                        left: 0,
                        right: 0,
                    }
                } else {
                    Node {
                        threshold: t.threshold[i],
                        feature: t.feature[i] as u32,
                        left: base + t.left[i],
                        right: base + t.right[i],
                    }
                }
            }));
        }
        nodes
    })
}

/// Fills each candidate's "X / most" features: its `RELATIVE` features over their largest
/// among `rows` (at least 1e-9), as `scripts/learn-rerank.py` computes them.
fn relative(rows: &mut [[f32; FEATURES.len()]]) {
    for (j, &c) in RELATIVE.iter().enumerate() {
        let most = rows.iter().map(|x| x[c]).fold(f32::MIN, f32::max).max(1e-9);
        for x in rows.iter_mut() {
            x[OWN + j] = x[c] / most;
        }
    }
}

/// The re-ranker's value of one candidate's features: higher ranks first.
pub fn predict(x: &[f32; FEATURES.len()]) -> f64 {
    let e = ensemble();
    let mut sum = 0.0;
    for &root in &e.roots {
        let mut node = e.all[root as usize];
        while node.feature != LEAF {
            let next = if f64::from(x[node.feature as usize]) <= node.threshold {
                node.left
            } else {
                node.right
            };
            node = e.all[next as usize];
        }
        sum += node.threshold;
    }
    sum
}

/// What the collection's links say of every document for a text citing `cites`, beyond the
/// engine's own link terms (each `[docs]`): co-citation with what the text cites over the
/// document's citers (not their square root) and at its strongest; what the 50 documents
/// coupled most with the text cite (weighted by the coupling squared); what the 20 documents
/// nearest by cosine plus coupling cite (weighted by that, over 2, cubed).
pub(crate) struct LinkFeatures {
    pub pop_co: Vec<f32>,
    pub max_co: Vec<f32>,
    pub coupled50: Vec<f32>,
    pub mixed: Vec<f32>,
}

impl Engine {
    /// `LinkFeatures` for a text whose parts are `parts` and that cites `cites` (zeros
    /// without links).
    pub(crate) fn link_features(&self, parts: &[Parts], cites: &[usize]) -> LinkFeatures {
        let n = self.model.doc_ids.len();
        let mut f = LinkFeatures {
            pop_co: vec![0.0; n],
            max_co: vec![0.0; n],
            coupled50: vec![0.0; n],
            mixed: vec![0.0; n],
        };
        let Some(links) = self.links.as_ref() else {
            return f;
        };
        let k = cites.len().max(1) as f32;
        links.each_cocited(cites, |_, d, both, nx, nd| {
            f.pop_co[d] += both / (nx.sqrt() * nd) / k;
            f.max_co[d] = f.max_co[d].max(both / (nx * nd).sqrt());
        });
        // Every coupled document, strongest first: its first 50 are `coupled(cites, 50)`.
        let coupled = links.coupled(cites, usize::MAX);
        let squared: Vec<(usize, f32)> =
            coupled.iter().take(50).map(|&(y, c)| (y, c * c)).collect();
        links.cited_by_neighbours(&squared, &mut f.coupled50);
        let mut sim: Vec<f32> = parts.iter().map(|p| p.cosine).collect();
        for (y, c) in coupled {
            sim[y] += c;
        }
        let near: Vec<(usize, f32)> = crate::model::text::lexical::top(&sim, 20)
            .into_iter()
            .map(|(y, c)| (y, (c / 2.0).max(0.0).powi(3)))
            .collect();
        links.cited_by_neighbours(&near, &mut f.mixed);
        f
    }

    /// The share of document `d`'s key terms (by idf over the training texts' words) that a
    /// text holds (`present`); 0 for a model without key terms.
    pub(crate) fn key_share(&self, d: usize, present: &dyn Fn(u32) -> bool) -> f32 {
        let vocab = &self.model.vocab;
        let all_words = *self
            .word_total
            .get_or_init(|| vocab.counts.iter().sum::<u64>() as f64);
        self.key_terms.as_ref().map_or(0.0, |kt| {
            let (mut have, mut all) = (0.0f32, 0.0f32);
            for &t in kt.of(d) {
                let idf = (all_words / vocab.counts[t as usize].max(1) as f64).ln() as f32;
                all += idf;
                if present(t) {
                    have += idf;
                }
            }
            if all > 0.0 {
                have / all
            } else {
                0.0
            }
        })
    }

    /// A text's best `k` documents (at least `rerank::CANDIDATES` where the model re-ranks,
    /// in the re-ranker's order) as (index, score), from its `scores` (minus infinity: not
    /// admitted) and what `engine_text` gave with them.
    pub(crate) fn ranked_text(
        &self,
        words: &[u32],
        scores: &[f32],
        parts: &[Parts],
        named: &Named,
        k: usize,
    ) -> Vec<(usize, f32)> {
        if !self.reranks() {
            return crate::model::engine::score::best(scores, k, None);
        }
        let ranked: Vec<(usize, f32)> =
            crate::model::engine::score::best(scores, k.max(CANDIDATES), None)
                .into_iter()
                .filter(|(_, s)| s.is_finite())
                .collect();
        self.rerank(words, parts, named, ranked)
    }

    /// Whether a text's candidates are reordered: the default engine, asked to, over a
    /// collection with citation links (what the trees were learned on).
    pub(crate) fn reranks(&self) -> bool {
        self.model.config.rerank && self.links.as_ref().is_some_and(|l| !l.is_empty())
    }

    /// `ranked` (a text's best documents by the score, best first, as (index, score)) with its
    /// first `CANDIDATES` in the re-ranker's order, each carrying the score of its new place;
    /// the rest unchanged.
    /// `words`, `parts` and `named`: the text's, as `engine_text` gave them.
    pub(crate) fn rerank(
        &self,
        words: &[u32],
        parts: &[Parts],
        named: &Named,
        mut ranked: Vec<(usize, f32)>,
    ) -> Vec<(usize, f32)> {
        let head = ranked.len().min(CANDIDATES);
        if head < 2 || self.links.is_none() {
            return ranked;
        }
        let rows = self.features(words, parts, named, &ranked[..head]);
        let mut order: Vec<(f64, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, x)| (predict(x), i))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        // The score a place shows is the score of that place: the candidates' scores, best
        // first, handed down the new order, so the list never shows a lower score above a
        // higher one (issue 41) and a threshold cuts as many as before.
        let reordered: Vec<(usize, f32)> = order
            .iter()
            .zip(&ranked[..head])
            .map(|(&(_, i), &(_, place))| (ranked[i].0, place))
            .collect();
        ranked.splice(..head, reordered);
        ranked
    }

    /// The `FEATURES` of a text's candidates `ranked` (best first by the score, as (index,
    /// score)), one row each: what the trees read, and what the research bench's dump writes
    /// for learning them, so the two can never disagree. Empty without links.
    pub(crate) fn features(
        &self,
        words: &[u32],
        parts: &[Parts],
        named: &Named,
        ranked: &[(usize, f32)],
    ) -> Vec<[f32; FEATURES.len()]> {
        let (Some(links), Some(&(_, first))) = (self.links.as_ref(), ranked.first()) else {
            return Vec::new();
        };
        let cites = &named.cites;
        let k = cites.len().max(1) as f32;
        let cited: HashSet<usize> = cites.iter().copied().collect();
        let total = self.model.config.scoring.total();
        let LinkFeatures {
            pop_co,
            max_co,
            coupled50,
            mixed,
        } = self.link_features(parts, cites);
        let max_in = links.most_cited() as f32;
        let present: HashSet<u32> = words.iter().copied().collect();
        let best = first * total;
        let mut rows: Vec<[f32; FEATURES.len()]> = Vec::with_capacity(ranked.len());
        for (i, &(d, score)) in ranked.iter().enumerate() {
            let p = &parts[d];
            let indeg = links.cited_by(d).len() as f32;
            let key = self.key_share(d, &|t| present.contains(&t));
            let own = [
                cites.len() as f32,
                score * total,
                p.citation,
                p.title,
                p.cosine,
                p.cocited,
                p.neighbours,
                p.coupled,
                if cited.contains(&d) { 1.0 / k } else { 0.0 },
                popularity(indeg, max_in),
                pop_co[d],
                max_co[d],
                key,
                coupled50[d],
                mixed[d],
                p.citation * p.cocited,
                p.citation * p.neighbours,
                p.cocited * p.neighbours,
                (1.0 + i as f32).ln(),
                score * total / best.max(1e-9),
            ];
            let mut x = [0.0f32; FEATURES.len()];
            x[..OWN].copy_from_slice(&own);
            rows.push(x);
        }
        relative(&mut rows);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_trees_read_every_feature_they_name_and_answer_finitely() {
        let e = ensemble();
        assert!(e.roots.len() >= 10);
        let used: HashSet<u32> = e
            .all
            .iter()
            .filter(|n| n.feature != LEAF)
            .map(|n| n.feature)
            .collect();
        // The trees split on the score and on the link features, not on one column alone.
        assert!(used.len() >= 8, "{used:?}");
        let low = predict(&[0.0; FEATURES.len()]);
        let mut x = [0.0f32; FEATURES.len()];
        x[1] = 1.5; // score
        x[5] = 0.8; // co-cited
        x[7] = 0.5; // coupled
        x[19] = 1.0; // score / best
        x[OWN + 3] = 1.0; // co-cited / most
        x[OWN + 5] = 1.0; // coupled / most
        let high = predict(&x);
        assert!(low.is_finite() && high.is_finite());
        // A candidate with a high score and strong links outranks one with nothing.
        assert!(high > low, "{high} <= {low}");
    }

    #[test]
    fn the_shipped_trees_name_the_features_the_server_computes() {
        // scripts/learn-rerank.py writes the dump's feature columns into rerank.json; the dump
        // writes `FEATURES` (what `Engine::features` computes). Relearned trees that read
        // other columns, or the same in another order, fail here rather than at first use.
        let e: Ensemble = serde_json::from_str(include_str!("rerank.json")).unwrap();
        assert_eq!(e.features, FEATURES);
        assert!(e.trees.iter().all(Tree::valid));
        assert!(e
            .trees
            .iter()
            .flat_map(|t| &t.feature)
            .all(|&f| f < FEATURES.len() as i32));
    }

    #[test]
    fn relative_features_are_over_the_lists_largest() {
        assert_eq!(FEATURES[OWN], "citation / most");
        for (j, &c) in RELATIVE.iter().enumerate() {
            assert_eq!(FEATURES[OWN + j], format!("{} / most", FEATURES[c]));
        }
        let mut rows = [[0.0f32; FEATURES.len()]; 3];
        rows[0][5] = 0.2;
        rows[1][5] = 0.8;
        rows[2][5] = 0.4;
        rows[0][4] = -0.5; // a column with nothing above 0 divides by 1e-9, not by its largest
        relative(&mut rows);
        let co = OWN + 3;
        assert_eq!([rows[0][co], rows[1][co], rows[2][co]], [0.25, 1.0, 0.5]);
        assert_eq!(rows[0][OWN + 2], -0.5 / 1e-9);
        assert_eq!(rows[1][OWN + 2], 0.0);
        assert!(rows.iter().all(|x| x[OWN] == 0.0), "all zeros stay zeros");
    }

    #[test]
    fn a_tree_goes_left_at_or_below_its_threshold() {
        let t = Tree {
            feature: vec![2, -1, -1],
            threshold: vec![0.5, 0.0, 0.0],
            left: vec![1, 0, 0],
            right: vec![2, 0, 0],
            value: vec![0.0, -1.0, 1.0],
        };
        assert!(t.valid());
        let mut x = [0.0f32; FEATURES.len()];
        x[2] = 0.5;
        assert_eq!(t.predict(&x), -1.0);
        x[2] = 0.6;
        assert_eq!(t.predict(&x), 1.0);
        // The shipped ensemble's compact walk gives what each tree's own walk gives.
        let trees: Ensemble = serde_json::from_str(include_str!("rerank.json")).unwrap();
        let mut y = [0.0f32; FEATURES.len()];
        for (i, v) in y.iter_mut().enumerate() {
            *v = (i as f32 * 0.37).fract();
        }
        let own: f64 = trees.trees.iter().map(|t| t.predict(&y)).sum();
        assert!((own - predict(&y)).abs() < 1e-9, "{own} {}", predict(&y));
        // A node pointing back (a loop) or at a feature there is not is refused.
        let bad = Tree {
            feature: vec![2, -1],
            threshold: vec![0.5, 0.0],
            left: vec![0, 0],
            right: vec![1, 0],
            value: vec![0.0, 0.0],
        };
        assert!(!bad.valid());
        let bad = Tree {
            feature: vec![99, -1, -1],
            ..t
        };
        assert!(!bad.valid());
    }
}
