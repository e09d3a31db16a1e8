//! The default engine: paragraph vectors that predict citations, fused with title mentions.
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

use super::sgd::Rows;
use super::{Doc2Vec, Error, Similar};

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
    /// The parts of the score: predicted citation, title mention, cosine (each in [0, 1]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Parts>,
}

/// The three terms of the default engine's score, before weighting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Parts {
    pub citation: f32,
    pub title: f32,
    pub cosine: f32,
}

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
            if let Some(row) = vocab.get(&super::vocab::cite_token(id)) {
                output.read(row as usize, dim, &mut targets[d * dim..(d + 1) * dim]);
                has_target[d] = true;
                cited_by[d] = (vocab.counts[row as usize] / cites.max(1) as u64) as u32;
            }
        }
        let norms = doc_vectors
            .chunks(dim.max(1))
            .map(|r| super::sgd::dot(r, r).sqrt())
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
    pub vocab: &'a super::vocab::Vocab,
    pub output: &'a super::weights::Weights,
    pub doc_ids: &'a [i64],
    pub doc_vectors: &'a [f32],
    pub dim: usize,
    pub cites: usize,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The `k` best of `scores` as (index, score), best first, `exclude` left out.
fn best(scores: &[f32], k: usize, exclude: Option<usize>) -> Vec<(usize, f32)> {
    let top = super::lexical::top(scores, k + usize::from(exclude.is_some()));
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
    /// are on another scale (README, "The default engine").
    pub fn default_min_scores(&self) -> (f32, f32) {
        if self.is_engine() {
            (ENGINE_DOCUMENT_MIN_SCORE, ENGINE_TEXT_MIN_SCORE)
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
        let norm = super::sgd::dot(q, q).sqrt();
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
        if let Some(r) = self.vocab.get(&super::vocab::cite_token(self.doc_ids[x])) {
            self.output_weights.read(r as usize, dim, &mut row);
        }
        row
    }

    /// The engine's score of every document for a new text (its inferred vector `q`), and the
    /// parts it was made of.
    pub(crate) fn engine_text_scores(&self, text: &str, q: &[f32]) -> (Vec<f32>, Vec<Parts>) {
        let (citation, cosine) = self.engine_parts(q, None);
        let title = match &self.titles {
            Some(t) => t.mentions(&super::titles::text_grams(text)),
            None => vec![0.0; citation.len()],
        };
        let (wt, wc) = (self.config.title_weight, self.config.cosine_weight);
        let scale = 1.0 + wt + wc;
        let mut scores = Vec::with_capacity(citation.len());
        let mut parts = Vec::with_capacity(citation.len());
        for d in 0..citation.len() {
            scores.push((citation[d] + wt * title[d] + wc * cosine[d]) / scale);
            parts.push(Parts {
                citation: citation[d],
                title: title[d],
                cosine: cosine[d],
            });
        }
        (scores, parts)
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
                title: 0.0,
                cosine,
            })
            .collect();
        (scores, parts)
    }

    /// The documents most similar to a new text, each with why it matched. For models
    /// without citation targets the score is the cosine, as `similar_to_text`.
    pub fn matches_for_text(&self, text: &str, limit: usize, min_score: f32) -> Vec<Match> {
        let words = self.vocab.indices(text);
        let q = self.infer_indices(&words);
        let shared: HashSet<u32> = words.iter().copied().collect();
        if self.is_engine() {
            let (scores, parts) = self.engine_text_scores(text, &q);
            return best(&scores, limit, None)
                .into_iter()
                .filter(|(_, s)| *s >= min_score)
                .map(|(d, score)| self.matched(d, score, &shared, Some(parts[d])))
                .collect();
        }
        self.similar_to_vector(&q, limit, min_score, None)
            .into_iter()
            .map(|s| {
                let d = self.doc_index[&s.identifier];
                self.matched(d, s.score, &shared, None)
            })
            .collect()
    }

    /// The documents most similar to a known one (itself left out), each with why.
    pub fn matches_for_document(
        &self,
        id: i64,
        limit: usize,
        min_score: f32,
    ) -> Result<Vec<Match>, Error> {
        let x = *self.doc_index.get(&id).ok_or(Error::UnknownDocument(id))?;
        let own: HashSet<u32> = self
            .key_terms
            .as_ref()
            .map(|k| k.of(x).iter().copied().collect())
            .unwrap_or_default();
        if self.is_engine() {
            let (scores, parts) = self.engine_document_scores(x);
            return Ok(best(&scores, limit, Some(x))
                .into_iter()
                .filter(|(_, s)| *s >= min_score)
                .map(|(d, score)| self.matched(d, score, &own, Some(parts[d])))
                .collect());
        }
        Ok(self
            .similar_to_document(id, limit, min_score)?
            .into_iter()
            .map(|s| {
                let d = self.doc_index[&s.identifier];
                self.matched(d, s.score, &own, None)
            })
            .collect())
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
            },
        }
    }
}

/// A similar document and why it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    #[serde(flatten)]
    pub similar: Similar,
    pub why: Why,
}

/// The default engine's least score for results about a known document, when
/// `HAMLET_DOCUMENT_MIN_SCORE` is unset.
pub const ENGINE_DOCUMENT_MIN_SCORE: f32 = 0.3;
/// The default engine's least score for results about a new text, when `HAMLET_TEXT_MIN_SCORE`
/// is unset.
pub const ENGINE_TEXT_MIN_SCORE: f32 = 0.2;
