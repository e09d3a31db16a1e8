//! `hamlet harvest` against a real OAI-PMH server run locally: pyoai's server implementation
//! (tests/support/oai_server.py, pyoai from PyPI, which scripts/test.sh installs) serving records built
//! from the RFC index, in pages of 4 with resumption tokens, and small PDFs made here of the
//! RFCs' texts. Checks METS/MODS and oai_dc metadata, PDF text, the reasons a document has no
//! text, incremental harvests with changed and deleted records, OAI errors, and that the
//! harvested collection trains and serves.

use crate::common;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use common::{import_rfc, rfc_dir, small_dbow_config, tiny_pdf, Kind, TestDb, TOPICS};
use hamlet::app::harvest::{harvest, HarvestReport, Opts};
use hamlet::app::progress::Quiet;
use hamlet::store::{DocId, Store};
use serde_json::{json, Value};

/// The pyoai server on a free port, over `records.json` and the files of `dir`.
struct OaiServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for OaiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OaiServer {
    async fn start(records: &Value, files: &[(String, Vec<u8>)]) -> OaiServer {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = OaiServer {
            child: Command::new("python3")
                .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/oai_server.py"))
                .arg(port.to_string())
                .arg(dir.path().join("records.json"))
                .arg(dir.path())
                .spawn()
                .expect(
                    "python3 runs tests/support/oai_server.py (scripts/test.sh installs pyoai)",
                ),
            port,
            dir,
        };
        server.set_records(records);
        for _ in 0..200 {
            if let Ok((200, body)) = common::http_get(port, "/oai?verb=Identify").await {
                assert!(body.contains("<Identify>"), "{body}");
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the OAI-PMH server exited ({status}): is pyoai installed (pip install pyoai==2.5.0)?");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the OAI-PMH server did not answer");
    }

    fn set_records(&self, records: &Value) {
        let tmp = self.dir.path().join("records.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(records).unwrap()).unwrap();
        std::fs::rename(tmp, self.dir.path().join("records.json")).unwrap();
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/oai", self.port)
    }

    fn opts(&self) -> Opts {
        Opts {
            pause: 0.0,
            retries: 1,
            ..Opts::new(self.base())
        }
    }
}

/// Printable ASCII lines of a text (what the hand-made PDF's Helvetica can show).
fn pdf_lines(text: &str, max: usize) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .collect::<String>()
        })
        .filter(|l| !l.trim().is_empty())
        .take(max)
        .collect()
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The records and PDFs of the repository: `TOPICS` from the RFC index, with three documents
/// whose text cannot be had (a damaged PDF, a missing one, no PDF at all).
struct Collection {
    records: Vec<Value>,
    files: Vec<(String, Vec<u8>)>,
    /// Per document, one line of its PDF, to find in the harvested text.
    probes: Vec<(i64, String)>,
}

async fn collection() -> Collection {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let texts = store.texts().await.unwrap();
    let mut records = Vec::new();
    let mut files = Vec::new();
    let mut probes = Vec::new();
    for (id, text) in texts {
        let doc = store.document(id).await.unwrap();
        let pdf = match id.0 {
            791 => {
                files.push((
                    "791.pdf".into(),
                    b"%PDF-1.4\nthis is not a PDF body".to_vec(),
                ));
                Some("791.pdf".to_string())
            }
            793 => Some("793.pdf".to_string()), // never written: a 404
            1034 => None,
            n => {
                let lines = pdf_lines(&text, 300);
                probes.push((n, lines[lines.len() / 2].clone()));
                let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
                files.push((format!("{n}.pdf"), tiny_pdf(&refs)));
                Some(format!("{n}.pdf"))
            }
        };
        records.push(json!({
            "id": format!("oai:test.invalid:1721.1/{}", id.0),
            "datestamp": "2026-01-01T00:00:00Z",
            "set": if id.0 >= 9000 { "quic" } else { "classics" },
            "title": doc.title,
            "authors": doc.authors.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
            "advisors": if id.0 == 9000 { vec!["M. Thomson"] } else { vec![] },
            "departments": doc.departments,
            "year": doc.year,
            "degree": "Proposed Standard",
            "pdf": pdf,
        }));
    }
    Collection {
        records,
        files,
        probes,
    }
}

async fn doc_count(store: &Store) -> i64 {
    store.stats().await.unwrap().documents
}

/// Harvests the whole repository, then a change and a deletion incrementally.
async fn harvest_and_update(kind: Kind, data: &Collection) -> (TestDb, OaiServer) {
    let db = TestDb::new(kind).await.unwrap();
    let store = db.store().await;
    let server = OaiServer::start(&Value::from(data.records.clone()), &data.files).await;
    let n = data.records.len() as u64;

    let first = harvest(&store, &server.opts(), &Quiet).await.unwrap();
    assert_eq!(first.format, "mets", "METS is chosen when offered");
    assert_eq!(first.from, None);
    assert_eq!(first.records, n);
    assert_eq!(first.written, n);
    assert_eq!(
        first.pages,
        n.div_ceil(4),
        "pages of 4, by resumption token"
    );
    assert_eq!(first.unextractable, 3, "{first:?}");
    assert_eq!(doc_count(&store).await, n as i64);

    let quic = store.document(DocId(9000)).await.unwrap();
    assert!(quic.title.starts_with("QUIC"), "{}", quic.title);
    let source = data
        .records
        .iter()
        .find(|r| r["id"].as_str().unwrap().ends_with("/9000"));
    assert_eq!(
        Value::from(
            quic.authors
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
        ),
        source.unwrap()["authors"]
    );
    assert_eq!(quic.authors.len(), 2);
    assert_eq!(
        quic.advisors
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["M. Thomson"]
    );
    assert_eq!(
        quic.year,
        Some(2021),
        "the copyright year, not the accession's"
    );
    assert_eq!(quic.degree.as_deref(), Some("Proposed Standard"));
    assert_eq!(
        quic.url.as_deref(),
        Some("http://hdl.handle.net/1721.1/9000")
    );
    assert!(!quic.departments.is_empty());
    for (id, probe) in &data.probes {
        let text = store.document_text(DocId(*id)).await.unwrap().unwrap();
        assert!(
            words(&text).contains(&words(probe)),
            "the text of {id} lacks {probe:?}"
        );
    }
    for (id, reason) in [(791, "damaged"), (793, "HTTP 404"), (1034, "links no PDF")] {
        let doc = store.document(DocId(id)).await.unwrap();
        assert!(doc.unextractable, "{id}");
        let got = store
            .unextractable_reason(DocId(id))
            .await
            .unwrap()
            .unwrap();
        assert!(got.contains(reason), "{id}: {got}");
    }

    // A second later: one record changes, one is deleted; only they come back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let now = hamlet::clock::now_rfc3339();
    let mut records = data.records.clone();
    for r in &mut records {
        if r["id"].as_str().unwrap().ends_with("/9001") {
            r["deleted"] = Value::from(true);
            r["datestamp"] = Value::from(now.clone());
        }
        if r["id"].as_str().unwrap().ends_with("/9002") {
            r["title"] = Value::from("Using TLS to Secure QUIC (revised)");
            r["datestamp"] = Value::from(now.clone());
        }
    }
    server.set_records(&Value::from(records));
    // From is inclusive: a record stamped in the second a harvest begins comes again in the
    // next one (harmless, writes are idempotent). A second's gap keeps the third harvest empty.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = harvest(&store, &server.opts(), &Quiet).await.unwrap();
    assert!(second.from.is_some(), "incremental: {second:?}");
    assert_eq!(
        (
            second.records,
            second.written,
            second.deleted,
            second.removed
        ),
        (2, 1, 1, 1),
        "{second:?}"
    );
    assert!(store.document(DocId(9001)).await.is_err(), "deleted");
    assert_eq!(
        store.document(DocId(9002)).await.unwrap().title,
        "Using TLS to Secure QUIC (revised)"
    );
    assert_eq!(doc_count(&store).await, n as i64 - 1);
    let third = harvest(&store, &server.opts(), &Quiet).await.unwrap();
    assert_eq!(third.records, 0, "nothing changed: {third:?}");
    (db, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harvests_a_repository_then_trains_and_serves_it() {
    let data = collection().await;
    let (db, server) = harvest_and_update(Kind::Sqlite, &data).await;
    let store = db.store().await;

    // The harvested collection trains and serves like the RFC one.
    let set = hamlet::app::train::collection(&store).await.unwrap();
    assert_eq!(
        set.texts.len(),
        data.records.len() - 4,
        "with text: all but 3 + the deleted"
    );
    let (model, _) = hamlet::app::train::train(
        &set,
        hamlet::app::train::Plan::new(small_dbow_config(), 2),
        &hamlet::app::progress::Quiet,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harvested.safetensors");
    hamlet::model::io::file::save(&model, &path).unwrap();
    let mut cfg = hamlet::config::AppConfig::for_tests(&db.url);
    cfg.model_path = path;
    let client = common::ready_client(cfg).await;
    let res = client
        .get("/api/documents/9000/similar?min_score=-1&limit=5")
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    let body: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 5, "{body}");
    let page = client.get("/similar_to/9000/").dispatch().await;
    assert_eq!(page.status().code, 200);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harvests_into_postgres() {
    let data = collection().await;
    if TestDb::new(Kind::Postgres).await.is_none() {
        return;
    }
    harvest_and_update(Kind::Postgres, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oai_dc_sets_and_errors() {
    let data = collection().await;
    let server = OaiServer::start(&Value::from(data.records.clone()), &data.files).await;
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let store = db.store().await;

    // oai_dc, one set: departments and advisors told apart among the contributors, the year
    // from the dates, the PDF from the identifiers.
    let report: HarvestReport = harvest(
        &store,
        &Opts {
            format: Some("oai_dc".into()),
            set: Some("quic".into()),
            ..server.opts()
        },
        &Quiet,
    )
    .await
    .unwrap();
    let in_set = data.records.iter().filter(|r| r["set"] == "quic").count() as u64;
    assert_eq!(report.records, in_set);
    let quic = store.document(DocId(9000)).await.unwrap();
    assert_eq!(
        quic.advisors
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["M. Thomson"]
    );
    assert!(
        quic.departments.iter().all(|d| d.contains("Department of")),
        "{:?}",
        quic.departments
    );
    assert_eq!(quic.year, Some(2021));
    assert_eq!(quic.degree.as_deref(), Some("Proposed Standard"));
    assert!(!quic.unextractable);
    assert!(store.document(DocId(791)).await.is_err(), "not in the set");

    // A set with no records: nothing to do, not an error.
    let empty = harvest(
        &store,
        &Opts {
            set: Some("none".into()),
            ..server.opts()
        },
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(empty.records, 0);

    // Errors say what is wrong.
    let err = |opts: Opts| {
        let store = store.clone();
        async move { format!("{:#}", harvest(&store, &opts, &Quiet).await.unwrap_err()) }
    };
    let e = err(Opts {
        format: Some("marcxml".into()),
        ..server.opts()
    })
    .await;
    assert!(e.contains("does not offer") && e.contains("oai_dc"), "{e}");
    let e = err(Opts {
        from: Some("2026-13-45".into()),
        ..server.opts()
    })
    .await;
    assert!(e.contains("badArgument"), "{e}");
    let e = err(Opts {
        from: Some("last week".into()),
        ..server.opts()
    })
    .await;
    assert!(e.contains("YYYY-MM-DD"), "{e}");
    let e = err(Opts {
        base_url: format!("http://127.0.0.1:{}/not-oai", server.port),
        ..server.opts()
    })
    .await;
    assert!(e.contains("HTTP 404"), "{e}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = err(Opts {
        base_url: format!("http://127.0.0.1:{closed}/oai"),
        ..server.opts()
    })
    .await;
    assert!(e.contains("after 1 retries"), "{e}");
}

/// A scanned page: `lines` rendered by pdftoppm (150 dpi, grey) and embedded as the only
/// content of a new PDF, an image without a text layer.
fn scanned_pdf(lines: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.pdf");
    std::fs::write(&source, tiny_pdf(lines)).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-singlefile"])
        .arg(&source)
        .arg(dir.path().join("page"))
        .status()
        .unwrap();
    assert!(status.success());
    // A binary PGM: "P5\n<w> <h>\n255\n" then the pixels.
    let pgm = std::fs::read(dir.path().join("page.pgm")).unwrap();
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
    }
    let pixels = &pgm[at + 1..];
    let (w, h) = (fields[1].clone(), fields[2].clone());
    let content = "q 612 0 0 792 0 0 cm /Im1 Do Q";
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
          /Resources << /XObject << /Im1 5 0 R >> >> >>"
            .to_vec(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        )
        .into_bytes(),
    ];
    let mut image = format!(
        "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray \
         /BitsPerComponent 8 /Length {} >>\nstream\n",
        pixels.len()
    )
    .into_bytes();
    image.extend_from_slice(pixels);
    image.extend_from_slice(b"\nendstream");
    objects.push(image);
    common::pdf_of_objects(&objects)
}

fn installed(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_pdf_is_read_by_ocr_when_tesseract_is_installed() {
    if !(installed("tesseract") && installed("pdftoppm")) {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI must run the OCR test: scripts/setup-harvest.sh installs tesseract-ocr and poppler-utils"
        );
        eprintln!("tesseract or pdftoppm is missing: skipping the OCR test");
        return;
    }
    let lines = [
        "Paragraph vectors for thesis discovery",
        "Readers find similar documents through their meaning",
        "Harvested from a repository over the protocol",
    ];
    let scan = scanned_pdf(&lines);
    let record = json!({
        "id": "oai:test.invalid:1721.1/42", "datestamp": "2026-01-01T00:00:00Z", "set": "scans",
        "title": "A scanned thesis", "authors": ["Doe, Jane"], "advisors": [], "departments": [],
        "year": 1987, "degree": "S.M.", "pdf": "42.pdf",
    });
    let server = OaiServer::start(&json!([record]), &[("42.pdf".into(), scan)]).await;
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let store = db.store().await;

    // Without OCR, the reason says what would read it.
    let plain = harvest(
        &store,
        &Opts {
            no_ocr: true,
            ..server.opts()
        },
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(plain.unextractable, 1);
    let reason = store
        .unextractable_reason(DocId(42))
        .await
        .unwrap()
        .unwrap();
    assert!(
        reason.contains("no text layer") && reason.contains("tesseract"),
        "{reason}"
    );

    let ocr = harvest(
        &store,
        &Opts {
            from: Some("2000-01-01".into()),
            ..server.opts()
        },
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(ocr.unextractable, 0, "{ocr:?}");
    let text = store.document_text(DocId(42)).await.unwrap().unwrap();
    let text = words(&text).to_lowercase();
    for phrase in [
        "paragraph vectors for thesis discovery",
        "similar documents",
    ] {
        assert!(text.contains(phrase), "OCR missed {phrase:?}: {text}");
    }
    assert!(!store.document(DocId(42)).await.unwrap().unextractable);
}
