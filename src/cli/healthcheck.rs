//! `hamlet healthcheck`: asks the local server's `/health/ready` and exits 0 only on 200; the
//! Docker image's HEALTHCHECK (the slim image has no curl).

use std::time::Duration;

use crate::config::AppConfig;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The URL to ask [default: http://127.0.0.1:$PORT/health/ready].
    #[arg(long)]
    pub url: Option<String>,
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let url = opts
        .url
        .unwrap_or_else(|| format!("http://127.0.0.1:{}/health/ready", cfg.port));
    let res = reqwest::Client::builder()
        .timeout(Duration::from_secs(4))
        .build()?
        .get(&url)
        .send()
        .await?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if status.is_success() {
        println!("ready: {body}");
        Ok(())
    } else {
        anyhow::bail!("{url} answered {status}: {body}")
    }
}
