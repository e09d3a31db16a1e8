//! Asking the model: `Doc2Vec::query` (a document or a text -> matches with why, and a place on
//! the map), and the default engine's scoring behind it: paragraph vectors that predict
//! citations, fused with title mentions.
//!
//! Training (`train`, with `ModelConfig::cites` > 0): PV-DBOW, where each document's vector
//! predicts its words and also, through negative sampling, each collection document it cites
//! (a citation target `@cites:ID` in the vocabulary, `vocab::cite_token`). The output row of a
//! cited document then points where the vectors of documents that cite it lie: documents about
//! the same things, written by people who read it. (Le & Mikolov 2014 for the vectors; the
//! citation targets are ours: the same negative-sampling step a word gets.)
//!
//! Scoring a new text: its vector `q` is inferred from its words (no text can name a citation
//! target), and each collection document `d` gets
//!
//! ```text
//! score = (sigmoid(q . cite_d) + title_weight * mentions(text, title_d)
//!          + cosine_weight * max(0, cos(q, v_d))) / (1 + title_weight + cosine_weight)
//! ```
//!
//! in [0, 1]: the predicted probability that such a text cites `d` (0 for documents nobody in
//! the collection cites), how much of `d`'s title the text names (`titles`), and the cosine
//! of document vectors, the original's measure. For a known document `x` the query is its
//! trained vector, and the citation term is the larger of "x cites d" and "d cites x", with no
//! title term (the model keeps no texts).
//!
//! Shapes: citation targets `[docs, dim]` f32 (zero rows for documents never cited) stacked
//! under the normalised document vectors in the scanner, so one matrix-vector product gives
//! both terms for every document.

use std::collections::HashSet;

use serde::Serialize;

use crate::model::train::sgd::Rows;
use crate::model::{Doc2Vec, Error, Similar};

/// Why a result matched: what drove its score, in words a reader can check.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Why {
    /// Distinctive words of the result that the query shares (its key terms, `keyterms`),
    /// most distinctive first.
    pub terms: Vec<String>,
    /// The query names this document's title (more than half of its weight, `titles`).
    pub names_title: bool,
    /// How many documents of the collection cite the result (the citation term's evidence);
    /// absent for models without citation targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited_by: Option<u32>,
    /// The parts of the score: predicted citation, title mention, cosine, expansion (each in
    /// [0, 1]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Parts>,
    /// The document the query names (cites) that this result is most like, or most often
    /// cited with, when that is what led to it: "most like RFC 9001, which you cite".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<i64>,
    /// `via` is the cited document this one is most often cited with (co-citation), not the
    /// one it is most like.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub via_cocited: bool,
    /// How many of the documents most like the query (`NEIGHBOURS`) cite this one, when some
    /// do: "cited by 4 of the 20 documents most like yours".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbours_citing: Option<u32>,
    /// Out of how many (`NEIGHBOURS`), with `neighbours_citing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbours_of: Option<u32>,
    /// How many of the documents that share most of the query's citations (`PEERS`) also cite
    /// this one, when some do: "cited by 6 of the 20 documents that cite what you cite".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers_citing: Option<u32>,
    /// Out of how many, with `peers_citing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers_of: Option<u32>,
}

/// The terms of the default engine's score, before weighting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Parts {
    pub citation: f32,
    pub title: f32,
    pub cosine: f32,
    /// How like the documents the query names (cites) this one is (`expansion`); 0 when the
    /// query names none.
    pub expansion: f32,
    /// Co-citation with the documents the query cites (`links::Links::cocited`).
    #[serde(default)]
    pub cocited: f32,
    /// The weighted share of the documents most like the query that cite this one
    /// (`links::Links::cited_by_neighbours`).
    #[serde(default)]
    pub neighbours: f32,
    /// The weighted share of the documents that share most of the query's citations that cite
    /// this one too (`links::Links::coupled`).
    #[serde(default)]
    pub coupled: f32,
}

/// What a new text's query knows beyond its vector: the documents it names (model order) and
/// the per-document relations to them that make the expansion term.
pub(crate) struct Named {
    /// Documents the text names by identifier or title (`mentions::named`).
    pub docs: Vec<usize>,
    /// The ones of them it cites (`mentions::named`): flagged `already_cited`, listed last.
    pub cites: Vec<usize>,
    /// For each document, the named one it is most like (`Why::via`).
    pub via: Vec<Option<usize>>,
    /// Whether `via` is the one it is most often cited with instead (`Why::via_cocited`).
    pub via_cocited: Vec<bool>,
    /// The expansion term's evidence, per document: four relations to the named documents
    /// ("a named document cites d", "d cites a named document", the cosine of document
    /// vectors, co-citation: the cosine of citation targets), each averaged over the named
    /// documents (`REL_MEAN + r`) and at its strongest (`REL_ANY + r`: the chance that any
    /// named document relates, 1 - prod(1 - p), for the two probabilities; the largest, for the
    /// two cosines).
    pub rel: [Vec<f32>; 8],
    /// The documents most like the text (`NEIGHBOURS`) and their weights, when the link terms
    /// were computed.
    pub neighbours: Vec<(usize, f32)>,
    /// The documents that share most of the text's citations (`PEERS`) and their weights,
    /// when the coupling term was computed.
    pub peers: Vec<(usize, f32)>,
}

/// A text's link terms (`Doc2Vec::link_terms`), per document in model order; empty vectors
/// where not computed.
#[derive(Default)]
struct LinkTerms {
    cocited: Vec<f32>,
    /// The cited document each one is most often cited with.
    with: Vec<Option<usize>>,
    neighbours: Vec<f32>,
    /// The nearest documents and their weights.
    near: Vec<(usize, f32)>,
    coupled: Vec<f32>,
    /// The documents that share most of the text's citations, and their weights.
    peers: Vec<(usize, f32)>,
}

/// How many of the documents most like a text say what it should cite, and how sharply their
/// say falls with their cosine (weight cosine^power); tuned on the validation split
/// (docs/MODEL.md, "What is missing").
pub(crate) const NEIGHBOURS: usize = 20;
const NEIGHBOUR_POWER: i32 = 3;

/// How many of the documents that share most of a text's citations (bibliographic coupling)
/// say what else it should cite, each weighted by the cosine of the two citation lists;
/// tuned on the validation split (docs/MODEL.md, "What is missing").
pub(crate) const PEERS: usize = 20;

/// Where `Named::rel` keeps each relation's mean and strongest value.
pub(crate) const REL_MEAN: usize = 0;
pub(crate) const REL_ANY: usize = 4;

/// Words listed in a `Why`.
const WHY_TERMS: usize = 5;

/// The citation targets of a model with them, per document in model order.
pub(crate) struct Cited {
    /// Whether document `d` has a citation target (someone in the collection cites it).
    has_target: Vec<bool>,
    /// How many training documents cite document `d`.
    cited_by: Vec<u32>,
    /// The norm of each document vector (the scanner keeps them normalised).
    norms: Vec<f32>,
    /// The norm of each document's citation target (0 without one).
    target_norms: Vec<f32>,
}

impl Cited {
    /// Finds the citation targets of `model`'s documents in its vocabulary and returns them as
    /// `[docs, dim]` rows for the scanner (zero rows where a document has none).
    pub(crate) fn find(tables: &Tables<'_>) -> (Cited, Vec<f32>) {
        let Tables {
            vocab,
            output,
            doc_ids,
            doc_vectors,
            dim,
            cites,
        } = *tables;
        let mut targets = vec![0.0f32; doc_ids.len() * dim];
        let mut has_target = vec![false; doc_ids.len()];
        let mut cited_by = vec![0u32; doc_ids.len()];
        for (d, &id) in doc_ids.iter().enumerate() {
            if let Some(row) = vocab.get(&crate::model::text::vocab::cite_token(id)) {
                output.read(row as usize, dim, &mut targets[d * dim..(d + 1) * dim]);
                has_target[d] = true;
                cited_by[d] = (vocab.counts[row as usize] / cites.max(1) as u64) as u32;
            }
        }
        let norms = doc_vectors
            .chunks(dim.max(1))
            .map(|r| crate::model::train::sgd::dot(r, r).sqrt())
            .collect();
        let target_norms = targets
            .chunks(dim.max(1))
            .map(|r| crate::model::train::sgd::dot(r, r).sqrt())
            .collect();
        (
            Cited {
                has_target,
                cited_by,
                norms,
                target_norms,
            },
            targets,
        )
    }
}

/// What `Cited::find` reads of a model under construction.
#[derive(Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub vocab: &'a crate::model::text::vocab::Vocab,
    pub output: &'a crate::model::io::weights::Weights,
    pub doc_ids: &'a [i64],
    pub doc_vectors: &'a [f32],
    pub dim: usize,
    pub cites: usize,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Which documents a query may answer with (by identifier); `None`: all of them.
pub type Keep<'a> = Option<&'a (dyn Fn(i64) -> bool + Sync)>;

/// Scores of the documents `keep` does not admit set to minus infinity: below any least
/// score, so they are never listed.
pub(crate) fn drop_unkept(scores: &mut [f32], ids: &[i64], keep: &(dyn Fn(i64) -> bool + Sync)) {
    for (s, &id) in scores.iter_mut().zip(ids) {
        if !keep(id) {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// The `k` best of `scores` as (index, score), best first, `exclude` left out.
pub(crate) fn best(scores: &[f32], k: usize, exclude: Option<usize>) -> Vec<(usize, f32)> {
    let top = crate::model::text::lexical::top(scores, k + usize::from(exclude.is_some()));
    top.into_iter()
        .filter(|(i, _)| Some(*i) != exclude)
        .take(k)
        .collect()
}

impl Doc2Vec {
    /// Whether this model is the default engine's (citation targets and title mentions).
    pub fn is_engine(&self) -> bool {
        self.cited.is_some()
    }

    /// The default least scores for a known document and for a new text: the original's
    /// cosine thresholds (0.75, 0.65) for models scored by cosine; the default engine's scores
    /// are on another scale (docs/MODEL.md, "The default engine").
    pub fn default_min_scores(&self) -> (f32, f32) {
        if self.is_engine() {
            // The link terms add weight to the mean that a text citing nothing gets none of:
            // the text's bar is lowered by as much, so that such a text keeps its results.
            let w = Weights::of(&self.config);
            let without_links = w.total() - w.cocite - w.neighbours - w.coupled;
            (
                ENGINE_DOCUMENT_MIN_SCORE,
                ENGINE_TEXT_MIN_SCORE * without_links / w.total(),
            )
        } else {
            (0.75, 0.65)
        }
    }

    /// The engine's parts for every document, for a query vector `q` (and, for a known
    /// document, its index: the citation term then looks both ways).
    fn engine_parts(&self, q: &[f32], known: Option<usize>) -> (Vec<f32>, Vec<f32>) {
        let cited = self
            .cited
            .as_ref()
            .expect("engine models have citation targets");
        let n = self.doc_ids.len();
        let norm = crate::model::train::sgd::dot(q, q).sqrt();
        if norm == 0.0 {
            return (vec![0.0; n], vec![0.0; n]);
        }
        let products = self.scanner.products(q);
        let mut citation: Vec<f32> = (0..n)
            .map(|d| {
                if cited.has_target[d] {
                    sigmoid(products[n + d])
                } else {
                    0.0
                }
            })
            .collect();
        // products[..n] are v_d/|v_d| . q: the cosine is that over |q|.
        let cosine: Vec<f32> = products[..n].iter().map(|p| (p / norm).max(0.0)).collect();
        if let Some(x) = known.filter(|&x| cited.has_target[x]) {
            // "d cites x": v_d . cite_x = |v_d| (v_d/|v_d| . cite_x).
            let dim = self.config.dim;
            let target = self.cite_row(x, dim);
            let back = self.scanner.products(&target);
            for d in 0..n {
                citation[d] = citation[d].max(sigmoid(cited.norms[d] * back[d]));
            }
        }
        (citation, cosine)
    }

    /// Document `x`'s citation target, as the scanner holds it.
    fn cite_row(&self, x: usize, dim: usize) -> Vec<f32> {
        // The output row itself, read back from the output table.
        let mut row = vec![0.0f32; dim];
        if let Some(r) = self
            .vocab
            .get(&crate::model::text::vocab::cite_token(self.doc_ids[x]))
        {
            self.output_weights.read(r as usize, dim, &mut row);
        }
        row
    }

    /// The documents `text` names (model order), by identifier or by title (`title` holds its
    /// title mentions).
    fn named_docs(&self, text: &str, title: &[f32]) -> (Vec<usize>, Vec<usize>) {
        let specific = |d: usize| {
            self.titles.as_ref().is_some_and(|t| {
                t.grams_of(d) >= crate::model::text::mentions::MIN_TITLE_GRAMS_NAMED
            })
        };
        let (mut docs, cites) = crate::model::text::mentions::named(
            self.config.id_mentions,
            text,
            &self.doc_index,
            title,
            specific,
        );
        docs.truncate(MAX_NAMED);
        (docs, cites)
    }

    /// How every document relates to the named documents `docs`: the expansion term's
    /// evidence.
    /// `all`: every relation (`Named::rel`); otherwise only what `EXPAND_MIX` uses.
    pub(crate) fn relations(&self, docs: Vec<usize>, cites: Vec<usize>, all: bool) -> Named {
        let n = self.doc_ids.len();
        let mut named = Named {
            docs,
            cites,
            neighbours: Vec::new(),
            peers: Vec::new(),
            via: vec![None; n],
            via_cocited: vec![false; n],
            // Only the relations the score uses, outside the sweep: one `[docs]` row a request.
            rel: std::array::from_fn(|r| {
                if all || EXPAND_MIX[r] != 0.0 {
                    vec![0.0; n]
                } else {
                    Vec::new()
                }
            }),
        };
        let Some(cited) = self.cited.as_ref() else {
            return named;
        };
        let k = named.docs.len();
        if k == 0 || (!all && self.config.expand_weight == 0.0) {
            return named;
        }
        let dim = self.config.dim;
        if !all {
            // What the score uses ("x cites d", `EXPAND_MIX`): each named document's vector
            // against the citation targets alone, one matrix product.
            let mut rows = Vec::with_capacity(k * dim);
            for &x in &named.docs {
                rows.extend_from_slice(&self.doc_vectors[x * dim..(x + 1) * dim]);
            }
            let sigmoids = self.scanner.target_sigmoids_many(&rows, k);
            if sigmoids.len() < n * k {
                return named;
            }
            let kf = k as f32;
            for d in (0..n).filter(|&d| cited.has_target[d]) {
                let mut best = 0.0f32;
                for (j, &x) in named.docs.iter().enumerate() {
                    if x == d {
                        continue;
                    }
                    let fwd = sigmoids[d * k + j];
                    named.rel[REL_MEAN][d] += fwd / kf;
                    if fwd > best {
                        best = fwd;
                        named.via[d] = Some(x);
                    }
                }
            }
            return named;
        }
        // Every relation (the evaluation's sweep): each named document's vector ("x cites d",
        // cosine), then its citation target ("d cites x"); one matrix product answers all.
        // The two chances start as products of (1 - p), made 1 - product at the end.
        named.rel[REL_ANY].fill(1.0);
        named.rel[REL_ANY + 1].fill(1.0);
        let mut rows = Vec::with_capacity(2 * k * dim);
        for &x in &named.docs {
            rows.extend_from_slice(&self.doc_vectors[x * dim..(x + 1) * dim]);
        }
        for &x in &named.docs {
            rows.extend(self.cite_row(x, dim));
        }
        let products = self.scanner.products_many(&rows, 2 * k);
        let has_targets = products.len() >= 2 * n * 2 * k;
        let width = 2 * k;
        let mut best = vec![0.0f32; n];
        for d in 0..n {
            for (j, &x) in named.docs.iter().enumerate() {
                if x == d {
                    continue;
                }
                let norm_x = cited.norms[x];
                let cos = if norm_x > 0.0 {
                    (products[d * width + j] / norm_x).max(0.0)
                } else {
                    0.0
                };
                let fwd = if has_targets && cited.has_target[d] {
                    sigmoid(products[(n + d) * width + j])
                } else {
                    0.0
                };
                let back = if cited.has_target[x] {
                    sigmoid(cited.norms[d] * products[d * width + k + j])
                } else {
                    0.0
                };
                let co = if has_targets && cited.has_target[x] && cited.has_target[d] {
                    let norms = cited.target_norms[x] * cited.target_norms[d];
                    (products[(n + d) * width + k + j] / norms.max(1e-12)).max(0.0)
                } else {
                    0.0
                };
                let values = [fwd, back, cos, co];
                for (r, v) in values.into_iter().enumerate() {
                    named.rel[REL_MEAN + r][d] += v;
                }
                named.rel[REL_ANY][d] *= 1.0 - fwd;
                named.rel[REL_ANY + 1][d] *= 1.0 - back;
                named.rel[REL_ANY + 2][d] = named.rel[REL_ANY + 2][d].max(cos);
                named.rel[REL_ANY + 3][d] = named.rel[REL_ANY + 3][d].max(co);
                let rel: f32 = (0..4)
                    .map(|r| (EXPAND_MIX[REL_MEAN + r] + EXPAND_MIX[REL_ANY + r]) * values[r])
                    .sum();
                if rel > best[d] {
                    best[d] = rel;
                    named.via[d] = Some(x);
                }
            }
        }
        let kf = k as f32;
        for d in 0..n {
            for r in 0..4 {
                named.rel[REL_MEAN + r][d] /= kf;
            }
            named.rel[REL_ANY][d] = 1.0 - named.rel[REL_ANY][d];
            named.rel[REL_ANY + 1][d] = 1.0 - named.rel[REL_ANY + 1][d];
        }
        named
    }

    /// The engine's score of every document for a new text (`words`: its vocabulary indices),
    /// the parts it was made of, what the text names, and its vector: inferred, like a
    /// training document's, from its words and the citation targets of the documents it cites
    /// (`infer_citing`). `all_relations`: every relation of the expansion, for the
    /// evaluation's sweep; otherwise the ones it uses.
    pub(crate) fn engine_text(
        &self,
        text: &str,
        words: &[u32],
        all_relations: bool,
    ) -> (Vec<f32>, Vec<Parts>, Named, Vec<f32>) {
        let n = self.doc_ids.len();
        let title = match &self.titles {
            Some(t) => t.mentions(&crate::model::text::titles::text_grams(text)),
            None => vec![0.0; n],
        };
        let (docs, cites) = self.named_docs(text, &title);
        let q = self.infer_citing(words, &cites);
        let (citation, cosine) = self.engine_parts(&q, None);
        let mut named = self.relations(docs, cites, all_relations);
        let w = Weights::of(&self.config);
        let links = self.link_terms(&named.cites, &cosine, &w, all_relations);
        let mut scores = Vec::with_capacity(n);
        let mut parts = Vec::with_capacity(n);
        for d in 0..n {
            let p = Parts {
                citation: citation[d],
                title: title[d],
                cosine: cosine[d],
                expansion: expansion(&named, d),
                cocited: links.cocited.get(d).copied().unwrap_or(0.0),
                neighbours: links.neighbours.get(d).copied().unwrap_or(0.0),
                coupled: links.coupled.get(d).copied().unwrap_or(0.0),
            };
            // What led to it: the cited work it is most often cited with, where that weighs
            // more than the one it is most like.
            if w.cocite * p.cocited > w.expansion * p.expansion {
                if let Some(x) = links.with.get(d).copied().flatten() {
                    named.via[d] = Some(x);
                    named.via_cocited[d] = true;
                }
            }
            scores.push(w.score(&p));
            parts.push(p);
        }
        named.neighbours = links.near;
        named.peers = links.peers;
        (scores, parts, named, q)
    }

    /// The link terms of a text that cites `cites` (model order) and whose cosine with every
    /// document is `cosine`: co-citation with what it cites, what its `NEIGHBOURS` nearest
    /// documents cite, and what the `PEERS` documents that share most of its citations cite;
    /// empty where the model keeps no links or does not weigh them.
    /// `all`: computed whatever the weights (the evaluation's sweep).
    fn link_terms(&self, cites: &[usize], cosine: &[f32], w: &Weights, all: bool) -> LinkTerms {
        let mut terms = LinkTerms::default();
        let Some(links) = self.links.as_ref() else {
            return terms;
        };
        let n = self.doc_ids.len();
        if (w.cocite > 0.0 || all) && !cites.is_empty() {
            terms.cocited = vec![0.0; n];
            terms.with = vec![None; n];
            links.cocited(cites, &mut terms.cocited, Some(&mut terms.with));
        }
        if w.neighbours > 0.0 || all {
            terms.near = crate::model::text::lexical::top(cosine, NEIGHBOURS)
                .into_iter()
                .map(|(y, c)| (y, c.max(0.0).powi(NEIGHBOUR_POWER)))
                .collect();
            terms.neighbours = vec![0.0; n];
            links.cited_by_neighbours(&terms.near, &mut terms.neighbours);
        }
        if (w.coupled > 0.0 || all) && !cites.is_empty() {
            terms.peers = links.coupled(cites, PEERS);
            terms.coupled = vec![0.0; n];
            links.cited_by_neighbours(&terms.peers, &mut terms.coupled);
        }
        terms
    }

    /// The engine's score of every document for a known document (index `x`).
    fn engine_document_scores(&self, x: usize) -> (Vec<f32>, Vec<Parts>) {
        let dim = self.config.dim;
        let q = self.doc_vectors[x * dim..(x + 1) * dim].to_vec();
        let (citation, cosine) = self.engine_parts(&q, Some(x));
        let wc = self.config.cosine_weight;
        let scale = 1.0 + wc;
        let scores = citation
            .iter()
            .zip(&cosine)
            .map(|(c, s)| (c + wc * s) / scale)
            .collect();
        let parts = citation
            .iter()
            .zip(&cosine)
            .map(|(&citation, &cosine)| Parts {
                citation,
                cosine,
                ..Parts::default()
            })
            .collect();
        (scores, parts)
    }

    /// The one way to ask the model, for the pages, the API, author pages, the map and the
    /// evaluation: the documents most like `query`, best first, at most `limit` scoring at
    /// least `min_score`, each with why it matched; and where the query falls on the map.
    ///
    /// For a text, the default engine lists the documents it does not name first, then the
    /// ones it names (`already_cited`) that score above the last of those. Models without
    /// citation targets score by cosine and flag nothing. A document the model does not hold
    /// is an error (`Error::UnknownDocument`); a text never is.
    pub fn query(&self, query: Query<'_>, limit: usize, min_score: f32) -> Result<Answer, Error> {
        self.query_within(query, limit, min_score, None)
    }

    /// `query`, among the documents `keep` admits only (a reader's filters: years,
    /// departments, degree), applied before the top `limit` are cut: asking for 10 from 2020 on
    /// gives 10 when 10 exist.
    pub fn query_within(
        &self,
        query: Query<'_>,
        limit: usize,
        min_score: f32,
        keep: Keep<'_>,
    ) -> Result<Answer, Error> {
        match query {
            Query::Document(id) => {
                let x = *self.doc_index.get(&id).ok_or(Error::UnknownDocument(id))?;
                Ok(Answer {
                    matches: self.document_matches(x, limit, min_score, keep),
                    place: self.layout.as_ref().map(|l| [l[2 * x], l[2 * x + 1]]),
                })
            }
            Query::Text(text) | Query::TextOnMap(text) => {
                let words = self.vocab.indices(text);
                let (matches, q) = self.text_matches(text, &words, limit, min_score, keep);
                let place = match query {
                    Query::TextOnMap(_) if !words.is_empty() => self.place(&q),
                    _ => None,
                };
                Ok(Answer { matches, place })
            }
        }
    }

    /// `query` for a text whose words (vocabulary indices) are known; with the text's
    /// inferred vector.
    fn text_matches(
        &self,
        text: &str,
        words: &[u32],
        limit: usize,
        min_score: f32,
        keep: Keep<'_>,
    ) -> (Vec<Match>, Vec<f32>) {
        // Words as common as "the" explain nothing, even where a short document keeps them.
        let common = crate::model::labels::first_uncommon(&self.vocab);
        let shared: HashSet<u32> = words.iter().copied().filter(|&w| w >= common).collect();
        if !self.is_engine() {
            let q = self.infer_indices(words);
            let matches = self
                .nearest(&q, limit, min_score, None, keep)
                .into_iter()
                .map(|s| {
                    let d = self.doc_index[&s.identifier];
                    self.matched(d, s.score, &shared, None)
                })
                .collect();
            return (matches, q);
        }
        let (mut scores, parts, named, q) = self.engine_text(text, words, false);
        if let Some(keep) = keep {
            drop_unkept(&mut scores, &self.doc_ids, keep);
        }
        let cites: HashSet<usize> = named.cites.iter().copied().collect();
        let ranked = self.ranked_text(words, &scores, &parts, &named, limit + cites.len());
        let mut new: Vec<Match> = Vec::new();
        let mut old: Vec<(usize, f32)> = Vec::new();
        for (d, score) in ranked {
            // Re-ranked candidates are not in score order: each is checked.
            if score < min_score {
                continue;
            }
            if cites.contains(&d) {
                old.push((d, score));
            } else if new.len() < limit {
                let mut m = self.matched(d, score, &shared, Some(parts[d]));
                m.why.via = named.via[d]
                    .filter(|_| parts[d].expansion > 0.0 || parts[d].cocited > 0.0)
                    .map(|x| self.doc_ids[x]);
                m.why.via_cocited = m.why.via.is_some() && named.via_cocited[d];
                m.why.neighbours_citing = self.citing(&named.neighbours, d);
                m.why.neighbours_of = m
                    .why
                    .neighbours_citing
                    .map(|_| named.neighbours.len() as u32);
                m.why.peers_citing = self.citing(&named.peers, d);
                m.why.peers_of = m.why.peers_citing.map(|_| named.peers.len() as u32);
                new.push(m);
            }
        }
        let floor = if new.len() == limit {
            new.last().map_or(f32::MIN, |m| m.similar.score)
        } else {
            f32::MIN
        };
        new.extend(
            old.into_iter()
                .filter(|(_, s)| *s >= floor)
                .map(|(d, score)| {
                    let mut m = self.matched(d, score, &shared, Some(parts[d]));
                    m.already_cited = true;
                    m
                }),
        );
        (new, q)
    }

    /// How many of `near` (the nearest documents, or the peers) cite document `d`, if any do.
    fn citing(&self, near: &[(usize, f32)], d: usize) -> Option<u32> {
        let links = self.links.as_ref()?;
        let n = near
            .iter()
            .filter(|&&(y, _)| links.cites(y).binary_search(&(d as u32)).is_ok())
            .count() as u32;
        (n > 0).then_some(n)
    }

    /// `query` for the known document at index `x` (itself left out).
    fn document_matches(
        &self,
        x: usize,
        limit: usize,
        min_score: f32,
        keep: Keep<'_>,
    ) -> Vec<Match> {
        let own: HashSet<u32> = self
            .key_terms
            .as_ref()
            .map(|k| {
                let common = crate::model::labels::first_uncommon(&self.vocab);
                k.of(x).iter().copied().filter(|&w| w >= common).collect()
            })
            .unwrap_or_default();
        if self.is_engine() {
            let (mut scores, parts) = self.engine_document_scores(x);
            if let Some(keep) = keep {
                drop_unkept(&mut scores, &self.doc_ids, keep);
            }
            return best(&scores, limit, Some(x))
                .into_iter()
                .filter(|(_, s)| *s >= min_score)
                .map(|(d, score)| self.matched(d, score, &own, Some(parts[d])))
                .collect();
        }
        let dim = self.config.dim;
        let v = &self.doc_vectors[x * dim..(x + 1) * dim];
        self.nearest(v, limit, min_score, Some(self.doc_ids[x]), keep)
            .into_iter()
            .map(|s| {
                let d = self.doc_index[&s.identifier];
                self.matched(d, s.score, &own, None)
            })
            .collect()
    }

    /// A result and its explanation.
    fn matched(&self, d: usize, score: f32, words: &HashSet<u32>, parts: Option<Parts>) -> Match {
        let terms = self
            .key_terms
            .as_ref()
            .map(|k| {
                k.shared(d, words, WHY_TERMS)
                    .into_iter()
                    .map(|t| self.vocab.word(t).to_string())
                    .collect()
            })
            .unwrap_or_default();
        Match {
            similar: Similar {
                identifier: self.doc_ids[d],
                score,
            },
            why: Why {
                terms,
                names_title: parts.is_some_and(|p| p.title > 0.5),
                cited_by: self.cited.as_ref().map(|c| c.cited_by[d]),
                parts,
                via: None,
                via_cocited: false,
                neighbours_citing: None,
                neighbours_of: None,
                peers_citing: None,
                peers_of: None,
            },
            already_cited: false,
        }
    }
}

/// What a query asks for documents like.
#[derive(Debug, Clone, Copy)]
pub enum Query<'a> {
    /// A document of the collection, by identifier (itself left out of the answer).
    Document(i64),
    /// A new text: a draft, an upload, a search.
    Text(&'a str),
    /// A new text, and where it falls on the map (`Answer::place`; the map's "place your
    /// draft" asks, nothing else pays for the extra scan).
    TextOnMap(&'a str),
}

/// The model's answer to a `Query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Best first, each with why it matched.
    pub matches: Vec<Match>,
    /// Where the query falls on the collection map (documents, and `Query::TextOnMap`): none
    /// when the model has no map, or for a text none of whose words the model knows.
    pub place: Option<[f32; 2]>,
}

impl Answer {
    /// The matches as (identifier, score), without their explanations.
    pub fn similar(self) -> Vec<Similar> {
        self.matches.into_iter().map(|m| m.similar).collect()
    }
}

/// A similar document and why it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    #[serde(flatten)]
    pub similar: Similar,
    pub why: Why,
    /// The query names this document (by identifier or title): the draft already cites it.
    pub already_cited: bool,
}

/// The weights of the default engine's terms, from its config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Weights {
    pub title: f32,
    pub cosine: f32,
    pub expansion: f32,
    pub cocite: f32,
    pub neighbours: f32,
    pub coupled: f32,
}

impl Weights {
    pub(crate) fn of(config: &crate::model::ModelConfig) -> Weights {
        Weights {
            title: config.title_weight,
            cosine: config.cosine_weight,
            expansion: config.expand_weight,
            cocite: config.cocite_weight,
            neighbours: config.neighbour_weight,
            coupled: config.coupled_weight,
        }
    }

    /// The score in [0, 1]: the weighted mean of the parts.
    pub(crate) fn score(&self, p: &Parts) -> f32 {
        (p.citation
            + self.title * p.title
            + self.cosine * p.cosine
            + self.expansion * p.expansion
            + self.cocite * p.cocited
            + self.neighbours * p.neighbours
            + self.coupled * p.coupled)
            / self.total()
    }

    /// The sum of the weights (the citation term's is 1).
    pub(crate) fn total(&self) -> f32 {
        1.0 + self.title
            + self.cosine
            + self.expansion
            + self.cocite
            + self.neighbours
            + self.coupled
    }
}

/// How the expansion term mixes its relations (`relations` computes only what this uses,
/// outside the evaluation's sweep) ("a named document cites d", "d cites a named
/// document", cosine, co-citation), tuned on the validation split (docs/MODEL.md, "What is missing").
pub(crate) const EXPAND_MIX: [f32; 8] = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];

/// At most this many named documents seed the expansion (the first named).
const MAX_NAMED: usize = 64;

/// Document `d`'s expansion term.
pub(crate) fn expansion(named: &Named, d: usize) -> f32 {
    mixed(named, d, &EXPAND_MIX)
}

/// The relations of document `d` to the named documents, mixed by `mix`.
pub(crate) fn mixed(named: &Named, d: usize, mix: &[f32; 8]) -> f32 {
    mix.iter()
        .zip(&named.rel)
        .filter(|(w, _)| **w != 0.0)
        .map(|(w, r)| w * r.get(d).copied().unwrap_or(0.0))
        .sum()
}

/// The default engine's least score for results about a known document, when
/// `HAMLET_DOCUMENT_MIN_SCORE` is unset.
pub const ENGINE_DOCUMENT_MIN_SCORE: f32 = 0.3;
/// The default engine's least score for results about a new text, when `HAMLET_TEXT_MIN_SCORE`
/// is unset.
pub const ENGINE_TEXT_MIN_SCORE: f32 = 0.2;
