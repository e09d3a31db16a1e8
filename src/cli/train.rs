//! `hamlet train`: learn paragraph vectors from the text of every document in the database and
//! write the model file.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{HumanCount, ProgressBar, ProgressStyle};

use super::model_opts::ModelOpts;
use crate::config::AppConfig;
use crate::model::batched::{Backend, BatchedTrainer};
use crate::model::layout::LayoutOpts;
use crate::model::train::{prepare, Trainer, TrainingSet};
use crate::model::{file, Doc2Vec, ModelConfig};
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
        let cuda = crate::model::batched::cuda_available();
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

/// What a training run did, for the summary line and the benchmarks.
#[derive(Debug, Clone, Copy)]
pub struct TrainStats {
    pub documents: usize,
    pub vocab: usize,
    pub words: u64,
    pub prepare_seconds: f64,
    pub train_seconds: f64,
    /// Computing the collection map's layout.
    pub layout_seconds: f64,
}

impl TrainStats {
    pub fn words_per_second(&self) -> f64 {
        self.words as f64 / self.train_seconds.max(1e-9)
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
    let (model, stats) =
        tokio::task::spawn_blocking(move || train_model_with(&set, config, threads, true, backend))
            .await??;
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
        let published = super::publish::publish(
            super::publish::Opts {
                model: Some(output),
                dest,
            },
            cfg,
        )
        .await?;
        println!(
            "published {} (sha256 {}); manifest {}",
            published.manifest.model, published.manifest.sha256, published.manifest_url
        );
    }
    Ok(())
}

/// Every document's text as (identifier, text), in identifier order: what the model trains on.
pub async fn collection_texts(store: &Store) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(store
        .texts()
        .await?
        .into_iter()
        .map(|(id, t)| (id.0, t))
        .collect())
}

/// What the model trains on: every document's text, the citation links between documents,
/// and the titles.
pub async fn collection(store: &Store) -> anyhow::Result<TrainingSet> {
    Ok(TrainingSet {
        texts: collection_texts(store).await?,
        links: store
            .citation_links()
            .await?
            .into_iter()
            .map(|(a, b)| (a.0, b.0))
            .collect(),
        titles: store
            .titles()
            .await?
            .into_iter()
            .map(|(id, t)| (id.0, t))
            .collect(),
    })
}

/// How a configuration is named in messages: "the default engine (PV-DBOW + citations)" or
/// the mode.
pub fn describe(config: &ModelConfig) -> String {
    if config.is_engine() {
        format!(
            "the default engine (PV-DBOW {} dimensions, citation targets)",
            config.dim
        )
    } else {
        format!("{:?} ({} dimensions)", config.mode, config.dim)
    }
}

/// Prepares the corpus, trains and computes the collection map (what `hamlet train` writes),
/// with progress bars on stderr when `progress` is set.
pub fn train_model(
    set: &TrainingSet,
    config: ModelConfig,
    threads: usize,
    progress: bool,
) -> anyhow::Result<(Doc2Vec, TrainStats)> {
    train_model_with(set, config, threads, progress, Backend::Cpu)
}

/// `train_model` on a chosen trainer and device.
pub fn train_model_with(
    set: &TrainingSet,
    config: ModelConfig,
    threads: usize,
    progress: bool,
    backend: Backend,
) -> anyhow::Result<(Doc2Vec, TrainStats)> {
    let (model, mut stats) = train_vectors_with(set, config, threads, progress, backend)?;
    let started = Instant::now();
    let model = with_layout(model, progress)?;
    stats.layout_seconds = started.elapsed().as_secs_f64();
    Ok((model, stats))
}

/// `train_model` without the map: for `hamlet evaluate`, which only scores the vectors.
pub fn train_vectors(
    set: &TrainingSet,
    config: ModelConfig,
    threads: usize,
    progress: bool,
) -> anyhow::Result<(Doc2Vec, TrainStats)> {
    train_vectors_with(set, config, threads, progress, Backend::Cpu)
}

/// `train_vectors` on a chosen trainer and device.
pub fn train_vectors_with(
    set: &TrainingSet,
    config: ModelConfig,
    threads: usize,
    progress: bool,
    backend: Backend,
) -> anyhow::Result<(Doc2Vec, TrainStats)> {
    config.validate()?;
    let started = Instant::now();
    let spinner = if progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message(format!("tokenising {} documents", set.texts.len()));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let prepared = prepare(set, &config, threads)?;
    spinner.finish_and_clear();
    let prepare_seconds = started.elapsed().as_secs_f64();
    let trainer = Trainer::new(config, &prepared);
    let batched = match backend {
        Backend::Cpu => None,
        Backend::Batched(device) => Some(BatchedTrainer::new(config, &prepared, device)?),
    };
    let expected = trainer.expected_words_per_epoch() * config.epochs as u64;
    let bar = if progress {
        ProgressBar::new(expected.max(1))
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "training {msg} {bar:30.cyan/blue} {human_pos}/{human_len} words  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let trained = std::thread::scope(|scope| {
        let (batched, trainer) = (&batched, &trainer);
        let job = scope.spawn(move || match batched {
            Some(b) => b.run(),
            None => trainer.run(threads),
        });
        while !job.is_finished() {
            let (epoch, words) = match batched {
                Some(b) => (b.epoch(), b.words_done()),
                None => (trainer.epoch(), trainer.words_done()),
            };
            bar.set_message(format!("epoch {}/{}", epoch + 1, config.epochs));
            bar.set_position(words.min(expected));
            std::thread::sleep(Duration::from_millis(100));
        }
        job.join()
            .map_err(|_| anyhow::anyhow!("a training thread panicked"))
    })?;
    bar.finish_and_clear();
    let stats = TrainStats {
        documents: prepared.docs.len(),
        vocab: prepared.vocab.len(),
        words: trained.words,
        prepare_seconds,
        train_seconds: trained.seconds,
        layout_seconds: 0.0,
    };
    Ok((Doc2Vec::from_training(config, prepared, trained)?, stats))
}

/// The model with its collection map computed (`model::layout`, seeded by the model's seed),
/// with a progress bar on stderr when `progress` is set.
pub fn with_layout(model: Doc2Vec, progress: bool) -> anyhow::Result<Doc2Vec> {
    let bar = if progress {
        ProgressBar::new(1)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("map: {msg:<10} {bar:30.cyan/blue} {pos}/{len}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let opts = LayoutOpts {
        seed: model.config().seed,
        ..LayoutOpts::default()
    };
    let report = |stage: &'static str, done: usize, total: usize| {
        bar.set_message(stage);
        bar.set_length(total.max(1) as u64);
        bar.set_position(done as u64);
    };
    let layout = model.compute_layout(opts, &report);
    bar.finish_and_clear();
    Ok(model.with_layout(layout)?)
}
