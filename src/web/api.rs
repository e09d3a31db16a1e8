//! The JSON API under `/api/` (docs/WEB.md, "JSON API"). Errors use the envelope of `web::error`.
//! Each route is a thin shell over `discover` and `store`, which the pages share.

use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use std::sync::Arc;

use super::catalog::Catalog;
use super::discover::{self, AuthorResults, LitReview};
use super::error::{Error, Result};
use super::export::{Export, Format};
use super::filter::FilterQuery;
use super::served::{Ask, Served, MAX_LIMIT};
use super::upload::Submission;
use super::views::{DocumentView, RelatedView, ResultView, Results};
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
/// to a known one. Filters (`year_from`, `year_to`, `department` repeated, `degree`) apply
/// before the top N are cut; `format=bibtex|ris|csljson` answers with a file instead of JSON.
#[rocket::get("/api/documents/<identifier>/similar?<limit>&<min_score>&<format>&<filter..>")]
pub(crate) async fn similar_documents(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    identifier: &str,
    limit: Option<usize>,
    min_score: Option<f32>,
    format: Option<&str>,
    filter: FilterQuery,
) -> Result<Listed<SimilarResults>> {
    let id = parse_identifier(identifier)?;
    let format = Format::parse(format)?;
    let filter = filter.filter()?;
    let doc = catalog.document(id).await?;
    let ask = served
        .ask_document(limit, min_score)
        .within(filter.allowed(catalog));
    let results = discover::for_document(catalog, served, &doc, ask.clone()).await?;
    Ok(match format {
        Some(f) => Listed::File(Export::results(f, &format!("similar-{}", id.0), &results)),
        None => {
            let related = discover::related(catalog, served, &doc, &ask).await?;
            Listed::Json(Json(SimilarResults { results, related }))
        }
    })
}

/// A known document's similar list, and what it cites and what cites it within the collection
/// (`related`, absent for a model without links): each of those most alike first, `limit` of
/// each, with the totals (issue 41).
#[derive(Debug, Serialize)]
pub(crate) struct SimilarResults {
    pub results: Vec<ResultView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<RelatedView>,
}

/// `GET /api/authors/<id>/similar?limit=N&min_score=S`: for each document the person
/// authored, the documents similar to it, and the merged list in `results`; the same filters
/// and formats as documents (a file holds the merged list).
#[rocket::get("/api/authors/<id>/similar?<limit>&<min_score>&<format>&<filter..>")]
pub(crate) async fn similar_to_author(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    id: &str,
    limit: Option<usize>,
    min_score: Option<f32>,
    format: Option<&str>,
    filter: FilterQuery,
) -> Result<Listed<AuthorResults>> {
    let person = id
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::NotFound(format!("no person with id {id:?}: ids are integers")))?;
    let format = Format::parse(format)?;
    let filter = filter.filter()?;
    let ask = served
        .ask_document(limit, min_score)
        .within(filter.allowed(catalog));
    let found = discover::for_author(catalog, served, person, ask).await?;
    Ok(match format {
        Some(f) => Listed::File(Export::results(
            f,
            &format!("author-{person}"),
            &found.results,
        )),
        None => Listed::Json(Json(found)),
    })
}

/// JSON, or the same list as a file for a reference manager.
pub(crate) enum Listed<T> {
    Json(Json<T>),
    File(Export),
}

impl<'r, T: Serialize> rocket::response::Responder<'r, 'static> for Listed<T> {
    fn respond_to(self, req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        match self {
            Listed::Json(j) => j.respond_to(req),
            Listed::File(f) => f.respond_to(req),
        }
    }
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
/// form with a `file` (.txt, .docx, .pdf) or `text` field; the filters and `format` as fields
/// of either. Nothing submitted is kept or logged.
#[rocket::post("/api/recommend", data = "<submission>")]
pub(crate) async fn recommend(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    submission: std::result::Result<Submission, Error>,
) -> Result<Listed<Results>> {
    let (text, ask, format) = accept(catalog, served, submission).await?;
    let results = discover::for_text(catalog, served, text, ask).await?;
    Ok(match format {
        Some(f) => Listed::File(Export::results(f, "recommendations", &results)),
        None => Listed::Json(Json(Results { results })),
    })
}

/// `POST /api/lit-review`: the same input as `/api/recommend`; the similar documents, the
/// works several of them cite (ranked by summed similarity) and every reference list. As a
/// file (`format`): the ranked cited works, then the similar documents.
#[rocket::post("/api/lit-review", data = "<submission>")]
pub(crate) async fn lit_review(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    submission: std::result::Result<Submission, Error>,
) -> Result<Listed<LitReview>> {
    let (text, ask, format) = accept(catalog, served, submission).await?;
    let results = discover::for_text(catalog, served, text, ask).await?;
    let review = discover::lit_review(catalog, served, results).await?;
    Ok(match format {
        Some(f) => Listed::File(Export::lit_review(f, &review)),
        None => Listed::Json(Json(review)),
    })
}

/// The submission's text, what it asks for (filters included) and the format of the answer.
pub(crate) async fn accept(
    catalog: &Catalog,
    served: &Served,
    submission: std::result::Result<Submission, Error>,
) -> Result<(String, Ask, Option<Format>)> {
    let submission = submission?;
    let format = Format::parse(submission.format.as_deref())?;
    let filter = submission.filter.clone().checked()?;
    let ask = served
        .ask_text(submission.limit, submission.min_score)
        .within(filter.allowed(catalog));
    Ok((submission.into_text().await?, ask, format))
}

/// Identifiers are integers; anything else cannot name a document.
pub(crate) fn parse_identifier(s: &str) -> Result<DocId> {
    s.trim().parse::<i64>().map(DocId).map_err(|_| {
        Error::NotFound(format!(
            "no document with identifier {s:?}: identifiers are integers"
        ))
    })
}
