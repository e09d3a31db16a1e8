//! Hamlet: machine-learning discovery for a thesis collection. "Documents similar to this
//! one", "documents similar to my draft", and "what do similar documents cite".
//!
//! Layout (one place per concern; dependencies point one way, `web`/`cli` -> `store`/`model`):
//! - `config`: `AppConfig`, the only reader of environment variables.
//! - `store`: the collection database (sqlx, SQLite or Postgres).
//! - `extract`: the text of uploaded files (.txt, .docx, .pdf).
//! - `ingest`: parsing collections (the RFC series, JSON lines) into store rows.
//! - `model`: everything that touches libtorch.
//! - `web`: Rocket routes, templates, the JSON API.
//! - `cli`: the subcommands of the `hamlet` binary.

pub mod cli;
pub mod config;
pub mod extract;
pub mod ingest;
pub mod logging;
pub mod model;
pub mod store;
pub mod web;

use figment::Figment;
use rocket::config::LogLevel;
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use rocket_dyn_templates::Template;

use crate::config::{AppConfig, Profile};
use crate::store::Store;

/// The web application for `cfg`, used by `hamlet serve` and by every test. The database pool
/// is created (lazily) and migrated while Rocket ignites; libtorch is configured once.
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
    let model_path = cfg.model_path.clone();
    let (document_min_score, text_min_score) = (cfg.document_min_score, cfg.text_min_score);
    let rocket = rocket::custom(figment)
        .manage(torch)
        .attach(Template::fairing())
        .attach(AdHoc::on_ignite("model", move |rocket| async move {
            rocket.manage(web::discover::Engine {
                model: load_model(model_path).await,
                document_min_score,
                text_min_score,
            })
        }))
        .attach(AdHoc::try_on_ignite("collection store", move |rocket| async move {
            match open_store(&cfg).await {
                Ok((store, catalog)) => Ok(rocket
                    .manage(store)
                    .manage(catalog)
                    .manage(web::guard::Shield::new(&cfg))
                    .manage(cfg)),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot open the collection database");
                    Err(rocket)
                }
            }
        }))
        .attach(AdHoc::on_liftoff("liftoff", |rocket| {
            Box::pin(async move {
                if let Some(catalog) = rocket.state::<std::sync::Arc<web::catalog::Catalog>>() {
                    rocket::tokio::spawn(catalog.clone().keep_fresh());
                }
                let c = rocket.config();
                tracing::info!(address = %c.address, port = c.port, "hamlet is listening");
            })
        }));
    web::mount(rocket, &public_dir)
}

/// Loads the model file, if there is one. Without it the server still serves the collection,
/// and the routes that need a model answer 503.
async fn load_model(path: std::path::PathBuf) -> Option<std::sync::Arc<model::Doc2Vec>> {
    if path.as_os_str().is_empty() || !path.exists() {
        tracing::warn!(path = %path.display(), "no model file: similar-document routes answer 503 until `hamlet train` writes one");
        return None;
    }
    let shown = path.display().to_string();
    match rocket::tokio::task::spawn_blocking(move || model::file::load(&path)).await {
        Ok(Ok(m)) => {
            tracing::info!(path = %shown, documents = m.doc_ids().len(), vocab = m.vocab().len(), "model loaded");
            Some(std::sync::Arc::new(m))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the model file cannot be used; serving without a model");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "loading the model panicked; serving without a model");
            None
        }
    }
}

/// Connects to the configured database, applies pending migrations and reads the catalog.
async fn open_store(
    cfg: &AppConfig,
) -> anyhow::Result<(Store, std::sync::Arc<web::catalog::Catalog>)> {
    use anyhow::Context;
    let store = Store::connect_lazy(cfg.database_url(), cfg.db_max_connections)?;
    let applied = store
        .migrate()
        .await
        .with_context(|| format!("migrating the {} database", store.backend().name()))?;
    tracing::info!(
        backend = store.backend().name(),
        migrations_applied = applied,
        "database ready"
    );
    let catalog = web::catalog::Catalog::load(store.clone())
        .await
        .context("reading the catalog of documents")?;
    Ok((store, std::sync::Arc::new(catalog)))
}
