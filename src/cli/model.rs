//! `hamlet model ...`: inspect model files.

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
}

pub async fn run(command: Command, cfg: &AppConfig) -> anyhow::Result<()> {
    match command {
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
                "corpus      {} documents, {} words, sha256 {}",
                info.corpus.documents, info.corpus.words, info.corpus.sha256
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
