//! `/health/`: is the database reachable, how big is the collection, how is libtorch set up.
//! 200 when the database answers, 503 otherwise (load balancers and Docker's HEALTHCHECK read
//! the status; people read the JSON).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::discover::Engine;
use crate::model::runtime::RuntimeInfo;
use crate::store::Store;

#[rocket::get("/health")]
pub(crate) async fn health(
    store: &State<Store>,
    torch: &State<RuntimeInfo>,
    model: &State<Engine>,
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
    let body = serde_json::json!({
        "status": if status == Status::Ok { "ok" } else { "unavailable" },
        "database": database,
        "documents": stats.as_ref().map(|s| s.documents).ok(),
        "torch": torch.inner(),
        "model": match &model.model {
            Some(m) => serde_json::json!({ "loaded": true, "documents": m.doc_ids().len(), "corpus_sha256": m.corpus().sha256 }),
            None => serde_json::json!({ "loaded": false }),
        },
    });
    (status, Json(body))
}
