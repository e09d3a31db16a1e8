//! The three tools, shared by the pages and the JSON API: documents similar to a document,
//! to an author's documents, and to a new text, each through the model's one query API
//! (`model::query`); the literature review of what similar documents cite; and hydration of
//! results with the catalog's metadata.
//!
//! Model calls share the model without a lock, so every core serves. Inference (milliseconds
//! of CPU) runs on the blocking pool (`run_blocking`), never on Rocket's async workers; the
//! scan for a known document (one matrix-vector product and a top-k: ~50 us for 9,000
//! documents, ~200 us for 43,000) runs in place, where the hop to another thread would cost
//! about as much as the work (benches/web.sh).

use std::collections::HashMap;

use serde::Serialize;

use super::catalog::Catalog;
use super::error::{Error, Result};
use super::served::{run_blocking, Ask, Served};
use super::views::{CitationView, PersonView, RelatedView, ResultView};
use crate::model::engine::{Match, Query};
use crate::store::{DocId, DocumentRow};

/// The documents most similar to `doc`. A document without text has no vector: 422.
pub(crate) async fn for_document(
    catalog: &Catalog,
    served: &Served,
    doc: &DocumentRow,
    ask: Ask,
) -> Result<Vec<ResultView>> {
    let id = doc.identifier;
    if doc.unextractable {
        return Err(Error::Unprocessable(format!(
            "document {id} has no extractable text, so nothing can be compared with it"
        )));
    }
    let model = served.model()?;
    let hits = ask
        .query(&model, Query::Document(id.0), ask.limit)
        .map(|a| a.matches)
        .map_err(|_| {
            Error::Unprocessable(format!(
                "document {id} is in the collection but not in the model; retrain to include it"
            ))
        })?;
    hydrate_matches(catalog, hits).await
}

/// What `doc` cites within the collection and what cites it, each most alike first, `ask.limit`
/// of each (issue 41): `None` for a document without text or a model without links.
pub(crate) async fn related(
    catalog: &Catalog,
    served: &Served,
    doc: &DocumentRow,
    ask: &Ask,
) -> Result<Option<RelatedView>> {
    if doc.unextractable {
        return Ok(None);
    }
    let model = served.model()?;
    if model.links().is_none_or(|l| l.is_empty()) {
        return Ok(None);
    }
    let Ok(related) = ask.related(&model, doc.identifier.0) else {
        return Ok(None);
    };
    Ok(Some(RelatedView {
        cites: hydrate_matches(catalog, related.cites).await?,
        cites_total: related.cites_total,
        cited_by: hydrate_matches(catalog, related.cited_by).await?,
        cited_by_total: related.cited_by_total,
    }))
}

/// The documents most similar to a new text (inferred deterministically).
pub(crate) async fn for_text(
    catalog: &Catalog,
    served: &Served,
    text: String,
    ask: Ask,
) -> Result<Vec<ResultView>> {
    Ok(for_text_counted(catalog, served, text, ask, 0).await?.0)
}

/// `for_text`, and the identifiers of the text's first `pool` matches above the threshold
/// with no filter applied (what a page counts its facets over), from the one inference.
pub(crate) async fn for_text_counted(
    catalog: &Catalog,
    served: &Served,
    text: String,
    ask: Ask,
    pool: usize,
) -> Result<(Vec<ResultView>, Vec<i64>)> {
    let model = served.model()?;
    let engine = model.is_engine();
    let (hits, pool) = run_blocking(move || {
        let prepared = model.prepare(&text);
        let pool: Vec<i64> = if pool == 0 {
            Vec::new()
        } else {
            prepared
                .matches(pool, ask.min_score, None)
                .iter()
                .map(|m| m.similar.identifier)
                .collect()
        };
        (ask.matches(&prepared, ask.limit), pool)
    })
    .await?;
    // By identifier: a result the collection does not hold is left out of `views`.
    let flags: HashMap<i64, (bool, Option<i64>)> = hits
        .iter()
        .map(|m| (m.similar.identifier, (m.already_cited, m.why.via)))
        .collect();
    let mut via_ids: Vec<i64> = flags.values().filter_map(|(_, v)| *v).collect();
    via_ids.sort_unstable();
    via_ids.dedup();
    let titles: HashMap<i64, String> = catalog
        .documents(&via_ids.into_iter().map(DocId).collect::<Vec<_>>())
        .await?
        .into_iter()
        .map(|d| (d.identifier.0, d.title))
        .collect();
    let mut views = hydrate_matches(catalog, hits).await?;
    for view in &mut views {
        let (cited, via) = flags[&view.identifier.0];
        if engine {
            view.already_cited = Some(cited);
        }
        view.via = via.and_then(|id| {
            Some(crate::web::views::TitleView {
                identifier: DocId(id),
                title: titles.get(&id)?.clone(),
            })
        });
    }
    Ok((views, pool))
}

/// One of an author's documents and the documents similar to it.
#[derive(Debug, Serialize)]
pub(crate) struct AuthoredDocument {
    pub document: ResultView,
    pub unextractable: bool,
    pub results: Vec<ResultView>,
}

/// `for_document` for each document a person authored, plus one merged list (each similar
/// document once, at its best score, the author's own documents left out).
#[derive(Debug, Serialize)]
pub(crate) struct AuthorResults {
    pub author: PersonView,
    pub results: Vec<ResultView>,
    pub documents: Vec<AuthoredDocument>,
}

pub(crate) async fn for_author(
    catalog: &Catalog,
    served: &Served,
    person: i64,
    ask: Ask,
) -> Result<AuthorResults> {
    Ok(for_author_counted(catalog, served, person, ask, None)
        .await?
        .0)
}

/// `for_author`, and the identifiers of the merged list that `pool` asks for (the page's
/// facets count them: unfiltered, as many as a page may show), from one reading of the
/// author's documents.
pub(crate) async fn for_author_counted(
    catalog: &Catalog,
    served: &Served,
    person: i64,
    ask: Ask,
    pool: Option<Ask>,
) -> Result<(AuthorResults, Vec<i64>)> {
    let store = catalog.store();
    let name = store
        .person(person)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no person with id {person}")))?;
    let ids = store.authored_by(person).await?;
    let docs = catalog.documents(&ids).await?;
    let model = served.model()?;
    let own: Vec<i64> = ids.iter().map(|d| d.0).collect();
    let queries: Vec<(i64, bool)> = docs
        .iter()
        .map(|d| (d.identifier.0, d.unextractable))
        .collect();
    let limit = ask.limit;
    // One blocking task for every document: a prolific author costs one hop, not many.
    let (hit_lists, merged, pool) = run_blocking(move || {
        let lists = |ask: &Ask| -> Vec<Vec<Match>> {
            queries
                .iter()
                .map(|&(id, unextractable)| {
                    if unextractable {
                        return Vec::new();
                    }
                    ask.query(&model, Query::Document(id), ask.limit + own.len())
                        .map(|a| a.matches)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|m| !own.contains(&m.similar.identifier))
                        .take(ask.limit)
                        .collect()
                })
                .collect()
        };
        let ids = |merged: Vec<Match>| merged.iter().map(|m| m.similar.identifier).collect();
        match pool {
            // An unfiltered page: the longer lists hold the shorter ones as their first
            // entries (scores in a total order), so one pass serves both.
            Some(p)
                if ask.allowed.is_none() && p.min_score == ask.min_score && p.limit >= limit =>
            {
                let long = lists(&p);
                let pool = ids(merge(&long, p.limit));
                let hit_lists: Vec<Vec<Match>> = long
                    .into_iter()
                    .map(|mut l| {
                        l.truncate(limit);
                        l
                    })
                    .collect();
                let merged = merge(&hit_lists, limit);
                (hit_lists, merged, pool)
            }
            _ => {
                let hit_lists = lists(&ask);
                let merged = merge(&hit_lists, limit);
                let pool = pool.map_or_else(Vec::new, |p| ids(merge(&lists(&p), p.limit)));
                (hit_lists, merged, pool)
            }
        }
    })
    .await?;

    let mut documents = Vec::with_capacity(docs.len());
    for (doc, hits) in docs.into_iter().zip(hit_lists) {
        let unextractable = doc.unextractable;
        documents.push(AuthoredDocument {
            document: ResultView::new(1.0, doc),
            unextractable,
            results: hydrate_matches(catalog, hits).await?,
        });
    }
    let found = AuthorResults {
        author: PersonView { id: person, name },
        results: hydrate_matches(catalog, merged).await?,
        documents,
    };
    Ok((found, pool))
}

/// Each similar document once, as it matched the author's document it is most like; the best
/// `limit`.
fn merge(lists: &[Vec<Match>], limit: usize) -> Vec<Match> {
    let mut best: HashMap<i64, &Match> = HashMap::new();
    for hit in lists.iter().flatten() {
        let kept = best.entry(hit.similar.identifier).or_insert(hit);
        if hit.similar.score > kept.similar.score {
            *kept = hit;
        }
    }
    let mut merged: Vec<Match> = best.into_values().cloned().collect();
    merged.sort_by(|a, b| {
        b.similar
            .score
            .total_cmp(&a.similar.score)
            .then(a.similar.identifier.cmp(&b.similar.identifier))
    });
    merged.truncate(limit);
    merged
}

/// A work cited by several of the similar documents.
#[derive(Debug, Serialize)]
pub(crate) struct CitedWork {
    /// The reference as first seen.
    pub raw_ref: String,
    pub title: Option<String>,
    /// The first author, as the reference was parsed.
    pub author: Option<String>,
    pub year: Option<i64>,
    pub doi: Option<String>,
    pub url: Option<String>,
    /// The cited document's identifier when it is in the collection.
    pub identifier: Option<DocId>,
    /// Its title in the collection, when it is there.
    pub collection_title: Option<String>,
    /// The sum of the similarity scores of the documents citing it.
    pub weight: f32,
    /// Which of the similar documents cite it.
    pub cited_by: Vec<DocId>,
    /// The draft already cites it (it is a collection document the draft names).
    pub already_cited: bool,
    /// The share of the collection's citing documents that cite it, when it is cited by
    /// nearly everything (`model::engine::WIDELY_CITED`): such works are listed apart, after
    /// the others, since nearly every list holds them (issue 41).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widely_cited: Option<f32>,
}

/// One similar document's reference list, as the original showed it.
#[derive(Debug, Serialize)]
pub(crate) struct CitationsOf {
    pub document: ResultView,
    pub citations: Vec<CitationView>,
}

/// The literature review: similar documents, the works several of them cite (ranked by the
/// summed similarity of their citers), and every reference list.
#[derive(Debug, Serialize)]
pub(crate) struct LitReview {
    pub results: Vec<ResultView>,
    pub cited_works: Vec<CitedWork>,
    pub citations: Vec<CitationsOf>,
}

/// The most ranked works listed.
const MAX_CITED_WORKS: usize = 50;

pub(crate) async fn lit_review(
    catalog: &Catalog,
    served: &Served,
    results: Vec<ResultView>,
) -> Result<LitReview> {
    let model = served.model().ok();
    let ids: Vec<DocId> = results.iter().map(|r| r.identifier).collect();
    let rows = catalog.store().citations_of_many(&ids).await?;
    let score_of: HashMap<DocId, f32> = results.iter().map(|r| (r.identifier, r.score)).collect();
    let cited_by_draft: std::collections::HashSet<DocId> = results
        .iter()
        .filter(|r| r.already_cited == Some(true))
        .map(|r| r.identifier)
        .collect();

    let mut works: HashMap<String, CitedWork> = HashMap::new();
    let mut lists: HashMap<DocId, Vec<CitationView>> = HashMap::new();
    for (citing, c) in rows {
        let key = work_key(c.target, c.doi.as_deref(), &c.raw_ref);
        let entry = works.entry(key).or_insert_with(|| CitedWork {
            raw_ref: c.raw_ref.clone(),
            title: c.title.clone(),
            author: c.author.clone(),
            year: c.year,
            doi: c.doi.clone(),
            url: c.url.clone(),
            identifier: c.target,
            collection_title: None,
            weight: 0.0,
            cited_by: Vec::new(),
            already_cited: c.target.is_some_and(|t| cited_by_draft.contains(&t)),
            widely_cited: c
                .target
                .zip(model.as_ref())
                .and_then(|(t, m)| m.widely_cited_share(t.0)),
        });
        if !entry.cited_by.contains(&citing) {
            entry.cited_by.push(citing);
            entry.weight += score_of.get(&citing).copied().unwrap_or(0.0).max(0.0);
        }
        lists.entry(citing).or_default().push(CitationView::from(c));
    }
    let mut cited_works: Vec<CitedWork> = works
        .into_values()
        .filter(|w| w.cited_by.len() >= 2)
        .collect();
    // Works the draft does not cite yet lead (issue 21), then the ones nearly everything
    // cites (issue 41).
    cited_works.sort_by(|a, b| {
        a.already_cited
            .cmp(&b.already_cited)
            .then(a.widely_cited.is_some().cmp(&b.widely_cited.is_some()))
            .then(b.weight.total_cmp(&a.weight))
            .then(b.cited_by.len().cmp(&a.cited_by.len()))
            .then(a.raw_ref.cmp(&b.raw_ref))
    });
    cited_works.truncate(MAX_CITED_WORKS);
    let targets: Vec<DocId> = cited_works.iter().filter_map(|w| w.identifier).collect();
    let titles: HashMap<DocId, String> = catalog
        .documents(&targets)
        .await?
        .into_iter()
        .map(|d| (d.identifier, d.title))
        .collect();
    for w in &mut cited_works {
        w.weight = (w.weight * 10_000.0).round() / 10_000.0;
        w.collection_title = w.identifier.and_then(|id| titles.get(&id).cloned());
    }
    let citations = results
        .iter()
        .map(|r| CitationsOf {
            document: r.clone(),
            citations: lists.remove(&r.identifier).unwrap_or_default(),
        })
        .collect();
    Ok(LitReview {
        results,
        cited_works,
        citations,
    })
}

/// Which references are the same work: the collection document, else the DOI, else the
/// reference text with case, punctuation and spacing ignored.
fn work_key(target: Option<DocId>, doi: Option<&str>, raw: &str) -> String {
    if let Some(t) = target {
        return format!("doc:{t}");
    }
    if let Some(d) = doi.filter(|d| !d.trim().is_empty()) {
        return format!("doi:{}", d.trim().to_lowercase());
    }
    let mut key = String::from("ref:");
    let mut space = false;
    for c in raw.chars() {
        if c.is_alphanumeric() {
            if space && key.len() > 4 {
                key.push(' ');
            }
            space = false;
            key.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    key
}

/// Result items with their metadata, from the in-memory catalog (the database for documents
/// imported since its last refresh), each with why it matched. A document the model holds but
/// the collection does not (a model trained on another collection, or a document deleted
/// since) is left out rather than shown as a bare number: `/health` counts them
/// (`model.documents_not_in_collection`) and the start-up task logs it once per model.
pub(crate) async fn hydrate_matches(
    catalog: &Catalog,
    matches: Vec<crate::model::engine::Match>,
) -> Result<Vec<ResultView>> {
    let ids: Vec<DocId> = matches
        .iter()
        .map(|m| DocId(m.similar.identifier))
        .collect();
    let mut docs: HashMap<DocId, DocumentRow> = catalog
        .documents(&ids)
        .await?
        .into_iter()
        .map(|d| (d.identifier, d))
        .collect();
    Ok(matches
        .into_iter()
        .filter_map(|m| {
            let doc = docs.remove(&DocId(m.similar.identifier))?;
            let mut view = ResultView::new(m.similar.score, doc);
            view.why = Some(m.why);
            view.widely_cited = m.widely_cited;
            Some(view)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn works_are_keyed_by_target_then_doi_then_text() {
        assert_eq!(work_key(Some(DocId(791)), Some("10.1/x"), "x"), "doc:791");
        assert_eq!(work_key(None, Some(" 10.1/ABC "), "x"), "doi:10.1/abc");
        assert_eq!(
            work_key(None, None, "Smith, J.  (1999). Networks!"),
            work_key(None, None, "smith j 1999 networks")
        );
    }
}
