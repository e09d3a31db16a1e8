//! Asking the model: `Engine::query` (a document or a text -> matches with why, and a place on
//! the map), and `Engine::prepare` (a text read once, answered as often as a page needs). The
//! default engine scores through `score` and reorders a text's best candidates through
//! `rerank`; other models score by cosine.

use std::collections::HashSet;

use serde::Serialize;

use super::score::{best, drop_unkept, Keep, Named, Parts};
use super::Engine;
use crate::model::{Error, Similar};

/// Why a result matched: what drove its score, in words a reader can check.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Why {
    /// Distinctive words of the result that the query shares (its key terms, `keyterms`),
    /// most distinctive first.
    pub terms: Vec<String>,
    /// The query names this document's title (more than half of its weight, `titles`).
    pub names_title: bool,
    /// How many documents of the collection cite the result (the citation term's evidence);
    /// absent for models without citation targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited_by: Option<u32>,
    /// The parts of the score: predicted citation, title mention, cosine and the link terms
    /// (each in [0, 1]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Parts>,
    /// The document the query cites that this result is most often cited with, when that is
    /// what led to it: "often cited with RFC 9001, which you cite".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<i64>,
    /// `via` is the cited document this one is most often cited with (co-citation): always so
    /// when `via` is set (the field is kept for the API's readers).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub via_cocited: bool,
    /// How many of the documents most like the query (`NEIGHBOURS`) cite this one, when some
    /// do: "cited by 4 of the 20 documents most like yours".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbours_citing: Option<u32>,
    /// Out of how many (`NEIGHBOURS`), with `neighbours_citing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbours_of: Option<u32>,
    /// How many of the documents that share most of the query's citations (`PEERS`) also cite
    /// this one, when some do: "cited by 6 of the 20 documents that cite what you cite".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers_citing: Option<u32>,
    /// Out of how many, with `peers_citing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers_of: Option<u32>,
}
/// Words listed in a `Why`.
const WHY_TERMS: usize = 5;
impl Engine {
    /// evaluation: the documents most like `query`, best first, at most `limit` scoring at
    /// least `min_score`, each with why it matched; and where the query falls on the map.
    ///
    /// For a text, the default engine lists the documents it does not name first, then the
    /// ones it names (`already_cited`) that score above the last of those. Models without
    /// citation targets score by cosine and flag nothing. A document the model does not hold
    /// is an error (`Error::UnknownDocument`); a text never is.
    pub fn query(&self, query: Query<'_>, limit: usize, min_score: f32) -> Result<Answer, Error> {
        self.query_within(query, limit, min_score, None)
    }

    /// `query`, among the documents `keep` admits only (a reader's filters: years,
    /// departments, degree), applied before the top `limit` are cut: asking for 10 from 2020 on
    /// gives 10 when 10 exist.
    pub fn query_within(
        &self,
        query: Query<'_>,
        limit: usize,
        min_score: f32,
        keep: Keep<'_>,
    ) -> Result<Answer, Error> {
        match query {
            Query::Document(id) => {
                let x = *self
                    .model
                    .doc_index
                    .get(&id)
                    .ok_or(Error::UnknownDocument(id))?;
                Ok(Answer {
                    matches: self.document_matches(x, limit, min_score, keep),
                    place: self.model.layout.as_ref().map(|l| [l[2 * x], l[2 * x + 1]]),
                })
            }
            Query::Text(text) | Query::TextOnMap(text) => {
                let prepared = self.prepare(text);
                let matches = prepared.matches(limit, min_score, keep);
                let place = match query {
                    Query::TextOnMap(_) => prepared.place(),
                    _ => None,
                };
                Ok(Answer { matches, place })
            }
        }
    }

    /// A new text, inferred and scored against every document once, to be answered from as
    /// often as a caller needs (`Prepared::matches`): a page that counts its filters' facets
    /// over the unfiltered results and lists the filtered ones infers the text once
    /// (issue 38).
    pub fn prepare(&self, text: &str) -> Prepared<'_> {
        let words = self.model.vocab.indices(text);
        // Words as common as "the" explain nothing, even where a short document keeps them.
        let common = crate::model::labels::first_uncommon(&self.model.vocab);
        let shared: HashSet<u32> = words.iter().copied().filter(|&w| w >= common).collect();
        let scored = if self.is_engine() {
            let (scores, parts, named, q) = self.engine_text(text, &words);
            Scored::Engine {
                scores,
                parts,
                named,
                q,
            }
        } else {
            Scored::Cosine(self.model.infer_indices(&words))
        };
        Prepared {
            model: self,
            words,
            shared,
            scored,
        }
    }

    /// How many of `near` (the nearest documents, or the peers) cite document `d`, if any do.
    fn citing(&self, near: &[(usize, f32)], d: usize) -> Option<u32> {
        let links = self.links.as_ref()?;
        let n = near
            .iter()
            .filter(|&&(y, _)| links.cites(y).binary_search(&(d as u32)).is_ok())
            .count() as u32;
        (n > 0).then_some(n)
    }

    /// `query` for the known document at index `x` (itself left out).
    fn document_matches(
        &self,
        x: usize,
        limit: usize,
        min_score: f32,
        keep: Keep<'_>,
    ) -> Vec<Match> {
        let own: HashSet<u32> = self
            .key_terms
            .as_ref()
            .map(|k| {
                let common = crate::model::labels::first_uncommon(&self.model.vocab);
                k.of(x).iter().copied().filter(|&w| w >= common).collect()
            })
            .unwrap_or_default();
        if self.is_engine() {
            let (mut scores, parts) = self.engine_document_scores(x);
            if let Some(keep) = keep {
                drop_unkept(&mut scores, &self.model.doc_ids, keep);
            }
            return best(&scores, limit, Some(x))
                .into_iter()
                .filter(|(_, s)| *s >= min_score)
                .map(|(d, score)| self.matched(d, score, &own, Some(parts[d])))
                .collect();
        }
        let dim = self.model.config.dim;
        let v = &self.model.doc_vectors[x * dim..(x + 1) * dim];
        self.model
            .nearest(v, limit, min_score, Some(self.model.doc_ids[x]), keep)
            .into_iter()
            .map(|s| {
                let d = self.model.doc_index[&s.identifier];
                self.matched(d, s.score, &own, None)
            })
            .collect()
    }

    /// A result and its explanation.
    fn matched(&self, d: usize, score: f32, words: &HashSet<u32>, parts: Option<Parts>) -> Match {
        let terms = self
            .key_terms
            .as_ref()
            .map(|k| {
                k.shared(d, words, WHY_TERMS)
                    .into_iter()
                    .map(|t| self.model.vocab.word(t).to_string())
                    .collect()
            })
            .unwrap_or_default();
        Match {
            similar: Similar {
                identifier: self.model.doc_ids[d],
                score,
            },
            why: Why {
                terms,
                names_title: parts.is_some_and(|p| p.title > 0.5),
                cited_by: self.cited.as_ref().map(|c| c.cited_by[d]),
                parts,
                via: None,
                via_cocited: false,
                neighbours_citing: None,
                neighbours_of: None,
                peers_citing: None,
                peers_of: None,
            },
            already_cited: false,
        }
    }
}

/// A new text as the model has read it (`Engine::prepare`): its words, its inferred vector
/// and, for the default engine, every document's score and parts.
pub struct Prepared<'m> {
    model: &'m Engine,
    words: Vec<u32>,
    /// The text's words that may explain a match (`Why::terms`).
    shared: HashSet<u32>,
    scored: Scored,
}

/// What a prepared text was scored with.
enum Scored {
    /// A model scored by cosine: the inferred vector; the scan runs per answer.
    Cosine(Vec<f32>),
    /// The default engine: the scores and parts of every document, what the text names, and
    /// the inferred vector.
    Engine {
        scores: Vec<f32>,
        parts: Vec<Parts>,
        named: Named,
        q: Vec<f32>,
    },
}

impl Prepared<'_> {
    /// The text's inferred vector.
    fn vector(&self) -> &[f32] {
        match &self.scored {
            Scored::Cosine(q) | Scored::Engine { q, .. } => q,
        }
    }

    /// Where the text falls on the map: none without a map or when the model knows none of
    /// its words.
    pub fn place(&self) -> Option<[f32; 2]> {
        if self.words.is_empty() {
            return None;
        }
        self.model.model.place(self.vector())
    }

    /// The documents most like the text, best first, at most `limit` scoring at least
    /// `min_score`, among those `keep` admits; `Engine::query_within` for a text.
    ///
    /// The default engine lists the documents the text does not name first, then the ones it
    /// names (`already_cited`) that score above the last of those.
    pub fn matches(&self, limit: usize, min_score: f32, keep: Keep<'_>) -> Vec<Match> {
        let model = self.model;
        let shared = &self.shared;
        let (scores, parts, named) = match &self.scored {
            Scored::Cosine(q) => {
                return model
                    .model
                    .nearest(q, limit, min_score, None, keep)
                    .into_iter()
                    .map(|s| {
                        let d = model.model.doc_index[&s.identifier];
                        model.matched(d, s.score, shared, None)
                    })
                    .collect();
            }
            Scored::Engine {
                scores,
                parts,
                named,
                ..
            } => (scores, parts, named),
        };
        let kept;
        let scores = match keep {
            Some(keep) => {
                let mut s = scores.clone();
                drop_unkept(&mut s, &model.model.doc_ids, keep);
                kept = s;
                &kept
            }
            None => scores,
        };
        let cites: HashSet<usize> = named.cites.iter().copied().collect();
        let ranked = model.ranked_text(&self.words, scores, parts, named, limit + cites.len());
        let mut new: Vec<Match> = Vec::new();
        let mut old: Vec<(usize, f32)> = Vec::new();
        for (d, score) in ranked {
            // Re-ranked candidates are not in score order: each is checked.
            if score < min_score {
                continue;
            }
            if cites.contains(&d) {
                old.push((d, score));
            } else if new.len() < limit {
                let mut m = model.matched(d, score, shared, Some(parts[d]));
                m.why.via = named.via[d].map(|x| model.model.doc_ids[x]);
                m.why.via_cocited = m.why.via.is_some();
                m.why.neighbours_citing = model.citing(&named.neighbours, d);
                m.why.neighbours_of = m
                    .why
                    .neighbours_citing
                    .map(|_| named.neighbours.len() as u32);
                m.why.peers_citing = model.citing(&named.peers, d);
                m.why.peers_of = m.why.peers_citing.map(|_| named.peers.len() as u32);
                new.push(m);
            }
        }
        let floor = if new.len() == limit {
            new.last().map_or(f32::MIN, |m| m.similar.score)
        } else {
            f32::MIN
        };
        new.extend(
            old.into_iter()
                .filter(|(_, s)| *s >= floor)
                .map(|(d, score)| {
                    let mut m = model.matched(d, score, shared, Some(parts[d]));
                    m.already_cited = true;
                    m
                }),
        );
        new
    }
}

/// What a query asks for documents like.
#[derive(Debug, Clone, Copy)]
pub enum Query<'a> {
    /// A document of the collection, by identifier (itself left out of the answer).
    Document(i64),
    /// A new text: a draft, an upload, a search.
    Text(&'a str),
    /// A new text, and where it falls on the map (`Answer::place`; the map's "place your
    /// draft" asks, nothing else pays for the extra scan).
    TextOnMap(&'a str),
}

/// The model's answer to a `Query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Best first, each with why it matched.
    pub matches: Vec<Match>,
    /// Where the query falls on the collection map (documents, and `Query::TextOnMap`): none
    /// when the model has no map, or for a text none of whose words the model knows.
    pub place: Option<[f32; 2]>,
}

impl Answer {
    /// The matches as (identifier, score), without their explanations.
    pub fn similar(self) -> Vec<Similar> {
        self.matches.into_iter().map(|m| m.similar).collect()
    }
}

/// A similar document and why it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    #[serde(flatten)]
    pub similar: Similar,
    pub why: Why,
    /// The query names this document (by identifier or title): the draft already cites it.
    pub already_cited: bool,
}
