//! Training: the collection as the model sees it (`collection`), and one entry point that
//! prepares the corpus, trains on the chosen trainer and computes the collection map
//! (`train`), reporting its stages to a `Progress`.

use std::time::{Duration, Instant};

use super::progress::Progress;
use crate::model::layout::LayoutOpts;
use crate::model::train::batched::{Backend, BatchedTrainer};
use crate::model::train::{prepare, Trainer, TrainingSet};
use crate::model::{Engine, ModelConfig};
use crate::store::Store;

/// How to train: the model's settings, the threads and trainer, and whether to compute the
/// collection map (`hamlet evaluate` only scores the vectors and skips it).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub config: ModelConfig,
    pub threads: usize,
    pub backend: Backend,
    pub map: bool,
}

impl Plan {
    /// `config` on `threads` Hogwild threads, with the map: what `hamlet train` does on a CPU.
    pub fn new(config: ModelConfig, threads: usize) -> Plan {
        Plan {
            config,
            threads,
            backend: Backend::Cpu,
            map: true,
        }
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

/// Prepares the corpus, trains and (when the plan says so) computes the collection map.
pub fn train(
    set: &TrainingSet,
    plan: Plan,
    progress: &dyn Progress,
) -> anyhow::Result<(Engine, TrainStats)> {
    let Plan {
        config,
        threads,
        backend,
        map,
    } = plan;
    config.validate()?;
    let started = Instant::now();
    progress.start(&format!("tokenising {} documents", set.texts.len()), None);
    let prepared = prepare(set, &config, threads)?;
    progress.finish();
    let prepare_seconds = started.elapsed().as_secs_f64();
    let trainer = Trainer::new(config, &prepared);
    let batched = match backend {
        Backend::Cpu => None,
        Backend::Batched(device) => Some(BatchedTrainer::new(config, &prepared, device)?),
    };
    let expected = trainer.expected_words_per_epoch() * config.epochs as u64;
    progress.start("training", Some(expected.max(1)));
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
            progress.note(&format!("epoch {}/{}", epoch + 1, config.epochs));
            progress.set(words.min(expected));
            std::thread::sleep(Duration::from_millis(100));
        }
        job.join()
            .map_err(|_| anyhow::anyhow!("a training thread panicked"))
    })?;
    progress.finish();
    let mut stats = TrainStats {
        documents: prepared.docs.len(),
        vocab: prepared.vocab.len(),
        words: trained.words,
        prepare_seconds,
        train_seconds: trained.seconds,
        layout_seconds: 0.0,
    };
    let model = Engine::from_training(config, prepared, trained)?;
    if !map {
        return Ok((model, stats));
    }
    let started = Instant::now();
    let model = with_layout(model, progress)?;
    stats.layout_seconds = started.elapsed().as_secs_f64();
    Ok((model, stats))
}

/// The model with its collection map computed (`model::layout`, seeded by the model's seed).
pub fn with_layout(model: Engine, progress: &dyn Progress) -> anyhow::Result<Engine> {
    let opts = LayoutOpts {
        seed: model.config().seed,
        ..LayoutOpts::default()
    };
    let report = |stage: &'static str, done: usize, total: usize| {
        progress.note(stage);
        progress.set_total(total.max(1) as u64);
        progress.set(done as u64);
    };
    progress.start("map", Some(1));
    let layout = model.model().compute_layout(opts, &report);
    progress.finish();
    Ok(model.with_layout(layout)?.with_region_labels(None))
}
