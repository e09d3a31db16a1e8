//! Writes an imported collection: documents with their text, people, contributions,
//! departments and citations, all inside one transaction, so a failed import leaves the
//! collection exactly as it was. Re-importing a document replaces its rows instead of
//! duplicating them (documents are keyed by identifier, people and departments by name).
//!
//! Statements are multi-row inserts of up to `MAX_PARAMS` parameters: one round trip per few
//! hundred rows keeps the whole RFC import well inside its 60 s budget on either backend.
//!
//! They run on a connection of their own (`Store::import_connection`), in an explicit
//! transaction: dropping the writer without `finish` closes the connection, which rolls back.

use std::collections::HashMap;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Connection, Executor};

use super::{param_list, values_list, Backend, DocId, Result, Store};

/// Parameters per statement: far below SQLite's 32,766 and Postgres's 65,535.
const MAX_PARAMS: usize = 8_000;

/// A document as an importer produces it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDocument {
    pub identifier: DocId,
    pub title: String,
    pub year: Option<i64>,
    pub degree: Option<String>,
    pub url: Option<String>,
    /// No text could be had for it (the original flagged theses whose PDF gave no text).
    pub unextractable: bool,
    /// Why, when it is known (a harvest says which download or extraction failed).
    pub unextractable_reason: Option<String>,
    pub text: Option<String>,
    pub authors: Vec<String>,
    pub advisors: Vec<String>,
    pub departments: Vec<NewDepartment>,
    pub citations: Vec<NewCitation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NewDepartment {
    pub name: String,
    pub course: Option<String>,
}

/// One entry of a document's reference list, with the fields that could be parsed from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCitation {
    pub raw_ref: String,
    pub doi: Option<String>,
    pub journal: Option<String>,
    pub url: Option<String>,
    pub author: Option<String>,
    pub title: Option<String>,
    pub isbn: Option<String>,
    pub publisher: Option<String>,
    pub year: Option<i64>,
    /// The collection identifier the entry names (RFC 9001 -> 9001), in the collection or not.
    pub cited_identifier: Option<DocId>,
}

/// What an import did, for the CLI's summary line and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub documents: u64,
    pub unextractable: u64,
    pub citations: u64,
    pub resolved_citations: u64,
    pub new_people: u64,
}

/// An import in progress: a connection inside a transaction, plus the name -> id caches of
/// people and departments.
pub struct ImportWriter {
    conn: AnyConnection,
    backend: Backend,
    people: HashMap<String, i64>,
    departments: HashMap<String, i64>,
    report: ImportReport,
}

impl ImportWriter {
    /// Opens the import's transaction.
    pub async fn begin(store: &Store) -> Result<ImportWriter> {
        let mut tx = store.import_connection().await?;
        tx.execute("BEGIN").await?;
        let people = sqlx::query_as::<_, (i64, String)>("SELECT id, name FROM people")
            .fetch_all(&mut tx)
            .await?
            .into_iter()
            .map(|(id, name)| (name, id))
            .collect();
        let departments = sqlx::query_as::<_, (i64, String)>("SELECT id, name FROM departments")
            .fetch_all(&mut tx)
            .await?
            .into_iter()
            .map(|(id, name)| (name, id))
            .collect();
        Ok(ImportWriter {
            conn: tx,
            backend: store.backend(),
            people,
            departments,
            report: ImportReport::default(),
        })
    }

    /// Writes (or rewrites) a batch of documents. Identifiers within a batch must be distinct.
    pub async fn write(&mut self, docs: &[NewDocument]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = docs.iter().map(|d| d.identifier.0).collect();
        self.clear_children(&ids).await?;
        self.upsert_documents(docs).await?;
        self.insert_texts(docs).await?;
        self.ensure_people(docs).await?;
        self.ensure_departments(docs).await?;
        self.insert_contributions(docs).await?;
        self.insert_document_departments(docs).await?;
        self.insert_citations(docs).await?;
        for d in docs {
            self.report.documents += 1;
            self.report.unextractable += u64::from(d.unextractable);
            self.report.citations += d.citations.len() as u64;
        }
        Ok(())
    }

    /// Removes documents (a repository withdrew them) with their text, contributions,
    /// departments and citations; citations of them elsewhere stay, unlinked. Returns how many
    /// existed.
    pub async fn delete(&mut self, ids: &[i64]) -> Result<u64> {
        self.clear_children(ids).await?;
        let mut removed = 0;
        for chunk in ids.chunks(MAX_PARAMS) {
            let list = param_list(self.backend, chunk.len());
            let sql = format!(
                "UPDATE citations SET target_identifier = NULL WHERE target_identifier IN ({list})"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut self.conn).await?;
            let sql = format!("DELETE FROM documents WHERE identifier IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            removed += q.execute(&mut self.conn).await?.rows_affected();
        }
        Ok(removed)
    }

    /// Links citations to the collection documents they name, forgets people no document
    /// names any more (a re-import that corrected an author's name, issue 26), then commits.
    pub async fn finish(mut self) -> Result<ImportReport> {
        sqlx::query("DELETE FROM people WHERE id NOT IN (SELECT person_id FROM contributions)")
            .execute(&mut self.conn)
            .await?;
        sqlx::query(
            "UPDATE citations SET target_identifier = cited_identifier \
             WHERE cited_identifier IS NOT NULL AND target_identifier IS NULL \
             AND EXISTS (SELECT 1 FROM documents d WHERE d.identifier = citations.cited_identifier)",
        )
        .execute(&mut self.conn)
        .await?;
        let (resolved,) = sqlx::query_as::<_, (i64,)>(
            "SELECT COUNT(*) FROM citations WHERE target_identifier IS NOT NULL",
        )
        .fetch_one(&mut self.conn)
        .await?;
        self.report.resolved_citations = resolved as u64;
        self.conn.execute("COMMIT").await?;
        self.conn.close().await?;
        Ok(self.report)
    }

    async fn clear_children(&mut self, ids: &[i64]) -> Result<()> {
        for chunk in ids.chunks(MAX_PARAMS) {
            let list = param_list(self.backend, chunk.len());
            for table in [
                "document_texts",
                "contributions",
                "document_departments",
                "citations",
            ] {
                let sql = format!("DELETE FROM {table} WHERE document_identifier IN ({list})");
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut self.conn).await?;
            }
        }
        Ok(())
    }

    async fn upsert_documents(&mut self, docs: &[NewDocument]) -> Result<()> {
        const COLS: usize = 8;
        for chunk in docs.chunks(MAX_PARAMS / COLS) {
            let sql = format!(
                "INSERT INTO documents (identifier, title, year, degree, url, unextractable, word_count, unextractable_reason) \
                 VALUES {} ON CONFLICT (identifier) DO UPDATE SET title = excluded.title, \
                 year = excluded.year, degree = excluded.degree, url = excluded.url, \
                 unextractable = excluded.unextractable, word_count = excluded.word_count, \
                 unextractable_reason = excluded.unextractable_reason",
                values_list(self.backend, chunk.len(), COLS)
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                let words = d
                    .text
                    .as_deref()
                    .map_or(0, |t| t.split_whitespace().count()) as i64;
                q = q
                    .bind(d.identifier.0)
                    .bind(txt(&d.title))
                    .bind(d.year)
                    .bind(opt_txt(&d.degree))
                    .bind(opt_txt(&d.url))
                    .bind(i64::from(d.unextractable))
                    .bind(words)
                    .bind(opt_txt(&d.unextractable_reason));
            }
            q.execute(&mut self.conn).await?;
        }
        Ok(())
    }

    async fn insert_texts(&mut self, docs: &[NewDocument]) -> Result<()> {
        // Texts are large: a few per statement keeps each statement a few MB.
        let with_text: Vec<&NewDocument> = docs.iter().filter(|d| d.text.is_some()).collect();
        for chunk in with_text.chunks(16) {
            let sql = format!(
                "INSERT INTO document_texts (document_identifier, body) VALUES {}",
                values_list(self.backend, chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q
                    .bind(d.identifier.0)
                    .bind(txt(d.text.as_deref().unwrap_or_default()));
            }
            q.execute(&mut self.conn).await?;
        }
        Ok(())
    }

    async fn ensure_people(&mut self, docs: &[NewDocument]) -> Result<()> {
        let mut missing: Vec<String> = Vec::new();
        for d in docs {
            for name in d.authors.iter().chain(&d.advisors).map(|n| txt(n)) {
                if !self.people.contains_key(&name) && !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
        for chunk in missing.chunks(MAX_PARAMS) {
            let sql = format!(
                "INSERT INTO people (name) VALUES {} RETURNING id, name",
                values_list(self.backend, chunk.len(), 1)
            );
            let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
            for name in chunk {
                q = q.bind(name.clone());
            }
            for (id, name) in q.fetch_all(&mut self.conn).await? {
                self.people.insert(name, id);
            }
            self.report.new_people += chunk.len() as u64;
        }
        Ok(())
    }

    async fn ensure_departments(&mut self, docs: &[NewDocument]) -> Result<()> {
        for d in docs {
            for dep in &d.departments {
                let name = txt(&dep.name);
                if self.departments.contains_key(&name) {
                    continue;
                }
                let (id,) = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO departments (name, course) VALUES ($1, $2) RETURNING id",
                )
                .bind(name.clone())
                .bind(opt_txt(&dep.course))
                .fetch_one(&mut self.conn)
                .await?;
                self.departments.insert(name, id);
            }
        }
        Ok(())
    }

    async fn insert_contributions(&mut self, docs: &[NewDocument]) -> Result<()> {
        let mut rows: Vec<(i64, i64, &'static str, i64)> = Vec::new();
        for d in docs {
            for (role, names) in [("author", &d.authors), ("advisor", &d.advisors)] {
                for (pos, name) in names.iter().enumerate() {
                    rows.push((d.identifier.0, self.people[&txt(name)], role, pos as i64));
                }
            }
        }
        insert_rows(
            &mut self.conn,
            self.backend,
            "contributions (document_identifier, person_id, role, position)",
            4,
            &rows,
            |q, r| q.bind(r.0).bind(r.1).bind(r.2).bind(r.3),
        )
        .await
    }

    async fn insert_document_departments(&mut self, docs: &[NewDocument]) -> Result<()> {
        let mut rows: Vec<(i64, i64)> = Vec::new();
        for d in docs {
            for dep in &d.departments {
                let row = (d.identifier.0, self.departments[&txt(&dep.name)]);
                if !rows.contains(&row) {
                    rows.push(row);
                }
            }
        }
        insert_rows(
            &mut self.conn,
            self.backend,
            "document_departments (document_identifier, department_id)",
            2,
            &rows,
            |q, r| q.bind(r.0).bind(r.1),
        )
        .await
    }

    async fn insert_citations(&mut self, docs: &[NewDocument]) -> Result<()> {
        let rows: Vec<(i64, i64, &NewCitation)> = docs
            .iter()
            .flat_map(|d| {
                d.citations
                    .iter()
                    .enumerate()
                    .map(move |(i, c)| (d.identifier.0, i as i64, c))
            })
            .collect();
        insert_rows(
            &mut self.conn,
            self.backend,
            "citations (document_identifier, position, raw_ref, doi, journal, url, author, title, \
             isbn, publisher, year, cited_identifier)",
            12,
            &rows,
            |q, (doc, pos, c)| {
                q.bind(*doc)
                    .bind(*pos)
                    .bind(txt(&c.raw_ref))
                    .bind(opt_txt(&c.doi))
                    .bind(opt_txt(&c.journal))
                    .bind(opt_txt(&c.url))
                    .bind(opt_txt(&c.author))
                    .bind(opt_txt(&c.title))
                    .bind(opt_txt(&c.isbn))
                    .bind(opt_txt(&c.publisher))
                    .bind(c.year)
                    .bind(c.cited_identifier.map(|d| d.0))
            },
        )
        .await
    }
}

/// Inserts `rows` into `target` ("table (col, ...)") with as few statements as the parameter
/// limit allows; `bind` binds one row's `cols` values.
async fn insert_rows<'q, R>(
    tx: &mut AnyConnection,
    backend: Backend,
    target: &str,
    cols: usize,
    rows: &'q [R],
    bind: impl for<'a> Fn(Query<'a, Any, AnyArguments<'a>>, &'a R) -> Query<'a, Any, AnyArguments<'a>>,
) -> Result<()> {
    for chunk in rows.chunks(MAX_PARAMS / cols) {
        let sql = format!(
            "INSERT INTO {target} VALUES {}",
            values_list(backend, chunk.len(), cols)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind(q, r);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Text as stored: without NUL characters, which Postgres cannot hold in TEXT (a few old RFCs
/// and OCR'd texts have them); the same on SQLite so both backends hold the same data.
fn txt(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s.to_string()
    }
}

fn opt_txt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(txt)
}
