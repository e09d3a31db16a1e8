//! The served model as the web layer sees it: the slot (`app::model_source::ModelSlot`) with
//! the default thresholds (`HAMLET_DOCUMENT_MIN_SCORE`, `HAMLET_TEXT_MIN_SCORE`; unset, the
//! served model's own), what a request asks for (`Ask`), and the blocking pool model work
//! runs on. A server without a model still serves the collection; the tools answer 503 until
//! one is loaded.

use std::collections::HashSet;
use std::sync::Arc;

use super::error::{Error, Result};
use crate::app::model_source::{InService, ModelSlot};
use crate::model::engine::{Answer, Match, Prepared, Query};
use crate::model::Engine;

#[derive(Clone)]
pub(crate) struct Served {
    slot: ModelSlot,
    document_min_score: Option<f32>,
    text_min_score: Option<f32>,
}

impl Served {
    pub(crate) fn new(
        slot: ModelSlot,
        document_min_score: Option<f32>,
        text_min_score: Option<f32>,
    ) -> Served {
        Served {
            slot,
            document_min_score,
            text_min_score,
        }
    }

    /// The model in service, or 503.
    pub(crate) fn model(&self) -> Result<Arc<Engine>> {
        self.current().map(|s| s.model).ok_or(Error::ModelNotReady)
    }

    /// The model in service and its provenance.
    pub(crate) fn current(&self) -> Option<InService> {
        self.slot.current()
    }

    /// How many models have been swapped in (`ModelSlot::generation`).
    pub(crate) fn generation(&self) -> u64 {
        self.slot.generation()
    }

    /// The served model's default thresholds (document, text); the original's before a model
    /// is loaded.
    fn model_defaults(&self) -> (f32, f32) {
        self.current()
            .map_or((0.75, 0.65), |s| s.model.default_min_scores())
    }

    /// The least score of results about a known document, unless a request says otherwise.
    pub(crate) fn document_min_score(&self) -> f32 {
        self.document_min_score
            .unwrap_or_else(|| self.model_defaults().0)
    }

    /// The least score of results about a new text, unless a request says otherwise.
    pub(crate) fn text_min_score(&self) -> f32 {
        self.text_min_score
            .unwrap_or_else(|| self.model_defaults().1)
    }

    /// What a request about a known document asks for, defaults filled in.
    pub(crate) fn ask_document(&self, limit: Option<usize>, min_score: Option<f32>) -> Ask {
        Ask::new(limit, min_score, self.document_min_score())
    }

    /// What a request about a new text asks for, defaults filled in.
    pub(crate) fn ask_text(&self, limit: Option<usize>, min_score: Option<f32>) -> Ask {
        Ask::new(limit, min_score, self.text_min_score())
    }
}

/// The most results a caller may ask for (the original never showed more than 50).
pub(crate) const MAX_LIMIT: usize = 50;

/// How many results, how similar, and among which documents a request asked for (defaults
/// filled in).
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub limit: usize,
    pub min_score: f32,
    /// The documents a reader's filters admit (`filter::Filter::allowed`); `None`: all.
    pub allowed: Option<Arc<HashSet<i64>>>,
}

impl Ask {
    pub(crate) fn new(limit: Option<usize>, min_score: Option<f32>, default_min: f32) -> Ask {
        Ask {
            limit: limit.unwrap_or(10).clamp(1, MAX_LIMIT),
            min_score: min_score
                .filter(|s| s.is_finite())
                .unwrap_or(default_min)
                .clamp(-1.0, 1.0),
            allowed: None,
        }
    }

    /// The same, among the documents in `allowed` only.
    pub(crate) fn within(mut self, allowed: Option<Arc<HashSet<i64>>>) -> Ask {
        self.allowed = allowed;
        self
    }

    /// Asks `model` about `query` within the allowed documents.
    pub(crate) fn query(
        &self,
        model: &Engine,
        query: Query<'_>,
        limit: usize,
    ) -> std::result::Result<Answer, crate::model::Error> {
        match &self.allowed {
            None => model.query(query, limit, self.min_score),
            Some(allowed) => {
                let keep = |id: i64| allowed.contains(&id);
                model.query_within(query, limit, self.min_score, Some(&keep))
            }
        }
    }
}

impl Ask {
    /// What the known document `id` cites and what cites it (`Engine::related`), `limit` of
    /// each, within the allowed documents.
    pub(crate) fn related(
        &self,
        model: &Engine,
        id: i64,
    ) -> std::result::Result<crate::model::engine::Related, crate::model::Error> {
        match &self.allowed {
            None => model.related(id, self.limit, None),
            Some(allowed) => {
                let keep = |id: i64| allowed.contains(&id);
                model.related(id, self.limit, Some(&keep))
            }
        }
    }

    /// The matches of a prepared text (`Engine::prepare`) within the allowed documents.
    pub(crate) fn matches(&self, prepared: &Prepared<'_>, limit: usize) -> Vec<Match> {
        match &self.allowed {
            None => prepared.matches(limit, self.min_score, None),
            Some(allowed) => {
                let keep = |id: i64| allowed.contains(&id);
                prepared.matches(limit, self.min_score, Some(&keep))
            }
        }
    }
}

/// Runs CPU work on the blocking pool; a panic there becomes a 500, not a dead worker.
pub(crate) async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    rocket::tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("model task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::engine::Query;

    #[test]
    fn asks_are_clamped() {
        let a = Ask::new(Some(500), Some(f32::NAN), 0.75);
        assert_eq!((a.limit, a.min_score), (MAX_LIMIT, 0.75));
        let a = Ask::new(Some(0), Some(-3.0), 0.65);
        assert_eq!((a.limit, a.min_score), (1, -1.0));
    }

    /// A two-document model whose document vectors are `docs`.
    fn toy(docs: [[f32; 2]; 2]) -> Engine {
        let config = crate::model::ModelConfig {
            dim: 2,
            ..crate::model::ModelConfig::default()
        };
        let vocab = crate::model::text::vocab::Vocab::new(vec!["a", "b"], vec![5, 5]);
        Engine::new(
            crate::model::Doc2Vec::from_parts(
                config,
                vocab,
                vec![0.1; 4],
                vec![0.1; 4],
                vec![1, 2],
                docs.concat(),
                crate::model::CorpusInfo {
                    documents: 2,
                    words: 10,
                    sha256: String::new(),
                    synthetic: false,
                },
            )
            .unwrap(),
        )
    }

    #[test]
    fn a_swap_leaves_requests_in_flight_on_the_old_model() {
        let slot = ModelSlot::default();
        let served = Served::new(slot.clone(), Some(0.75), Some(0.65));
        assert!(matches!(served.model(), Err(Error::ModelNotReady)));
        let in_service = |m: Engine, sha: &str| InService {
            model: Arc::new(m),
            sha256: sha.into(),
            source: "test".into(),
            loaded_at: String::new(),
        };
        slot.swap(in_service(toy([[1.0, 0.0], [0.0, 1.0]]), "old"));
        let in_flight = served.model().unwrap();
        slot.clone()
            .swap(in_service(toy([[1.0, 0.0], [1.0, 0.1]]), "new"));
        // The request that started before the swap still computes on the old model...
        let old = in_flight
            .query(Query::Document(1), 1, -1.0)
            .map(|a| a.similar())
            .unwrap();
        assert!(old[0].score.abs() < 1e-6, "{old:?}");
        // ...and every request from now on, through any clone of the slot, gets the new one.
        assert_eq!(served.current().unwrap().sha256, "new");
        let new = served
            .model()
            .unwrap()
            .query(Query::Document(1), 1, -1.0)
            .map(|a| a.similar())
            .unwrap();
        assert!(new[0].score > 0.99, "{new:?}");
    }
}
