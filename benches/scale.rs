//! [scale] figures in one process: a synthetic model of the original's production shape
//! (43,000 documents, 52 dimensions, 1,000,000 words; `hamlet model synth`) loaded from
//! `HAMLET_SCALE_MODEL` (benches/scale.sh makes it), then:
//! - load time and throughput from a local file, and resident memory after loading;
//! - most-similar by identifier: median and p99 over 2,000 random documents;
//! - infer + search for a 10,000-word text (Zipf-drawn from the model's words): median and
//!   p95 over 200 texts;
//! - resident memory after those 200 texts.
//!
//! `HAMLET_MODEL_WEIGHTS` (i8 by default here, as deployed) picks how the word and output tables are kept.
//! Run: `benches/scale.sh` (or `HAMLET_SCALE_MODEL=FILE cargo bench --bench scale`). Prints a
//! table; no assertions.

use std::time::Instant;

use hamlet::model::engine::Query;
use hamlet::model::{io::file, io::synth};
use rand::{Rng, SeedableRng};

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds this process has used (user + system, /proc/self/stat; 100 ticks a second):
/// what a comparison reads when other tenants of the machine make wall times drift.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    f.get(11).copied().unwrap_or(0.0) / 100.0 + f.get(12).copied().unwrap_or(0.0) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let Ok(path) = std::env::var("HAMLET_SCALE_MODEL") else {
        eprintln!(
            "set HAMLET_SCALE_MODEL to a model file (benches/scale.sh makes a synthetic one)"
        );
        return;
    };
    let size = std::fs::metadata(&path).expect("the model file").len() as f64;
    let before = rss_mb();
    let t0 = Instant::now();
    let precision: hamlet::model::weights::Precision = std::env::var("HAMLET_MODEL_WEIGHTS")
        .unwrap_or_else(|_| "i8".into())
        .parse()
        .expect("HAMLET_MODEL_WEIGHTS: f32, f16 or i8");
    let model = file::load_to_serve(std::path::Path::new(&path), precision).expect("a model");
    let load_s = t0.elapsed().as_secs_f64();
    let loaded = rss_mb();
    let ids = model.model().doc_ids().to_vec();
    let vocab = model.model().vocab().len();
    println!(
        "model: {path} ({:.0} MB): {} documents, {vocab} words, {} dimensions, word and output tables in {precision:?}{}",
        size / 1e6,
        ids.len(),
        model.config().dim,
        if model.model().corpus().synthetic {
            " (synthetic)"
        } else {
            ""
        }
    );
    println!(
        "load from local file: {load_s:.2} s, {:.0} MB/s (read and parse; the server checks the sha256 as it downloads)",
        size / 1e6 / load_s
    );
    println!(
        "resident memory: {before:.0} MB before loading, {loaded:.0} MB after (target <= 400 MB)"
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut times: Vec<f64> = (0..2_000)
        .map(|_| {
            let id = ids[rng.gen_range(0..ids.len())];
            let t = Instant::now();
            std::hint::black_box(
                model
                    .query(Query::Document(id), 10, -1.0)
                    .map(|a| a.similar())
                    .unwrap(),
            );
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "most-similar by identifier: median {:.3} ms, p99 {:.3} ms (target median <= 1 ms)",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );

    // With the default engine's kind of model (`hamlet model synth --engine`), the texts are
    // measured twice in this run: as they are, and each citing 30 documents by identifier, so
    // the expansion from what a text cites is measured against its own reference.
    let engine = model.is_engine();
    let words = if engine { vocab - ids.len() } else { vocab };
    let plain: Vec<String> = (0..200)
        .map(|i| synth::zipf_text(10_000, words, 100 + i))
        .collect();
    let mut runs = vec![("", plain.clone())];
    if engine {
        let citing = plain
            .iter()
            .map(|text| {
                let mut text = text.clone();
                for _ in 0..30 {
                    text.push_str(&format!(" [RFC{}]", ids[rng.gen_range(0..ids.len())]));
                }
                text
            })
            .collect();
        runs.push((", citing 30 documents (the engine's expansion)", citing));
    }
    let timed = |model: &hamlet::model::Engine, texts: &[String]| {
        let mut times: Vec<f64> = texts
            .iter()
            .map(|text| {
                let t = Instant::now();
                std::hint::black_box(model.query(Query::Text(text), 10, -1.0).unwrap().similar());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        (percentile(&times, 0.5), percentile(&times, 0.95))
    };
    for (what, texts) in &runs {
        let (median, p95) = timed(&model, texts);
        println!(
            "infer + search, 10,000-word text{what}: median {median:.1} ms, p95 {p95:.1} ms over 200 texts (target median <= 30 ms)"
        );
    }
    println!(
        "resident memory after 200 texts: {:.0} MB (target <= 400 MB)",
        rss_mb()
    );
    // The re-ranker's cost against its own reference in this run: the texts citing 30
    // documents with it off, then on again, twice (alternating, against drift).
    if engine && model.config().rerank {
        let citing = &runs[1].1;
        let mut model = model;
        for _ in 0..2 {
            for rerank in [false, true] {
                let mut config = *model.config();
                config.rerank = rerank;
                model = model.with_scoring(&config);
                let cpu = cpu_s();
                let (median, p95) = timed(&model, citing);
                let cpu = (cpu_s() - cpu) * 1e3 / citing.len() as f64;
                let what = if rerank { "on" } else { "off (reference)" };
                println!(
                    "infer + search, citing 30, re-ranker {what}: median {median:.1} ms, p95 {p95:.1} ms, {cpu:.1} ms of CPU a text"
                );
            }
        }
    }
}
