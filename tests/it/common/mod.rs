//! Shared test scaffolding: a fresh database per test on each backend, the RFC corpus path,
//! and a macro that runs one scenario against both SQLite and Postgres.
//!
//! SQLite: a new file in a temp dir. Postgres: a new database created from
//! `TEST_DATABASE_URL` (scripts/test.sh sets it) and dropped when the test ends. Without
//! `TEST_DATABASE_URL` the Postgres variants say so and skip, except under CI=true, where they
//! fail: CI must never silently skip them.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

pub mod chromium;
pub mod server_log;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use hamlet::app::import::RfcOpts;
use hamlet::store::{ImportReport, Store};
use sqlx::{Connection, Executor};

pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database of `kind`, or None when Postgres is not configured outside CI.
    pub async fn new(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/hamlet.sqlite3", dir.path().display());
                Some(TestDb {
                    url,
                    pg: None,
                    _dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!("TEST_DATABASE_URL is not set: CI must run the Postgres tests");
                    }
                    eprintln!("TEST_DATABASE_URL is not set: skipping the Postgres variant");
                    return None;
                };
                let name = format!(
                    "hamlet_test_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_nanos()
                );
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    pg: Some((admin, name)),
                    _dir: None,
                })
            }
        }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any runtime: give the cleanup its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// `../shared/corpora/rfc`, beside the project root.
pub fn rfc_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/rfc");
    assert!(
        dir.join("rfc-index.txt").exists(),
        "the RFC corpus is missing at {}",
        dir.display()
    );
    dir
}

/// The RFCs the tests import: QUIC and what it cites, plus a few classics and a gap.
pub const SUBSET: &str = "9000-9002,2119,8174,793,791,1149,14";

/// QUIC and its companion RFCs: what a model of the topic subsets should find together.
pub const QUIC: [i64; 11] = [
    9000, 9001, 9002, 9114, 9221, 9250, 9287, 9308, 9312, 9368, 9369,
];

/// A small, quickly trained PV-DBOW configuration for the topic subsets of the tests.
pub fn small_dbow_config() -> hamlet::model::ModelConfig {
    hamlet::model::ModelConfig {
        mode: hamlet::model::Mode::Dbow,
        dim: 32,
        min_count: 2,
        epochs: 20,
        max_doc_words: 0,
        ..hamlet::model::ModelConfig::default()
    }
}

pub async fn import_subset(store: &Store) -> ImportReport {
    import_rfc(store, rfc_dir(), SUBSET)
        .await
        .expect("import the RFC subset")
}

pub async fn import_rfc(store: &Store, dir: PathBuf, only: &str) -> anyhow::Result<ImportReport> {
    let opts = RfcOpts {
        dir,
        only: Some(only.to_string()),
        dry_run: false,
    };
    hamlet::app::import::import_rfc(store, opts, &hamlet::app::progress::Quiet).await
}

/// Runs `async fn $name(db: TestDb)` once on SQLite and once on Postgres.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::new($crate::common::Kind::Sqlite).await.unwrap();
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Kind::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

/// The topic subsets the model tests import: QUIC and its companions, and unrelated RFCs.
pub const TOPICS: &str =
    "9000-9002,9114,9221,9250,9287,9308,9312,9368,9369,791,793,5321,5322,3501,1034,1035,4271,2328";

/// A small PV-DBOW model of `TOPICS`, trained once per test binary and shared (the texts are
/// the same whichever backend imported them). `store` must hold `TOPICS`.
pub async fn topics_model(store: &Store) -> PathBuf {
    static MODEL: tokio::sync::OnceCell<(tempfile::TempDir, PathBuf)> =
        tokio::sync::OnceCell::const_new();
    let (_, path) = MODEL
        .get_or_init(|| async {
            let set = hamlet::app::train::collection(store).await.unwrap();
            let (model, _) = hamlet::app::train::train(
                &set,
                hamlet::app::train::Plan::new(small_dbow_config(), 2),
                &hamlet::app::progress::Quiet,
            )
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("topics.safetensors");
            hamlet::model::io::file::save(&model, &path).unwrap();
            (dir, path)
        })
        .await;
    path.clone()
}

/// A small default-engine model of `TOPICS` (citation targets, titles), trained once per test
/// binary and shared. `store` must hold `TOPICS`.
pub async fn topics_engine(store: &Store) -> PathBuf {
    static MODEL: tokio::sync::OnceCell<(tempfile::TempDir, PathBuf)> =
        tokio::sync::OnceCell::const_new();
    let (_, path) = MODEL
        .get_or_init(|| async {
            let set = hamlet::app::train::collection(store).await.unwrap();
            let config = hamlet::model::ModelConfig {
                dim: 32,
                min_count: 2,
                ..hamlet::model::ModelConfig::engine()
            };
            let (model, _) = hamlet::app::train::train(
                &set,
                hamlet::app::train::Plan::new(config, 1),
                &hamlet::app::progress::Quiet,
            )
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("engine.safetensors");
            hamlet::model::io::file::save(&model, &path).unwrap();
            (dir, path)
        })
        .await;
    path.clone()
}

/// A one-page PDF whose text layer holds `lines`, built by hand (correct xref offsets).
pub fn tiny_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT /F1 11 Tf 14 TL 50 760 Td\n");
    for l in lines {
        let escaped = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    let objects: Vec<Vec<u8>> = objects.into_iter().map(String::into_bytes).collect();
    pdf_of_objects(&objects)
}

/// A PDF file of `objects` (numbered from 1; the first is the catalog), with a correct xref.
pub fn pdf_of_objects(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend(body);
        pdf.extend(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// A minimal .docx whose body has one paragraph per item of `paragraphs`.
pub fn tiny_docx(paragraphs: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut body = String::new();
    for p in paragraphs {
        let escaped = p
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        body.push_str(&format!("<w:p><w:r><w:t>{escaped}</w:t></w:r></w:p>"));
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body>{body}</w:body></w:document>"
    );
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("[Content_Types].xml", opts).unwrap();
    w.write_all(b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>").unwrap();
    w.start_file("word/document.xml", opts).unwrap();
    w.write_all(xml.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// A multipart/form-data body: (name, filename, bytes) parts. Returns the content type and body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "hamlet-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts `parts` as a multipart form; the status and the body as text.
pub async fn post_form(
    client: &rocket::local::asynchronous::Client,
    uri: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> (rocket::http::Status, String) {
    let (ct, body) = multipart(parts);
    let res = client
        .post(uri)
        .header(rocket::http::ContentType::parse_flexible(&ct).unwrap())
        .body(body)
        .dispatch()
        .await;
    let status = res.status();
    (status, res.into_string().await.unwrap_or_default())
}

/// The upstream fixtures directory (`../shared/fixtures/hamlet-upstream`).
pub fn upstream_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/hamlet-upstream")
        .join(name)
}

/// A local client of the app for `cfg`, once it is ready (start-up runs in the background).
pub async fn ready_client(cfg: hamlet::config::AppConfig) -> rocket::local::asynchronous::Client {
    let client = rocket::local::asynchronous::Client::tracked(hamlet::rocket(cfg))
        .await
        .expect("valid rocket");
    wait_ready(&client).await;
    client
}

/// Polls `/health/ready` until it answers 200 (at most a minute).
pub async fn wait_ready(client: &rocket::local::asynchronous::Client) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let res = client.get("/health/ready").dispatch().await;
        if res.status() == rocket::http::Status::Ok {
            return;
        }
        let body = res.into_string().await.unwrap_or_default();
        assert!(
            std::time::Instant::now() < deadline,
            "the app did not become ready: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A GET over a real socket: (status, body). Minimal HTTP/1.1, for servers the tests start.
pub async fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `http://127.0.0.1:port/health/ready` until 200 (at most `secs`).
pub async fn wait_http_ready(port: u16, secs: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok((status, body)) = http_get(port, "/health/ready").await {
            if status == 200 {
                return body;
            }
            last = body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("port {port} did not become ready in {secs} s: {last}");
}

/// A `hamlet serve` process on a free port, killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub port: u16,
}

impl ServeProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hamlet serve` on a free port with an empty environment: `DATABASE_URL`, the model
/// file, the checkout's templates and static files, JSON logs to nowhere, no periodic model
/// check, then `env` (which may override any of these).
pub fn serve_process(db_url: &str, model: &std::path::Path, env: &[(&str, &str)]) -> ServeProcess {
    let port = chromium::free_port();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hamlet"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("HAMLET_MODEL_PATH", model)
        .env("PORT", port.to_string())
        .env("MODEL_CHECK_INTERVAL_SECS", "0")
        .env("HAMLET_TEMPLATES_DIR", format!("{root}/templates"))
        .env("HAMLET_PUBLIC_DIR", format!("{root}/public"))
        .env("HAMLET_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    ServeProcess {
        child: cmd.spawn().expect("run hamlet serve"),
        port,
    }
}

/// Zlib (a PDF's FlateDecode) of `n` zero bytes, written a megabyte at a time.
pub fn deflated_zeros(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut w = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        w.write_all(&chunk[..k]).unwrap();
        left -= k;
    }
    w.finish().unwrap()
}

/// Zlib of `bytes`.
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(bytes).unwrap();
    w.finish().unwrap()
}

/// A one-page PDF whose content stream is `data` with `dict` entries (`/Filter ...`).
pub fn pdf_with_stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut stream = format!("<< /Length {} {dict} >>\nstream\n", data.len()).into_bytes();
    stream.extend_from_slice(data);
    stream.extend_from_slice(b"\nendstream");
    pdf_of_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
        stream,
    ])
}

/// A .docx whose `word/document.xml` is `mb` megabytes of spaces, deflated: a zip bomb of
/// about a thousandth of that size.
pub fn spaces_docx(mb: usize) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    w.start_file("word/document.xml", opts).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..mb {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap().into_inner()
}
