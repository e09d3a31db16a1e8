//! HTML pages at the original's URLs, rendered from `templates/` with Tera. Each is a thin
//! shell over `discover` (the same calls the JSON API makes). Forms post multipart bodies read
//! by `upload::Submission`, carry a CSRF token, and on a bad upload re-render with the message,
//! a 4xx status and the reader's pasted text kept.
//!
//! Routes are declared without the trailing slash; Rocket matches `/about` and `/about/` alike,
//! so the original's URLs (which end in a slash) and the bare ones both work.

use rocket::http::{ContentType, CookieJar, Status};
use rocket::serde::json::Json;
use rocket::State;
use rocket_dyn_templates::{context, Metadata, Template};
use serde::Serialize;

use super::api::parse_identifier;
use super::discover;
use super::error::{Error, Result};
use super::filter::{Facets, Filter, FilterQuery};
use super::guard::Shield;
use super::page_cache::{Generation, Page, PageCache, PageKey};
use super::served::{Ask, Served, MAX_LIMIT};
use super::upload::Submission;
use super::views::ResultView;
use crate::model::engine::Query;
use std::sync::Arc;

use super::catalog::Catalog;
use crate::store::Store;

/// `/`: the three tools, and what the collection holds.
#[rocket::get("/")]
pub(crate) fn home(catalog: &State<Arc<Catalog>>) -> Template {
    Template::render("index", context! { stats: catalog.stats() })
}

/// `/about/`: how it works, for librarians.
#[rocket::get("/about")]
pub(crate) fn about(catalog: &State<Arc<Catalog>>, served: &State<Served>) -> Template {
    let stats = catalog.stats();
    let model = served.current().map(|served| {
        let m = served.model;
        let c = m.config();
        serde_json::json!({
            "mode": match c.mode {
                crate::model::Mode::Dm => "PV-DM (distributed memory)",
                crate::model::Mode::Dbow => "PV-DBOW (distributed bag of words)",
            },
            "dim": c.dim,
            "window": c.window,
            "epochs": c.epochs,
            "documents": m.model().doc_ids().len(),
            "vocabulary": m.model().vocab().len(),
            "engine": m.is_engine(),
        })
    });
    Template::render(
        "about",
        context! {
            stats,
            model,
            document_min_score: format!("{:.2}", served.document_min_score()),
            text_min_score: format!("{:.2}", served.text_min_score()),
        },
    )
}

/// `/similar_to/?title=...` or `?author=...`: the search page, with autocomplete; without
/// script, submitting lists the matches.
#[rocket::get("/similar_to?<title>&<author>")]
pub(crate) async fn search(
    store: &State<Store>,
    title: Option<&str>,
    author: Option<&str>,
) -> Result<Template> {
    let title = title.map(str::trim).filter(|q| !q.is_empty());
    let author = author.map(str::trim).filter(|q| !q.is_empty());
    let titles = match title {
        Some(q) => Some(store.search_titles(q, 50).await?),
        None => None,
    };
    let authors = match author {
        Some(q) => Some(store.search_authors(q, 50).await?),
        None => None,
    };
    Ok(Template::render(
        "search",
        context! { title, author, titles, authors },
    ))
}

/// `/similar_to/<identifier>/?limit=N`: the documents most similar to one document, with the
/// reader's filters (years, departments, degree; kept in the URL), how many results each
/// choice leaves, and the list as BibTeX, RIS or CSL-JSON. The rendered page is kept
/// (`page_cache`) until the model or the collection changes; filtered pages are not kept.
#[rocket::get("/similar_to/<identifier>?<limit>&<filter..>", rank = 2)]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn similar_to(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    pages: &State<PageCache>,
    templates: Metadata<'_>,
    identifier: &str,
    limit: Option<usize>,
    filter: FilterQuery,
) -> Result<Page> {
    let id = parse_identifier(identifier)?;
    let filter = filter.filter()?;
    let unfiltered = served.ask_document(limit, None);
    let ask = unfiltered.clone().within(filter.allowed(catalog));
    // Read before the work, so a page is never filed under a newer model than it used.
    let generation = Generation {
        model: served.generation(),
        catalog: catalog.generation(),
    };
    let key = PageKey::Similar {
        identifier: id.0,
        limit: ask.limit,
    };
    let cacheable = filter.is_empty();
    if cacheable {
        if let Some(page) = pages.get(generation, key) {
            return Ok(page);
        }
    }
    let doc = catalog.document(id).await?;
    let results = if doc.unextractable {
        None
    } else {
        Some(discover::for_document(catalog, served, &doc, ask.clone()).await?)
    };
    let related = match results {
        Some(_) => discover::related(catalog, served, &doc, &ask).await?,
        None => None,
    };
    // The facets count every document above the threshold, before the filters and the limit.
    let facets = match (&results, served.model()) {
        (Some(_), Ok(model)) => {
            let pool: Vec<i64> = unfiltered
                .query(&model, Query::Document(id.0), FACET_POOL)
                .map(|a| a.matches.iter().map(|m| m.similar.identifier).collect())
                .unwrap_or_default();
            Some(Facets::of(catalog, &pool))
        }
        _ => None,
    };
    let unextractable = doc.unextractable;
    let on_map = served
        .model()
        .is_ok_and(|m| m.model().layout().is_some() && m.model().contains(id.0));
    let query = format!("limit={}{}", ask.limit, filter.query_string());
    let (_, html) = templates
        .render(
            "similar",
            context! {
                doc: ResultView::new(1.0, doc),
                unextractable,
                on_map,
                results,
                related,
                min_score: served.document_min_score(),
                filter: &filter,
                facets,
                query,
                threshold: format!("{:.2}", served.document_min_score()),
            },
        )
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("the similar page failed to render")))?;
    let page = Page::new(html);
    if cacheable {
        pages.put(generation, key, page.clone());
    }
    Ok(page)
}

/// At most this many results are counted for a page's facets.
const FACET_POOL: usize = 2_000;

/// `/similar_to/author/<id>/`: for each document a person authored, its similar documents,
/// with the same filters as a similar_to page and the merged list as an export.
#[rocket::get("/similar_to/author/<id>?<filter..>")]
pub(crate) async fn similar_to_author(
    catalog: &State<Arc<Catalog>>,
    served: &State<Served>,
    id: &str,
    filter: FilterQuery,
) -> Result<Template> {
    let person = id
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::NotFound(format!("no person with id {id:?}")))?;
    let filter = filter.filter()?;
    let ask = served.ask_document(None, None);
    // Counts: the merged unfiltered list, as many as a page may show; one reading of the
    // author's documents serves both.
    let counted = Some(served.ask_document(Some(MAX_LIMIT), None));
    let within = ask.within(filter.allowed(catalog));
    let (found, pool) =
        discover::for_author_counted(catalog, served, person, within, counted).await?;
    let facets = (!pool.is_empty()).then(|| Facets::of(catalog, &pool));
    Ok(Template::render(
        "author",
        context! {
            author: found.author,
            documents: found.documents,
            merged: !found.results.is_empty(),
            filter: &filter,
            facets,
            query: format!("limit=10{}", filter.query_string()),
            threshold: format!("{:.2}", served.document_min_score()),
        },
    ))
}

/// Which upload tool a form page is.
#[derive(Clone, Copy)]
enum Tool {
    Recommend,
    LitReview,
}

/// The captcha question shown on a form, when the captcha is on.
#[derive(Serialize)]
struct Captcha {
    question: String,
    token: String,
}

/// What renders and checks the upload forms, from the request: the protection settings, the
/// engine's defaults, the browser's cookies and whether it came over HTTPS.
pub(crate) struct Forms<'r> {
    shield: &'r Shield,
    served: &'r Served,
    catalog: &'r Catalog,
    jar: &'r CookieJar<'r>,
    https: bool,
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Forms<'r> {
    type Error = ();

    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        let rocket = req.rocket();
        match (
            rocket.state::<Shield>(),
            rocket.state::<Served>(),
            rocket.state::<Arc<Catalog>>(),
        ) {
            (Some(shield), Some(served), Some(catalog)) => {
                rocket::request::Outcome::Success(Forms {
                    shield,
                    served,
                    catalog,
                    jar: req.cookies(),
                    https: shield.is_https(req),
                })
            }
            _ => rocket::request::Outcome::Error((Status::InternalServerError, ())),
        }
    }
}

impl<'r> Forms<'r> {
    fn page(self, tool: Tool) -> FormPage<'r> {
        FormPage {
            tool,
            forms: self,
            filter: Filter::default(),
            facets: None,
            exported: None,
        }
    }
}

/// One upload form page being answered: which tool, what renders and checks its form, and
/// the reader's filters with their counts.
struct FormPage<'r> {
    tool: Tool,
    forms: Forms<'r>,
    filter: Filter,
    /// Counts over the results of the text (all documents before a text is sent).
    facets: Option<Facets>,
    /// The text answered, for the export form that sends it again to the API.
    exported: Option<String>,
}

impl FormPage<'_> {
    /// The form (token, captcha, the pasted text kept), an error, and the outcome if any.
    fn render<T: Serialize>(
        &self,
        text: Option<String>,
        error: Option<String>,
        outcome: Option<T>,
    ) -> Template {
        let captcha = self.forms.shield.captcha.then(|| {
            let (question, token) = self.forms.shield.captcha_question();
            Captcha { question, token }
        });
        let template = match self.tool {
            Tool::Recommend => "upload",
            Tool::LitReview => "lit_review",
        };
        Template::render(
            template,
            context! {
                csrf_token: self.forms.shield.csrf_token(self.forms.jar, self.forms.https),
                captcha,
                text,
                error,
                outcome,
                min_score: format!("{:.2}", self.forms.served.text_min_score()),
                model_ready: self.forms.served.current().is_some(),
                filter: &self.filter,
                facets: self.facets.clone().or_else(|| Some(self.collection_facets())),
                exported: &self.exported,
                max_mb: (self.forms.shield.upload_max_bytes as f64 / (1 << 20) as f64 * 10.0).round() / 10.0,
            },
        )
    }

    fn empty(&self) -> Template {
        self.render::<()>(None, None, None)
    }

    /// The choices over the whole collection, before a text is sent.
    fn collection_facets(&self) -> Facets {
        let ids: Vec<i64> = self
            .forms
            .catalog
            .with_documents(|docs| docs.keys().copied().collect());
        Facets::of(self.forms.catalog, &ids)
    }

    /// Checks the form's token and captcha and extracts its text; on failure, the error and
    /// the pasted text to show again.
    async fn accept(
        &mut self,
        submission: std::result::Result<Submission, Error>,
    ) -> std::result::Result<(String, Ask), (Error, Option<String>)> {
        let submission = submission.map_err(|e| (e, None))?;
        let pasted = submission.text.clone();
        let checks = self
            .forms
            .shield
            .check_csrf(self.forms.jar, submission.csrf_token.as_deref())
            .and_then(|()| {
                self.forms.shield.check_captcha(
                    submission.captcha_answer.as_deref(),
                    submission.captcha_token.as_deref(),
                )
            });
        if let Err(e) = checks {
            return Err((e, pasted));
        }
        let filter = match submission.filter.clone().checked() {
            Ok(f) => f,
            Err(e) => return Err((e, pasted)),
        };
        self.filter = filter.clone();
        let ask = self
            .forms
            .served
            .ask_text(submission.limit, None)
            .within(filter.allowed(self.forms.catalog));
        match submission.into_text().await {
            Ok(text) => Ok((text, ask)),
            Err(e) => Err((e, pasted)),
        }
    }

    /// The form again, with the error's message and status. Failures on our side are logged
    /// and shown without their cause, as everywhere.
    fn failed(&self, pasted: Option<String>, e: Error) -> (Status, Template) {
        match &e {
            Error::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "upload failed")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %format!("{cause:#}"), "upload: dependency unavailable")
            }
            _ => {}
        }
        (
            e.status(),
            self.render::<()>(pasted, Some(e.to_string()), None),
        )
    }
}

/// Answers a submitted form: the similar documents, or for the literature review buddy what
/// they cite; on any failure the form again with the message.
async fn answer(
    mut form: FormPage<'_>,
    catalog: &Catalog,
    submission: std::result::Result<Submission, Error>,
) -> (Status, Template) {
    let (text, ask) = match form.accept(submission).await {
        Ok(t) => t,
        Err((e, pasted)) => return form.failed(pasted, e),
    };
    form.exported = Some(text.clone());
    // The counts beside the filters (the text's results above the threshold, unfiltered) and
    // the results come from one inference of the text.
    let answered =
        discover::for_text_counted(catalog, form.forms.served, text, ask, FACET_POOL).await;
    let rendered = match answered {
        Ok((results, pool)) => {
            form.facets = Some(Facets::of(catalog, &pool));
            match form.tool {
                Tool::Recommend => Ok(form.render(None, None, Some(results))),
                Tool::LitReview => discover::lit_review(catalog, form.forms.served, results)
                    .await
                    .map(|review| form.render(None, None, Some(review))),
            }
        }
        Err(e) => Err(e),
    };
    match rendered {
        Ok(page) => (Status::Ok, page),
        Err(e) => form.failed(None, e),
    }
}

/// `GET /upload/recommend/`: the uploaded-file oracle's form.
#[rocket::get("/upload/recommend")]
pub(crate) fn upload_form(forms: Forms<'_>) -> Template {
    forms.page(Tool::Recommend).empty()
}

/// `POST /upload/recommend/`: "If you wrote this, you might also like...".
#[rocket::post("/upload/recommend", data = "<submission>")]
pub(crate) async fn upload_submit(
    catalog: &State<Arc<Catalog>>,
    forms: Forms<'_>,
    submission: std::result::Result<Submission, Error>,
) -> (Status, Template) {
    answer(forms.page(Tool::Recommend), catalog, submission).await
}

/// `GET /citations/lit_review_buddy/`: the literature review buddy's form.
#[rocket::get("/citations/lit_review_buddy")]
pub(crate) fn lit_review_form(forms: Forms<'_>) -> Template {
    forms.page(Tool::LitReview).empty()
}

/// `POST /citations/lit_review_buddy/`: what the documents similar to a draft cite.
#[rocket::post("/citations/lit_review_buddy", data = "<submission>")]
pub(crate) async fn lit_review_submit(
    catalog: &State<Arc<Catalog>>,
    forms: Forms<'_>,
    submission: std::result::Result<Submission, Error>,
) -> (Status, Template) {
    answer(forms.page(Tool::LitReview), catalog, submission).await
}

/// One autocomplete suggestion, in the shape the original's widgets used.
#[derive(Serialize)]
pub(crate) struct Suggestion {
    id: i64,
    text: String,
}

#[derive(Serialize)]
pub(crate) struct Suggestions {
    results: Vec<Suggestion>,
}

/// The shortest query worth a database round trip.
const MIN_QUERY_CHARS: usize = 2;

/// `/autocomplete/thesis/?q=`: titles of documents with text containing `q`.
#[rocket::get("/autocomplete/thesis?<q>")]
pub(crate) async fn autocomplete_thesis(
    store: &State<Store>,
    q: Option<&str>,
) -> Result<Json<Suggestions>> {
    let q = q.unwrap_or("").trim();
    if q.chars().count() < MIN_QUERY_CHARS || q.chars().count() > 200 {
        return Ok(Json(Suggestions { results: vec![] }));
    }
    let hits = store.search_titles(q, 10).await?;
    Ok(Json(Suggestions {
        results: hits
            .into_iter()
            .map(|h| Suggestion {
                id: h.identifier.0,
                text: match h.year {
                    Some(y) => format!("{} ({y})", h.title),
                    None => h.title,
                },
            })
            .collect(),
    }))
}

/// `/autocomplete/author/?q=`: authors whose name contains `q`.
#[rocket::get("/autocomplete/author?<q>")]
pub(crate) async fn autocomplete_author(
    store: &State<Store>,
    q: Option<&str>,
) -> Result<Json<Suggestions>> {
    let q = q.unwrap_or("").trim();
    if q.chars().count() < MIN_QUERY_CHARS || q.chars().count() > 200 {
        return Ok(Json(Suggestions { results: vec![] }));
    }
    let hits = store.search_authors(q, 10).await?;
    Ok(Json(Suggestions {
        results: hits
            .into_iter()
            .map(|h| Suggestion {
                id: h.id,
                text: h.name,
            })
            .collect(),
    }))
}

/// `/robots.txt`: as in the original, crawlers may read /about/ and nothing else.
#[rocket::get("/robots.txt")]
pub(crate) fn robots() -> (ContentType, &'static str) {
    (
        ContentType::Plain,
        "User-agent: *\nAllow: /about/\nDisallow: /\n",
    )
}
