//! Health: `/health/live` (the process answers: 200 at once, for restarts), `/health/ready`
//! (start-up is done and the database answers now: 200, else 503 with what is missing; for
//! load balancers and Docker's HEALTHCHECK) and `/health` (details for people: the database
//! answering now, the collection's size, the model in service and how many of its documents
//! the collection does not hold, libtorch's setup).

use std::sync::Arc;

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::boot::Readiness;
use super::catalog::Catalog;
use super::served::Served;
use crate::model::runtime::RuntimeInfo;
use crate::store::Store;

#[rocket::get("/health/live")]
pub(crate) fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// How long `/health/ready` waits for the database's answer.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[rocket::get("/health/ready")]
pub(crate) async fn ready(
    readiness: &State<Arc<Readiness>>,
    served: &State<Served>,
    store: &State<Store>,
) -> (Status, Json<serde_json::Value>) {
    let started = readiness.is_ready();
    let mut problems: serde_json::Map<String, serde_json::Value> = readiness
        .problems()
        .into_iter()
        .map(|(part, problem)| (part.to_string(), problem.into()))
        .collect();
    // After start-up, readiness also means the database answers now (it may have restarted).
    let database = if readiness.database_ready() {
        match tokio::time::timeout(PING_TIMEOUT, store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                problems.insert("database".into(), format!("not answering: {e}").into());
                false
            }
            Err(_) => {
                problems.insert("database".into(), "no answer within 2 s".into());
                false
            }
        }
    } else {
        false
    };
    let ready = started && database;
    let body = serde_json::json!({
        "status": if ready { "ready" } else if started { "degraded" } else { "starting" },
        "database": database,
        "model": model_json(served),
        "model_ready": readiness.model_ready(),
        "problems": problems,
    });
    let status = if ready {
        Status::Ok
    } else {
        Status::ServiceUnavailable
    };
    (status, Json(body))
}

fn model_json(served: &Served) -> serde_json::Value {
    match served.current() {
        Some(s) => serde_json::json!({
            "loaded": true,
            "sha256": s.sha256,
            "source": s.source,
            "loaded_at": s.loaded_at,
            "documents": s.model.model().doc_ids().len(),
            "corpus_sha256": s.model.model().corpus().sha256,
        }),
        None => serde_json::json!({ "loaded": false }),
    }
}

#[rocket::get("/health")]
pub(crate) async fn health(
    store: &State<Store>,
    torch: &State<RuntimeInfo>,
    served: &State<Served>,
    catalog: &State<Arc<Catalog>>,
) -> (Status, Json<serde_json::Value>) {
    let stats = store.stats().await;
    let (status, database) = match &stats {
        Ok(_) => (
            Status::Ok,
            serde_json::json!({ "backend": store.backend().name(), "ok": true }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                Status::ServiceUnavailable,
                serde_json::json!({ "backend": store.backend().name(), "ok": false }),
            )
        }
    };
    let mut body = serde_json::json!({
        "status": if status == Status::Ok { "ok" } else { "unavailable" },
        "database": database,
        "documents": stats.as_ref().map(|s| s.documents).ok(),
        "torch": torch.inner(),
        "model": model_json(served),
    });
    if let (Some(s), Some(model)) = (served.current(), body.get_mut("model")) {
        // Results for these are left out of every list (`discover::hydrate_matches`).
        model["documents_not_in_collection"] = catalog.not_held(s.model.model().doc_ids()).into();
    }
    (status, Json(body))
}
