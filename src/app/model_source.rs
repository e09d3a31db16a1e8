//! The model in service: where it comes from (`ModelSource`: a file or `MODEL_URL`), fetching,
//! checking and loading it (`ModelUpdater`), and the slot every request reads it from
//! (`ModelSlot`). No HTTP here: the server's start-up task (`web::boot`) drives the updater
//! and the web layer reads the slot (`web::served`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context;

use crate::config::AppConfig;
use crate::model::Engine;
use crate::remote::{manifest, Remote};

/// The model in use, if any, swapped atomically: a request takes its own `Arc` of the model
/// when it starts (`current`), so requests in flight finish on the old one, which is freed
/// when the last of them ends.
#[derive(Clone, Default)]
pub struct ModelSlot {
    current: Arc<RwLock<Option<InService>>>,
    /// Counts swaps, so what was computed from one model is told from the next's.
    generation: Arc<AtomicU64>,
}

/// A loaded model and where it came from.
#[derive(Clone)]
pub struct InService {
    pub model: Arc<Engine>,
    pub sha256: String,
    pub source: String,
    pub loaded_at: String,
}

impl ModelSlot {
    /// The model in service and its provenance.
    pub fn current(&self) -> Option<InService> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `model` in service for every request that starts from now on.
    pub fn swap(&self, model: InService) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(model);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// How many models have been swapped in: read it before the work it labels.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// Where the served model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// `HAMLET_MODEL_PATH`, a local file (it may not exist: then no model is served).
    Path(PathBuf),
    /// `MODEL_URL`: a model file with `MODEL_SHA256`, or a manifest.
    Url { url: String, sha256: Option<String> },
}

impl ModelSource {
    pub fn from_config(cfg: &AppConfig) -> ModelSource {
        match &cfg.model_url {
            Some(url) => ModelSource::Url {
                url: url.clone(),
                sha256: cfg.model_sha256.clone(),
            },
            None => ModelSource::Path(cfg.model_path.clone()),
        }
    }
}

/// Brings the model the source designates into the slot.
#[derive(Clone)]
pub struct ModelUpdater {
    source: ModelSource,
    remote: Remote,
    slot: ModelSlot,
    /// How the word and output tables are kept (`HAMLET_MODEL_WEIGHTS`).
    precision: crate::model::weights::Precision,
    /// The sha256 of the last model refused (a checksum that does not match, a file that does
    /// not load): not fetched again at every check, until the source names another or SIGHUP.
    refused: Arc<std::sync::Mutex<Option<String>>>,
}

impl ModelUpdater {
    pub fn new(
        source: ModelSource,
        remote: Remote,
        slot: ModelSlot,
        precision: crate::model::weights::Precision,
    ) -> ModelUpdater {
        ModelUpdater {
            source,
            remote,
            slot,
            precision,
            refused: Arc::default(),
        }
    }

    /// The slot this updater fills.
    pub fn slot(&self) -> &ModelSlot {
        &self.slot
    }

    /// Forgets the refused model, so the next check tries it again (SIGHUP: the operator
    /// says the source changed).
    pub fn forget_refused(&self) {
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
    pub async fn check(&self) -> anyhow::Result<bool> {
        let current = self.slot.current().map(|s| s.sha256);
        let precision = self.precision;
        let load = move |path: PathBuf| async move {
            let shown = path.display().to_string();
            tokio::task::spawn_blocking(move || {
                crate::model::io::file::load_to_serve(&path, precision)
            })
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
            documents = model.model().doc_ids().len(),
            vocab = model.model().vocab().len(),
            replaced = current.as_deref().unwrap_or("none"),
            "model in service"
        );
        // The cache is pruned before the swap, so that a model seen in service has the
        // cache to itself (the old one is in memory: its file is no longer read).
        if let ModelSource::Url { .. } = self.source {
            self.remote.prune_cache(&sha256).await;
        }
        self.slot.swap(InService {
            model: Arc::new(model),
            sha256,
            source,
            loaded_at: crate::clock::now_rfc3339(),
        });
        // Loading freed its read buffers (and a reload the old model, once its last request
        // ends): give those pages back rather than keep them resident (benches/scale.sh).
        crate::memory::trim();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::FetchOpts;
    use std::time::Duration;

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
            ModelSlot::default(),
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
