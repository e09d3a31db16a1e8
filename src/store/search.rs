//! Finding things by name: documents by title and people by name (case-insensitive
//! substring, prefix matches first, as the original's autocomplete), and a person's documents.

use super::{col, DocId, Result, Store};

/// A document found by title.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TitleHit {
    pub identifier: DocId,
    pub title: String,
    pub year: Option<i64>,
}

/// A person found by name, with how many documents they authored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PersonHit {
    pub id: i64,
    pub name: String,
    pub documents: i64,
}

/// `%q%` and `q%` LIKE patterns for a lower-cased query, with LIKE's wildcards escaped.
fn patterns(q: &str) -> (String, String) {
    let mut escaped = String::with_capacity(q.len() + 2);
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    (format!("%{escaped}%"), format!("{escaped}%"))
}

impl Store {
    /// Extractable documents whose title contains `q`, prefix matches first, then shorter.
    pub async fn search_titles(&self, q: &str, limit: usize) -> Result<Vec<TitleHit>> {
        let (contains, prefix) = patterns(q);
        let rows = sqlx::query(
            "SELECT identifier, title, year FROM documents \
             WHERE unextractable = 0 AND LOWER(title) LIKE $1 ESCAPE '\\' \
             ORDER BY CASE WHEN LOWER(title) LIKE $2 ESCAPE '\\' THEN 0 ELSE 1 END, \
                      LENGTH(title), identifier \
             LIMIT $3",
        )
        .bind(contains)
        .bind(prefix)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TitleHit {
                    identifier: DocId(col(r, 0)?),
                    title: col(r, 1)?,
                    year: col(r, 2)?,
                })
            })
            .collect()
    }

    /// Authors whose name contains `q`, prefix matches first.
    pub async fn search_authors(&self, q: &str, limit: usize) -> Result<Vec<PersonHit>> {
        let (contains, prefix) = patterns(q);
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT p.id, p.name, COUNT(DISTINCT c.document_identifier) FROM people p \
             JOIN contributions c ON c.person_id = p.id AND c.role = 'author' \
             WHERE LOWER(p.name) LIKE $1 ESCAPE '\\' \
             GROUP BY p.id, p.name \
             ORDER BY CASE WHEN LOWER(p.name) LIKE $2 ESCAPE '\\' THEN 0 ELSE 1 END, \
                      LENGTH(p.name), p.id \
             LIMIT $3",
        )
        .bind(contains)
        .bind(prefix)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, documents)| PersonHit {
                id,
                name,
                documents,
            })
            .collect())
    }

    /// A person's name, if the id exists.
    pub async fn person(&self, id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM people WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(n,)| n))
    }

    /// The documents a person authored, oldest first.
    pub async fn authored_by(&self, person: i64) -> Result<Vec<DocId>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT c.document_identifier, d.year FROM contributions c \
             JOIN documents d ON d.identifier = c.document_identifier \
             WHERE c.person_id = $1 AND c.role = 'author' \
             ORDER BY d.year, c.document_identifier",
        )
        .bind(person)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(d,)| DocId(d)).collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(
            super::patterns(" 100%_Done\\ "),
            (
                "%100\\%\\_done\\\\%".to_string(),
                "100\\%\\_done\\\\%".to_string()
            )
        );
    }
}
