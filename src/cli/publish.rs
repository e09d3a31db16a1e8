//! `hamlet publish MODEL DEST`: puts a model where servers fetch it. Writes the model as
//! `DEST/models/<sha256>.safetensors`, then `DEST/manifest.json` naming it with its sha256
//! (the manifest last, so a server never reads a manifest whose model is not there yet).
//! Servers whose `MODEL_URL` is that manifest pick the model up on their next check or on
//! SIGHUP. DEST is a directory (a path or file://) or s3://bucket/prefix.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::AppConfig;
use crate::model::file;
use crate::remote::manifest::{self, Manifest};
use crate::remote::Remote;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The model file to publish (`hamlet train` writes one) [default: HAMLET_MODEL_PATH].
    pub model: Option<PathBuf>,
    /// Where: a directory, file:///dir, or s3://bucket/prefix.
    pub dest: String,
}

/// What was published: the manifest's URL (set it as MODEL_URL) and its content.
#[derive(Debug)]
pub struct Published {
    pub manifest_url: String,
    pub manifest: Manifest,
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let published = publish(opts, cfg).await?;
    println!(
        "published {} ({} bytes, sha256 {})",
        published.manifest.model, published.manifest.size_bytes, published.manifest.sha256
    );
    println!("manifest  {}", published.manifest_url);
    println!(
        "servers with MODEL_URL={} load it at their next check (MODEL_CHECK_INTERVAL_SECS) or on SIGHUP",
        published.manifest_url
    );
    Ok(())
}

pub async fn publish(opts: Opts, cfg: &AppConfig) -> anyhow::Result<Published> {
    let path = opts.model.unwrap_or_else(|| cfg.model_path.clone());
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
    let dest = opts.dest.trim_end_matches('/');
    let model_name = format!("models/{}.safetensors", info.sha256);
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        version: 1,
        model: model_name.clone(),
        sha256: info.sha256.clone(),
        size_bytes: info.size_bytes,
        published_at: crate::remote::now_rfc3339(),
        corpus_sha256: info.corpus.sha256.clone(),
        documents: info.documents,
    };
    let remote = Remote::from_config(cfg);
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
