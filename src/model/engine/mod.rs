//! The ranking: everything that decides which documents a page lists and in what order, in one
//! room. `Engine` (here) is what a server serves and every caller asks: the paragraph-vector
//! model and what the ranking reads beside it. `score` (the default engine's score of every
//! document: the citation targets, title mentions, cosine and the link terms, with their
//! weights and thresholds), `mentions` (which collection documents a text names), `query` (the one
//! way to ask: `Engine::query` and `Engine::prepare`, matches with why), `rerank` (the
//! learned second look at a text's best candidates, and the one list of its features), and
//! `links` (the collection's citation graph as the model keeps it: co-citation, neighbours,
//! coupling).
//!
//! Imports point one way inside the room: `query` uses `score` and `rerank`, `rerank` uses
//! `score` and `links`, `score` uses `links` and `mentions`; below it, the paragraph-vector
//! model (`model::Doc2Vec`, `infer`, `scan`), the math kernels (`kernel`) and text reading
//! (`text`: titles, key terms). Nothing here trains; training (`train`) assembles an `Engine`
//! from what it trained (`Engine::from_training`), and reads links off texts that name each
//! other (`mentions::derive_links`).
//!
//! To change the ranking: the score's terms and weights are in `score` (`Scoring`, stored in
//! the model's config), the thresholds beside them, the candidates' order in `rerank`
//! (`rerank.json`, relearned with `scripts/learn-rerank.py` from the research bench's dump),
//! and what a page shows of it in `query` (`Why`).

pub mod links;
pub mod mentions;
pub mod query;
pub mod rerank;
pub mod score;

pub use links::Relation;
pub use query::{Answer, Match, Prepared, Query, Related, Why, WIDELY_CITED};
pub use score::{Keep, Parts, Scoring, ENGINE_DOCUMENT_MIN_SCORE, ENGINE_TEXT_MIN_SCORE};

use std::sync::OnceLock;

use crate::model::text::keyterms::KeyTerms;
use crate::model::text::titles::Titles;
use crate::model::weights::Precision;
use crate::model::{labels, Doc2Vec, Error, ModelConfig};

/// What a served model is: the paragraph-vector model (`Doc2Vec`: vocabulary, tables,
/// inference, the scan, the map) and what the ranking reads beside it: the citation targets
/// found in its tables (`score::Cited`), the citation links it trained on (`links`), its
/// documents' title mentions (`titles`) and key terms (`keyterms`). Its `Scoring` (the terms'
/// weights, inference) is the part of the model's config that training does not read
/// (`scoring`).
pub struct Engine {
    model: Doc2Vec,
    /// The default engine's citation targets, found in the model's tables (`score`).
    cited: Option<score::Cited>,
    /// The citation links the default engine trained on (`links`), for the link terms.
    links: Option<links::Links>,
    /// The default engine's title mentions (`titles`).
    titles: Option<Titles>,
    /// Each document's key terms (`keyterms`), for saying why a result matched and naming
    /// the map's regions.
    key_terms: Option<KeyTerms>,
    /// How many words the training texts held (the re-ranker's idf), counted when first
    /// needed.
    word_total: OnceLock<f64>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.model)
            .field("citation_targets", &self.cited.is_some())
            .field("links", &self.links.as_ref().map(|l| l.len()))
            .finish()
    }
}

impl Engine {
    /// The ranking over `model`: a model trained with citation targets (`ModelConfig::cites`,
    /// the default engine) has them found in its output table and stacked under its document
    /// vectors in the scan, so one product gives both terms; any other model ranks by cosine.
    pub fn new(mut model: Doc2Vec) -> Engine {
        let cited = if model.config.is_engine() {
            let (cited, targets) = score::Cited::find(&score::Tables {
                vocab: &model.vocab,
                output: &model.output_weights,
                doc_ids: &model.doc_ids,
                doc_vectors: &model.doc_vectors,
                dim: model.config.dim,
                cites: model.config.cites,
            });
            model.stack_targets(&targets);
            Some(cited)
        } else {
            model.scanner();
            None
        };
        Engine {
            model,
            cited,
            links: None,
            titles: None,
            key_terms: None,
            word_total: OnceLock::new(),
        }
    }

    /// The paragraph-vector model under the ranking.
    pub fn model(&self) -> &Doc2Vec {
        &self.model
    }

    /// The model's settings, training's and scoring's (`ModelConfig::scoring`).
    pub fn config(&self) -> &ModelConfig {
        self.model.config()
    }

    /// How the ranking weighs its terms and infers a text: the part of the config that
    /// training does not read.
    pub fn scoring(&self) -> &Scoring {
        &self.model.config().scoring
    }

    /// The engine scoring with `config`'s scoring (`Scoring`: the weights of its terms,
    /// inference) and re-ranker setting, which do not change what was trained.
    pub fn with_scoring(mut self, config: &ModelConfig) -> Engine {
        self.model.config.scoring = config.scoring;
        self.model.config.rerank = config.rerank;
        self
    }

    /// The engine with the model's word and output tables kept at `precision` (`weights`).
    pub fn with_precision(mut self, precision: Precision) -> Engine {
        self.model = self.model.with_precision(precision);
        self
    }

    /// The engine with the model's map layout (`Doc2Vec::with_layout`).
    pub fn with_layout(mut self, layout: Vec<f32>) -> Result<Engine, Error> {
        self.model = self.model.with_layout(layout)?;
        Ok(self)
    }

    /// The engine with its documents' key terms (`keyterms`), checked against its shape.
    pub fn with_key_terms(mut self, terms: KeyTerms) -> Result<Engine, Error> {
        self.check_rows("key terms", terms.len())?;
        self.key_terms = Some(terms);
        Ok(self)
    }

    /// The engine with its documents' title mentions (`titles`), if any; the default engine
    /// scores with them.
    pub fn with_titles(mut self, titles: Option<Titles>) -> Result<Engine, Error> {
        if let Some(t) = &titles {
            self.check_rows("titles", t.len())?;
        }
        self.titles = titles;
        Ok(self)
    }

    /// The engine with the citation links its model was trained on (`links`), checked
    /// against its shape.
    pub fn with_links(mut self, links: links::Links) -> Result<Engine, Error> {
        let (offsets, _) = links.parts();
        self.check_rows("links", offsets.len().saturating_sub(1))?;
        self.links = Some(links);
        Ok(self)
    }

    /// The engine with the map's regions named (`labels::region_labels`, from the layout and
    /// the key terms), or `given` names; none without a layout or key terms.
    pub fn with_region_labels(mut self, given: Option<Vec<labels::RegionLabel>>) -> Engine {
        let labels = match (given, self.model.layout(), &self.key_terms) {
            (Some(l), _, _) => l,
            (None, Some(layout), Some(k)) => labels::region_labels(layout, k, self.model.vocab()),
            _ => Vec::new(),
        };
        self.model.region_labels = labels;
        self
    }

    /// Each document's key terms, if the engine has them.
    pub fn key_terms(&self) -> Option<&KeyTerms> {
        self.key_terms.as_ref()
    }

    /// The citation links the model was trained on, if it keeps them.
    pub fn links(&self) -> Option<&links::Links> {
        self.links.as_ref()
    }

    /// The title index, if the engine has one.
    pub fn titles(&self) -> Option<&Titles> {
        self.titles.as_ref()
    }

    fn check_rows(&self, what: &str, rows: usize) -> Result<(), Error> {
        let docs = self.model.doc_ids().len();
        if rows == docs {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "{what} for {rows} documents, the model has {docs}"
            )))
        }
    }
}
