//! `hamlet model ...`: inspect model files, compute their collection map, import gensim models,
//! and write synthetic ones for scale tests.

use std::path::PathBuf;

use crate::config::AppConfig;
use crate::model::io::file;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print what a model file holds: format, hyper-parameters, corpus, sizes, sha256.
    Info {
        /// The model file [default: HAMLET_MODEL_PATH].
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compute (or recompute) a model file's collection map, the 2-D layout /map/ draws
    ///
    /// `hamlet train` computes it already; this is for models made otherwise (`synth`) or
    /// before the map existed.
    Layout {
        /// The model file [default: HAMLET_MODEL_PATH].
        file: Option<PathBuf>,
        /// Where to write the model with its layout [default: FILE itself, replaced atomically].
        #[arg(long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// Convert a gensim 4.x Doc2Vec model into a Hamlet model file
    ///
    /// PATH is the file gensim's `model.save(PATH)` wrote; the `PATH.*.npy` files it may have
    /// written beside it are read too. Document tags must be document identifiers.
    ImportGensim {
        /// The gensim model.
        path: PathBuf,
        /// Where to write the Hamlet model [default: HAMLET_MODEL_PATH].
        #[arg(long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Skip computing the collection map (/map/ is then unavailable for this model).
        #[arg(long)]
        no_map: bool,
    },
    /// Write a model of a given shape with random weights, labelled synthetic (scale tests)
    ///
    /// Documents are 1..=DOCS; results for documents the database does not hold are left out,
    /// so serve it with the catalogue `--catalog` writes (`hamlet import jsonl FILE`).
    Synth {
        #[arg(long, default_value_t = 43_000)]
        docs: usize,
        #[arg(long, default_value_t = 52)]
        dim: usize,
        #[arg(long, default_value_t = 1_000_000)]
        vocab: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The default engine's kind: a citation target and a title for every document.
        #[arg(long)]
        engine: bool,
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Also write a JSON-lines catalogue of the model's documents here, for `hamlet import
        /// jsonl` (titles, years, degrees, departments, authors).
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
    },
}

pub async fn run(command: Command, cfg: &AppConfig) -> anyhow::Result<()> {
    match command {
        Command::Layout { file: path, output } => {
            let path = path.unwrap_or_else(|| cfg.model_path.clone());
            let output = output.unwrap_or_else(|| path.clone());
            let started = std::time::Instant::now();
            let out = output.clone();
            let (sha, kept, documents) = tokio::task::spawn_blocking(move || {
                let model = file::load(&path)?;
                let model =
                    crate::app::train::with_layout(model, &super::progress::Bars::default())?;
                let kept = layout_quality(&model);
                let sha = file::save(&model, &out)?;
                anyhow::Ok((sha, kept, model.model().doc_ids().len()))
            })
            .await??;
            println!(
                "computed the map of {documents} documents in {:.1} s; {kept}",
                started.elapsed().as_secs_f64()
            );
            println!("wrote {} (sha256 {sha})", output.display());
            Ok(())
        }
        Command::ImportGensim {
            path,
            output,
            no_map,
        } => {
            let output = output.unwrap_or_else(|| cfg.model_path.clone());
            let started = std::time::Instant::now();
            let out = output.clone();
            let (sha, model) = tokio::task::spawn_blocking(move || {
                let model = crate::model::Engine::new(crate::model::io::gensim::import(&path)?);
                let model = if no_map {
                    model
                } else {
                    crate::app::train::with_layout(model, &super::progress::Bars::default())?
                };
                let sha = file::save(&model, &out)?;
                anyhow::Ok((sha, model))
            })
            .await??;
            let c = model.config();
            println!(
                "imported {} documents, {} words, {} dimensions ({}) in {:.1} s",
                model.model().doc_ids().len(),
                model.model().vocab().len(),
                c.dim,
                match c.mode {
                    crate::model::Mode::Dm if c.dm_mean => "PV-DM, mean of the context",
                    crate::model::Mode::Dm => "PV-DM, sum of the context",
                    crate::model::Mode::Dbow => "PV-DBOW",
                },
                started.elapsed().as_secs_f64()
            );
            if model.model().layout().is_some() {
                println!("{}", layout_quality(&model));
            }
            println!("wrote {} (sha256 {sha})", output.display());
            Ok(())
        }
        Command::Synth {
            docs,
            dim,
            vocab,
            seed,
            engine,
            output,
            catalog,
        } => {
            let started = std::time::Instant::now();
            let out = output.clone();
            let sha = tokio::task::spawn_blocking(move || {
                let model = if engine {
                    crate::model::io::synth::synth_engine(docs, dim, vocab, seed)?
                } else {
                    crate::model::io::synth::synth(docs, dim, vocab, seed)?
                };
                file::save(&model, &out)
            })
            .await??;
            println!(
                "wrote {} (synthetic: {docs} documents, {vocab} words, {dim} dimensions; sha256 {sha}) in {:.1} s",
                output.display(),
                started.elapsed().as_secs_f64()
            );
            if let Some(path) = catalog {
                crate::app::import::write_synthetic_catalogue(&path, docs, vocab)?;
                println!("wrote {} (catalogue of {docs} documents)", path.display());
            }
            Ok(())
        }
        Command::Info { file: path, json } => {
            let path = path.unwrap_or_else(|| cfg.model_path.clone());
            let info = tokio::task::spawn_blocking(move || file::info(&path)).await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
                return Ok(());
            }
            println!(
                "file        {} ({} bytes)",
                info.path.display(),
                info.size_bytes
            );
            println!("sha256      {}", info.sha256);
            println!(
                "format      {} v{} ({})",
                info.format, info.version, info.created_by
            );
            println!(
                "engine      {}",
                if info.config.is_engine() {
                    format!(
                        "the default engine: citation targets (x{}), title mentions (weight {}), cosine (weight {})",
                        info.config.cites, info.config.scoring.title_weight, info.config.scoring.cosine_weight
                    )
                } else {
                    "compatibility mode: cosine of document vectors".to_string()
                }
            );
            println!("config      {}", serde_json::to_string(&info.config)?);
            println!(
                "corpus      {} documents, {} words, sha256 {}{}",
                info.corpus.documents,
                info.corpus.words,
                info.corpus.sha256,
                if info.corpus.synthetic {
                    " (SYNTHETIC: random weights, for scale tests only)"
                } else {
                    ""
                }
            );
            println!("vocabulary  {} words", info.vocab);
            println!("documents   {}", info.documents);
            for (name, dtype, shape) in &info.tensors {
                println!("tensor      {name:<16} {dtype:<4} {shape:?}");
            }
            Ok(())
        }
    }
}

/// One line on how well the model's map keeps neighbourhoods (`layout::neighbourhood_preservation`
/// over up to 1,000 documents).
pub fn layout_quality(model: &crate::model::Engine) -> String {
    let Some(layout) = model.model().layout() else {
        return "no map".into();
    };
    let n = model.model().doc_ids().len();
    let kept = crate::model::layout::neighbourhood_preservation(
        model.model().doc_vectors(),
        model.config().dim,
        layout,
        10,
        1_000,
    );
    format!(
        "the map keeps {:.0}% of each document's 10 nearest neighbours among its 10 nearest on the map (a random map: {:.2}%)",
        kept * 100.0,
        1000.0 / n.saturating_sub(1).max(1) as f64
    )
}
