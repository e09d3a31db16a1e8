//! Asking the model: `Engine::query` (a document or a text -> matches with why, and a place on
//! the map), and `Engine::prepare` (a text read once, answered as often as a page needs). The
//! default engine scores through `score` and reorders a text's best candidates through
//! `rerank`; other models score by cosine.

use std::collections::HashSet;

use serde::Serialize;

use super::links::Relation;
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
    /// For a result about a known document, how the two stand in the collection's links,
    /// when they are linked at all: "cites this one", "cited by it", "cited together with it
    /// by 12 documents", "shares 9 references" (issue 41).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<Relation>,
    /// The share of the collection's citing documents that cite the result, when it is at
    /// least `WIDELY_CITED`: cited by nearly everything, so it says little about the query
    /// ("cited by 41% of the collection"); such results are listed apart (`Match::widely_cited`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited_share: Option<f32>,
}
/// Words listed in a `Why`.
const WHY_TERMS: usize = 5;

/// A document cited by at least this share of the collection's citing documents (and by at
/// least `WIDELY_CITED_BY` of them) is cited by nearly everything (the RFC series' "Key Words
/// for Use in RFCs", a department's textbook): it says little about any one text, so results
/// about a text list it apart, after the others (`Match::widely_cited`), as they list what the
/// text already cites (issue 41). Over the RFC
/// series only RFC 2119 (cited by 63% of the citing documents) and RFC 8174 (12.5%) reach it;
/// the next, RFC 5226, is cited by 7.1% (docs/MODEL.md, "Cited by nearly everything").
pub const WIDELY_CITED: f32 = 0.1;

/// ...and by at least this many documents: in a small collection a share says nothing (the
/// QUIC documents of a 30-document test collection all cite RFC 9000, its subject).
pub const WIDELY_CITED_BY: usize = 50;

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
        let own = self.own_terms(x);
        if self.is_engine() {
            let (mut scores, parts) = self.engine_document_scores(x);
            if let Some(keep) = keep {
                drop_unkept(&mut scores, &self.model.doc_ids, keep);
            }
            return best(&scores, limit, Some(x))
                .into_iter()
                .filter(|(_, s)| *s >= min_score)
                .map(|(d, score)| self.related_match(x, d, score, &own, parts[d]))
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

    /// Document `x`'s key terms that may explain a match (`Why::terms`).
    fn own_terms(&self, x: usize) -> HashSet<u32> {
        self.key_terms
            .as_ref()
            .map(|k| {
                let common = crate::model::labels::first_uncommon(&self.model.vocab);
                k.of(x).iter().copied().filter(|&w| w >= common).collect()
            })
            .unwrap_or_default()
    }

    /// What the known document `id` cites within the collection and what cites it, each most
    /// alike first (the score of its similar list, no threshold: a relation is shown whatever
    /// the likeness), at most `limit` of each, among the documents `keep` admits (issue 41).
    /// Empty for a model without links; a document the model does not hold is an error.
    pub fn related(&self, id: i64, limit: usize, keep: Keep<'_>) -> Result<Related, Error> {
        let x = *self
            .model
            .doc_index
            .get(&id)
            .ok_or(Error::UnknownDocument(id))?;
        let (Some(links), true) = (self.links.as_ref(), self.is_engine()) else {
            return Ok(Related::default());
        };
        let (scores, parts) = self.engine_document_scores(x);
        let own = self.own_terms(x);
        let list = |ds: &[u32]| -> (Vec<Match>, usize) {
            let mut kept: Vec<(usize, f32)> = ds
                .iter()
                .map(|&d| d as usize)
                .filter(|&d| keep.is_none_or(|k| k(self.model.doc_ids[d])))
                .map(|d| (d, scores[d]))
                .collect();
            let total = kept.len();
            kept.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let matches = kept
                .into_iter()
                .take(limit)
                .map(|(d, score)| self.related_match(x, d, score, &own, parts[d]))
                .collect();
            (matches, total)
        };
        let (cites, cites_total) = list(links.cites(x));
        let (cited_by, cited_by_total) = list(links.cited_by(x));
        Ok(Related {
            cites,
            cites_total,
            cited_by,
            cited_by_total,
        })
    }

    /// A result and its explanation.
    fn matched(&self, d: usize, score: f32, words: &HashSet<u32>, parts: Option<Parts>) -> Match {
        let cited_share = self.widely_cited(d);
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
                relation: None,
                cited_share,
            },
            already_cited: false,
            widely_cited: cited_share.is_some(),
        }
    }

    /// The share of the collection's citing documents that cite document `d`, when it is at
    /// least `WIDELY_CITED`.
    pub(crate) fn widely_cited(&self, d: usize) -> Option<f32> {
        let links = self.links.as_ref()?;
        let share = links.cited_share(d);
        (share >= WIDELY_CITED && links.cited_by(d).len() >= WIDELY_CITED_BY).then_some(share)
    }

    /// `widely_cited` for the document with identifier `id` (none for one the model does not
    /// hold).
    pub fn widely_cited_share(&self, id: i64) -> Option<f32> {
        self.widely_cited(*self.model.doc_index.get(&id)?)
    }

    /// A result about the known document `x`, with its relation to `x`.
    fn related_match(
        &self,
        x: usize,
        d: usize,
        score: f32,
        own: &HashSet<u32>,
        parts: Parts,
    ) -> Match {
        let mut m = self.matched(d, score, own, Some(parts));
        m.why.relation = self
            .links
            .as_ref()
            .map(|l| l.relation(x, d))
            .filter(Relation::is_some);
        m
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
    /// The default engine lists the documents the text does not name first, then the ones
    /// cited by nearly everything (`widely_cited`), then the ones it names (`already_cited`),
    /// each of the last two only where it scores above the last of the first.
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
        let mut wide: Vec<(usize, f32)> = Vec::new();
        for (d, score) in ranked {
            if score < min_score {
                continue;
            }
            if cites.contains(&d) {
                old.push((d, score));
            } else if model.widely_cited(d).is_some() {
                wide.push((d, score));
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
            wide.into_iter()
                .filter(|(_, s)| *s >= floor)
                .map(|(d, score)| model.matched(d, score, shared, Some(parts[d]))),
        );
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

/// A known document's relations in the collection's links (`Engine::related`): what it cites
/// and what cites it, each most alike first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Related {
    /// The collection documents it cites, at most the limit asked for.
    pub cites: Vec<Match>,
    /// How many it cites (among those the filters admit).
    pub cites_total: usize,
    /// The collection documents citing it, at most the limit asked for.
    pub cited_by: Vec<Match>,
    /// How many cite it (among those the filters admit).
    pub cited_by_total: usize,
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
    /// Cited by nearly everything in the collection (`WIDELY_CITED`, `Why::cited_share`):
    /// results about a text list it apart, after the others.
    pub widely_cited: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::io::synth::{synth_engine, zipf_text};

    /// A synthetic engine whose links are skewed (`synth_engine`): document 1 is cited by more
    /// than half of the collection, most documents by a few.
    fn engine() -> Engine {
        synth_engine(2_000, 16, 3_000, 7).unwrap()
    }

    #[test]
    fn what_nearly_everything_cites_is_listed_apart() {
        let e = engine();
        let share = e
            .widely_cited_share(1)
            .expect("document 1 is cited by most");
        assert!(share > 0.3, "{share}");
        let links = e.links().unwrap();
        let rare = (1..=2_000i64)
            .find(|&id| links.cited_by(id as usize - 1).len() < WIDELY_CITED_BY)
            .unwrap();
        assert_eq!(e.widely_cited_share(rare), None);
        // A text naming two documents: whatever scores best, the documents cited by
        // nearly everything come after the others, flagged, with their share in the why.
        let mut seen_wide = false;
        for seed in 0..5 {
            let text = format!("RFC 2 RFC 3 {}", zipf_text(300, 3_000, seed));
            let matches = e.prepare(&text).matches(10, -1.0, None);
            let first = matches
                .iter()
                .take_while(|m| !m.widely_cited && !m.already_cited);
            assert_eq!(first.count(), 10, "ten ordinary results lead");
            for m in &matches {
                assert_eq!(m.widely_cited, m.why.cited_share.is_some(), "{m:?}");
                seen_wide |= m.widely_cited;
            }
        }
        assert!(seen_wide, "some text's list holds a widely cited document");
    }

    #[test]
    fn relations_are_listed_most_alike_first_and_named() {
        let e = engine();
        let links = e.links().unwrap();
        let x = 10usize;
        let id = x as i64 + 1;
        let related = e.related(id, 5, None).unwrap();
        assert_eq!(related.cites_total, links.cites(x).len());
        assert_eq!(related.cited_by_total, links.cited_by(x).len());
        assert!(related.cites.len() == related.cites_total.min(5) && !related.cites.is_empty());
        let scores: Vec<f32> = related.cites.iter().map(|m| m.similar.score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        for m in &related.cites {
            let r = m.why.relation.expect("a cited document is related");
            assert!(r.cited_by_it, "{m:?}");
        }
        for m in &related.cited_by {
            assert!(m.why.relation.unwrap().cites_it, "{m:?}");
        }
        // Filters apply to the relations too.
        let none = |_: i64| false;
        let filtered = e.related(id, 5, Some(&none)).unwrap();
        assert_eq!((filtered.cites_total, filtered.cited_by_total), (0, 0));
        assert!(e.related(424_242, 5, None).is_err());
        // The similar list names each result's relation where there is one.
        let similar = e.query(Query::Document(id), 20, -1.0).unwrap().matches;
        for m in &similar {
            let d = m.similar.identifier as usize - 1;
            assert_eq!(
                m.why.relation,
                Some(links.relation(x, d)).filter(Relation::is_some)
            );
        }
    }
}
