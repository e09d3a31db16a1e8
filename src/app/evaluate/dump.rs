//! The research bench's dump (`hamlet evaluate --dump FILE`, built only with the `lab`
//! feature; the server's image never carries it): for every "missing" and "cited" query of the
//! protocol, the candidates the server re-ranks (the `rerank::CANDIDATES` best by the engine's
//! score, known ones included) with the re-ranker's features as the server computes them
//! (`Engine::features`) and their judgements, for `scripts/learn-rerank.py`.
//!
//! One tab-separated line a candidate: view ("missing" or "cited"), query identifier, whether
//! the text cites this one ("named"), whether the reader knows it (the visible half,
//! boilerplate: left out of learning and judging, kept in the per-query features), whether it
//! is relevant, then `rerank::FEATURES` in order. The header names every column, and the
//! learner reads the feature names from it.

use std::collections::HashSet;
use std::fmt::Write as _;

use anyhow::Context;

use super::Protocol;
use crate::model::engine::rerank::{CANDIDATES, FEATURES};
use crate::model::Engine;

/// The columns before the features.
pub const FIXED: [&str; 5] = ["view", "query", "named", "known", "relevant"];

/// Writes the dump of `protocol`'s queries on `model` (a default-engine model) to `path`.
pub(super) fn write(
    protocol: &Protocol<'_>,
    model: &Engine,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    // (view, query, known, relevant, text)
    type Job<'t> = (&'static str, i64, HashSet<i64>, HashSet<i64>, &'t str);
    let mut jobs: Vec<Job> = Vec::new();
    for (id, text) in &protocol.queries.texts {
        if let Some((visible, hidden, hidden_text)) = protocol.missing.get(id) {
            let known = visible.union(&protocol.boilerplate).copied().collect();
            jobs.push(("missing", *id, known, hidden.clone(), hidden_text));
        }
        let relevant: HashSet<i64> = protocol.queries.relevant[id]
            .difference(&protocol.boilerplate)
            .copied()
            .collect();
        if !relevant.is_empty() {
            jobs.push(("cited", *id, protocol.boilerplate.clone(), relevant, text));
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = jobs.len();
    let parts: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|jobs| {
                let done = &done;
                scope.spawn(move || {
                    let mut out = String::new();
                    for (view, id, known, relevant, text) in jobs {
                        write_query(&mut out, model, view, *id, known, relevant, text);
                        let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if k.is_multiple_of(200) {
                            eprintln!("dump: {k} of {total} queries");
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("dump thread"))
            .collect()
    });
    let mut head = FIXED.join("\t");
    for name in FEATURES {
        head.push('\t');
        head.push_str(name);
    }
    head.push('\n');
    std::fs::write(path, head + &parts.concat())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// One query's lines: its candidates as the server sees them, before the re-ranker.
fn write_query(
    out: &mut String,
    model: &Engine,
    view: &str,
    id: i64,
    known: &HashSet<i64>,
    relevant: &HashSet<i64>,
    text: &str,
) {
    let words = model.model().vocab().indices(text);
    let (scores, parts, named, _) = model.engine_text(text, &words);
    let ranked = crate::model::engine::score::best(&scores, CANDIDATES, None);
    let rows = model.features(&words, &parts, &named, &ranked);
    let ids = model.model().doc_ids();
    let cites: HashSet<usize> = named.cites.iter().copied().collect();
    for (&(d, _), row) in ranked.iter().zip(&rows) {
        let _ = write!(
            out,
            "{view}\t{id}\t{}\t{}\t{}",
            u8::from(cites.contains(&d)),
            u8::from(known.contains(&ids[d])),
            u8::from(relevant.contains(&ids[d])),
        );
        for v in row {
            let _ = write!(out, "\t{v}");
        }
        out.push('\n');
    }
}
