//! The model behind the web app: loaded once at ignite from `HAMLET_MODEL_PATH` and shared
//! read-only by every request; and the JSON routes that ask it for similar documents.
//!
//! Model calls are CPU work: they run on the blocking pool (`run_blocking`), never on Rocket's
//! async workers, and they share the model without a lock, so both cores serve.

use std::sync::Arc;

use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;

use super::api::parse_identifier;
use super::error::{Error, Result};
use super::views::{ResultView, Results};
use crate::model::{Doc2Vec, Similar};
use crate::store::{DocId, Store};

/// The loaded model, if any. A server without a model still serves the collection; the routes
/// that need one answer 503 until one is trained and the server restarted.
pub(crate) struct ModelSlot(pub Option<Arc<Doc2Vec>>);

impl ModelSlot {
    fn get(&self) -> Result<Arc<Doc2Vec>> {
        self.0.clone().ok_or(Error::ModelNotReady)
    }
}

/// The most results a caller may ask for (the original never showed more than 50).
const MAX_LIMIT: usize = 50;

/// `GET /api/documents/<identifier>/similar?limit=N&min_score=S`: the documents most similar
/// to a known one. Defaults: 10 results scoring at least 0.75, as in the original.
#[rocket::get("/api/documents/<identifier>/similar?<limit>&<min_score>")]
pub(crate) async fn similar_documents(
    store: &State<Store>,
    model: &State<ModelSlot>,
    identifier: &str,
    limit: Option<usize>,
    min_score: Option<f32>,
) -> Result<Json<Results>> {
    let id = parse_identifier(identifier)?;
    let model = model.get()?;
    store.document(id).await?;
    let limit = limit.unwrap_or(10).clamp(1, MAX_LIMIT);
    let min_score = min_score.unwrap_or(0.75);
    let hits = run_blocking(move || model.similar_to_document(id.0, limit, min_score))
        .await?
        .map_err(|_| {
            Error::NotFound(format!(
                "document {id} is in the collection but not in the model; retrain to include it"
            ))
        })?;
    Ok(Json(Results {
        results: hydrate(store, hits).await?,
    }))
}

/// The body of `POST /api/recommend`.
#[derive(Debug, Deserialize)]
pub(crate) struct TextQuery {
    text: String,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    min_score: Option<f32>,
}

/// `POST /api/recommend` with `{"text": "...", "limit": N}`: documents similar to a new text.
/// Default threshold 0.65, as the original used for uploads. The text is not kept or logged.
#[rocket::post("/api/recommend", data = "<query>")]
pub(crate) async fn upload_and_match(
    store: &State<Store>,
    model: &State<ModelSlot>,
    query: std::result::Result<Json<TextQuery>, rocket::serde::json::Error<'_>>,
) -> Result<Json<Results>> {
    let query = query
        .map_err(|e| Error::BadRequest(format!("expected JSON {{\"text\": \"...\"}}: {e}")))?
        .into_inner();
    if query.text.trim().is_empty() {
        return Err(Error::BadRequest("the text is empty".into()));
    }
    let model = model.get()?;
    let limit = query.limit.unwrap_or(10).clamp(1, MAX_LIMIT);
    let min_score = query.min_score.unwrap_or(0.65);
    let hits = run_blocking(move || model.similar_to_text(&query.text, limit, min_score)).await?;
    Ok(Json(Results {
        results: hydrate(store, hits).await?,
    }))
}

/// Runs CPU work on the blocking pool; a panic there becomes a 500, not a dead worker.
async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    rocket::tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("model task failed: {e}")))
}

/// Result items with their metadata; a document the model knows but the database lost is
/// shown by identifier alone rather than dropped.
async fn hydrate(store: &Store, hits: Vec<Similar>) -> Result<Vec<ResultView>> {
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        let doc = match store.document(DocId(hit.identifier)).await {
            Ok(doc) => Some(doc),
            Err(crate::store::Error::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        out.push(ResultView::new(hit, doc));
    }
    Ok(out)
}
