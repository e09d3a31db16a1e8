//! Reading documents: one document with its authors, advisors and departments; collection
//! counts; document texts for training.

use std::collections::HashMap;

use super::{col, param_list, DocId, Error, Result, Store};

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
        self.documents(&[id])
            .await?
            .pop()
            .ok_or(Error::NotFound(id))
    }

    /// The documents of `ids` that exist, in the order asked, in three queries whatever
    /// their number (result lists hydrate ten to fifty at once).
    pub async fn documents(&self, ids: &[DocId]) -> Result<Vec<DocumentRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = param_list(self.backend(), ids.len());
        fn bind_all<'q>(
            sql: &'q str,
            ids: &[DocId],
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
            let mut q = sqlx::query(sql);
            for id in ids {
                q = q.bind(id.0);
            }
            q
        }
        let where_ids = |col: &str| format!("WHERE {col} IN ({list})");
        let [docs, people, departments] = document_queries([
            where_ids("identifier"),
            where_ids("c.document_identifier"),
            where_ids("dd.document_identifier"),
        ]);
        let rows = bind_all(&docs, ids).fetch_all(self.pool()).await?;
        let people = bind_all(&people, ids).fetch_all(self.pool()).await?;
        let departments = bind_all(&departments, ids).fetch_all(self.pool()).await?;
        let mut by_id = assemble(&rows, &people, &departments)?;
        Ok(ids.iter().filter_map(|id| by_id.remove(&id.0)).collect())
    }

    /// Every document, keyed by identifier, in three queries: what the web app's in-memory
    /// catalog holds (`web::discover::Catalog`).
    pub async fn all_documents(&self) -> Result<HashMap<i64, DocumentRow>> {
        let [docs, people, departments] =
            document_queries([String::new(), String::new(), String::new()]);
        let rows = sqlx::query(&docs).fetch_all(self.pool()).await?;
        let people = sqlx::query(&people).fetch_all(self.pool()).await?;
        let departments = sqlx::query(&departments).fetch_all(self.pool()).await?;
        assemble(&rows, &people, &departments)
    }

    /// A cheap fingerprint of the documents' metadata: it changes when an import adds or
    /// changes documents, people or departments.
    pub async fn documents_fingerprint(&self) -> Result<(i64, i64, i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COALESCE(MAX(identifier), 0) FROM documents), \
                    (SELECT COUNT(*) FROM contributions), (SELECT COUNT(*) FROM document_departments)",
        )
        .fetch_one(self.pool())
        .await?)
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

    /// Every document's title, in identifier order.
    pub async fn titles(&self) -> Result<Vec<(DocId, String)>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT identifier, title FROM documents ORDER BY identifier")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(id, t)| (DocId(id), t)).collect())
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

/// The three statements that read documents, their people and their departments, each
/// restricted by the matching `WHERE` clause (empty for all).
fn document_queries(wheres: [String; 3]) -> [String; 3] {
    let [w_docs, w_people, w_departments] = wheres;
    [
        format!(
            "SELECT identifier, title, year, degree, url, unextractable, word_count \
             FROM documents {w_docs}"
        ),
        format!(
            "SELECT c.document_identifier, p.id, p.name, c.role FROM contributions c \
             JOIN people p ON p.id = c.person_id {w_people} \
             ORDER BY c.document_identifier, c.role, c.position"
        ),
        format!(
            "SELECT dd.document_identifier, d.name FROM document_departments dd \
             JOIN departments d ON d.id = dd.department_id {w_departments} \
             ORDER BY dd.document_identifier, d.name"
        ),
    ]
}

/// Documents from the rows of `document_queries`.
fn assemble(
    rows: &[sqlx::any::AnyRow],
    people: &[sqlx::any::AnyRow],
    departments: &[sqlx::any::AnyRow],
) -> Result<HashMap<i64, DocumentRow>> {
    let mut by_id: HashMap<i64, DocumentRow> = HashMap::with_capacity(rows.len());
    for row in rows {
        let doc = DocumentRow {
            identifier: DocId(col(row, 0)?),
            title: col(row, 1)?,
            year: col(row, 2)?,
            degree: col(row, 3)?,
            url: col(row, 4)?,
            unextractable: col::<i64>(row, 5)? != 0,
            word_count: col(row, 6)?,
            authors: Vec::new(),
            advisors: Vec::new(),
            departments: Vec::new(),
        };
        by_id.insert(doc.identifier.0, doc);
    }
    for row in people {
        let doc: i64 = col(row, 0)?;
        let person = (col::<i64>(row, 1)?, col::<String>(row, 2)?);
        let role: String = col(row, 3)?;
        if let Some(d) = by_id.get_mut(&doc) {
            if role == "advisor" {
                d.advisors.push(person);
            } else {
                d.authors.push(person);
            }
        }
    }
    for row in departments {
        let doc: i64 = col(row, 0)?;
        if let Some(d) = by_id.get_mut(&doc) {
            d.departments.push(col(row, 1)?);
        }
    }
    Ok(by_id)
}
