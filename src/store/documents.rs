//! Reading documents: one document with its authors, advisors and departments; collection
//! counts; document texts for training.

use super::{col, opt, DocId, Error, Result, Store};

/// A document as stored, with its people and departments resolved to names.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocumentRow {
    pub identifier: DocId,
    pub title: String,
    pub year: Option<i64>,
    pub degree: Option<String>,
    pub url: Option<String>,
    pub unextractable: bool,
    pub word_count: i64,
    /// Authors in order, as (person id, name).
    pub authors: Vec<(i64, String)>,
    /// Advisors in order, as (person id, name).
    pub advisors: Vec<(i64, String)>,
    pub departments: Vec<String>,
}

/// Counts shown on the home page and by `hamlet import`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CollectionStats {
    pub documents: i64,
    pub unextractable: i64,
    pub people: i64,
    pub departments: i64,
    pub citations: i64,
    pub resolved_citations: i64,
}

impl Store {
    /// One document, or `Error::NotFound`.
    pub async fn document(&self, id: DocId) -> Result<DocumentRow> {
        let row = sqlx::query(
            "SELECT identifier, title, year, degree, url, unextractable, word_count \
             FROM documents WHERE identifier = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::NotFound(id))?;
        let people: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT p.id, p.name, c.role FROM contributions c JOIN people p ON p.id = c.person_id \
             WHERE c.document_identifier = $1 ORDER BY c.role, c.position",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        let departments: Vec<(String,)> = sqlx::query_as(
            "SELECT d.name FROM document_departments dd JOIN departments d ON d.id = dd.department_id \
             WHERE dd.document_identifier = $1 ORDER BY d.name",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        let (authors, advisors) = split_roles(people);
        Ok(DocumentRow {
            identifier: DocId(col(&row, 0)?),
            title: col(&row, 1)?,
            year: opt(&row, 2)?,
            degree: opt(&row, 3)?,
            url: opt(&row, 4)?,
            unextractable: col::<i64>(&row, 5)? != 0,
            word_count: col(&row, 6)?,
            authors,
            advisors,
            departments: departments.into_iter().map(|(n,)| n).collect(),
        })
    }

    /// How many documents, people, departments and citations the collection holds.
    pub async fn stats(&self) -> Result<CollectionStats> {
        let (documents, unextractable, people, departments, citations, resolved_citations) =
            sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64)>(
                "SELECT (SELECT COUNT(*) FROM documents), \
                        (SELECT COUNT(*) FROM documents WHERE unextractable = 1), \
                        (SELECT COUNT(*) FROM people), \
                        (SELECT COUNT(*) FROM departments), \
                        (SELECT COUNT(*) FROM citations), \
                        (SELECT COUNT(*) FROM citations WHERE target_identifier IS NOT NULL)",
            )
            .fetch_one(self.pool())
            .await?;
        Ok(CollectionStats {
            documents,
            unextractable,
            people,
            departments,
            citations,
            resolved_citations,
        })
    }

    /// Every document's text, in identifier order (what training reads).
    pub async fn texts(&self) -> Result<Vec<(DocId, String)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT t.document_identifier, t.body FROM document_texts t \
             JOIN documents d ON d.identifier = t.document_identifier \
             WHERE d.unextractable = 0 ORDER BY t.document_identifier",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, body)| (DocId(id), body))
            .collect())
    }

    /// (document, person) for every authorship.
    pub async fn authorships(&self) -> Result<Vec<(DocId, i64)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT document_identifier, person_id FROM contributions WHERE role = 'author'",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(d, p)| (DocId(d), p)).collect())
    }

    /// (document, department) for every department link.
    pub async fn department_links(&self) -> Result<Vec<(DocId, i64)>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT document_identifier, department_id FROM document_departments")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(d, p)| (DocId(d), p)).collect())
    }

    /// The full text of a document, if it has one.
    pub async fn document_text(&self, id: DocId) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT body FROM document_texts WHERE document_identifier = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(b,)| b))
    }
}

/// People of one role as (person id, name), in order.
type People = Vec<(i64, String)>;

fn split_roles(people: Vec<(i64, String, String)>) -> (People, People) {
    let mut authors = Vec::new();
    let mut advisors = Vec::new();
    for (id, name, role) in people {
        if role == "advisor" {
            advisors.push((id, name));
        } else {
            authors.push((id, name));
        }
    }
    (authors, advisors)
}
