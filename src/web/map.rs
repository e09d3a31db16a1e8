//! The collection map: the `/map/` page (drawn by `public/map.js`), every document's place on
//! it (`GET /api/map`, built once per model and catalog generation and kept, gzipped too), and a
//! new text placed on it (`POST /api/map/place`).
//!
//! The places come from the model file (`model::layout`, computed by `hamlet train` or
//! `hamlet model layout`); titles, years and departments from the catalog. A document the model
//! knows but the catalog lacks is shown as "Document N" in no department.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, Response, State};
use rocket_dyn_templates::{context, Template};
use serde::Serialize;

use super::catalog::Catalog;
use super::discover;
use super::error::{Error, Result};
use super::served::{run_blocking, Served};
use super::upload::Submission;
use super::views::ResultView;
use crate::model::engine::Query;

/// `/map/`: the page; the points arrive from `/api/map`.
#[rocket::get("/map?<focus>")]
pub(crate) fn page(served: &State<Served>, focus: Option<i64>) -> Template {
    let model = served.current().map(|s| s.model);
    Template::render(
        "map",
        context! {
            has_model: model.is_some(),
            has_layout: model.as_ref().is_some_and(|m| m.model().layout().is_some()),
            focus,
        },
    )
}

/// The points as sent: the JSON and its gzip, built for one (model, catalog) generation pair.
pub(crate) struct Points {
    generation: (u64, u64),
    json: Vec<u8>,
    gzip: Vec<u8>,
    etag: String,
}

/// The last `Points` built; requests for the same generations share it.
#[derive(Default)]
pub(crate) struct MapCache {
    last: Mutex<Option<Arc<Points>>>,
}

/// Whether the client takes gzip, and the ETag it already has.
pub(crate) struct Conditional {
    gzip: bool,
    if_none_match: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Conditional {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let gzip = req
            .headers()
            .get("Accept-Encoding")
            .flat_map(|v| v.split(','))
            .any(|e| e.trim().split(';').next() == Some("gzip"));
        Outcome::Success(Conditional {
            gzip,
            if_none_match: req.headers().get_one("If-None-Match").map(str::to_string),
        })
    }
}

/// `/api/map`'s answer: the points (gzipped when the client takes it) or 304.
pub(crate) struct PointsResponse {
    points: Arc<Points>,
    gzip: bool,
    not_modified: bool,
}

impl<'r> Responder<'r, 'static> for PointsResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.header(Header::new("ETag", self.points.etag.clone()))
            .header(Header::new("Cache-Control", "no-cache"))
            .header(Header::new("Vary", "Accept-Encoding"));
        if self.not_modified {
            return res.status(Status::NotModified).ok();
        }
        res.header(ContentType::JSON);
        let body = if self.gzip {
            res.header(Header::new("Content-Encoding", "gzip"));
            self.points.gzip.clone()
        } else {
            self.points.json.clone()
        };
        res.sized_body(body.len(), std::io::Cursor::new(body)).ok()
    }
}

/// `GET /api/map`: every document's place, as parallel arrays (docs/WEB.md, "JSON API"):
/// `{"documents": N, "departments": [...], "department_counts": [...], "id": [...],
/// "x": [...], "y": [...], "department": [...], "year": [...], "title": [...]}`; x and y in
/// [0, 1]; `department` indexes `departments` (the first of a document's departments; the
/// last entry is "No department" when some have none); `year` is 0 when unknown.
#[rocket::get("/api/map")]
pub(crate) async fn points(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    cache: &State<MapCache>,
    conditional: Conditional,
) -> Result<PointsResponse> {
    // Generations first: what is built from them is labelled with what it saw, or older.
    let generation = (served.generation(), catalog.generation());
    let model = served.model()?;
    if model.model().layout().is_none() {
        return Err(no_map());
    }
    let cached = cache
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .filter(|p| p.generation == generation);
    let points = match cached {
        Some(points) => points,
        None => {
            let catalog = Arc::clone(catalog.inner());
            let points =
                Arc::new(run_blocking(move || build(&model, &catalog, generation)).await??);
            *cache.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&points));
            points
        }
    };
    let not_modified = conditional
        .if_none_match
        .as_deref()
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == points.etag));
    Ok(PointsResponse {
        points,
        gzip: conditional.gzip,
        not_modified,
    })
}

/// The points' JSON for `model` and what the catalog knows of its documents.
fn build(
    model: &crate::model::Engine,
    catalog: &Catalog,
    generation: (u64, u64),
) -> Result<Points> {
    let layout = model.model().layout().unwrap_or_default();
    let ids = model.model().doc_ids();
    const NONE: &str = "No department";
    let mut authors: Vec<String> = Vec::with_capacity(ids.len());
    let (titles, years, departments): (Vec<String>, Vec<i64>, Vec<Option<String>>) = catalog
        .with_documents(|docs| {
            let mut titles = Vec::with_capacity(ids.len());
            let mut years = Vec::with_capacity(ids.len());
            let mut departments = Vec::with_capacity(ids.len());
            for id in ids {
                match docs.get(id) {
                    Some(d) => {
                        authors.push(
                            d.authors
                                .iter()
                                .map(|(_, name)| name.as_str())
                                .collect::<Vec<_>>()
                                .join("; "),
                        );
                        titles.push(d.title.clone());
                        years.push(d.year.unwrap_or(0));
                        departments.push(d.departments.first().cloned());
                    }
                    None => {
                        authors.push(String::new());
                        titles.push(format!("Document {id}"));
                        years.push(0);
                        departments.push(None);
                    }
                }
            }
            (titles, years, departments)
        });
    // Departments by size, largest first (the page colours the first ones distinctly).
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for d in &departments {
        *counts.entry(d.as_deref().unwrap_or(NONE)).or_default() += 1;
    }
    let mut names: Vec<(&str, usize)> = counts.into_iter().collect();
    names.sort_by(|a, b| {
        (a.0 == NONE)
            .cmp(&(b.0 == NONE))
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(b.0))
    });
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.0, i)).collect();

    let mut json = String::with_capacity(ids.len() * 100);
    let list = |json: &mut String, key: &str, items: &mut dyn Iterator<Item = String>| {
        let _ = write!(json, ",\"{key}\":[");
        for (i, item) in items.enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&item);
        }
        json.push(']');
    };
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let _ = write!(json, "{{\"documents\":{}", ids.len());
    list(
        &mut json,
        "departments",
        &mut names.iter().map(|n| quote(n.0)),
    );
    list(
        &mut json,
        "department_counts",
        &mut names.iter().map(|n| n.1.to_string()),
    );
    list(&mut json, "id", &mut ids.iter().map(i64::to_string));
    // Five decimals: a hundred-thousandth of the map, finer than a pixel at 100x zoom.
    list(
        &mut json,
        "x",
        &mut layout.iter().step_by(2).map(|v| format!("{v:.5}")),
    );
    list(
        &mut json,
        "y",
        &mut layout.iter().skip(1).step_by(2).map(|v| format!("{v:.5}")),
    );
    list(
        &mut json,
        "department",
        &mut departments
            .iter()
            .map(|d| index[d.as_deref().unwrap_or(NONE)].to_string()),
    );
    list(&mut json, "year", &mut years.iter().map(i64::to_string));
    list(&mut json, "title", &mut titles.iter().map(|t| quote(t)));
    list(&mut json, "author", &mut authors.iter().map(|a| quote(a)));
    // The regions' names, coarsest first (`model::labels`).
    let labels = serde_json::to_string(model.model().region_labels())
        .map_err(|e| Error::Internal(e.into()))?;
    let _ = write!(json, ",\"labels\":{labels}");
    json.push('}');
    let json = json.into_bytes();

    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 3),
        flate2::Compression::fast(),
    );
    gz.write_all(&json)
        .and_then(|_| gz.flush())
        .map_err(|e| Error::Internal(e.into()))?;
    let gzip = gz.finish().map_err(|e| Error::Internal(e.into()))?;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&json);
    Ok(Points {
        generation,
        etag: format!("\"{}\"", hex::encode(&digest[..12])),
        json,
        gzip,
    })
}

/// What a request for the map gets when the model in use has none.
fn no_map() -> Error {
    Error::NotFound(
        "the model in use has no map: compute one with `hamlet model layout` and publish it".into(),
    )
}

/// A text's place on the map and the documents nearest it.
#[derive(Serialize)]
pub(crate) struct Placed {
    /// Where it falls, in the coordinates of `/api/map`.
    pub x: f32,
    pub y: f32,
    pub results: Vec<ResultView>,
}

/// `POST /api/map/place`: the same input as `/api/recommend` (JSON `{"text": ...}` or a
/// multipart `file`/`text`); where the text falls on the map and its most similar documents.
#[rocket::post("/api/map/place", data = "<submission>")]
pub(crate) async fn place(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    submission: std::result::Result<Submission, Error>,
) -> Result<Json<Placed>> {
    let (text, ask, _) = super::api::accept(catalog, served, submission).await?;
    let model = served.model()?;
    if model.model().layout().is_none() {
        return Err(no_map());
    }
    let answer = run_blocking(move || ask.query(&model, Query::TextOnMap(&text), ask.limit))
        .await?
        .map_err(|e| Error::Internal(e.into()))?;
    let [x, y] = answer.place.ok_or_else(|| {
        Error::Unprocessable(
            "none of the text's words are known to the model, so it cannot be placed".into(),
        )
    })?;
    Ok(Json(Placed {
        x,
        y,
        results: discover::hydrate_matches(catalog, answer.matches).await?,
    }))
}
