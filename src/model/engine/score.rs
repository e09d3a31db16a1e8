//! The default engine's score: paragraph vectors that predict citations, fused with title
//! mentions and what the collection's links say (`links`), and the thresholds that go with it.
//! `query` asks through it; `rerank` reorders a text's best candidates.
//!
//! Training (`train`, with `ModelConfig::cites` > 0): PV-DBOW, where each document's vector
//! predicts its words and also, through negative sampling, each collection document it cites
//! (a citation target `@cites:ID` in the vocabulary, `vocab::cite_token`). The output row of a
//! cited document then points where the vectors of documents that cite it lie: documents about
//! the same things, written by people who read it. (Le & Mikolov 2014 for the vectors; the
//! citation targets are ours: the same negative-sampling step a word gets.)
//!
//! Scoring a new text: its vector `q` is inferred from its words and the citation targets of
//! what it cites, and each collection document `d` gets the weighted mean (`Scoring`) of
//!
//! ```text
//! citation = sigmoid(q . cite_d)          title = mentions(text, title_d)
//! cosine = max(0, cos(q, v_d))            co-cited, neighbours, coupled (`links`)
//! ```
//!
//! in [0, 1]: the predicted probability that such a text cites `d` (0 for documents nobody in
//! the collection cites), how much of `d`'s title the text names (`titles`), the cosine of
//! document vectors (the original's measure), and three link terms: co-citation with what the
//! text cites, what its nearest documents cite, and what the documents citing what it cites
//! also cite. For a known document `x` the query is its trained vector, and the citation term
//! is the larger of "x cites d" and "d cites x", with no title or link term.
//!
//! Shapes: citation targets `[docs, dim]` f32 (zero rows for documents never cited) stacked
//! under the normalised document vectors in the scanner, so one matrix-vector product gives
//! both terms for every document.

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::model::kernel::Rows;

/// The terms of the default engine's score, before weighting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Parts {
    pub citation: f32,
    pub title: f32,
    pub cosine: f32,
    /// The removed expansion term: always 0, still written in the API's `why.parts`, whose
    /// fields are never removed (docs/WEB.md).
    pub expansion: Retired,
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

/// What a new text's query knows beyond its vector: the documents it cites (model order) and
/// what the link terms found from them.
pub(crate) struct Named {
    /// The documents it cites (`mentions::named`): flagged `already_cited`, listed last.
    pub cites: Vec<usize>,
    /// For each document, the cited one it is most often cited with, where co-citation
    /// counts in its score (`Why::via`).
    pub via: Vec<Option<usize>>,
    /// The documents most like the text (`NEIGHBOURS`) and their weights, when the link terms
    /// were computed.
    pub neighbours: Vec<(usize, f32)>,
    /// The documents that share most of the text's citations (`PEERS`) and their weights,
    /// when the coupling term was computed.
    pub peers: Vec<(usize, f32)>,
}

/// A text's link terms (`Engine::link_terms`), per document in model order; empty vectors
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

/// The citation targets of a model with them, per document in model order.
pub(crate) struct Cited {
    /// Whether document `d` has a citation target (someone in the collection cites it).
    has_target: Vec<bool>,
    /// How many training documents cite document `d`.
    pub(crate) cited_by: Vec<u32>,
    /// The norm of each document vector (the scanner keeps them normalised).
    norms: Vec<f32>,
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
            .map(|r| crate::model::kernel::dot(r, r).sqrt())
            .collect();
        (
            Cited {
                has_target,
                cited_by,
                norms,
            },
            targets,
        )
    }
}

/// What `Cited::find` reads of a model under construction.
#[derive(Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub vocab: &'a crate::model::text::vocab::Vocab,
    pub output: &'a crate::model::weights::Weights,
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

impl Engine {
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
            let w = self.model.config.scoring;
            let without_links = w.total() - w.cocite_weight - w.neighbour_weight - w.coupled_weight;
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
        let n = self.model.doc_ids.len();
        let norm = crate::model::kernel::dot(q, q).sqrt();
        if norm == 0.0 {
            return (vec![0.0; n], vec![0.0; n]);
        }
        let products = self.model.scanner().products(q);
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
            let dim = self.model.config.dim;
            let target = self.cite_row(x, dim);
            let back = self.model.scanner().products(&target);
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
        if let Some(r) = self.model.vocab.get(&crate::model::text::vocab::cite_token(
            self.model.doc_ids[x],
        )) {
            self.model.output_weights.read(r as usize, dim, &mut row);
        }
        row
    }

    /// The documents `text` cites (model order), by identifier or by title (`title` holds its
    /// title mentions).
    fn named_cites(&self, text: &str, title: &[f32]) -> Vec<usize> {
        let specific = |d: usize| {
            self.titles.as_ref().is_some_and(|t| {
                t.grams_of(d) >= crate::model::engine::mentions::MIN_TITLE_GRAMS_NAMED
            })
        };
        crate::model::engine::mentions::cited(
            self.model.config.id_mentions,
            text,
            &self.model.doc_index,
            title,
            specific,
        )
    }

    /// The engine's score of every document for a new text (`words`: its vocabulary indices),
    /// the parts it was made of, what the text cites, and its vector: inferred, like a
    /// training document's, from its words and the citation targets of the documents it cites
    /// (`infer_citing`).
    pub(crate) fn engine_text(
        &self,
        text: &str,
        words: &[u32],
    ) -> (Vec<f32>, Vec<Parts>, Named, Vec<f32>) {
        let n = self.model.doc_ids.len();
        let title = match &self.titles {
            Some(t) => t.mentions(&crate::model::text::titles::text_grams(text)),
            None => vec![0.0; n],
        };
        let cites = self.named_cites(text, &title);
        let q = self.model.infer_citing(words, &cites);
        let (citation, cosine) = self.engine_parts(&q, None);
        let w = self.model.config.scoring;
        let links = self.link_terms(&cites, &cosine, &w);
        let mut via = vec![None; n];
        let mut scores = Vec::with_capacity(n);
        let mut parts = Vec::with_capacity(n);
        for d in 0..n {
            let p = Parts {
                citation: citation[d],
                title: title[d],
                cosine: cosine[d],
                expansion: Retired,
                cocited: links.cocited.get(d).copied().unwrap_or(0.0),
                neighbours: links.neighbours.get(d).copied().unwrap_or(0.0),
                coupled: links.coupled.get(d).copied().unwrap_or(0.0),
            };
            // What led to it: the cited work it is most often cited with, where that counts.
            if w.cocite_weight * p.cocited > 0.0 {
                via[d] = links.with.get(d).copied().flatten();
            }
            scores.push(w.score(&p));
            parts.push(p);
        }
        let named = Named {
            cites,
            via,
            neighbours: links.near,
            peers: links.peers,
        };
        (scores, parts, named, q)
    }

    /// The link terms of a text that cites `cites` (model order) and whose cosine with every
    /// document is `cosine`: co-citation with what it cites, what its `NEIGHBOURS` nearest
    /// documents cite, and what the `PEERS` documents that share most of its citations cite;
    /// empty where the model keeps no links or does not weigh them.
    fn link_terms(&self, cites: &[usize], cosine: &[f32], w: &Scoring) -> LinkTerms {
        let mut terms = LinkTerms::default();
        let Some(links) = self.links.as_ref() else {
            return terms;
        };
        let n = self.model.doc_ids.len();
        if w.cocite_weight > 0.0 && !cites.is_empty() {
            terms.cocited = vec![0.0; n];
            terms.with = vec![None; n];
            links.cocited(cites, &mut terms.cocited, Some(&mut terms.with));
        }
        if w.neighbour_weight > 0.0 {
            terms.near = crate::model::text::lexical::top(cosine, NEIGHBOURS)
                .into_iter()
                .map(|(y, c)| (y, c.max(0.0).powi(NEIGHBOUR_POWER)))
                .collect();
            terms.neighbours = vec![0.0; n];
            links.cited_by_neighbours(&terms.near, &mut terms.neighbours);
        }
        if w.coupled_weight > 0.0 && !cites.is_empty() {
            terms.peers = links.coupled(cites, PEERS);
            terms.coupled = vec![0.0; n];
            links.cited_by_neighbours(&terms.peers, &mut terms.coupled);
        }
        terms
    }

    /// The engine's score of every document for a known document (index `x`): how alike the
    /// two are (issue 41). The cosine of their vectors leads; the citation term (x would cite
    /// d, or d would cite x) is a relation, and adds only a little (`RELATION_WEIGHT`).
    pub(crate) fn engine_document_scores(&self, x: usize) -> (Vec<f32>, Vec<Parts>) {
        let dim = self.model.config.dim;
        let q = self.model.doc_vectors[x * dim..(x + 1) * dim].to_vec();
        let (citation, cosine) = self.engine_parts(&q, Some(x));
        let r = relation_weight();
        let parts: Vec<Parts> = citation
            .iter()
            .zip(&cosine)
            .map(|(&citation, &cosine)| Parts {
                citation,
                cosine,
                ..Parts::default()
            })
            .collect();
        let scores = parts
            .iter()
            .map(|p| (p.cosine + r * p.citation) / (1.0 + r))
            .collect();
        (scores, parts)
    }
}

/// How much a known document's page weighs the citation relation against likeness (the
/// cosine, weight 1): `(cosine + w * citation) / (1 + w)`. Chosen on `hamlet evaluate`'s page
/// views (docs/MODEL.md, "Similar to a known document"): more lists citers, less buries what
/// the document is read with. Not stored in model files.
pub const RELATION_WEIGHT: f32 = 0.2;

/// `RELATION_WEIGHT`, or with the research bench (`lab`) the `HAMLET_LAB_RELATION_WEIGHT` a
/// measurement asks for.
fn relation_weight() -> f32 {
    #[cfg(feature = "lab")]
    if let Some(w) = std::env::var("HAMLET_LAB_RELATION_WEIGHT")
        .ok()
        .and_then(|v| v.trim().parse::<f32>().ok())
    {
        return w;
    }
    RELATION_WEIGHT
}

/// How the default engine scores and reads a new text: the weights of its terms and the
/// inference settings. Stored in the model's config (`ModelConfig::scoring`, flattened into
/// the file's header as the fields always were); none of it changes what training learns, so
/// `hamlet evaluate --cache` reuses one trained model for any of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scoring {
    /// The weight of a title named in the query (`titles`) against the predicted citation.
    #[serde(default)]
    pub title_weight: f32,
    /// The weight of the cosine of document vectors.
    #[serde(default)]
    pub cosine_weight: f32,
    /// The removed expansion term's weight: written as 0 so that model bytes do not change;
    /// a file that weighs it is refused when read (`Retired`).
    #[serde(default)]
    pub expand_weight: Retired,
    /// The weight of co-citation: how often the collection cites a document together with
    /// the ones the query cites (`links::Links::cocited`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cocite_weight: f32,
    /// The weight of what the documents most like the query cite
    /// (`links::Links::cited_by_neighbours`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub neighbour_weight: f32,
    /// The weight of what the documents citing what the query cites also cite (bibliographic
    /// coupling, `links::Links::coupled`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub coupled_weight: f32,
    /// Inference: passes over a new text (0: the training epochs).
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub infer_epochs: usize,
    /// Inference: the most words of a new text read, spread evenly over it, for a model
    /// without a per-document cap (0: `infer::INFER_MAX_WORDS`).
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub infer_words: usize,
}

impl Scoring {
    /// The default engine's, tuned on the validation split of the RFC collection
    /// (docs/MODEL.md).
    pub fn engine() -> Scoring {
        Scoring {
            title_weight: 0.3,
            cosine_weight: 0.1,
            expand_weight: Retired,
            cocite_weight: 1.0,
            neighbour_weight: 0.5,
            coupled_weight: 1.0,
            infer_epochs: 5,
            infer_words: 5_000,
        }
    }

    /// Every weight between 0 and 10.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let weights = [
            self.title_weight,
            self.cosine_weight,
            self.cocite_weight,
            self.neighbour_weight,
            self.coupled_weight,
        ];
        if weights.iter().all(|w| (0.0..=10.0).contains(w)) {
            Ok(())
        } else {
            Err("title_weight, cosine_weight, cocite_weight, neighbour_weight and coupled_weight must be between 0 and 10".into())
        }
    }

    /// The score in [0, 1]: the weighted mean of the parts.
    pub(crate) fn score(&self, p: &Parts) -> f32 {
        (p.citation
            + self.title_weight * p.title
            + self.cosine_weight * p.cosine
            + self.cocite_weight * p.cocited
            + self.neighbour_weight * p.neighbours
            + self.coupled_weight * p.coupled)
            / self.total()
    }

    /// The sum of the weights (the citation term's is 1).
    pub(crate) fn total(&self) -> f32 {
        1.0 + self.title_weight
            + self.cosine_weight
            + self.cocite_weight
            + self.neighbour_weight
            + self.coupled_weight
    }
}

/// The weight of a term the engine no longer has (the expansion term, issue 38): model files
/// carry it as `0.0`, as they always did since its weight became 0, so the bytes of a model
/// trained today are those of one trained before; a file that weighs the term is refused with
/// a message that says to retrain, rather than scored without it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Retired;

impl Serialize for Retired {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f32(0.0)
    }
}

impl<'de> Deserialize<'de> for Retired {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Retired, D::Error> {
        let w = f32::deserialize(d)?;
        if w == 0.0 {
            Ok(Retired)
        } else {
            Err(serde::de::Error::custom(format!(
                "expand_weight is {w}: this model weighs the expansion term, which the engine no longer has (issue 38); retrain it with `hamlet train`"
            )))
        }
    }
}

/// Weights added after files were written leave no trace in a config that does not use them.
fn is_zero(w: &f32) -> bool {
    *w == 0.0
}

fn is_zero_count(n: &usize) -> bool {
    *n == 0
}

/// The default engine's least score for results about a known document, when
/// `HAMLET_DOCUMENT_MIN_SCORE` is unset.
pub const ENGINE_DOCUMENT_MIN_SCORE: f32 = 0.3;
/// The default engine's least score for results about a new text, when `HAMLET_TEXT_MIN_SCORE`
/// is unset.
pub const ENGINE_TEXT_MIN_SCORE: f32 = 0.2;
