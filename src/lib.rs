//! Hamlet: machine-learning discovery for a thesis collection. "Documents similar to this
//! one", "documents similar to my draft", and "what do similar documents cite".
//!
//! Layout (one place per concern; dependencies point one way, `web`/`cli` -> `store`/`model`):
//! - `config`: `AppConfig`, the only reader of environment variables.
//! - `store`: the collection database (sqlx, SQLite or Postgres).
//! - `extract`: the text of uploaded files (.txt, .docx, .pdf).
//! - `ingest`: parsing collections (the RFC series, JSON lines) into store rows.
//! - `model`: everything that touches libtorch.
//! - `remote`: objects by URL (model files and manifests): fetch, cache, publish.
//! - `web`: Rocket routes, templates, the JSON API.
//! - `app`: the jobs: import, harvest, train, evaluate, publish (plain options, a progress
//!   callback; what the CLI, the tests and the benchmarks call).
//! - `cli`: the subcommands of the `hamlet` binary: flags, progress bars, printed reports.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod extract;
pub mod ingest;
pub mod logging;
pub mod memory;
pub mod model;
pub mod remote;
pub mod retry;
pub mod secret;
pub mod store;
pub mod web;

use std::sync::{Arc, Mutex};

use figment::Figment;
use rocket::config::LogLevel;
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use rocket_dyn_templates::Template;

use crate::config::{AppConfig, Profile};
use crate::store::Store;

/// The web application for `cfg`, used by `hamlet serve` and by every test.
///
/// Igniting does no I/O: the database pool is created lazily, and the start-up work
/// (migrations, the catalog, fetching and loading the model) runs in the background from
/// liftoff (`web::boot`), so the port is bound at once. Until that work is done the server is
/// not ready: `/health/ready` and the pages answer 503.
pub fn rocket(cfg: AppConfig) -> Rocket<Build> {
    let torch = model::runtime::configure(cfg.torch_threads);
    let figment = Figment::from(rocket::Config::default())
        .merge(("ident", "Hamlet"))
        .merge(("address", cfg.address))
        .merge(("port", cfg.port))
        // Rocket's own launch banner is replaced by our structured lines (see `logging`).
        .merge(("log_level", LogLevel::Off))
        .merge(("cli_colors", cfg.profile == Profile::Local))
        .merge(("template_dir", cfg.templates_dir.clone()));
    let public_dir = cfg.public_dir.clone();
    let rocket = rocket::custom(figment)
        .manage(torch)
        .attach(Template::custom(|engines| {
            web::tera_filters::register(&mut engines.tera)
        }))
        .attach(AdHoc::try_on_ignite("hamlet state", |rocket| async move {
            match state(cfg) {
                Ok((boot, store, served, shield, sandbox, cfg)) => Ok(rocket
                    .manage(sandbox)
                    .manage(boot.readiness.clone())
                    .manage(boot.catalog.clone())
                    .manage(Mutex::new(Some(boot)))
                    .manage(store)
                    .manage(served)
                    .manage(shield)
                    .manage(web::page_cache::PageCache::new(
                        cfg.page_cache_mb.saturating_mul(1 << 20),
                    ))
                    .manage(web::map::MapCache::default())
                    .manage(cfg)),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot start");
                    Err(rocket)
                }
            }
        }))
        .attach(AdHoc::on_liftoff("start-up", |rocket| {
            Box::pin(async move {
                let boot = rocket
                    .state::<Mutex<Option<web::boot::Boot>>>()
                    .and_then(|b| b.lock().unwrap_or_else(|p| p.into_inner()).take());
                if let Some(boot) = boot {
                    rocket::tokio::spawn(boot.run());
                }
                let c = rocket.config();
                tracing::info!(address = %c.address, port = c.port, "hamlet is listening");
            })
        }));
    web::mount(rocket, &public_dir)
}

/// The server's shared state, built without I/O.
fn state(
    cfg: AppConfig,
) -> anyhow::Result<(
    web::boot::Boot,
    Store,
    web::served::Served,
    web::guard::Shield,
    Arc<extract::sandbox::Sandbox>,
    AppConfig,
)> {
    let store = Store::connect_lazy(cfg.database_url(), cfg.db_max_connections)?;
    let slot = app::model_source::ModelSlot::default();
    let served = web::served::Served::new(slot.clone(), cfg.document_min_score, cfg.text_min_score);
    let boot = web::boot::Boot {
        readiness: Default::default(),
        store: store.clone(),
        catalog: Arc::new(web::catalog::Catalog::empty(store.clone())),
        models: app::model_source::ModelUpdater::new(
            app::model_source::ModelSource::from_config(&cfg),
            cfg.remote(),
            slot,
            cfg.model_weights,
        ),
        check_every: (cfg.model_check_interval_secs > 0)
            .then(|| std::time::Duration::from_secs(cfg.model_check_interval_secs)),
    };
    let shield = web::guard::Shield::new(&cfg);
    let sandbox = extract::sandbox::Sandbox::for_this_binary(cfg.sandbox_limits())
        .map_err(|e| anyhow::anyhow!("the upload reader: {e}"))?;
    Ok((boot, store, served, shield, Arc::new(sandbox), cfg))
}
