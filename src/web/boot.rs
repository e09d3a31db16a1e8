//! Start-up in the background, readiness, and the model's hot reload.
//!
//! The port is bound at once, whatever the model's size; then one task migrates the database
//! and reads the catalog while another fetches (`MODEL_URL`) or reads (`HAMLET_MODEL_PATH`)
//! the model and loads it, each retrying with backoff until it succeeds. Until both are done
//! the server is not ready: `/health/ready` and every page answer 503 with Retry-After (a
//! "warming up" page; JSON under /api), while `/health/live`, `/health` and the static files
//! answer. Afterwards the task looks for a new model on SIGHUP and every
//! `MODEL_CHECK_INTERVAL_SECS`, and swaps it in (`Engine::swap`); a failed download or a bad
//! checksum is logged and the old model keeps serving. No model at all (no file at
//! `HAMLET_MODEL_PATH`, no manifest at `MODEL_URL` yet) is a state, not a failure: the server
//! is ready, serves what needs no model, and the tools answer 503 until a model appears.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Data, Request, Response};
use rocket_dyn_templates::{context, Template};

use super::catalog::Catalog;
use super::discover::{Engine, Served};
use crate::config::AppConfig;
use crate::remote::{manifest, Remote};
use crate::store::Store;

/// What is ready, and the last start-up problem, for `/health/ready` and the warm-up gate.
#[derive(Default)]
pub(crate) struct Readiness {
    database: AtomicBool,
    model: AtomicBool,
    problems: Mutex<Vec<(&'static str, String)>>,
}

impl Readiness {
    pub(crate) fn is_ready(&self) -> bool {
        self.database.load(Ordering::Acquire) && self.model.load(Ordering::Acquire)
    }

    pub(crate) fn database_ready(&self) -> bool {
        self.database.load(Ordering::Acquire)
    }

    pub(crate) fn model_ready(&self) -> bool {
        self.model.load(Ordering::Acquire)
    }

    /// The latest problem of each part that is not ready yet.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        self.problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn report(&self, part: &'static str, problem: Option<String>) {
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        problems.retain(|(p, _)| *p != part);
        if let Some(problem) = problem {
            problems.push((part, problem));
        }
    }

    /// What a warming-up page says the server is doing.
    fn doing(&self) -> &'static str {
        match (self.database_ready(), self.model_ready()) {
            (false, false) => "opening the collection and loading the recommendation model",
            (false, true) => "opening the collection",
            _ => "loading the recommendation model",
        }
    }
}

/// Where the served model comes from.
#[derive(Debug, Clone)]
pub(crate) enum ModelSource {
    /// `HAMLET_MODEL_PATH`, a local file (it may not exist: then no model is served).
    Path(PathBuf),
    /// `MODEL_URL`: a model file with `MODEL_SHA256`, or a manifest.
    Url { url: String, sha256: Option<String> },
}

impl ModelSource {
    pub(crate) fn from_config(cfg: &AppConfig) -> ModelSource {
        match &cfg.model_url {
            Some(url) => ModelSource::Url {
                url: url.clone(),
                sha256: cfg.model_sha256.clone(),
            },
            None => ModelSource::Path(cfg.model_path.clone()),
        }
    }
}

/// Brings the model the source designates into the engine.
#[derive(Clone)]
pub(crate) struct ModelUpdater {
    source: ModelSource,
    remote: Remote,
    engine: Engine,
    /// How the word and output tables are kept (`HAMLET_MODEL_WEIGHTS`).
    precision: crate::model::weights::Precision,
    /// The sha256 of the last model refused (a checksum that does not match, a file that does
    /// not load): not fetched again at every check, until the source names another or SIGHUP.
    refused: Arc<std::sync::Mutex<Option<String>>>,
}

impl ModelUpdater {
    pub(crate) fn new(
        source: ModelSource,
        remote: Remote,
        engine: Engine,
        precision: crate::model::weights::Precision,
    ) -> ModelUpdater {
        ModelUpdater {
            source,
            remote,
            engine,
            precision,
            refused: Arc::default(),
        }
    }

    /// Forgets the refused model, so the next check tries it again (SIGHUP: the operator
    /// says the source changed).
    pub(crate) fn forget_refused(&self) {
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn refuse(&self, sha256: &str) {
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(sha256.to_string());
    }

    fn was_refused(&self, sha256: &str) -> bool {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(sha256)
    }

    /// Loads the designated model if it is not the one in use. `Ok(true)` when a model was
    /// swapped in, `Ok(false)` when the one in use is current (or there is none to load).
    pub(crate) async fn check(&self) -> anyhow::Result<bool> {
        let current = self.engine.served().map(|s| s.sha256);
        let precision = self.precision;
        let load = move |path: PathBuf| async move {
            let shown = path.display().to_string();
            tokio::task::spawn_blocking(move || crate::model::file::load_with(&path, precision))
                .await
                .context("loading the model panicked")
                .and_then(|r| r.with_context(|| format!("loading the model {shown}")))
        };
        let (loaded, sha256, source) = match &self.source {
            ModelSource::Path(path) => {
                if path.as_os_str().is_empty() || !path.exists() {
                    if current.is_none() {
                        tracing::warn!(path = %path.display(), "no model file: the tools answer 503 until `hamlet train` writes one (then send SIGHUP)");
                    }
                    return Ok(false);
                }
                let sha = crate::remote::hash_file(path).await?;
                if current.as_deref() == Some(sha.as_str()) || self.was_refused(&sha) {
                    return Ok(false);
                }
                (load(path.clone()).await, sha, path.display().to_string())
            }
            ModelSource::Url { url, sha256 } => {
                let target = match sha256 {
                    Some(sha) => manifest::Target {
                        url: url.clone(),
                        sha256: sha.trim().to_ascii_lowercase(),
                    },
                    None => match manifest::read(&self.remote, url).await {
                        Ok((_, target)) => target,
                        // Nothing published yet: the tools wait for the first publish,
                        // which the next check (or SIGHUP) picks up.
                        Err(e) if e.is_not_found() => {
                            if current.is_none() {
                                tracing::warn!(url = %crate::remote::shown(url), "no model is published at MODEL_URL yet: the tools answer 503 until `hamlet publish` writes one");
                            }
                            return Ok(false);
                        }
                        Err(e) => return Err(e.into()),
                    },
                };
                if current.as_deref() == Some(target.sha256.as_str())
                    || self.was_refused(&target.sha256)
                {
                    return Ok(false);
                }
                tracing::info!(url = %crate::remote::shown(&target.url), sha256 = %target.sha256, "fetching the model");
                // Loaded while the cache entry is locked: no other process sharing the cache
                // prunes the file meanwhile.
                let fetched = self
                    .remote
                    .fetch_and(&target.url, &target.sha256, |f| load(f.path.clone()))
                    .await;
                match fetched {
                    Ok((fetched, loaded)) => {
                        (loaded, fetched.sha256, crate::remote::shown(&target.url))
                    }
                    Err(e) => {
                        if let crate::remote::Error::Checksum { .. } = e {
                            self.refuse(&target.sha256);
                        }
                        return Err(e.into());
                    }
                }
            }
        };
        let model = match loaded {
            Ok(model) => model,
            Err(e) => {
                self.refuse(&sha256);
                return Err(e);
            }
        };
        tracing::info!(
            sha256 = %sha256,
            source = %source,
            documents = model.doc_ids().len(),
            vocab = model.vocab().len(),
            replaced = current.as_deref().unwrap_or("none"),
            "model in service"
        );
        // The cache is pruned before the swap, so that a model seen in service has the
        // cache to itself (the old one is in memory: its file is no longer read).
        if let ModelSource::Url { .. } = self.source {
            self.remote.prune_cache(&sha256).await;
        }
        self.engine.swap(Served {
            model: Arc::new(model),
            sha256,
            source,
            loaded_at: crate::remote::now_rfc3339(),
        });
        // Loading freed its read buffers (and a reload the old model, once its last request
        // ends): give those pages back rather than keep them resident (bench/scale.sh).
        crate::memory::trim();
        Ok(true)
    }
}

/// The background work of one server: start-up, then watching for new models.
pub(crate) struct Boot {
    pub readiness: Arc<Readiness>,
    pub store: Store,
    pub catalog: Arc<Catalog>,
    pub models: ModelUpdater,
    /// `MODEL_CHECK_INTERVAL_SECS`; `None` checks only on SIGHUP.
    pub check_every: Option<Duration>,
}

/// Waits between start-up attempts: 0.5 s doubling to 30 s.
fn backoff(attempt: u32) -> Duration {
    crate::remote::backoff(Duration::from_millis(500), attempt)
}

/// How often freed heap pages are given back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Gives freed heap pages back every `TRIM_EVERY`: requests (uploads above all) free their
/// buffers in the allocator's per-thread arenas, which would otherwise stay resident.
async fn keep_trimmed() {
    loop {
        tokio::time::sleep(TRIM_EVERY).await;
        let _ = tokio::task::spawn_blocking(crate::memory::trim).await;
    }
}

impl Boot {
    /// Runs until the process ends.
    pub(crate) async fn run(self) {
        let database = async {
            self.until_ok("database", || self.open_database()).await;
            self.readiness.database.store(true, Ordering::Release);
            tokio::spawn(self.catalog.clone().keep_fresh());
        };
        let model = async {
            // At start-up a refused model is tried again at every attempt: there is no
            // other model to serve meanwhile, and readiness reports why.
            self.until_ok("model", || {
                self.models.forget_refused();
                self.models.check()
            })
            .await;
            self.readiness.model.store(true, Ordering::Release);
        };
        tokio::join!(database, model);
        crate::memory::trim();
        tracing::info!("hamlet is ready");
        tokio::spawn(keep_trimmed());
        self.watch().await;
    }

    /// Runs `step` until it succeeds, reporting each failure as `part`'s problem.
    async fn until_ok<T, F: std::future::Future<Output = anyhow::Result<T>>>(
        &self,
        part: &'static str,
        step: impl Fn() -> F,
    ) {
        let mut attempt = 0;
        while let Err(e) = step().await {
            let e = format!("{e:#}");
            tracing::error!(error = %e, attempt, part, "not ready yet; retrying");
            self.readiness.report(part, Some(e));
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
        self.readiness.report(part, None);
    }

    async fn open_database(&self) -> anyhow::Result<()> {
        let applied =
            self.store.migrate().await.with_context(|| {
                format!("migrating the {} database", self.store.backend().name())
            })?;
        self.catalog
            .refresh()
            .await
            .context("reading the catalog of documents")?;
        let stats = self.catalog.stats();
        tracing::info!(
            backend = self.store.backend().name(),
            migrations_applied = applied,
            documents = stats.documents,
            "database ready"
        );
        Ok(())
    }

    /// Looks for a new model on SIGHUP and every `check_every`.
    async fn watch(self) {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let hup = async {
                match hangup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let hup = std::future::pending::<()>();
            let tick = async {
                match self.check_every {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending::<()>().await,
                }
            };
            let why = tokio::select! {
                _ = hup => "SIGHUP",
                _ = tick => "periodic check",
            };
            tracing::debug!(why, "looking for a new model");
            if why == "SIGHUP" {
                self.models.forget_refused();
            }
            match self.models.check().await {
                Ok(true) => tracing::info!(why, "a new model is in service"),
                Ok(false) => {}
                Err(e) => tracing::error!(
                    why,
                    error = %format!("{e:#}"),
                    "the new model could not be used; the current one keeps serving (it is not tried again until another is published or SIGHUP)"
                ),
            }
        }
    }
}

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
            Json(serde_json::json!({ "error": { "message": message } })).respond_to(req)?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::FetchOpts;

    fn updater(source: ModelSource, cache: &std::path::Path) -> ModelUpdater {
        let opts = FetchOpts {
            cache_dir: cache.to_path_buf(),
            retries: 0,
            stall: Duration::from_secs(1),
            backoff: Duration::from_millis(1),
        };
        ModelUpdater::new(
            source,
            Remote::new(opts, Default::default()),
            Engine::new(None, None),
            crate::model::weights::Precision::F32,
        )
    }

    #[tokio::test]
    async fn a_refused_model_is_not_tried_again_until_sighup_or_another_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.safetensors");
        std::fs::write(&model, b"not a model").unwrap();
        let models = updater(ModelSource::Path(model.clone()), dir.path());
        assert!(models.check().await.is_err(), "a broken file is refused");
        assert!(!models.check().await.unwrap(), "and not loaded again");
        models.forget_refused();
        assert!(models.check().await.is_err(), "SIGHUP tries it again");
        std::fs::write(&model, b"another broken file").unwrap();
        assert!(
            models.check().await.is_err(),
            "a different file is tried at once"
        );
    }
}
