//! Importing a collection (the RFC series, JSON lines) into the store.
//!
//! One transaction per import: a failure anywhere (bad input, a database error, Ctrl-C) leaves
//! the collection as it was. Re-importing updates documents in place. Reading and parsing run
//! on a blocking thread and feed the database writer through a small channel, so parsing and
//! writing overlap on two cores.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use anyhow::{bail, Context};
use tokio::sync::mpsc;

use super::progress::Progress;
use crate::ingest::{jsonl, rfc, Error as IngestError};
use crate::store::{ImportReport, ImportWriter, NewDocument, Store};

/// Documents per batch sent to the writer.
const BATCH: usize = 64;

/// `hamlet import rfc`: the directory with rfc-index.txt and rfc-text.tar.zst, and which
/// numbers (e.g. "9000-9010,793"; all when none).
#[derive(Debug, Clone)]
pub struct RfcOpts {
    pub dir: PathBuf,
    pub only: Option<String>,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
}

/// `hamlet import jsonl`: the metadata file (`-` is standard input) and the directory of the
/// texts it names (texts may also be inline).
#[derive(Debug, Clone)]
pub struct JsonlOpts {
    pub metadata: PathBuf,
    pub texts: Option<PathBuf>,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
}

/// Writes a JSON-lines catalogue (`hamlet import jsonl`) for a synthetic model of `docs`
/// documents and `vocab` words (`hamlet model synth --catalog`): identifiers 1..=docs, each
/// with the model's made-up title, a year, a degree, a department and two authors drawn from
/// pools the size a library's would be, and marked as having text (the model holds them), so
/// that a server or a benchmark serving the synthetic model lists real catalogue rows.
pub fn write_synthetic_catalogue(
    path: &std::path::Path,
    docs: usize,
    vocab: usize,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let people = (docs / 3).max(1);
    const DEGREES: [&str; 4] = ["Ph.D.", "S.M.", "S.B.", "M.Eng."];
    for d in 0..docs {
        let record = serde_json::json!({
            "identifier": d + 1,
            "title": crate::model::io::synth::title(d, vocab),
            "year": 1950 + (d * 7) % 76,
            "degree": DEGREES[d % 4],
            "departments": [format!("Department {}", (d * 13) % 40 + 1)],
            "authors": [format!("Author {}", (d * 31) % people + 1), format!("Author {}", (d * 17 + 5) % people + 1)],
            "unextractable": false,
        });
        writeln!(out, "{record}")?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Imports the RFC collection in `opts.dir`; public so the benchmark and tests drive it.
pub async fn import_rfc(
    store: &Store,
    opts: RfcOpts,
    progress: &dyn Progress,
) -> anyhow::Result<ImportReport> {
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
    progress.start("importing RFCs", Some(total as u64));
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
    let written = write_all(store, rx, progress, total as u64, opts.dry_run).await;
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
    progress.finish();
    if orphans > 0 {
        tracing::warn!(files = orphans, "texts without an index entry were skipped");
    }
    Ok(report)
}

/// Imports a JSON-lines collection: the whole file is parsed and checked before writing.
pub async fn import_jsonl(
    store: &Store,
    opts: JsonlOpts,
    progress: &dyn Progress,
) -> anyhow::Result<ImportReport> {
    let dry_run = opts.dry_run;
    let docs =
        tokio::task::spawn_blocking(move || jsonl::read(&opts.metadata, opts.texts.as_deref()))
            .await??;
    if docs.is_empty() {
        bail!("no records to import");
    }
    let total = docs.len() as u64;
    progress.start("importing", Some(total));
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
    let report = write_all(store, rx, progress, total, dry_run).await;
    feeder.await.context("the import feeder panicked")?;
    progress.finish();
    report
}

/// Writes every batch from `rx` in one transaction, committing only when the sender finished
/// cleanly (the caller checks the reader's result before trusting the report). A dry run
/// counts what it would write and rolls back.
async fn write_all(
    store: &Store,
    mut rx: mpsc::Receiver<Vec<NewDocument>>,
    progress: &dyn Progress,
    expected: u64,
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
            progress.set(written as u64);
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
        progress.set(written as u64);
    }
    // The channel closes both when the reader is done and when it failed; a failed reader's
    // error is reported by the caller, and this transaction must then not commit. The reader
    // sends nothing after an error, so compare against what it promised.
    if written as u64 != expected {
        bail!("the input ended after {written} of {expected} documents; nothing was imported");
    }
    if dry_run {
        return Ok(counted);
    }
    writer.finish().await.context("committing the import")
}
