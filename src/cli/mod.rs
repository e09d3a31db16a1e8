//! The subcommands of `hamlet`. Each lives in its own module with an `Opts` (its flags) and a
//! `run(opts, &cfg)` that calls `app` and prints; this module parses, loads the configuration
//! and dispatches. Nothing here is needed by the tests or the benchmarks: they call `app`.

pub mod evaluate;
pub mod harvest;
pub mod healthcheck;
pub mod import;
pub mod migrate;
pub mod model;
pub mod model_opts;
pub mod progress;
pub mod publish;
pub mod serve;
pub mod train;

use clap::{Parser, Subcommand};

use crate::config::AppConfig;

/// Hamlet: similar documents, similar drafts, and what similar documents cite.
#[derive(Debug, Parser)]
#[command(name = "hamlet", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default when no subcommand is given).
    Serve(serve::Opts),
    /// Apply pending database migrations.
    Migrate(migrate::Opts),
    /// Import a collection into the database.
    #[command(subcommand)]
    Import(import::Source),
    /// Harvest a repository over OAI-PMH (records and their PDFs' text) into the collection.
    Harvest(harvest::Opts),
    /// Train the paragraph-vector model on the collection and write the model file.
    Train(train::Opts),
    /// Train without held-out documents and score citation retrieval and odd-one-out.
    Evaluate(evaluate::Opts),
    /// Model files: inspect them, compute their collection map, write synthetic ones.
    #[command(subcommand)]
    Model(model::Command),
    /// Publish a model file for running servers (writes it and a manifest to a directory or
    /// s3://bucket/prefix).
    Publish(publish::Opts),
    /// Exit 0 when the local server is ready (Docker's HEALTHCHECK).
    Healthcheck(healthcheck::Opts),
}

/// The command line of this process, parsed (exits with clap's message when it is wrong).
pub fn parse() -> Cli {
    Cli::parse()
}

/// Loads the configuration, sets up logging and runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = AppConfig::load()?;
    let command = cli.command.unwrap_or(Command::Serve(serve::Opts {}));
    let sink = match command {
        Command::Serve(_) => crate::logging::Sink::Stdout,
        _ => crate::logging::Sink::Stderr,
    };
    crate::logging::init(cfg.log_format, sink);
    rocket::execute(async move {
        match command {
            Command::Serve(opts) => serve::run(opts, cfg).await,
            Command::Migrate(opts) => migrate::run(opts, &cfg).await,
            Command::Import(source) => import::run(source, &cfg).await,
            Command::Harvest(opts) => harvest::run(opts, &cfg).await,
            Command::Train(opts) => train::run(opts, &cfg).await,
            Command::Evaluate(opts) => evaluate::run(opts, &cfg).await,
            Command::Model(command) => model::run(command, &cfg).await,
            Command::Publish(opts) => publish::run(opts, &cfg).await,
            Command::Healthcheck(opts) => healthcheck::run(opts, &cfg).await,
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
