//! The JSON API under `/api/`. Errors use the envelope of `web::error`.

use rocket::serde::json::Json;
use rocket::State;

use super::error::{Error, Result};
use super::views::DocumentView;
use crate::store::{DocId, Store};

/// `GET /api/documents/<identifier>`: a document's metadata, reference list and citers.
#[rocket::get("/api/documents/<identifier>")]
pub(crate) async fn document(store: &State<Store>, identifier: &str) -> Result<Json<DocumentView>> {
    let id = parse_identifier(identifier)?;
    let doc = store.document(id).await?;
    let citations = store.citations_of(id).await?;
    let cited_by = store.cited_by(id).await?;
    Ok(Json(DocumentView::new(doc, citations, cited_by)))
}

/// Identifiers are integers; anything else cannot name a document.
pub(crate) fn parse_identifier(s: &str) -> Result<DocId> {
    s.trim().parse::<i64>().map(DocId).map_err(|_| {
        Error::NotFound(format!(
            "no document with identifier {s:?}: identifiers are integers"
        ))
    })
}
