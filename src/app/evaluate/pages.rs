//! The views of a known document's page ("similar to this document", issue 41): what a reader
//! means by similar, judged apart from what the document cites.
//!
//! - **successors**: the pairs of the RFC index in which one RFC obsoletes another (a new
//!   version of the same specification), both known to the model, asked both ways: the other
//!   version is the one relevant document. Evaluation truth only: the index's records are read
//!   here and nowhere that ranks or trains.
//! - **revisions**: the text of a held-out RFC that obsoletes a known one, every trace of the
//!   older one removed (its mentions, the reference entry naming it), asked as an upload is:
//!   the older one is the hit. A draft that revises a document without citing it should find
//!   it first.
//! - **similar**: up to `SAMPLE` known documents with 3 or more graph neighbours (documents that
//!   cite them or that they cite), any neighbour a hit; printed with the share of the top 10s
//!   that are direct neighbours, because a list of citers scores well here and reads badly.
//!
//! Every system answers as the page does: the engine through `Engine::query` (threshold -1, so
//! nothing is hidden), TF-IDF and BM25 searched with the document's own text, itself left out.
//! Nothing is left out of the rankings (a page shows what nearly everything cites too).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::View;
use crate::model::engine::{Answer, Query};
use crate::model::eval::{self, Retrieval};
use crate::model::text::lexical::{Bm25, Lexical};
use crate::model::Engine;

/// Known documents asked in the similar view, at most.
pub const SAMPLE: usize = 500;

/// How the pages of known documents read.
#[derive(Debug, Clone, Serialize)]
pub struct Pages {
    /// Any direct graph neighbour in the top 10 is a hit.
    pub similar: View,
    /// The share of the similar view's top-10 entries that are direct graph neighbours of the
    /// page's document: engine, TF-IDF, BM25.
    pub neighbour_share: [f64; 3],
    /// With `--successors`: the other version of an obsoleted/obsoleting pair is the hit.
    pub successors: Option<View>,
    /// With `--successors`: a held-out RFC that obsoletes a known one, uploaded as a draft with
    /// every trace of the older one removed; the older one is the hit (`revisions`).
    pub revisions: Option<View>,
}

/// The successor pairs (newer, older) of the RFC index at `path` (`rfc-index.txt` or the
/// directory holding it): the truth of the successor view, read for it alone.
pub fn successor_pairs(path: &std::path::Path) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(crate::ingest::rfc::read_successor_pairs(path)?)
}

/// A system's top 10 for a known document.
type Similar<'r> = dyn Fn(i64) -> Vec<i64> + 'r;

/// A system's top 10 for a draft's text.
type Drafted<'r> = dyn Fn(&str) -> Vec<i64> + 'r;

/// Scores the pages of `model`'s known documents. `texts` are the training texts, `links` the
/// collection's (citing, cited) pairs, `pairs` the (newer, older) successor pairs, `seed` the
/// split's seed (which documents the similar view samples).
pub fn views(
    model: &Engine,
    (tfidf, bm25): (&Lexical, &Bm25),
    texts: &[(i64, String)],
    links: &[(i64, i64)],
    pairs: Option<&[(i64, i64)]>,
    seed: u64,
) -> Pages {
    let text: HashMap<i64, &str> = texts.iter().map(|(id, t)| (*id, t.as_str())).collect();
    let known = |id: i64| model.model().contains(id) && text.contains_key(&id);
    let lexical = |found: Vec<(i64, f32)>, id: i64| -> Vec<i64> {
        found
            .into_iter()
            .map(|(d, _)| d)
            .filter(|&d| d != id)
            .take(10)
            .collect()
    };
    let systems: [&Similar; 3] = [
        &|id| {
            model
                .query(Query::Document(id), 10, -1.0)
                .map(Answer::similar)
                .unwrap_or_default()
                .iter()
                .map(|s| s.identifier)
                .collect()
        },
        &|id| lexical(tfidf.search(text[&id], 11), id),
        &|id| lexical(bm25.search(text[&id], 11), id),
    ];

    let mut neighbours: HashMap<i64, HashSet<i64>> = HashMap::new();
    for &(from, to) in links {
        if from != to && known(from) && known(to) {
            neighbours.entry(from).or_default().insert(to);
            neighbours.entry(to).or_default().insert(from);
        }
    }
    let mut sampled: Vec<i64> = neighbours
        .iter()
        .filter(|(_, n)| n.len() >= 3)
        .map(|(&id, _)| id)
        .collect();
    sampled.sort_by_key(|&id| (mix(id as u64 ^ seed.rotate_left(32)), id));
    sampled.truncate(SAMPLE);
    let mut scored = [Retrieval::default(); 3];
    let mut share = [0.0; 3];
    for (s, system) in systems.iter().enumerate() {
        let (mut listed, mut direct) = (0usize, 0usize);
        let judged: Vec<(Vec<i64>, HashSet<i64>)> = sampled
            .iter()
            .map(|id| {
                let top = system(*id);
                listed += top.len();
                direct += top.iter().filter(|d| neighbours[id].contains(d)).count();
                (top, neighbours[id].clone())
            })
            .collect();
        scored[s] = eval::retrieval(&judged, 10);
        share[s] = direct as f64 / listed.max(1) as f64;
    }
    let similar = View {
        name: "similar: any graph neighbour".into(),
        engine: scored[0],
        tfidf: scored[1],
        bm25: scored[2],
    };

    let successors = pairs.map(|pairs| {
        let asked: Vec<(i64, i64)> = pairs
            .iter()
            .filter(|(new, old)| known(*new) && known(*old))
            .flat_map(|&(new, old)| [(new, old), (old, new)])
            .collect();
        let mut scored = [Retrieval::default(); 3];
        for (s, system) in systems.iter().enumerate() {
            let judged: Vec<(Vec<i64>, HashSet<i64>)> = asked
                .iter()
                .map(|&(id, other)| (system(id), HashSet::from([other])))
                .collect();
            scored[s] = eval::retrieval(&judged, 10);
        }
        View {
            name: "successors: the other version".into(),
            engine: scored[0],
            tfidf: scored[1],
            bm25: scored[2],
        }
    });
    Pages {
        similar,
        neighbour_share: share,
        successors,
        revisions: None,
    }
}

/// "The upload is judged the same way" (issue 41): each of `drafts` (the document it revises,
/// the draft's text without any trace of it) asked as the upload page asks (the engine's
/// results, new first; TF-IDF and BM25 searched with the text), the revised document the hit.
pub fn revisions(
    model: &Engine,
    (tfidf, bm25): (&Lexical, &Bm25),
    drafts: &[(i64, String)],
) -> View {
    let ids = |found: Vec<(i64, f32)>| found.into_iter().map(|(d, _)| d).collect::<Vec<_>>();
    let systems: [&Drafted; 3] = [
        &|text| super::rank_model(model, text, 10, true),
        &|text| ids(tfidf.search(text, 10)),
        &|text| ids(bm25.search(text, 10)),
    ];
    let mut scored = [Retrieval::default(); 3];
    for (s, system) in systems.iter().enumerate() {
        let judged: Vec<(Vec<i64>, HashSet<i64>)> = drafts
            .iter()
            .map(|(old, text)| (system(text), HashSet::from([*old])))
            .collect();
        scored[s] = eval::retrieval(&judged, 10);
    }
    View {
        name: "revisions: a draft finds what it revises".into(),
        engine: scored[0],
        tfidf: scored[1],
        bm25: scored[2],
    }
}

/// A fixed scramble of an identifier (splitmix64's finaliser), for a sample that does not
/// follow the numbering.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
