//! `hamlet harvest OAI_BASE_URL [--set SPEC] [--from DATE]`: builds or updates the collection
//! from a live repository over OAI-PMH 2.0, as the original did from DSpace@MIT: ListRecords
//! page by page (resumption tokens), METS/MODS or oai_dc metadata, each record's PDF
//! downloaded and its text extracted (OCR through tesseract when the PDF has no text layer and
//! tesseract is installed). A document whose text cannot be had is kept, unextractable, with
//! the reason.
//!
//! Incremental: the repository's responseDate at the start of a complete harvest is stored per
//! source (URL, set, format), and the next harvest asks only for records changed since.
//! Deleted records are removed. Each page is written in its own transaction, so an interrupted
//! harvest keeps what it wrote and the next run starts again from the stored date.
//!
//! Polite: one request at a time, `--pause` seconds apart, a User-Agent naming Hamlet, retries
//! with backoff on network errors, 5xx and 429 (honouring Retry-After).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::progress::Progress;
use crate::ingest::oai::{self, Record};
use crate::store::{HarvestState, ImportWriter, NewDocument, Store};

#[derive(Debug, Clone)]
pub struct Opts {
    /// The repository's OAI-PMH base URL, e.g. https://dspace.mit.edu/oai/request.
    pub base_url: String,
    /// Harvest only this set (setSpec), e.g. a DSpace collection's hdl_1721.1_7582.
    pub set: Option<String>,
    /// Only records added, changed or deleted since DATE (YYYY-MM-DD or
    /// YYYY-MM-DDThh:mm:ssZ). Default: where the last complete harvest of the same URL, set
    /// and format began; everything the first time.
    pub from: Option<String>,
    /// Metadata format: mets (DSpace's METS with MODS; links the PDFs) or oai_dc. Default: mets
    /// when the repository offers it, else oai_dc.
    pub format: Option<String>,
    /// Seconds between two requests to the repository.
    pub pause: f64,
    /// Retries of a request that failed (network error, 5xx, 429), with backoff.
    pub retries: u32,
    /// Metadata only: no PDFs are downloaded (the documents are unextractable).
    pub metadata_only: bool,
    /// The largest PDF downloaded, in MB; a larger one is left unextractable.
    pub max_pdf_mb: u64,
    /// Never OCR, even where tesseract and pdftoppm are installed.
    pub no_ocr: bool,
}

impl Opts {
    /// Options for `base_url` with the defaults of the command line.
    pub fn new(base_url: impl Into<String>) -> Opts {
        Opts {
            base_url: base_url.into(),
            set: None,
            from: None,
            format: None,
            pause: 1.0,
            retries: 5,
            metadata_only: false,
            max_pdf_mb: 200,
            no_ocr: false,
        }
    }
}

/// What a harvest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarvestReport {
    pub format: String,
    /// The `from` the harvest asked with (None: everything).
    pub from: Option<String>,
    pub pages: u64,
    /// Records received, deleted ones included.
    pub records: u64,
    /// Documents written (added or updated).
    pub written: u64,
    /// Deleted records, and how many of them were in the collection.
    pub deleted: u64,
    pub removed: u64,
    /// Written documents without text.
    pub unextractable: u64,
    pub pdf_bytes: u64,
}

/// The key a source's harvest state is stored under.
fn source_key(base_url: &str, set: Option<&str>, format: &str) -> String {
    format!("{base_url} set={} format={format}", set.unwrap_or("*"))
}

/// Harvests `opts.base_url` into `store`, reporting records to `progress`.
pub async fn harvest(
    store: &Store,
    opts: &Opts,
    progress: &dyn Progress,
) -> anyhow::Result<HarvestReport> {
    let base = reqwest::Url::parse(&opts.base_url)
        .with_context(|| format!("{:?} is not a URL", opts.base_url))?;
    if !matches!(base.scheme(), "http" | "https") {
        bail!(
            "{}: only http:// and https:// repositories can be harvested",
            opts.base_url
        );
    }
    if let Some(from) = &opts.from {
        check_date(from)?;
    }
    let mut client = Polite::new(opts)?;

    let identify = client.oai(&base, &[("verb", "Identify")]).await?;
    if let Some(e) = identify.error {
        bail!("{}: {e}", opts.base_url);
    }
    let day_granularity = identify.granularity.as_deref() == Some("YYYY-MM-DD");
    let offered = client
        .oai(&base, &[("verb", "ListMetadataFormats")])
        .await?
        .formats;
    let format = match &opts.format {
        Some(f) => f.clone(),
        None if offered.iter().any(|f| f == "mets") => "mets".into(),
        None => "oai_dc".into(),
    };
    if !offered.is_empty() && !offered.contains(&format) {
        bail!(
            "{} does not offer the metadata format {format:?}; it offers: {}",
            opts.base_url,
            offered.join(", ")
        );
    }
    let key = source_key(opts.base_url.as_str(), opts.set.as_deref(), &format);
    let from = match &opts.from {
        Some(f) => Some(f.clone()),
        None => store.harvest_state(&key).await?.map(|s| s.harvested_until),
    }
    .map(|f| {
        if day_granularity {
            f.chars().take(10).collect()
        } else {
            f
        }
    });

    progress.start("harvest", None);

    let mut report = HarvestReport {
        format: format.clone(),
        from: from.clone(),
        ..Default::default()
    };
    let mut params: Vec<(&str, String)> = vec![
        ("verb", "ListRecords".into()),
        ("metadataPrefix", format.clone()),
    ];
    if let Some(set) = &opts.set {
        params.push(("set", set.clone()));
    }
    if let Some(from) = &from {
        params.push(("from", from.clone()));
    }
    let mut until: Option<String> = None;
    loop {
        let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = client.oai(&base, &query).await?;
        until.get_or_insert_with(|| page.response_date.clone());
        if let Some(e) = &page.error {
            if e.code == "noRecordsMatch" {
                break;
            }
            let hint = match e.code.as_str() {
                "badResumptionToken" => {
                    "; the pages written so far are kept: run the harvest again to go on"
                }
                "badArgument" => "; check --set and --from",
                _ => "",
            };
            bail!("{}: {e}{hint}", opts.base_url);
        }
        report.pages += 1;
        if let Some(n) = page.complete_list_size {
            progress.set_total(n);
        }
        write_page(
            store,
            &mut client,
            opts,
            &page.records,
            &mut report,
            progress,
        )
        .await?;
        match page.resumption_token {
            Some(token) => {
                params = vec![("verb", "ListRecords".into()), ("resumptionToken", token)];
            }
            None => break,
        }
    }
    progress.finish();
    store
        .save_harvest(
            &key,
            &HarvestState {
                harvested_until: until.unwrap_or_default(),
                records: report.records as i64,
                deleted: report.deleted as i64,
                finished_at: crate::clock::now_rfc3339(),
            },
        )
        .await?;
    Ok(report)
}

/// Fetches the texts of one page's records and writes the page in one transaction.
async fn write_page(
    store: &Store,
    client: &mut Polite,
    opts: &Opts,
    records: &[Record],
    report: &mut HarvestReport,
    progress: &dyn Progress,
) -> anyhow::Result<()> {
    let mut docs: Vec<NewDocument> = Vec::new();
    let mut deleted: Vec<i64> = Vec::new();
    for record in records {
        report.records += 1;
        progress.inc();
        let id = oai::document_id(&record.oai_identifier);
        docs.retain(|d| d.identifier != id);
        deleted.retain(|d| *d != id.0);
        if record.deleted {
            deleted.push(id.0);
            continue;
        }
        let (text, reason) = if opts.metadata_only {
            (None, Some("harvested with --metadata-only".to_string()))
        } else if let Some(url) = record.pdf_urls.first() {
            progress.note(&format!("PDF of {id}"));
            match client.pdf_text(url, opts).await {
                Ok((text, bytes)) => {
                    report.pdf_bytes += bytes;
                    (Some(text), None)
                }
                Err(reason) => {
                    tracing::warn!(document = id.0, %url, %reason, "no text");
                    (None, Some(reason))
                }
            }
        } else {
            (
                None,
                Some(format!(
                    "the {} record links no PDF",
                    if report.format == "oai_dc" {
                        "oai_dc"
                    } else {
                        "harvested"
                    }
                )),
            )
        };
        docs.push(record.document(text, reason));
    }
    let mut writer = ImportWriter::begin(store).await?;
    writer.write(&docs).await?;
    report.removed += writer.delete(&deleted).await?;
    writer.finish().await?;
    report.written += docs.len() as u64;
    report.unextractable += docs.iter().filter(|d| d.unextractable).count() as u64;
    report.deleted += deleted.len() as u64;
    Ok(())
}

/// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`, as OAI-PMH allows.
fn check_date(s: &str) -> anyhow::Result<()> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let day = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    let ok = day
        && (b.len() == 10
            || (b.len() == 20
                && b[10] == b'T'
                && digits(11..13)
                && b[13] == b':'
                && digits(14..16)
                && b[16] == b':'
                && digits(17..19)
                && b[19] == b'Z'));
    if !ok {
        bail!("--from {s:?}: write the date as YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ");
    }
    Ok(())
}

/// A repository that sends nothing for this long is cut off (and the request retried).
const READ_STALL: Duration = Duration::from_secs(120);

/// One request at a time, `pause` apart, retried with backoff; and the PDFs' reader.
struct Polite {
    http: reqwest::Client,
    /// PDFs are read as uploads are, in a child process under limits (more generous ones: a
    /// harvested thesis can be hundreds of pages).
    reader: crate::extract::sandbox::Sandbox,
    pause: Duration,
    retries: u32,
    /// When the last request started.
    last: std::sync::Mutex<Option<Instant>>,
}

/// Why a request gave up: whether trying again might help, and the message.
struct Failed {
    retry: bool,
    after: Option<Duration>,
    message: String,
}

impl Polite {
    fn new(opts: &Opts) -> anyhow::Result<Polite> {
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "Hamlet/",
                env!("CARGO_PKG_VERSION"),
                " (thesis discovery; OAI-PMH harvester)"
            ))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .build()?;
        let reader = crate::extract::sandbox::Sandbox::for_this_binary(
            crate::extract::sandbox::SandboxLimits::harvest(),
        )
        .map_err(|e| anyhow::anyhow!("the PDF reader: {e}"))?;
        Ok(Polite {
            http,
            reader,
            pause: Duration::from_secs_f64(opts.pause.max(0.0)),
            retries: opts.retries,
            last: std::sync::Mutex::new(None),
        })
    }

    /// GETs `url`, reading at most `max_bytes` of the body, `pause` after the last request,
    /// retried (`retry::Policy`) on network errors, 5xx and 429 (after Retry-After when given).
    async fn get(&self, url: &reqwest::Url, max_bytes: u64) -> Result<(String, Vec<u8>), String> {
        let policy = crate::retry::Policy {
            retries: self.retries,
            first: Duration::from_millis(500),
        };
        let shown = crate::remote::shown(url.as_str());
        policy
            .run(
                || async {
                    self.pace().await;
                    self.try_get(url, max_bytes).await
                },
                |f: &Failed, attempt, wait| {
                    let wait = f.after.unwrap_or(wait);
                    f.retry.then(|| {
                        tracing::warn!(url = %shown, attempt, error = %f.message, "retrying in {:.1} s", wait.as_secs_f64());
                        wait
                    })
                },
            )
            .await
            .map_err(|f| {
                if f.retry {
                    format!("{} (after {} retries)", f.message, self.retries)
                } else {
                    f.message
                }
            })
    }

    /// Waits until `pause` has passed since the last request began, and marks this one.
    async fn pace(&self) {
        let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = last {
            tokio::time::sleep(self.pause.saturating_sub(last.elapsed())).await;
        }
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    async fn try_get(
        &self,
        url: &reqwest::Url,
        max_bytes: u64,
    ) -> Result<(String, Vec<u8>), Failed> {
        let network = |e: reqwest::Error| Failed {
            retry: true,
            after: None,
            message: format!("the request failed: {e}"),
        };
        let mut res = self.http.get(url.clone()).send().await.map_err(network)?;
        let status = res.status();
        if !status.is_success() {
            let after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(300)));
            return Err(Failed {
                retry: status.is_server_error() || status.as_u16() == 429,
                after,
                message: format!("HTTP {status}"),
            });
        }
        let kind = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        use crate::remote::BodyError;
        let body = crate::remote::read_body(&mut res, max_bytes, READ_STALL)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => Failed {
                    retry: false,
                    after: None,
                    message: format!("larger than {} MB", max_bytes >> 20),
                },
                BodyError::Stalled => Failed {
                    retry: true,
                    after: None,
                    message: format!("nothing arrived for {} s", READ_STALL.as_secs()),
                },
                BodyError::Transport(e) => network(e),
            })?;
        Ok((kind, body))
    }

    /// One OAI-PMH request: `base?query`, parsed.
    async fn oai(
        &mut self,
        base: &reqwest::Url,
        query: &[(&str, &str)],
    ) -> anyhow::Result<oai::Response> {
        let mut url = base.clone();
        url.query_pairs_mut().clear().extend_pairs(query);
        let shown = crate::remote::shown(url.as_str());
        let (_, body) = self
            .get(&url, 256 << 20)
            .await
            .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
        let text = String::from_utf8_lossy(&body);
        let parsed = oai::parse(&text).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
        if !parsed.is_oai {
            bail!("{shown}: the answer is not an OAI-PMH response (no <OAI-PMH> element); is this the repository's OAI-PMH base URL?");
        }
        Ok(parsed)
    }

    /// The text of the PDF at `url` and its size, or why there is none.
    async fn pdf_text(&mut self, url: &str, opts: &Opts) -> Result<(String, u64), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad PDF link {url:?}: {e}"))?;
        let (kind, bytes) = self
            .get(&parsed, opts.max_pdf_mb << 20)
            .await
            .map_err(|e| format!("the PDF could not be downloaded: {e}"))?;
        if !bytes.starts_with(b"%PDF-") {
            return Err(format!(
                "the PDF link gave {} bytes of {}, not a PDF",
                bytes.len(),
                if kind.is_empty() {
                    "unknown type"
                } else {
                    kind.as_str()
                }
            ));
        }
        let size = bytes.len() as u64;
        use crate::extract::{ocr, sandbox::Refused, ExtractError};
        match self.reader.extract(&bytes, Some("document.pdf")).await {
            Ok(e) => Ok((e.text, size)),
            Err(Refused::File(ExtractError::NoText(_))) if !opts.no_ocr && ocr::available() => {
                tokio::task::spawn_blocking(move || ocr::read_pdf(&bytes))
                    .await
                    .map_err(|e| format!("OCR failed: {e}"))?
                    .map(|text| (text, size))
            }
            Err(Refused::File(ExtractError::NoText(_))) => Err(
                "the PDF has no text layer (a scan?); install tesseract-ocr and poppler-utils to OCR it"
                    .into(),
            ),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked() {
        assert!(check_date("2026-01-02").is_ok());
        assert!(check_date("2026-01-02T03:04:05Z").is_ok());
        assert!(check_date("2026-1-2").is_err());
        assert!(check_date("yesterday").is_err());
        assert!(check_date("2026-01-02T03:04:05").is_err());
    }
}
