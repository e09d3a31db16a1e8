//! `hamlet import rfc DIR` and `hamlet import jsonl FILE --texts DIR`: load a collection.
//!
//! One transaction per import: a failure anywhere (bad input, a database error, Ctrl-C) leaves
//! the collection as it was. Re-importing updates documents in place. Reading and parsing run
//! on a blocking thread and feed the database writer through a small channel, so parsing and
//! writing overlap on two cores.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use crate::config::AppConfig;
use crate::ingest::{jsonl, rfc, Error as IngestError};
use crate::store::{ImportReport, ImportWriter, NewDocument, Store};

/// Documents per batch sent to the writer.
const BATCH: usize = 64;

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// The IETF RFC series: a directory holding rfc-index.txt and rfc-text.tar.zst.
    Rfc(RfcOpts),
    /// The generic format: one JSON object per line (see README, "Importing your collection").
    Jsonl(JsonlOpts),
}

#[derive(Debug, clap::Args)]
pub struct RfcOpts {
    /// Directory with rfc-index.txt and rfc-text.tar.zst.
    pub dir: PathBuf,
    /// Import only these RFC numbers, e.g. "9000-9010,793".
    #[arg(long, value_name = "RANGES")]
    pub only: Option<String>,
    #[command(flatten)]
    pub common: CommonOpts,
}

#[derive(Debug, clap::Args)]
pub struct JsonlOpts {
    /// The metadata file: one JSON object per line; `-` reads standard input (texts inline,
    /// e.g. `heroku run --no-tty "bin/hamlet import jsonl -" < collection.jsonl`).
    pub metadata: PathBuf,
    /// Directory of the documents' UTF-8 text files.
    #[arg(long, value_name = "DIR")]
    pub texts: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonOpts,
}

#[derive(Debug, clap::Args)]
pub struct CommonOpts {
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
    let report = match source {
        Source::Rfc(opts) => import_rfc(&store, opts).await?,
        Source::Jsonl(opts) => import_jsonl(&store, opts).await?,
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

/// Imports the RFC collection in `opts.dir`; public so the benchmark and tests drive it.
pub async fn import_rfc(store: &Store, opts: RfcOpts) -> anyhow::Result<ImportReport> {
    let corpus = rfc::RfcCorpus::open(&opts.dir)?;
    let ranges = match &opts.only {
        Some(spec) => Some(rfc::parse_ranges(spec).map_err(|e| anyhow::anyhow!("--only: {e}"))?),
        None => None,
    };
    let wanted = move |n: i64| {
        ranges
            .as_ref()
            .is_none_or(|r| r.iter().any(|(a, b)| (*a..=*b).contains(&n)))
    };
    let index: BTreeMap<i64, rfc::IndexEntry> = {
        let corpus = corpus.clone();
        tokio::task::spawn_blocking(move || corpus.read_index()).await??
    };
    let total = index.keys().filter(|n| wanted(**n)).count();
    if total == 0 {
        bail!(
            "no RFC in {} matches --only {}",
            corpus.index.display(),
            opts.only.unwrap_or_default()
        );
    }
    let bar = progress(total as u64, "importing RFCs");
    let (tx, rx) = mpsc::channel::<Vec<NewDocument>>(4);
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut seen = HashSet::new();
        let mut orphans = 0u64;
        let send = |batch: &mut Vec<NewDocument>| -> Result<(), IngestError> {
            tx.blocking_send(std::mem::take(batch))
                .map_err(|_| IngestError::Cancelled)
        };
        corpus.for_each_text(|number, text| {
            if !wanted(number) {
                return Ok(());
            }
            match index.get(&number) {
                Some(entry) if seen.insert(number) => {
                    batch.push(rfc::document(entry, Some(text)));
                    if batch.len() == BATCH {
                        send(&mut batch)?;
                    }
                }
                Some(_) => {}
                None => orphans += 1,
            }
            Ok(())
        })?;
        // Issued in the index, but no text in the archive: unextractable.
        for (number, entry) in &index {
            if wanted(*number) && !seen.contains(number) {
                batch.push(rfc::document(entry, None));
                if batch.len() == BATCH {
                    send(&mut batch)?;
                }
            }
        }
        if !batch.is_empty() {
            send(&mut batch)?;
        }
        Ok(orphans)
    });
    let written = write_all(store, rx, &bar, opts.common.dry_run).await;
    // Whichever side failed first caused the other to fail: a database error makes the reader
    // stop with `Cancelled`, a bad input makes the writer see the input end early.
    let read = reader.await.context("the RFC reader panicked")?;
    let (report, orphans) = match (written, read) {
        (Ok(report), Ok(orphans)) => (report, orphans),
        (_, Err(e))
            if !matches!(
                e.downcast_ref::<IngestError>(),
                Some(IngestError::Cancelled)
            ) =>
        {
            return Err(e.context("reading the RFC collection"));
        }
        (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
    };
    bar.finish_and_clear();
    if orphans > 0 {
        tracing::warn!(files = orphans, "texts without an index entry were skipped");
    }
    Ok(report)
}

/// Imports a JSON-lines collection: the whole file is parsed and checked before writing.
pub async fn import_jsonl(store: &Store, opts: JsonlOpts) -> anyhow::Result<ImportReport> {
    let dry_run = opts.common.dry_run;
    let docs =
        tokio::task::spawn_blocking(move || jsonl::read(&opts.metadata, opts.texts.as_deref()))
            .await??;
    if docs.is_empty() {
        bail!("no records to import");
    }
    let bar = progress(docs.len() as u64, "importing");
    let (tx, rx) = mpsc::channel::<Vec<NewDocument>>(4);
    let feeder = tokio::spawn(async move {
        let mut docs = docs.into_iter().peekable();
        while docs.peek().is_some() {
            let batch: Vec<NewDocument> = docs.by_ref().take(BATCH).collect();
            if tx.send(batch).await.is_err() {
                break;
            }
        }
    });
    let report = write_all(store, rx, &bar, dry_run).await;
    feeder.await.context("the import feeder panicked")?;
    bar.finish_and_clear();
    report
}

/// Writes every batch from `rx` in one transaction, committing only when the sender finished
/// cleanly (the caller checks the reader's result before trusting the report). A dry run
/// counts what it would write and rolls back.
async fn write_all(
    store: &Store,
    mut rx: mpsc::Receiver<Vec<NewDocument>>,
    bar: &ProgressBar,
    dry_run: bool,
) -> anyhow::Result<ImportReport> {
    let mut writer = ImportWriter::begin(store)
        .await
        .context("starting the import transaction")?;
    let mut written = 0usize;
    let mut counted = ImportReport::default();
    while let Some(batch) = rx.recv().await {
        if dry_run {
            counted.documents += batch.len() as u64;
            counted.unextractable += batch.iter().filter(|d| d.unextractable).count() as u64;
            counted.citations += batch.iter().map(|d| d.citations.len() as u64).sum::<u64>();
            written += batch.len();
            bar.set_position(written as u64);
            continue;
        }
        writer.write(&batch).await.with_context(|| {
            format!(
                "writing documents {}..{}",
                batch.first().map_or(0, |d| d.identifier.0),
                batch.last().map_or(0, |d| d.identifier.0)
            )
        })?;
        written += batch.len();
        bar.set_position(written as u64);
    }
    // The channel closes both when the reader is done and when it failed; a failed reader's
    // error is reported by the caller, and this transaction must then not commit. The reader
    // sends nothing after an error, so compare against what it promised.
    if bar.length().is_some_and(|len| written as u64 != len) {
        bail!(
            "the input ended after {written} of {} documents; nothing was imported",
            bar.length().unwrap_or(0)
        );
    }
    if dry_run {
        return Ok(counted);
    }
    writer.finish().await.context("committing the import")
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:40.cyan/blue} {pos}/{len} docs  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_string());
    bar
}
