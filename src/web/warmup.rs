//! The warm-up gate: until start-up is done (`boot::Readiness`), every request but health
//! checks and static files gets 503 with Retry-After: a page that reloads itself, or the one
//! JSON error envelope (`error::envelope`) for the API.

use std::sync::Arc;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Data, Request, Response};
use rocket_dyn_templates::{context, Template};

use super::boot::Readiness;

/// The path a request had before the warm-up gate redirected it.
struct HeldPath(String);

/// Sends every request but health checks and static files to `warming_up` until the server
/// is ready.
pub(crate) struct WarmUp;

const WARMING_UP: &str = "/_hamlet/warming-up";

#[rocket::async_trait]
impl Fairing for WarmUp {
    fn info(&self) -> Info {
        Info {
            name: "warm-up gate",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let ready = req
            .rocket()
            .state::<Arc<Readiness>>()
            .is_none_or(|r| r.is_ready());
        // Once ready (every request but the first few), nothing else to do: no allocation.
        if ready {
            return;
        }
        let path = req.uri().path().as_str().to_string();
        if path == "/health"
            || path.starts_with("/health/")
            || path.starts_with("/static/")
            || path == "/robots.txt"
        {
            return;
        }
        req.local_cache(|| HeldPath(path));
        req.set_method(Method::Get);
        req.set_uri(Origin::parse(WARMING_UP).expect("a valid path"));
    }
}

/// The answer while warming up: 503, Retry-After, a page that reloads itself (or JSON).
#[rocket::get("/_hamlet/warming-up")]
pub(crate) fn warming_up(readiness: &rocket::State<Arc<Readiness>>) -> WarmingUp {
    WarmingUp(readiness.doing())
}

pub(crate) struct WarmingUp(&'static str);

/// Seconds a client is asked to wait.
const RETRY_AFTER: u32 = 5;

impl<'r> Responder<'r, 'static> for WarmingUp {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let held = &req.local_cache(|| HeldPath(String::new())).0;
        let json = held.starts_with("/api/") || req.format().is_some_and(|f| f.is_json());
        let res = if json {
            let message = format!("the service is warming up ({}); retry shortly", self.0);
            Json(super::error::envelope(&message)).respond_to(req)?
        } else {
            Template::render(
                "warming_up",
                context! { doing: self.0, retry_after: RETRY_AFTER },
            )
            .respond_to(req)?
        };
        Response::build_from(res)
            .status(Status::ServiceUnavailable)
            .raw_header("Retry-After", RETRY_AFTER.to_string())
            .raw_header("Cache-Control", "no-store")
            .ok()
    }
}
