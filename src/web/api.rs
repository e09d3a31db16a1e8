//! The JSON API under `/api/` (docs/WEB.md, "JSON API"). Errors use the envelope of `web::error`.
//! Each route is a thin shell over `discover` and `store`, which the pages share.

use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use std::sync::Arc;

use super::catalog::Catalog;
use super::discover::{self, AuthorResults, LitReview};
use super::error::{Error, Result};
use super::served::{Ask, Served, MAX_LIMIT};
use super::upload::Submission;
use super::views::{DocumentView, Results};
use crate::store::{DocId, PersonHit, Store, TitleHit};

/// `GET /api/documents/<identifier>`: a document's metadata, reference list and citers.
#[rocket::get("/api/documents/<identifier>")]
pub(crate) async fn document(store: &State<Store>, identifier: &str) -> Result<Json<DocumentView>> {
    let id = parse_identifier(identifier)?;
    let doc = store.document(id).await?;
    let citations = store.citations_of(id).await?;
    let cited_by = store.cited_by(id).await?;
    Ok(Json(DocumentView::new(doc, citations, cited_by)))
}

/// `GET /api/documents/<identifier>/similar?limit=N&min_score=S`: the documents most similar
/// to a known one. Defaults: 10 results scoring at least 0.75, as in the original.
#[rocket::get("/api/documents/<identifier>/similar?<limit>&<min_score>")]
pub(crate) async fn similar_documents(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    identifier: &str,
    limit: Option<usize>,
    min_score: Option<f32>,
) -> Result<Json<Results>> {
    let id = parse_identifier(identifier)?;
    let doc = catalog.document(id).await?;
    let ask = served.ask_document(limit, min_score);
    let results = discover::for_document(catalog, served, &doc, ask).await?;
    Ok(Json(Results { results }))
}

/// `GET /api/authors/<id>/similar?limit=N&min_score=S`: for each document the person
/// authored, the documents similar to it, and the merged list in `results`.
#[rocket::get("/api/authors/<id>/similar?<limit>&<min_score>")]
pub(crate) async fn similar_to_author(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    id: &str,
    limit: Option<usize>,
    min_score: Option<f32>,
) -> Result<Json<AuthorResults>> {
    let person = id
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::NotFound(format!("no person with id {id:?}: ids are integers")))?;
    let ask = served.ask_document(limit, min_score);
    Ok(Json(
        discover::for_author(catalog, served, person, ask).await?,
    ))
}

/// One search hit: a document (`kind=title`) or a person (`kind=author`).
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum SearchHit {
    Document(TitleHit),
    Author(PersonHit),
}

#[derive(Serialize)]
pub(crate) struct SearchResults {
    pub results: Vec<SearchHit>,
}

/// `GET /api/search?q=...&kind=title|author&limit=N`: case-insensitive substring search,
/// prefix matches first. Titles cover documents with text; authors, people who authored one.
#[rocket::get("/api/search?<q>&<kind>&<limit>")]
pub(crate) async fn search(
    store: &State<Store>,
    q: Option<&str>,
    kind: Option<&str>,
    limit: Option<usize>,
) -> Result<Json<SearchResults>> {
    let q = q.map(str::trim).unwrap_or("");
    if q.is_empty() {
        return Err(Error::BadRequest(
            "q is required: the text to search for".into(),
        ));
    }
    if q.chars().count() > 200 {
        return Err(Error::BadRequest("q is longer than 200 characters".into()));
    }
    let limit = limit.unwrap_or(10).clamp(1, MAX_LIMIT);
    let results = match kind.unwrap_or("title") {
        "title" => store
            .search_titles(q, limit)
            .await?
            .into_iter()
            .map(SearchHit::Document)
            .collect(),
        "author" => store
            .search_authors(q, limit)
            .await?
            .into_iter()
            .map(SearchHit::Author)
            .collect(),
        other => {
            return Err(Error::BadRequest(format!(
                "kind must be title or author, got {other:?}"
            )))
        }
    };
    Ok(Json(SearchResults { results }))
}

/// `POST /api/recommend`: JSON `{"text": "...", "limit": N, "min_score": S}` or a multipart
/// form with a `file` (.txt, .docx, .pdf) or `text` field. Default threshold 0.65, as the
/// original's uploads. Nothing submitted is kept or logged.
#[rocket::post("/api/recommend", data = "<submission>")]
pub(crate) async fn recommend(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    submission: std::result::Result<Submission, Error>,
) -> Result<Json<Results>> {
    let (text, ask) = accept(served, submission).await?;
    let results = discover::for_text(catalog, served, text, ask).await?;
    Ok(Json(Results { results }))
}

/// `POST /api/lit-review`: the same input as `/api/recommend`; the similar documents, the
/// works several of them cite (ranked by summed similarity) and every reference list.
#[rocket::post("/api/lit-review", data = "<submission>")]
pub(crate) async fn lit_review(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    submission: std::result::Result<Submission, Error>,
) -> Result<Json<LitReview>> {
    let (text, ask) = accept(served, submission).await?;
    let results = discover::for_text(catalog, served, text, ask).await?;
    Ok(Json(discover::lit_review(catalog, results).await?))
}

/// The submission's text and what it asks for.
pub(crate) async fn accept(
    served: &Served,
    submission: std::result::Result<Submission, Error>,
) -> Result<(String, Ask)> {
    let submission = submission?;
    let ask = served.ask_text(submission.limit, submission.min_score);
    Ok((submission.into_text().await?, ask))
}

/// Identifiers are integers; anything else cannot name a document.
pub(crate) fn parse_identifier(s: &str) -> Result<DocId> {
    s.trim().parse::<i64>().map(DocId).map_err(|_| {
        Error::NotFound(format!(
            "no document with identifier {s:?}: identifiers are integers"
        ))
    })
}
