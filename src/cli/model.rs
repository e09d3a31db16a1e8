//! `hamlet model ...`: inspect model files, and write synthetic ones for scale tests.

use std::path::PathBuf;

use crate::config::AppConfig;
use crate::model::file;

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
    /// Write a model of a given shape with random weights, labelled synthetic, for scale
    /// tests only (documents 1..=DOCS; the server shows those missing from the database by
    /// identifier).
    Synth {
        #[arg(long, default_value_t = 43_000)]
        docs: usize,
        #[arg(long, default_value_t = 52)]
        dim: usize,
        #[arg(long, default_value_t = 1_000_000)]
        vocab: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
}

pub async fn run(command: Command, cfg: &AppConfig) -> anyhow::Result<()> {
    match command {
        Command::Synth {
            docs,
            dim,
            vocab,
            seed,
            output,
        } => {
            let started = std::time::Instant::now();
            let out = output.clone();
            let sha = tokio::task::spawn_blocking(move || {
                let model = crate::model::synth::synth(docs, dim, vocab, seed)?;
                file::save(&model, &out)
            })
            .await??;
            println!(
                "wrote {} (synthetic: {docs} documents, {vocab} words, {dim} dimensions; sha256 {sha}) in {:.1} s",
                output.display(),
                started.elapsed().as_secs_f64()
            );
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
                println!("tensor      {name:<15} {dtype:<4} {shape:?}");
            }
            Ok(())
        }
    }
}
