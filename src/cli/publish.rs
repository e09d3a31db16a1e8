//! `hamlet publish MODEL DEST`: its flags and report; the work is `app::publish`.

use std::path::PathBuf;

use crate::app::publish::publish;
use crate::config::AppConfig;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The model file to publish (`hamlet train` writes one) [default: HAMLET_MODEL_PATH].
    pub model: Option<PathBuf>,
    /// Where: a directory, file:///dir, or s3://bucket/prefix.
    pub dest: String,
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let model = opts.model.unwrap_or_else(|| cfg.model_path.clone());
    let published = publish(&cfg.remote(), &model, &opts.dest).await?;
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
