//! `hamlet serve`: run the web app until SIGINT/SIGTERM.

use anyhow::Context;

use crate::config::AppConfig;

#[derive(Debug, clap::Args)]
pub struct Opts {}

pub async fn run(_opts: Opts, cfg: AppConfig) -> anyhow::Result<()> {
    cfg.check_serve_paths()?;
    tracing::info!(
        profile = cfg.profile.name(),
        backend = cfg.backend().name(),
        torch_threads = cfg.torch_threads,
        model = %cfg.model_url.as_deref().map_or_else(|| cfg.model_path.display().to_string(), crate::remote::shown),
        "starting hamlet"
    );
    crate::rocket(cfg)
        .launch()
        .await
        .context("the web server stopped with an error")?;
    Ok(())
}
