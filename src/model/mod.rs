//! The paragraph-vector model (Doc2Vec; Le & Mikolov 2014) that gives Hamlet its "similar
//! documents". Here: `Doc2Vec` (vocabulary, tables, the scan, the map), `ModelConfig` and
//! `Error`. The rooms: `engine/` (the ranking, and `Engine`, what is served and asked:
//! `Engine::query`), `infer` (a vector for a new text), `scan` (the cosine scan), `kernel/`
//! (the math training and inference share), `weights` (the word and output tables at
//! f32/f16/i8), `train/` (the trainers), `io/` (the model file, gensim interop, synthetic
//! models), `text/` (tokens, vocabulary, key terms, titles, mentions, the lexical index),
//! `layout` and `labels` (the collection map and its region names), `eval` (splits and
//! metrics) and `runtime` (libtorch's threads).
//!
//! Nothing here imports rocket or sqlx, and no tensor leaves this module: callers pass text
//! and identifiers and get identifiers and scores back.
//!
//! Shapes: word vectors and output weights `[vocab, dim]`, document vectors `[docs, dim]`, all
//! f32. Similarity is the cosine of document vectors; the scan over all documents runs in
//! libtorch (`scan`), which holds the normalised document matrix.

pub mod engine;
pub use self::engine::Engine;
pub mod eval;
pub mod infer;
pub mod io;
pub(crate) mod kernel;
pub mod labels;
pub mod layout;
pub mod runtime;
mod scan;
pub mod text;
pub mod train;
pub mod weights;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use self::engine::score::{self, Keep, Scoring};
use self::kernel::Sigmoid;
use self::scan::Scanner;
use self::text::vocab::{AliasTable, Vocab};
use self::weights::{Precision, Weights};

/// Which paragraph-vector architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Distributed memory: document vector + context words predict the centre word.
    Dm,
    /// Distributed bag of words: the document vector predicts each of its words.
    Dbow,
}

/// Every hyper-parameter of a model; saved inside the model file. The defaults reproduce the
/// original Hamlet's production model (gensim Doc2Vec: PV-DM summing its inputs, 52
/// dimensions, window 4, min_count 10, 5 negatives, sample 1e-3, alpha 0.025 held constant,
/// 5 epochs, gensim's 10,000-word cap per document).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub mode: Mode,
    pub dim: usize,
    pub window: usize,
    pub min_count: u64,
    pub negative: usize,
    pub sample: f64,
    pub alpha: f32,
    pub min_alpha: f32,
    pub epochs: usize,
    /// Words of each document used per pass (after downsampling); 0 = all.
    pub max_doc_words: usize,
    /// PV-DM: average the inputs (gensim's behaviour, whatever its dm_mean says) instead of
    /// summing them.
    pub dm_mean: bool,
    /// PV-DBOW: also train word vectors (skip-gram) alongside.
    pub dbow_words: bool,
    pub seed: u64,
    /// Citation targets (the default engine, `engine::score`): each pass, a document's vector also
    /// predicts each collection document it cites, this many times. 0: none, as the original.
    #[serde(default)]
    pub cites: usize,
    /// How the default engine scores (its terms' weights) and reads a new text (inference):
    /// `engine::score::Scoring`, apart from the training hyper-parameters above, though stored
    /// in the same object of the file's header (its fields in their old places: the same
    /// bytes). `Doc2Vec::with_scoring` changes it on a trained model.
    #[serde(flatten)]
    pub scoring: Scoring,
    /// How the collection's documents are named by identifier in running text (`mentions`).
    #[serde(default)]
    pub id_mentions: engine::mentions::IdForm,
    /// Training: a document whose text names another (by identifier or whole title) counts as
    /// citing it, beside the collection's citation links (`mentions::derive_links`).
    #[serde(default)]
    pub mention_links: bool,
    /// The default engine: reorder a text's best candidates with the learned re-ranker
    /// (`rerank`), on a collection with citation links. Older model files have no such
    /// setting and rank by the score alone, as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rerank: bool,
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig {
            mode: Mode::Dm,
            dim: 52,
            window: 4,
            min_count: 10,
            negative: 5,
            sample: 1e-3,
            alpha: 0.025,
            min_alpha: 0.025,
            epochs: 5,
            max_doc_words: 10_000,
            dm_mean: true,
            dbow_words: false,
            seed: 1,
            cites: 0,
            scoring: Scoring::default(),
            id_mentions: engine::mentions::IdForm::None,
            mention_links: false,
            rerank: false,
        }
    }
}

impl ModelConfig {
    /// The default engine (`engine::score`): PV-DBOW of 100 dimensions whose document vectors also
    /// predict the collection documents they cite, fused with title mentions. Tuned on the
    /// validation split of the RFC collection (docs/MODEL.md, "The default engine").
    pub fn engine() -> ModelConfig {
        ModelConfig {
            mode: Mode::Dbow,
            dim: 100,
            min_alpha: 0.0001,
            epochs: 10,
            max_doc_words: 0,
            cites: 3,
            scoring: Scoring::engine(),
            id_mentions: engine::mentions::IdForm::Rfc,
            mention_links: true,
            rerank: true,
            ..ModelConfig::default()
        }
    }

    /// The original Hamlet's production settings (PV-DM; `ModelConfig::default()`): the
    /// compatibility mode.
    pub fn compat() -> ModelConfig {
        ModelConfig::default()
    }

    /// Whether this is the default engine's kind of model (citation targets).
    pub fn is_engine(&self) -> bool {
        self.cites > 0
    }

    /// Checks the values make a trainable model.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::Config(what.to_string()));
        if !(1..=4096).contains(&self.dim) {
            return bad("dim must be between 1 and 4096");
        }
        if self.window == 0 || self.negative == 0 || self.epochs == 0 {
            return bad("window, negative and epochs must be at least 1");
        }
        if !(self.alpha > 0.0 && self.min_alpha >= 0.0 && self.min_alpha <= self.alpha) {
            return bad("alpha must be positive and min_alpha between 0 and alpha");
        }
        if !(0.0..1.0).contains(&self.sample) {
            return bad("sample must be in [0, 1)");
        }
        if self.cites > 100 {
            return bad("cites must be at most 100");
        }
        self.scoring.validate().map_err(Error::Config)?;
        Ok(())
    }
}

/// What the model was trained on: enough to tell two training corpora apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusInfo {
    pub documents: u64,
    /// In-vocabulary tokens of the corpus (before downsampling).
    pub words: u64,
    /// sha256 over every document's identifier and text, in identifier order.
    pub sha256: String,
    /// Random weights of a given shape (`hamlet model synth`), for scale tests only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
}

/// Errors of the model; they know nothing of HTTP.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid Hamlet model file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error("the model has no document {0}")]
    UnknownDocument(i64),
    #[error("nothing to train on: {0}")]
    Empty(String),
}

/// A document and how similar it is to the query, in [-1, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Similar {
    pub identifier: i64,
    pub score: f32,
}

/// A trained model, ready to answer queries. Shared read-only between request threads.
pub struct Doc2Vec {
    config: ModelConfig,
    vocab: Vocab,
    word_vectors: Weights,
    output_weights: Weights,
    doc_ids: Vec<i64>,
    doc_vectors: Vec<f32>,
    corpus: CorpusInfo,
    doc_index: HashMap<i64, usize>,
    keep: Vec<u32>,
    noise: AliasTable,
    sigmoid: Sigmoid,
    /// The cosine scan (`scan`), built when first needed; the default engine stacks its
    /// citation targets under the document rows (`stack_targets`).
    scanner: std::sync::OnceLock<Scanner>,
    /// The collection map: `[docs, 2]` in the unit square (`layout`), when computed.
    layout: Option<Vec<f32>>,
    /// Names of the map's regions (`labels`), with the layout (`Engine::with_region_labels`,
    /// which reads the key terms).
    region_labels: Vec<labels::RegionLabel>,
}

impl std::fmt::Debug for Doc2Vec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc2Vec")
            .field("config", &self.config)
            .field("vocab", &self.vocab.len())
            .field("documents", &self.doc_ids.len())
            .finish()
    }
}

impl Doc2Vec {
    /// Assembles a model from its tables, checking that their shapes agree.
    pub fn from_parts(
        config: ModelConfig,
        vocab: Vocab,
        word_vectors: Vec<f32>,
        output_weights: Vec<f32>,
        doc_ids: Vec<i64>,
        doc_vectors: Vec<f32>,
        corpus: CorpusInfo,
    ) -> Result<Doc2Vec, Error> {
        Doc2Vec::from_tables(
            config,
            vocab,
            Weights::F32(word_vectors),
            Weights::F32(output_weights),
            doc_ids,
            doc_vectors,
            corpus,
        )
    }

    /// `from_parts` with the word and output tables at any precision.
    pub fn from_tables(
        config: ModelConfig,
        vocab: Vocab,
        word_vectors: Weights,
        output_weights: Weights,
        doc_ids: Vec<i64>,
        doc_vectors: Vec<f32>,
        corpus: CorpusInfo,
    ) -> Result<Doc2Vec, Error> {
        config.validate()?;
        // Downsampling and the noise distribution sum the counts: a total that overflows is a
        // corrupt or hostile file (fuzzing found such model files and gensim pickles).
        if vocab.total().is_none() {
            return Err(Error::Config(
                "the vocabulary's counts overflow their total".into(),
            ));
        }
        let dim = config.dim;
        let shape_err = |what: &str, got: usize, want: usize| {
            Error::Config(format!("{what} holds {got} values, expected {want}"))
        };
        // A PV-DBOW model loaded to serve has no word table (`file::load_to_serve`).
        let dropped = word_vectors.is_empty() && config.mode == Mode::Dbow;
        if word_vectors.len() != vocab.len() * dim && !dropped {
            return Err(shape_err(
                "word_vectors",
                word_vectors.len(),
                vocab.len() * dim,
            ));
        }
        if output_weights.len() != vocab.len() * dim {
            return Err(shape_err(
                "output_weights",
                output_weights.len(),
                vocab.len() * dim,
            ));
        }
        if doc_vectors.len() != doc_ids.len() * dim {
            return Err(shape_err(
                "doc_vectors",
                doc_vectors.len(),
                doc_ids.len() * dim,
            ));
        }
        let doc_index: HashMap<i64, usize> =
            doc_ids.iter().enumerate().map(|(i, &d)| (d, i)).collect();
        if doc_index.len() != doc_ids.len() {
            return Err(Error::Config("document identifiers are not unique".into()));
        }
        Ok(Doc2Vec {
            keep: vocab.keep_thresholds(config.sample),
            noise: AliasTable::new(&vocab.counts, 0.75),
            sigmoid: Sigmoid::new(),
            scanner: std::sync::OnceLock::new(),
            config,
            vocab,
            word_vectors,
            output_weights,
            doc_ids,
            doc_vectors,
            corpus,
            doc_index,
            layout: None,
            region_labels: Vec::new(),
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The model with its word and output tables kept at `precision` (`weights`).
    pub fn with_precision(mut self, precision: Precision) -> Doc2Vec {
        let dim = self.config.dim;
        self.word_vectors = self.word_vectors.into_precision(precision, dim);
        self.output_weights = self.output_weights.into_precision(precision, dim);
        self
    }

    /// How the word and output tables are kept.
    pub fn precision(&self) -> Precision {
        self.word_vectors.precision()
    }

    pub fn corpus(&self) -> &CorpusInfo {
        &self.corpus
    }

    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The identifiers of the documents the model knows, in its order.
    pub fn doc_ids(&self) -> &[i64] {
        &self.doc_ids
    }

    pub fn contains(&self, id: i64) -> bool {
        self.doc_index.contains_key(&id)
    }

    /// Every document's vector, `[docs, dim]` in the model's order.
    pub fn doc_vectors(&self) -> &[f32] {
        &self.doc_vectors
    }

    /// The trained vector of a known document.
    pub fn document_vector(&self, id: i64) -> Option<&[f32]> {
        let i = *self.doc_index.get(&id)?;
        Some(&self.doc_vectors[i * self.config.dim..(i + 1) * self.config.dim])
    }

    /// The documents whose vectors are most similar (cosine) to a vector, best first,
    /// `exclude` left out and only those `keep` admits: how models without citation targets
    /// score (`query`).
    pub(crate) fn nearest(
        &self,
        v: &[f32],
        limit: usize,
        min_score: f32,
        exclude: Option<i64>,
        keep: Keep<'_>,
    ) -> Vec<Similar> {
        if limit == 0 || self.doc_ids.is_empty() {
            return Vec::new();
        }
        let exclude = exclude.and_then(|id| self.doc_index.get(&id).copied());
        let ranked = match keep {
            None => self
                .scanner()
                .top(v, limit + usize::from(exclude.is_some())),
            Some(keep) => {
                // Every document's cosine, those not kept left out before the cut.
                let norm = kernel::dot(v, v).sqrt().max(f32::MIN_POSITIVE);
                let products = self.scanner().products(v);
                let mut cosines: Vec<f32> = products[..self.doc_ids.len()]
                    .iter()
                    .map(|p| p / norm)
                    .collect();
                score::drop_unkept(&mut cosines, &self.doc_ids, keep);
                score::best(&cosines, limit, exclude)
                    .into_iter()
                    .filter(|(_, s)| s.is_finite())
                    .collect()
            }
        };
        ranked
            .into_iter()
            .filter(|(i, _)| Some(*i) != exclude)
            .take(limit)
            .filter(|(_, s)| *s >= min_score)
            .map(|(i, score)| Similar {
                identifier: self.doc_ids[i],
                score,
            })
            .collect()
    }

    /// The cosine scan over the document vectors, built on first use.
    pub(crate) fn scanner(&self) -> &Scanner {
        self.scanner
            .get_or_init(|| Scanner::new(&self.doc_vectors, self.config.dim))
    }

    /// The scan rebuilt with `targets` (`[docs, dim]`, the default engine's citation targets)
    /// under the document rows, so one product scores a query against both (`Engine::new`).
    pub(crate) fn stack_targets(&mut self, targets: &[f32]) {
        self.scanner = std::sync::OnceLock::from(Scanner::with_targets(
            &self.doc_vectors,
            self.config.dim,
            targets,
        ));
    }

    /// Cosine similarity of two vectors.
    pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let (ab, aa, bb) = (kernel::dot(a, b), kernel::dot(a, a), kernel::dot(b, b));
        if aa == 0.0 || bb == 0.0 {
            0.0
        } else {
            ab / (aa.sqrt() * bb.sqrt())
        }
    }

    /// The model with a map layout (`rows * 2` values, one place per document in its order).
    pub fn with_layout(mut self, layout: Vec<f32>) -> Result<Doc2Vec, Error> {
        if layout.len() != self.doc_ids.len() * 2 {
            return Err(Error::Config(format!(
                "the layout holds {} values, expected {}",
                layout.len(),
                self.doc_ids.len() * 2
            )));
        }
        if !layout.iter().all(|v| v.is_finite()) {
            return Err(Error::Config(
                "the layout holds NaN or infinite values".into(),
            ));
        }
        // Names computed for another layout no longer fit.
        self.region_labels.clear();
        self.layout = Some(layout);
        Ok(self)
    }

    /// Computes the map layout of the document vectors (`layout::compute`).
    pub fn compute_layout(&self, opts: layout::LayoutOpts, progress: layout::Progress) -> Vec<f32> {
        layout::compute(&self.doc_vectors, self.config.dim, opts, progress)
    }

    /// The map layout, `[docs, 2]` in the model's document order, if the model has one.
    /// The names of the map's regions, computed with the layout (empty without one).
    pub fn region_labels(&self) -> &[labels::RegionLabel] {
        &self.region_labels
    }

    pub fn layout(&self) -> Option<&[f32]> {
        self.layout.as_deref()
    }

    /// Where a vector (an inferred text's) falls on the map, from its 10 nearest documents.
    pub fn place(&self, v: &[f32]) -> Option<[f32; 2]> {
        layout::place(self.layout.as_deref()?, &self.scanner().top(v, 10))
    }

    /// Whether the word table was left out at load (a PV-DBOW model loaded to serve).
    pub fn word_table_dropped(&self) -> bool {
        self.word_vectors.is_empty() && !self.vocab.is_empty()
    }

    pub(crate) fn tables(&self) -> (Cow<'_, [f32]>, Cow<'_, [f32]>, &[f32]) {
        (
            self.word_vectors.to_f32(),
            self.output_weights.to_f32(),
            &self.doc_vectors,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_that_overflow_their_total_are_refused() {
        // Found by the gensim_pickle fuzz target: such counts made downsampling's sum panic.
        let build = |counts: Vec<u64>| {
            let config = ModelConfig {
                dim: 2,
                ..ModelConfig::compat()
            };
            Doc2Vec::from_parts(
                config,
                Vocab::new(vec!["a", "b"], counts),
                vec![0.0; 4],
                vec![0.0; 4],
                vec![1],
                vec![0.5; 2],
                CorpusInfo {
                    documents: 1,
                    words: 2,
                    sha256: String::new(),
                    synthetic: false,
                },
            )
        };
        let err = build(vec![u64::MAX, 1]).unwrap_err().to_string();
        assert!(err.contains("overflow"), "{err}");
        assert!(build(vec![u64::MAX - 1, 1]).is_ok());
    }

    #[test]
    fn the_retired_expansion_weight_is_written_as_before_and_refused_when_set() {
        let json = serde_json::to_string(&ModelConfig::engine()).unwrap();
        assert!(
            json.contains(r#""cosine_weight":0.1,"expand_weight":0.0,"cocite_weight":1.0"#),
            "{json}"
        );
        // The scoring's fields stand where they stood before they had a struct of their own.
        assert!(
            json.contains(r#""cites":3,"title_weight":0.3,"#)
                && json.contains(r#""infer_words":5000,"id_mentions":"rfc","#),
            "{json}"
        );
        let back: ModelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ModelConfig::engine());
        let old = json.replace(r#""expand_weight":0.0"#, r#""expand_weight":0.5"#);
        let err = serde_json::from_str::<ModelConfig>(&old)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expansion term") && err.contains("retrain"),
            "{err}"
        );
        let older = json.replace(r#""expand_weight":0.0,"#, "");
        assert_eq!(serde_json::from_str::<ModelConfig>(&older).unwrap(), back);
    }
}
