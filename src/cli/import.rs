//! `hamlet import rfc DIR` and `hamlet import jsonl FILE --texts DIR`: the flags and the
//! report; the work is `app::import` (one transaction per import).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use super::progress::Bars;
use crate::app::import::{import_jsonl, import_rfc, JsonlOpts, RfcOpts};
use crate::config::AppConfig;
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// The IETF RFC series: a directory holding rfc-index.txt and rfc-text.tar.zst.
    Rfc(RfcArgs),
    /// The generic format: one JSON object per line (see docs/COLLECTIONS.md).
    Jsonl(JsonlArgs),
}

#[derive(Debug, clap::Args)]
pub struct RfcArgs {
    /// Directory with rfc-index.txt and rfc-text.tar.zst.
    pub dir: PathBuf,
    /// Import only these RFC numbers, e.g. "9000-9010,793".
    #[arg(long, value_name = "RANGES")]
    pub only: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct JsonlArgs {
    /// The metadata file: one JSON object per line; `-` reads standard input (texts inline,
    /// e.g. `heroku run --no-tty "bin/hamlet import jsonl -" < collection.jsonl`).
    pub metadata: PathBuf,
    /// Directory of the documents' UTF-8 text files.
    #[arg(long, value_name = "DIR")]
    pub texts: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// Do nothing when the collection already has documents (for first-run scripts).
    #[arg(long)]
    pub if_empty: bool,
    /// Read and check the whole input, write nothing (validates a collection before importing).
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(source: Source, cfg: &AppConfig) -> anyhow::Result<()> {
    let store = Store::connect(cfg.database_url(), 2)
        .await
        .context("connecting to DATABASE_URL")?;
    store.migrate().await.context("applying migrations")?;
    let common = match &source {
        Source::Rfc(o) => &o.common,
        Source::Jsonl(o) => &o.common,
    };
    if common.if_empty {
        let stats = store.stats().await?;
        if stats.documents > 0 {
            println!(
                "collection already holds {} documents; nothing imported (--if-empty)",
                stats.documents
            );
            store.close().await;
            return Ok(());
        }
    }
    let started = Instant::now();
    let dry_run = common.dry_run;
    let bars = Bars::default();
    let report = match source {
        Source::Rfc(o) => {
            let opts = RfcOpts {
                dir: o.dir,
                only: o.only,
                dry_run,
            };
            import_rfc(&store, opts, &bars).await?
        }
        Source::Jsonl(o) => {
            let opts = JsonlOpts {
                metadata: o.metadata,
                texts: o.texts,
                dry_run,
            };
            import_jsonl(&store, opts, &bars).await?
        }
    };
    store.close().await;
    println!(
        "{} {} documents ({} unextractable), {} citations ({} linked to collection documents), {} new people in {:.1} s",
        if dry_run { "checked (dry run, nothing written)" } else { "imported" },
        report.documents,
        report.unextractable,
        report.citations,
        report.resolved_citations,
        report.new_people,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
