//! `hamlet migrate`: apply pending migrations (Heroku runs it in the release phase).

use anyhow::Context;

use crate::config::AppConfig;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Opts {}

pub async fn run(_opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let store = Store::connect(cfg.database_url(), 1)
        .await
        .context("connecting to DATABASE_URL")?;
    let applied = store.migrate().await.context("applying migrations")?;
    store.close().await;
    println!(
        "{} database: {applied} migration(s) applied, schema up to date",
        store.backend().name()
    );
    Ok(())
}
