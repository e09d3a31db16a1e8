//! `hamlet harvest OAI_BASE_URL`: the flags and the report; the work is `app::harvest`.

use std::time::Instant;

use anyhow::Context;

use super::progress::Bars;
use crate::app::harvest::harvest;
use crate::config::AppConfig;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The repository's OAI-PMH base URL, e.g. https://dspace.mit.edu/oai/request.
    pub base_url: String,
    /// Harvest only this set (setSpec), e.g. a DSpace collection's hdl_1721.1_7582.
    #[arg(long, value_name = "SPEC")]
    pub set: Option<String>,
    /// Only records added, changed or deleted since DATE (YYYY-MM-DD or
    /// YYYY-MM-DDThh:mm:ssZ). Default: where the last complete harvest of the same URL, set
    /// and format began; everything the first time.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Metadata format: mets (DSpace's METS with MODS; links the PDFs) or oai_dc. Default: mets
    /// when the repository offers it, else oai_dc.
    #[arg(long, value_name = "PREFIX")]
    pub format: Option<String>,
    /// Seconds between two requests to the repository.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub pause: f64,
    /// Retries of a request that failed (network error, 5xx, 429), with backoff.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Metadata only: no PDFs are downloaded (the documents are unextractable).
    #[arg(long)]
    pub metadata_only: bool,
    /// The largest PDF downloaded, in MB; a larger one is left unextractable.
    #[arg(long, default_value_t = 200, value_name = "MB")]
    pub max_pdf_mb: u64,
    /// Never OCR, even where tesseract and pdftoppm are installed.
    #[arg(long)]
    pub no_ocr: bool,
}

impl Opts {
    fn into_app(self) -> crate::app::harvest::Opts {
        crate::app::harvest::Opts {
            base_url: self.base_url,
            set: self.set,
            from: self.from,
            format: self.format,
            pause: self.pause,
            retries: self.retries,
            metadata_only: self.metadata_only,
            max_pdf_mb: self.max_pdf_mb,
            no_ocr: self.no_ocr,
        }
    }
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let store = Store::connect(cfg.database_url(), 2)
        .await
        .context("connecting to DATABASE_URL")?;
    store.migrate().await.context("applying migrations")?;
    let started = Instant::now();
    let result = harvest(&store, &opts.into_app(), &Bars::default()).await;
    store.close().await;
    let r = result?;
    println!(
        "harvested {} records in {} pages ({}, from {}): {} documents written ({} without text), {} deleted ({} were in the collection), {:.1} MB of PDFs in {:.1} s",
        r.records,
        r.pages,
        r.format,
        r.from.as_deref().unwrap_or("the beginning"),
        r.written,
        r.unextractable,
        r.deleted,
        r.removed,
        r.pdf_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
