//! `hamlet serve`: run the web app until SIGINT/SIGTERM.

use anyhow::Context;

use crate::config::AppConfig;

#[derive(Debug, clap::Args)]
pub struct Opts {}

pub async fn run(_opts: Opts, cfg: AppConfig) -> anyhow::Result<()> {
    preflight(&cfg)?;
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

/// What can be wrong before the server starts, each as one line naming the setting (or the
/// file) and the path: the directories and model path (`AppConfig::check_serve_paths`), a
/// SQLite database whose folder cannot be made, and the upload reader `hamlet-extract`.
/// Without this, the same problems surfaced as a failed Rocket fairing (two lines, no setting
/// named) or a panic.
fn preflight(cfg: &AppConfig) -> anyhow::Result<()> {
    cfg.check_serve_paths()?;
    crate::store::Store::connect_lazy(cfg.database_url(), 1)
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    crate::extract::sandbox::helper_program()
        .map_err(|e| anyhow::anyhow!("hamlet-extract: {e}"))?;
    Ok(())
}
