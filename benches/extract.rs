//! What reading an upload in a child process costs (issue 22's target: <= 20 ms added for a
//! 1 MB .docx): the same files read in this process (`extract::extract`, the reference) and
//! through the sandbox (`extract::sandbox`: spawn `hamlet-extract`, pipe the file in, read the
//! JSON reply), alternated in one run, so the machine's load touches both alike.
//!
//! Run: `cargo bench --bench extract` (prints a table; no assertions). Files: a generated
//! 1 MB .docx and a 1 MB .txt of made-up prose, and the upstream thesis fixture (.docx and
//! .txt from ../shared) when present.

use std::io::Write;
use std::time::Instant;

use hamlet::extract::sandbox::{Sandbox, SandboxLimits};
use hamlet::extract::{extract, Limits};

const ROUNDS: usize = 40;

/// Made-up prose from a small vocabulary with a fixed generator: compresses like text does.
fn prose(bytes: usize) -> String {
    const WORDS: &[&str] = &[
        "the",
        "of",
        "transport",
        "congestion",
        "window",
        "stream",
        "packet",
        "loss",
        "recovery",
        "handshake",
        "latency",
        "protocol",
        "router",
        "path",
        "measurement",
        "thesis",
        "model",
        "control",
        "and",
        "a",
        "in",
        "network",
        "flow",
        "queue",
        "delay",
        "throughput",
        "experiment",
        "design",
        "analysis",
        "results",
        "we",
        "show",
        "that",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = String::with_capacity(bytes + 16);
    let mut n = 0;
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        n += 1;
        out.push(if n % 17 == 0 { '\n' } else { ' ' });
    }
    out
}

/// A .docx of about `bytes` bytes (compressed), one paragraph per line of `prose`.
fn docx(bytes: usize) -> Vec<u8> {
    // Text compresses about 3.5:1 in a .docx; grow until the archive is big enough.
    let mut text_len = bytes * 3;
    loop {
        let text = prose(text_len);
        let mut body = String::new();
        for line in text.lines() {
            body.push_str("<w:p><w:r><w:t>");
            body.push_str(line);
            body.push_str("</w:t></w:r></w:p>");
        }
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
        );
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(xml.as_bytes()).unwrap();
        let out = w.finish().unwrap().into_inner();
        if out.len() >= bytes {
            return out;
        }
        text_len = text_len * bytes / out.len() + 1024;
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p95(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 95 / 100).min(v.len() - 1)]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = Sandbox::for_this_binary(SandboxLimits::default())
        .expect("hamlet-extract is built beside this bench (cargo build --release)");
    let mut files: Vec<(String, String, Vec<u8>)> = vec![
        ("generated .docx".into(), "draft.docx".into(), docx(1 << 20)),
        (
            "generated .txt".into(),
            "draft.txt".into(),
            prose(1 << 20).into_bytes(),
        ),
    ];
    let upstream =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/hamlet-upstream");
    if let Ok(dir) = std::fs::read_dir(&upstream) {
        for entry in dir.flatten() {
            let path = entry.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "docx" | "txt" | "pdf") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                files.push((
                    format!("upstream {name}"),
                    name,
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    println!(
        "{:<44} {:>8} {:>11} {:>11} {:>11} {:>9}",
        "file", "KB", "in-process", "sandboxed", "added", "added p95"
    );
    for (label, name, bytes) in &files {
        let mut inproc = Vec::new();
        let mut boxed = Vec::new();
        let mut added = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let a = extract(bytes, Some(name), &Limits::default());
            let ms_in = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let b = rt.block_on(sandbox.extract(bytes, Some(name)));
            let ms_box = t.elapsed().as_secs_f64() * 1e3;
            assert_eq!(
                a.as_ref().map(|e| e.text.len()).ok(),
                b.as_ref().map(|e| e.text.len()).ok(),
                "{label}: the sandbox read a different text"
            );
            inproc.push(ms_in);
            boxed.push(ms_box);
            added.push(ms_box - ms_in);
        }
        println!(
            "{:<44} {:>8} {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>6.2} ms",
            label,
            bytes.len() >> 10,
            median(&mut inproc),
            median(&mut boxed),
            median(&mut added),
            p95(&mut added)
        );
    }
    println!("medians of {ROUNDS} alternated rounds; added = sandboxed - in-process, per round");
}
