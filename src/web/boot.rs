//! Start-up in the background and readiness; the model's hot reload is driven from here
//! (`app::model_source` does the work, `warmup` answers while not ready).
//!
//! The port is bound at once, whatever the model's size; then one task migrates the database
//! and reads the catalog while another fetches (`MODEL_URL`) or reads (`HAMLET_MODEL_PATH`)
//! the model and loads it, each retrying with backoff until it succeeds. Until both are done
//! the server is not ready: `/health/ready` and every page answer 503 with Retry-After (a
//! "warming up" page; JSON under /api), while `/health/live`, `/health` and the static files
//! answer. Afterwards the task looks for a new model on SIGHUP and every
//! `MODEL_CHECK_INTERVAL_SECS`, and swaps it in (`ModelSlot::swap`); a failed download or a bad
//! checksum is logged and the old model keeps serving. No model at all (no file at
//! `HAMLET_MODEL_PATH`, no manifest at `MODEL_URL` yet) is a state, not a failure: the server
//! is ready, serves what needs no model, and the tools answer 503 until a model appears.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use super::catalog::Catalog;
use crate::app::model_source::ModelUpdater;
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
    pub(crate) fn doing(&self) -> &'static str {
        match (self.database_ready(), self.model_ready()) {
            (false, false) => "opening the collection and loading the recommendation model",
            (false, true) => "opening the collection",
            _ => "loading the recommendation model",
        }
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

/// Start-up steps are tried until they succeed, 0.5 s doubling to 30 s apart.
const UNTIL_READY: crate::retry::Policy = crate::retry::Policy {
    retries: u32::MAX,
    first: Duration::from_millis(500),
};

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
        self.warn_if_not_held();
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
        let _ = UNTIL_READY
            .run(step, |e: &anyhow::Error, attempt, wait| {
                let e = format!("{e:#}");
                tracing::error!(error = %e, attempt, part, "not ready yet; retrying");
                self.readiness.report(part, Some(e));
                Some(wait)
            })
            .await;
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

    /// One warning when the model in service holds documents the collection does not (a model
    /// of another collection, or documents deleted since it was trained): their results are
    /// left out of every list, and `/health` counts them.
    fn warn_if_not_held(&self) {
        let Some(s) = self.models.slot().current() else {
            return;
        };
        let missing = self.catalog.not_held(s.model.model().doc_ids());
        if missing > 0 {
            tracing::warn!(
                documents_not_in_collection = missing,
                model_documents = s.model.model().doc_ids().len(),
                model.sha256 = %s.sha256,
                "the model in service knows documents the collection does not hold; their results are left out (retrain on this collection)"
            );
        }
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
                Ok(true) => {
                    tracing::info!(why, "a new model is in service");
                    self.warn_if_not_held();
                }
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
