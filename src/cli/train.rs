//! `hamlet train`: its flags, and the run that trains (`app::train`), writes the model file
//! and, when asked, publishes it (`app::publish`).

use std::path::PathBuf;

use anyhow::Context;
use indicatif::HumanCount;

use super::model_opts::ModelOpts;
use super::progress::Bars;
use crate::app::train::{collection, describe, train, Plan};
use crate::config::AppConfig;
use crate::model::io::file;
use crate::model::train::batched::Backend;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    pub model: ModelOpts,
    /// Where to write the model [default: HAMLET_MODEL_PATH].
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do nothing when the model file already exists (for first-run scripts).
    #[arg(long)]
    pub if_missing: bool,
    /// Then publish the model for running servers, as `hamlet publish` does: a directory,
    /// file:///dir or s3://bucket/prefix (servers whose MODEL_URL is DEST/manifest.json take
    /// it at their next check). One command for a one-off dyno, ECS task or `docker run`,
    /// whose own disk is thrown away.
    #[arg(long, value_name = "DEST")]
    pub publish: Option<String>,
    /// Where to train: a CUDA GPU when libtorch sees one (auto), the CPU, or CUDA (an error
    /// without one). CUDA runs the batched tensor trainer; the CPU runs the Hogwild trainer.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Use the batched tensor trainer on the CPU too (slower there than Hogwild; for checking
    /// it against the Hogwild trainer).
    #[arg(long)]
    pub batched: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
}

impl Opts {
    /// The trainer and device the flags ask for.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        let cuda = crate::model::train::batched::cuda_available();
        Ok(match (self.device, cuda) {
            (DeviceArg::Cuda, false) => anyhow::bail!(
                "--device cuda: libtorch sees no CUDA device (scripts/setup-libtorch.sh installs the CPU libtorch; point LIBTORCH at a CUDA build to train on a GPU)"
            ),
            (DeviceArg::Cuda, true) | (DeviceArg::Auto, true) => Backend::cuda(),
            _ if self.batched => Backend::batched_cpu(),
            _ => Backend::Cpu,
        })
    }
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| cfg.model_path.clone());
    if opts.if_missing && output.exists() {
        println!(
            "{} exists; nothing trained (--if-missing)",
            output.display()
        );
        return Ok(());
    }
    let config = opts.model.config();
    config.validate()?;
    let store = Store::connect(cfg.database_url(), 2)
        .await
        .context("connecting to DATABASE_URL")?;
    store.migrate().await.context("applying migrations")?;
    let set = collection(&store).await?;
    store.close().await;
    if set.texts.is_empty() {
        anyhow::bail!(
            "nothing to train on: the collection has no document with text (import one with `hamlet import`)"
        );
    }
    let threads = opts.model.threads();
    let backend = opts.backend()?;
    let plan = Plan {
        backend,
        ..Plan::new(config, threads)
    };
    let (model, stats) =
        tokio::task::spawn_blocking(move || train(&set, plan, &Bars::default())).await??;
    let sha =
        file::save(&model, &output).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "trained {} on {} documents ({} words in the vocabulary) in {:.1} s: {} words at {:.2} M words/s on {}",
        describe(&config),
        stats.documents,
        stats.vocab,
        stats.train_seconds,
        HumanCount(stats.words),
        stats.words_per_second() / 1e6,
        backend.describe(threads),
    );
    println!(
        "computed the collection map in {:.1} s: {}",
        stats.layout_seconds,
        super::model::layout_quality(&model)
    );
    println!("wrote {} (sha256 {sha})", output.display());
    if let Some(dest) = opts.publish {
        let published = crate::app::publish::publish(&cfg.remote(), &output, &dest).await?;
        println!(
            "published {} (sha256 {}); manifest {}",
            published.manifest.model, published.manifest.sha256, published.manifest_url
        );
    }
    Ok(())
}
