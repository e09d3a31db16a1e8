//! The ranking: everything that decides which documents a page lists and in what order, in one
//! room. `score` (the default engine's score of every document: the citation targets, title
//! mentions, cosine and the link terms, with their weights and thresholds), `query` (the one
//! way to ask: `Doc2Vec::query` and `Doc2Vec::prepare`, matches with why), `rerank` (the
//! learned second look at a text's best candidates, and the one list of its features), and
//! `links` (the collection's citation graph as the model keeps it: co-citation, neighbours,
//! coupling).
//!
//! Imports point one way inside the room: `query` uses `score` and `rerank`, `rerank` uses
//! `score` and `links`, `score` uses `links`; below it, the paragraph-vector model
//! (`model::Doc2Vec`, `infer`, `scan`), the math kernels (`kernel`) and text reading (`text`:
//! mentions, titles, key terms). Nothing here trains; training (`train`) uses none of it but
//! `links`' constructors.
//!
//! To change the ranking: the score's terms and weights are in `score` (`Scoring`, stored in
//! the model's config), the thresholds beside them, the candidates' order in `rerank`
//! (`rerank.json`, relearned with `scripts/learn-rerank.py` from the research bench's dump),
//! and what a page shows of it in `query` (`Why`).

pub mod links;
pub mod query;
pub mod rerank;
pub mod score;

pub use query::{Answer, Match, Prepared, Query, Why};
pub use score::{Keep, Parts, Scoring, ENGINE_DOCUMENT_MIN_SCORE, ENGINE_TEXT_MIN_SCORE};
