//! Reading citations: the reference list of a document, and who in the collection cites it.

use super::{col, param_list, DocId, Result, Store};

/// One stored reference-list entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CitationRow {
    pub position: i64,
    pub raw_ref: String,
    pub doi: Option<String>,
    pub url: Option<String>,
    pub author: Option<String>,
    pub title: Option<String>,
    pub year: Option<i64>,
    /// The collection document this entry points to, when it is in the collection.
    pub target: Option<DocId>,
}

impl Store {
    /// The reference list of a document, in order.
    pub async fn citations_of(&self, id: DocId) -> Result<Vec<CitationRow>> {
        let rows = sqlx::query(
            "SELECT position, raw_ref, doi, url, author, title, year, target_identifier \
             FROM citations WHERE document_identifier = $1 ORDER BY position",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(citation).collect()
    }

    /// The reference lists of several documents, each in order, grouped by document.
    pub async fn citations_of_many(&self, ids: &[DocId]) -> Result<Vec<(DocId, CitationRow)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT position, raw_ref, doi, url, author, title, year, target_identifier, \
             document_identifier FROM citations WHERE document_identifier IN ({}) \
             ORDER BY document_identifier, position",
            param_list(self.backend(), ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id.0);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((DocId(col(r, 8)?), citation(r)?)))
            .collect()
    }

    /// (citing, cited) for every citation that links two collection documents.
    pub async fn citation_links(&self) -> Result<Vec<(DocId, DocId)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT DISTINCT document_identifier, target_identifier FROM citations \
             WHERE target_identifier IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(a, b)| (DocId(a), DocId(b)))
            .collect())
    }

    /// The identifiers of collection documents whose reference lists point at `id`.
    pub async fn cited_by(&self, id: DocId) -> Result<Vec<DocId>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT document_identifier FROM citations WHERE target_identifier = $1 \
             ORDER BY document_identifier",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(d,)| DocId(d)).collect())
    }
}

/// A citation from the first eight columns of a row.
fn citation(r: &sqlx::any::AnyRow) -> Result<CitationRow> {
    Ok(CitationRow {
        position: col(r, 0)?,
        raw_ref: col(r, 1)?,
        doi: col(r, 2)?,
        url: col(r, 3)?,
        author: col(r, 4)?,
        title: col(r, 5)?,
        year: col(r, 6)?,
        target: col::<Option<i64>>(r, 7)?.map(DocId),
    })
}
