//! `hamlet publish MODEL DEST`: puts a model where servers fetch it. Writes the model as
//! `DEST/models/<sha256>.safetensors`, then `DEST/manifest.json` naming it with its sha256
//! (the manifest last, so a server never reads a manifest whose model is not there yet).
//! Servers whose `MODEL_URL` is that manifest pick the model up on their next check or on
//! SIGHUP. DEST is a directory (a path or file://) or s3://bucket/prefix.

use std::path::Path;

use anyhow::Context;

use crate::model::io::file;
use crate::remote::manifest::{self, Manifest};
use crate::remote::Remote;

/// What was published: the manifest's URL (set it as MODEL_URL) and its content.
#[derive(Debug)]
pub struct Published {
    pub manifest_url: String,
    pub manifest: Manifest,
}

/// Publishes the model file at `path` to `dest` through `remote` (a directory, file:///dir or s3://bucket/prefix).
pub async fn publish(remote: &Remote, path: &Path, dest: &str) -> anyhow::Result<Published> {
    let path = path.to_path_buf();
    let shown = path.display().to_string();
    // The whole file is checked as a server would load it: a broken model is never published.
    let (info, bytes) = tokio::task::spawn_blocking(move || {
        let info = file::info(&path)?;
        file::load(&path)?;
        let bytes = std::fs::read(&path)?;
        anyhow::Ok((info, bytes))
    })
    .await?
    .with_context(|| format!("{shown} is not a usable model"))?;
    let dest = dest.trim_end_matches('/');
    let model_name = format!("models/{}.safetensors", info.sha256);
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        version: 1,
        model: model_name.clone(),
        sha256: info.sha256.clone(),
        size_bytes: info.size_bytes,
        published_at: crate::clock::now_rfc3339(),
        corpus_sha256: info.corpus.sha256.clone(),
        documents: info.documents,
    };
    let model_url = format!("{dest}/{model_name}");
    tracing::info!(to = %model_url, bytes = info.size_bytes, "publishing the model");
    remote
        .put(&model_url, bytes)
        .await
        .with_context(|| format!("writing {model_url}"))?;
    let manifest_url = format!("{dest}/manifest.json");
    let json = serde_json::to_vec_pretty(&manifest)?;
    remote
        .put(&manifest_url, json)
        .await
        .with_context(|| format!("writing {manifest_url}"))?;
    tracing::info!(manifest = %manifest_url, sha256 = %info.sha256, "model published");
    Ok(Published {
        manifest_url,
        manifest,
    })
}
