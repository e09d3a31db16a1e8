//! Hostile uploads against a real `hamlet serve` process (issue 22): each bomb is made here,
//! posted over HTTP, and the server's own peak resident memory (`VmHWM`) is read from /proc.
//! Files that are only big (a 4 MB line, 60 MB of real XML) are read, within the limits.
//! The server must answer 4xx with the JSON error envelope, grow by less than 100 MB, keep
//! `/health/ready` at 200, leave no extraction process behind, survive eight bombs at once,
//! and still answer a normal upload afterwards.

use crate::common;

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use common::{
    deflate, deflated_zeros, import_rfc, multipart, pdf_of_objects, pdf_with_stream, rfc_dir,
    spaces_docx, tiny_docx, topics_model, TestDb,
};

const TOPICS: &str = "768,791,793,9000,9001,9002,9114,1034,1035,2616,7540,9110,9113";
/// Growth of the server's peak resident memory allowed over the whole run.
const MAX_GROWTH_KB: u64 = 100 << 10;

/// A field of /proc/PID/status, in kB (or a count).
fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The server's child processes now.
fn children(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        if let Ok(c) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(c.split_whitespace().map(str::to_string));
        }
    }
    out
}

fn gigabyte_of_zeros() -> &'static [u8] {
    static ONCE: OnceLock<Vec<u8>> = OnceLock::new();
    ONCE.get_or_init(|| deflated_zeros(1 << 30))
}

/// A .docx-shaped zip whose entries are `entries` (name, bytes), deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Every hostile file, with its name: (label, file name, bytes).
fn bombs() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let gb = gigabyte_of_zeros();
    let out = vec![
        (
            "pdf: one Flate stream of 1 GB of zeros",
            "bomb.pdf",
            pdf_with_stream("/Filter /FlateDecode", gb),
        ),
        (
            "pdf: chained filters (Flate of Flate, 1 GB)",
            "chained.pdf",
            pdf_with_stream("/Filter [/FlateDecode /FlateDecode]", &deflate(gb)),
        ),
        ("pdf: an object stream of 1 GB", "objstm.pdf", {
            let mut stream = format!(
                "<< /Type /ObjStm /N 1 /First 4 /Length {} /Filter /FlateDecode >>\nstream\n",
                gb.len()
            )
            .into_bytes();
            stream.extend_from_slice(gb);
            stream.extend_from_slice(b"\nendstream");
            pdf_of_objects(&[
                b"<< /Type /Catalog /Pages 2 0 R /Extra 4 0 R >>".to_vec(),
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_vec(),
                stream,
            ])
        }),
        ("pdf: arrays nested a million deep", "deep.pdf", {
            let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
            pdf_of_objects(&[
                b"<< /Type /Catalog /Pages 2 0 R /Deep 4 0 R >>".to_vec(),
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_vec(),
                deep.into_bytes(),
            ])
        }),
        ("pdf: a page tree that loops", "loop.pdf", {
            pdf_of_objects(&[
                b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>".to_vec(),
                b"<< /Type /Page /Parent 3 0 R >>".to_vec(),
            ])
        }),
        ("pdf: an xref whose /Prev is itself", "xref.pdf", {
            let mut pdf = pdf_with_stream("", b"BT (x) Tj ET");
            let at = pdf
                .windows(6)
                .rposition(|w| w == b"\nxref\n")
                .expect("an xref table")
                + 1;
            let text = String::from_utf8_lossy(&pdf)
                .replace("/Root 1 0 R >>", &format!("/Root 1 0 R /Prev {at} >>"));
            pdf = text.into_bytes();
            pdf
        }),
        ("pdf: a stream that declares 10^13 bytes", "length.pdf", {
            pdf_of_objects(&[
                b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
                b"<< /Length 9999999999999 >>\nstream\nBT (x) Tj ET\nendstream".to_vec(),
            ])
        }),
        (
            "docx: 256 MB of spaces in document.xml",
            "bomb.docx",
            spaces_docx(256),
        ),
        ("docx: archives nested in the archive", "nested.docx", {
            let inner = zip_of(&[("word/document.xml", &vec![b' '; 64 << 20])]);
            let middle = zip_of(&[("inner.docx", &inner), ("word/document.xml", &inner)]);
            zip_of(&[
                ("word/document.xml", &middle),
                ("word/embeddings/m.docx", &middle),
            ])
        }),
        ("docx: 20,000 entries", "entries.docx", {
            let names: Vec<String> = (0..20_000).map(|i| format!("x/{i}")).collect();
            let entries: Vec<(&str, &[u8])> =
                names.iter().map(|n| (n.as_str(), &b""[..])).collect();
            zip_of(&entries)
        }),
        ("docx: a 100 MB document.xml of words", "huger.docx", {
            let para = "<w:p><w:r><w:t>datagram congestion routing window</w:t></w:r></w:p>";
            let xml = para.repeat((100 << 20) / para.len());
            zip_of(&[("word/document.xml", xml.as_bytes())])
        }),
        // Under the 64 MB unpacked limit: read, and its text cut at 4 MB.
        ("docx: a 60 MB document.xml of words", "huge.docx", {
            let para = "<w:p><w:r><w:t>datagram congestion routing window</w:t></w:r></w:p>";
            let xml = para.repeat((60 << 20) / para.len());
            zip_of(&[("word/document.xml", xml.as_bytes())])
        }),
        (
            "txt: one line of 4 MB",
            "line.txt",
            "transport".repeat((4 << 20) / 9 - 10).into_bytes(),
        ),
        ("txt: mixed encodings", "mixed.txt", {
            let mut b = Vec::new();
            for i in 0..50_000 {
                b.extend_from_slice("congestion contrôle ".as_bytes());
                b.extend_from_slice(b"r\xe9seau \xff\xfe ");
                if i % 7 == 0 {
                    b.extend_from_slice(&[0xe2, 0x82]);
                }
            }
            b
        }),
    ];
    for (label, _, bytes) in &out {
        assert!(
            bytes.len() <= 4 << 20,
            "{label}: {} bytes, over the upload limit",
            bytes.len()
        );
    }
    out
}

/// A server whose allowances do not get in the way: no rate limits, an 8 s deadline, four
/// extraction slots.
fn start_server(db: &TestDb, model: &std::path::Path) -> (common::ServeProcess, u16) {
    let server = common::serve_process(
        &db.url,
        model,
        &[
            ("HAMLET_UPLOAD_RATE_PER_MINUTE", "0"),
            ("HAMLET_API_RATE_PER_MINUTE", "0"),
            ("HAMLET_EXTRACT_TIMEOUT_SECS", "8"),
            ("HAMLET_EXTRACT_CONCURRENCY", "4"),
        ],
    );
    let port = server.port;
    (server, port)
}

/// Posts `bytes` as the `file` of a multipart request to `/api/recommend`: (status,
/// Retry-After, body).
async fn upload(port: u16, name: &str, bytes: &[u8]) -> (u16, Option<String>, String) {
    // Any score: a normal upload's results are then never empty.
    let (ct, body) = multipart(&[("file", Some(name), bytes), ("min_score", None, b"-1")]);
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/recommend"))
        .header("Content-Type", ct)
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, res.text().await.unwrap())
}

async fn ready(port: u16) -> u16 {
    common::http_get(port, "/health/ready").await.unwrap().0
}

fn has_error_envelope(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(|m| !m.is_empty()))
        .unwrap_or(false)
}

/// Waits until the server has no child process (an extraction killed at the deadline is
/// reaped at once; a second is allowed for the kernel to say so).
async fn no_children(pid: u32) -> Vec<String> {
    for _ in 0..20 {
        let c = children(pid);
        if c.is_empty() {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    children(pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_uploads_cost_the_server_nothing() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let model = topics_model(&store).await;
    let bombs = bombs();

    let (server, port) = start_server(&db, &model);
    let pid = server.pid();
    common::wait_http_ready(port, 60).await;
    // A normal upload first, so that the baseline holds what serving a request costs.
    let normal = tiny_docx(&["TCP congestion control and reliable stream transport over IP."]);
    let (status, _, body) = upload(port, "draft.docx", &normal).await;
    assert_eq!(status, 200, "{body}");
    let base_hwm = proc_status(pid, "VmHWM");
    let base_threads = proc_status(pid, "Threads");

    for (label, name, bytes) in &bombs {
        let started = std::time::Instant::now();
        let (status, _, body) = upload(port, name, bytes).await;
        let hwm = proc_status(pid, "VmHWM");
        eprintln!(
            "{label}: {} KB upload -> {status} in {:.1} s, server peak +{} MB: {}",
            bytes.len() >> 10,
            started.elapsed().as_secs_f64(),
            hwm.saturating_sub(base_hwm) >> 10,
            body.chars().take(140).collect::<String>()
        );
        assert!(
            status == 200 || (400..500).contains(&status),
            "{label}: {status} {body}"
        );
        if status != 200 {
            assert!(has_error_envelope(&body), "{label}: {body}");
        }
        assert!(
            hwm < base_hwm + MAX_GROWTH_KB,
            "{label}: the server's peak memory grew from {base_hwm} kB to {hwm} kB"
        );
        assert_eq!(ready(port).await, 200, "{label}: not ready any more");
        assert_eq!(
            no_children(pid).await,
            Vec::<String>::new(),
            "{label}: a child is left"
        );
    }

    // The bombs that must be refused are refused, with the status that says why.
    let status_of = |name: &str| {
        let (_, _, bytes) = bombs.iter().find(|b| b.1 == name).unwrap();
        (name.to_string(), bytes.clone())
    };
    for (name, expected) in [
        ("bomb.pdf", 413),
        ("chained.pdf", 413),
        ("bomb.docx", 413),
        ("huger.docx", 413),
    ] {
        let (name, bytes) = status_of(name);
        let (status, _, body) = upload(port, &name, &bytes).await;
        assert_eq!(status, expected, "{name}: {body}");
    }
    for name in ["entries.docx", "loop.pdf", "deep.pdf"] {
        let (name, bytes) = status_of(name);
        let (status, _, body) = upload(port, &name, &bytes).await;
        assert_eq!(status, 422, "{name}: {body}");
    }

    // Eight at once: each is refused or read, none queues for ever, the memory holds.
    let (_, _, pdf_bomb) = bombs.iter().find(|b| b.1 == "bomb.pdf").unwrap().clone();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let bytes = pdf_bomb.clone();
        tasks.push(tokio::spawn(async move {
            upload(port, "bomb.pdf", &bytes).await
        }));
    }
    let mut busy = 0;
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        assert!(matches!(status, 413 | 503), "{status} {body}");
        assert!(has_error_envelope(&body), "{body}");
        if status == 503 {
            busy += 1;
            assert!(retry.is_some(), "503 without Retry-After");
        }
    }
    eprintln!("eight bombs at once: {busy} answered 503 (4 slots)");
    assert!(busy <= 4, "{busy} refused with 4 slots");
    let hwm = proc_status(pid, "VmHWM");
    assert!(
        hwm < base_hwm + MAX_GROWTH_KB,
        "eight bombs: the server's peak memory grew from {base_hwm} kB to {hwm} kB"
    );
    assert_eq!(ready(port).await, 200);
    assert_eq!(no_children(pid).await, Vec::<String>::new());

    // And a reader's upload right after still gets its results.
    let (status, _, body) = upload(port, "draft.docx", &normal).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        !v["results"].as_array().unwrap().is_empty(),
        "no results after the bombs: {body}"
    );
    // No thread was left behind by an extraction (tokio's idle blocking threads expire in
    // 10 s; the server's own threads are the same as before).
    let threads = proc_status(pid, "Threads");
    eprintln!("server threads: {base_threads} before, {threads} after");
    assert!(
        threads <= base_threads + 4,
        "threads grew from {base_threads} to {threads}"
    );
}

/// A JSON body nested deeper than the parser's limit is a 400 with the envelope, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_is_refused() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let model = topics_model(&store).await;
    let (server, port) = start_server(&db, &model);
    common::wait_http_ready(port, 60).await;
    let body = format!(
        "{{\"text\": {}1{}}}",
        "[".repeat(500_000),
        "]".repeat(500_000)
    );
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/recommend"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(has_error_envelope(&res.text().await.unwrap()));
    assert_eq!(ready(port).await, 200);
    drop(server);
}
