//! The generic import format, for any institution's own collection: one JSON object per line
//! of a metadata file, texts as UTF-8 files in a directory.
//!
//! ```json
//! {"identifier": 33360, "title": "...", "year": 2006, "degree": "Ph.D.",
//!  "url": "https://dspace.mit.edu/handle/1721.1/33360",
//!  "authors": ["Smith, Jane"], "advisors": ["Doe, John"],
//!  "departments": ["Department of Physics", {"name": "EECS", "course": "6"}],
//!  "text_file": "1721.1-33360.txt",
//!  "citations": [{"raw_ref": "...", "doi": "...", "target": 12345}]}
//! ```
//!
//! Only `identifier` and `title` are required. `text_file` is relative to `--texts`; without
//! it, `<texts>/<identifier>.txt` is used when present; `"text": "..."` gives the text inline
//! instead (one self-contained stream, for `hamlet import jsonl -` on a one-off dyno). A
//! document with no text is imported as unextractable. Without `citations`, they are extracted from the text's
//! reference sections. Unknown fields are refused, so a typo does not silently lose data.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Error, Result};
use crate::store::{DocId, NewCitation, NewDepartment, NewDocument};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    identifier: i64,
    title: String,
    #[serde(default)]
    year: Option<i64>,
    #[serde(default)]
    degree: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    advisors: Vec<String>,
    #[serde(default)]
    departments: Vec<DepartmentField>,
    #[serde(default)]
    text_file: Option<PathBuf>,
    /// The text itself, instead of a file.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    unextractable: Option<bool>,
    #[serde(default)]
    citations: Option<Vec<CitationField>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DepartmentField {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        course: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CitationField {
    raw_ref: String,
    #[serde(default)]
    doi: Option<String>,
    #[serde(default)]
    journal: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    isbn: Option<String>,
    #[serde(default)]
    publisher: Option<String>,
    #[serde(default)]
    year: Option<i64>,
    /// The identifier of the cited document in this collection, when known.
    #[serde(default)]
    target: Option<i64>,
}

/// Reads every record of `metadata`, loading texts from `texts`. The whole file is checked
/// before anything is returned, so one bad line stops the import before it writes.
pub(crate) fn read(metadata: &Path, texts: Option<&Path>) -> Result<Vec<NewDocument>> {
    let content = if metadata == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(|e| Error::io(Path::new(STDIN), e))?;
        super::decode_utf8(Path::new(STDIN), bytes)?
    } else {
        super::read_utf8(metadata)?
    };
    let metadata = if metadata == Path::new("-") {
        Path::new(STDIN)
    } else {
        metadata
    };
    let mut docs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in content.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line)
            .map_err(|e| Error::malformed(metadata, line_no, format!("invalid record: {e}")))?;
        if record.title.trim().is_empty() {
            return Err(Error::malformed(metadata, line_no, "\"title\" is empty"));
        }
        if !seen.insert(record.identifier) {
            return Err(Error::malformed(
                metadata,
                line_no,
                format!("identifier {} appears twice", record.identifier),
            ));
        }
        docs.push(to_document(record, metadata, line_no, texts)?);
    }
    Ok(docs)
}

/// How errors name the metadata when it comes from standard input (`-`).
const STDIN: &str = "standard input";

fn to_document(
    mut r: Record,
    metadata: &Path,
    line_no: usize,
    texts: Option<&Path>,
) -> Result<NewDocument> {
    let inline = r.text.take();
    if inline.is_some() && r.text_file.is_some() {
        return Err(Error::malformed(
            metadata,
            line_no,
            "give \"text\" or \"text_file\", not both",
        ));
    }
    let text = match (&r.text_file, texts) {
        _ if inline.is_some() => inline,
        (Some(file), Some(dir)) => Some(super::read_utf8(&dir.join(file))?),
        (Some(file), None) => {
            return Err(Error::malformed(
                metadata,
                line_no,
                format!(
                    "\"text_file\": {} given but no --texts directory",
                    file.display()
                ),
            ))
        }
        (None, Some(dir)) => {
            let path = dir.join(format!("{}.txt", r.identifier));
            if path.exists() {
                Some(super::read_utf8(&path)?)
            } else {
                None
            }
        }
        (None, None) => None,
    };
    let text = text.filter(|t| !t.trim().is_empty());
    let citations = match r.citations {
        Some(list) => list
            .into_iter()
            .map(|c| NewCitation {
                raw_ref: c.raw_ref,
                doi: c.doi,
                journal: c.journal,
                url: c.url,
                author: c.author,
                title: c.title,
                isbn: c.isbn,
                publisher: c.publisher,
                year: c.year,
                cited_identifier: c.target.map(DocId),
            })
            .collect(),
        None => text
            .as_deref()
            .map(|t| super::references::extract(t, &|_, _| None))
            .unwrap_or_default(),
    };
    Ok(NewDocument {
        identifier: DocId(r.identifier),
        title: r.title.trim().to_string(),
        year: r.year,
        degree: r.degree,
        url: r.url,
        unextractable: r.unextractable.unwrap_or(text.is_none()),
        unextractable_reason: None,
        text,
        authors: r.authors,
        advisors: r.advisors,
        departments: r
            .departments
            .into_iter()
            .map(|d| match d {
                DepartmentField::Name(name) => NewDepartment { name, course: None },
                DepartmentField::Full { name, course } => NewDepartment { name, course },
            })
            .collect(),
        citations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_and_texts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("7.txt"),
            "A thesis about paragraph vectors.\n",
        )
        .unwrap();
        let meta = dir.path().join("m.jsonl");
        std::fs::write(
            &meta,
            "{\"identifier\": 7, \"title\": \"Vectors\", \"year\": 2001, \"authors\": [\"A. B\"], \"departments\": [\"Physics\", {\"name\": \"EECS\", \"course\": \"6\"}]}\n\n{\"identifier\": 8, \"title\": \"No text\", \"citations\": [{\"raw_ref\": \"Smith 2000\", \"target\": 7}]}\n",
        )
        .unwrap();
        let docs = read(&meta, Some(dir.path())).unwrap();
        assert_eq!(docs.len(), 2);
        assert!(!docs[0].unextractable);
        assert_eq!(docs[0].departments[1].course.as_deref(), Some("6"));
        assert!(docs[1].unextractable);
        assert_eq!(docs[1].citations[0].cited_identifier, Some(DocId(7)));
    }

    #[test]
    fn texts_may_come_inline() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("m.jsonl");
        std::fs::write(
            &meta,
            "{\"identifier\": 7, \"title\": \"Inline\", \"text\": \"A thesis about vectors.\\n\\nReferences\\n\\n[1] Smith, J. Paragraphs. 2001.\\n\"}\n",
        )
        .unwrap();
        let docs = read(&meta, None).unwrap();
        assert!(!docs[0].unextractable);
        assert!(docs[0]
            .text
            .as_deref()
            .unwrap()
            .starts_with("A thesis about vectors."));
        std::fs::write(
            &meta,
            "{\"identifier\": 7, \"title\": \"Both\", \"text\": \"x\", \"text_file\": \"7.txt\"}\n",
        )
        .unwrap();
        let err = read(&meta, Some(dir.path())).unwrap_err().to_string();
        assert!(
            err.contains("m.jsonl:1: give \"text\" or \"text_file\", not both"),
            "{err}"
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("m.jsonl");
        std::fs::write(
            &meta,
            "{\"identifier\": 1, \"title\": \"x\"}\n{\"identifier\": 2, \"titel\": \"typo\"}\n",
        )
        .unwrap();
        let err = read(&meta, None).unwrap_err().to_string();
        assert!(
            err.contains("m.jsonl:2: invalid record: unknown field `titel`"),
            "{err}"
        );
        std::fs::write(
            &meta,
            "{\"identifier\": 1, \"title\": \"x\"}\n{\"identifier\": 1, \"title\": \"y\"}\n",
        )
        .unwrap();
        assert!(read(&meta, None)
            .unwrap_err()
            .to_string()
            .contains("m.jsonl:2: identifier 1 appears twice"));
        std::fs::write(
            &meta,
            "{\"identifier\": 1, \"title\": \"x\", \"text_file\": \"gone.txt\"}\n",
        )
        .unwrap();
        let err = read(&meta, Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("gone.txt"), "{err}");
    }
}
