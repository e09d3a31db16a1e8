//! The HTTP face of Hamlet: pages (`pages`), the JSON API (`api`), the three tools both share
//! (`discover`), the served model and what a request asks of it (`served`), the in-memory
//! catalog of documents they list (`catalog`), submissions and uploads (`upload`), abuse
//! protection and security headers (`guard`), the collection map (`map`), rendered pages kept
//! (`page_cache`), start-up and readiness (`boot`) and the gate while not ready (`warmup`),
//! health (`health`), the one error type handlers return (`error`) and the JSON shapes
//! (`views`).
//!
//! Every route is mounted in `mount`, the single list: adding a path means adding it there
//! (and to the route table of docs/WEB.md). Handlers are thin: they call `discover` and `store` and
//! shape the result.

pub(crate) mod api;
pub(crate) mod boot;
pub(crate) mod catalog;
pub(crate) mod discover;
pub(crate) mod error;
pub(crate) mod export;
pub(crate) mod filter;
pub(crate) mod guard;
pub(crate) mod health;
pub(crate) mod map;
pub(crate) mod page_cache;
pub(crate) mod pages;
pub(crate) mod served;
pub(crate) mod tera_filters;
pub(crate) mod upload;
pub(crate) mod views;
pub(crate) mod warmup;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::fs::FileServer;
use rocket::http::Header;
use rocket::{Build, Data, Request, Response, Rocket};

pub use error::Error;

/// Mounts every route, the catchers and the static files.
pub(crate) fn mount(rocket: Rocket<Build>, public_dir: &std::path::Path) -> Rocket<Build> {
    rocket
        .mount(
            "/",
            rocket::routes![
                pages::home,
                pages::about,
                pages::search,
                pages::similar_to,
                pages::similar_to_author,
                pages::upload_form,
                pages::upload_submit,
                pages::lit_review_form,
                pages::lit_review_submit,
                pages::autocomplete_thesis,
                pages::autocomplete_author,
                pages::robots,
                map::page,
                map::points,
                map::place,
                health::health,
                health::live,
                health::ready,
                warmup::warming_up,
                guard::bad_host,
                api::document,
                api::similar_documents,
                api::similar_to_author,
                api::search,
                api::recommend,
                api::lit_review,
            ],
        )
        .mount("/static", FileServer::from(public_dir).rank(20))
        .register("/", rocket::catchers![error::default_catcher])
        .attach(RequestLog)
        .attach(guard::HostCheck)
        .attach(warmup::WarmUp)
        .attach(guard::SecurityHeaders)
}

/// When a request started and the id it is logged under.
struct RequestStart {
    at: Instant,
    id: String,
    /// The path asked for (before the warm-up or host gates redirect the request).
    path: String,
}

/// Logs one line per request (method, path, status, duration, request id) and echoes the
/// request id in `X-Request-Id`, taking the proxy's (Heroku's router sets one) when present.
struct RequestLog;

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let id = req
            .headers()
            .get_one("X-Request-Id")
            .filter(|v| v.len() <= 200 && v.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{:x}-{}",
                    std::process::id(),
                    NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
                )
            });
        let path = req.uri().path().as_str().to_string();
        req.local_cache(|| RequestStart {
            at: Instant::now(),
            id,
            path,
        });
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let start = req.local_cache(|| RequestStart {
            at: Instant::now(),
            id: String::new(),
            path: req.uri().path().as_str().to_string(),
        });
        let status = res.status().code;
        let duration_ms = start.at.elapsed().as_secs_f64() * 1000.0;
        // Only the path: query strings can carry search terms, which are the reader's business.
        tracing::info!(
            method = %req.method(),
            path = %start.path,
            status,
            duration_ms = (duration_ms * 1000.0).round() / 1000.0,
            request_id = %start.id,
            "request"
        );
        res.set_header(Header::new("X-Request-Id", start.id.clone()));
    }
}
