//! HTML pages, rendered from `templates/` with Tera.

use rocket::http::ContentType;
use rocket::State;
use rocket_dyn_templates::{context, Template};

use super::error::Result;
use crate::store::Store;

/// `/`: what Hamlet is and what the collection holds.
#[rocket::get("/")]
pub(crate) async fn home(store: &State<Store>) -> Result<Template> {
    let stats = store.stats().await?;
    Ok(Template::render(
        "index",
        context! { stats, backend: store.backend().name() },
    ))
}

/// `/robots.txt`: as in the original, crawlers may read /about/ and nothing else.
#[rocket::get("/robots.txt")]
pub(crate) fn robots() -> (ContentType, &'static str) {
    (
        ContentType::Plain,
        "User-agent: *\nAllow: /about/\nDisallow: /\n",
    )
}
