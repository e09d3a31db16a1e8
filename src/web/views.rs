//! The JSON shapes of the API, built from store rows with `From`. They are the API's
//! contract (docs/WEB.md, "JSON API"): add fields, never rename or remove them.

use serde::Serialize;

use crate::store::citations::CitationRow;
use crate::store::{DocId, DocumentRow};

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PersonView {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CitationView {
    pub raw_ref: String,
    pub title: Option<String>,
    pub author: Option<String>,
    pub year: Option<i64>,
    pub doi: Option<String>,
    pub url: Option<String>,
    /// The cited document's identifier when it is in the collection.
    pub identifier: Option<DocId>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DocumentView {
    pub identifier: DocId,
    pub title: String,
    pub year: Option<i64>,
    pub degree: Option<String>,
    pub url: Option<String>,
    pub unextractable: bool,
    pub word_count: i64,
    pub authors: Vec<PersonView>,
    pub advisors: Vec<PersonView>,
    pub departments: Vec<String>,
    pub citations: Vec<CitationView>,
    /// Collection documents that cite this one.
    pub cited_by: Vec<DocId>,
}

/// One similar document, as every result list shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ResultView {
    pub identifier: DocId,
    pub title: String,
    pub year: Option<i64>,
    pub degree: Option<String>,
    pub authors: Vec<PersonView>,
    pub advisors: Vec<PersonView>,
    pub departments: Vec<String>,
    pub url: Option<String>,
    /// The score, rounded to 4 decimals: the cosine for a compatibility-mode model, the
    /// default engine's fused score in [0, 1] otherwise (`model::query`).
    pub score: f32,
    /// Why it matched, where the model can say (`model::engine::Why`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<crate::model::engine::Why>,
    /// For results about a text: whether the text already cites this document (names it by
    /// identifier or title). Results it does not cite come first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_cited: Option<bool>,
    /// The document the text cites that this result is most like (`why.via`, with its title).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<TitleView>,
    /// Cited by nearly everything in the collection (`why.cited_share`): results about a text
    /// list it apart, after the others (`model::engine::WIDELY_CITED`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub widely_cited: bool,
}

/// A known document's relations within the collection (`model::engine::Related`): what it
/// cites and what cites it, each most alike first, and how many there are.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RelatedView {
    pub cites: Vec<ResultView>,
    pub cites_total: usize,
    pub cited_by: Vec<ResultView>,
    pub cited_by_total: usize,
}

/// A collection document named by identifier and title.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TitleView {
    pub identifier: DocId,
    pub title: String,
}

/// `{"results": [...]}`, the shape of every result list.
#[derive(Debug, Serialize)]
pub(crate) struct Results {
    pub results: Vec<ResultView>,
}

impl ResultView {
    /// A result with its document's metadata (a result the collection does not hold is never
    /// shown: `discover::hydrate_matches`).
    pub(crate) fn new(score: f32, d: DocumentRow) -> ResultView {
        ResultView {
            identifier: d.identifier,
            title: d.title,
            year: d.year,
            degree: d.degree,
            authors: d.authors.into_iter().map(PersonView::from).collect(),
            advisors: d.advisors.into_iter().map(PersonView::from).collect(),
            departments: d.departments,
            url: d.url,
            score: (score * 10_000.0).round() / 10_000.0,
            why: None,
            already_cited: None,
            via: None,
            widely_cited: false,
        }
    }
}

impl From<(i64, String)> for PersonView {
    fn from((id, name): (i64, String)) -> PersonView {
        PersonView { id, name }
    }
}

impl From<CitationRow> for CitationView {
    fn from(c: CitationRow) -> CitationView {
        CitationView {
            raw_ref: c.raw_ref,
            title: c.title,
            author: c.author,
            year: c.year,
            doi: c.doi,
            url: c.url,
            identifier: c.target,
        }
    }
}

impl DocumentView {
    pub(crate) fn new(
        doc: DocumentRow,
        citations: Vec<CitationRow>,
        cited_by: Vec<DocId>,
    ) -> DocumentView {
        DocumentView {
            identifier: doc.identifier,
            title: doc.title,
            year: doc.year,
            degree: doc.degree,
            url: doc.url,
            unextractable: doc.unextractable,
            word_count: doc.word_count,
            authors: doc.authors.into_iter().map(PersonView::from).collect(),
            advisors: doc.advisors.into_iter().map(PersonView::from).collect(),
            departments: doc.departments,
            citations: citations.into_iter().map(CitationView::from).collect(),
            cited_by,
        }
    }
}
