//! Result lists and literature reviews as files for a reference manager: BibTeX, RIS and
//! CSL-JSON. A collection document is a thesis (its degree says which kind) or a report, with
//! its url; a cited work carries the fields its reference was parsed into, and the raw
//! reference in a note when nothing was parsed. `?format=` on the GET routes, `"format"` in
//! the POST bodies; the answer is a download with the format's content type.

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response};

use super::discover::{CitedWork, LitReview};
use super::error::{Error, Result};
use super::views::ResultView;

/// A reference-manager format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Bibtex,
    Ris,
    CslJson,
}

impl Format {
    /// `None` for JSON (no format asked, or `json`); 400 for an unknown one.
    pub(crate) fn parse(asked: Option<&str>) -> Result<Option<Format>> {
        match asked.map(|f| f.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("json") => Ok(None),
            Some("bibtex") | Some("bib") => Ok(Some(Format::Bibtex)),
            Some("ris") => Ok(Some(Format::Ris)),
            Some("csljson") | Some("csl-json") | Some("csl") => Ok(Some(Format::CslJson)),
            Some(other) => Err(Error::BadRequest(format!(
                "format must be bibtex, ris, csljson or json, got {other:?}"
            ))),
        }
    }

    fn content_type(self) -> ContentType {
        match self {
            Format::Bibtex => {
                ContentType::new("application", "x-bibtex").with_params(("charset", "utf-8"))
            }
            Format::Ris => ContentType::new("application", "x-research-info-systems")
                .with_params(("charset", "utf-8")),
            Format::CslJson => ContentType::new("application", "vnd.citationstyles.csl+json")
                .with_params(("charset", "utf-8")),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Bibtex => "bib",
            Format::Ris => "ris",
            Format::CslJson => "json",
        }
    }
}

/// What kind of work an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PhdThesis,
    MastersThesis,
    /// A collection document without a thesis degree (an RFC, a report).
    Report,
    /// A work cited by the similar documents, outside the collection.
    Cited,
}

/// One entry, whatever the format.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    kind: Kind,
    title: Option<String>,
    authors: Vec<String>,
    year: Option<i64>,
    degree: Option<String>,
    department: Option<String>,
    url: Option<String>,
    doi: Option<String>,
    note: Option<String>,
}

fn kind_of(degree: Option<&str>) -> Kind {
    let d = degree.unwrap_or("").to_ascii_lowercase();
    if d.contains("ph") && d.contains('d') || d.contains("doctor") || d.contains("sc.d") {
        Kind::PhdThesis
    } else if d.starts_with("s.m")
        || d.starts_with("m.")
        || d.contains("master")
        || d.contains("m.eng")
        || d.starts_with("s.b")
        || d.contains("bachelor")
    {
        Kind::MastersThesis
    } else {
        Kind::Report
    }
}

impl Entry {
    fn of_result(r: &ResultView) -> Entry {
        Entry {
            key: format!("hamlet{}", r.identifier.0),
            kind: kind_of(r.degree.as_deref()),
            title: Some(r.title.clone()),
            authors: r.authors.iter().map(|a| a.name.clone()).collect(),
            year: r.year,
            degree: r.degree.clone(),
            department: r.departments.first().cloned(),
            url: r.url.clone(),
            doi: None,
            note: None,
        }
    }

    fn of_cited(w: &CitedWork, n: usize) -> Entry {
        let title = w.collection_title.clone().or_else(|| w.title.clone());
        let parsed = title.is_some() || w.year.is_some() || w.doi.is_some();
        Entry {
            key: match w.identifier {
                Some(id) => format!("hamlet{}", id.0),
                None => format!("cited{n}"),
            },
            kind: Kind::Cited,
            title,
            authors: w.author.iter().cloned().collect(),
            year: w.year,
            degree: None,
            department: None,
            url: w.url.clone(),
            doi: w.doi.clone(),
            note: (!parsed || w.identifier.is_none()).then(|| w.raw_ref.clone()),
        }
    }
}

/// A file to download.
pub(crate) struct Export {
    format: Format,
    name: String,
    body: String,
}

impl Export {
    /// A result list as `format`, downloaded as `hamlet-NAME.EXT`.
    pub(crate) fn results(format: Format, name: &str, results: &[ResultView]) -> Export {
        let entries: Vec<Entry> = results.iter().map(Entry::of_result).collect();
        Export::of(format, name, &entries)
    }

    /// A literature review: the ranked cited works, then the similar documents.
    pub(crate) fn lit_review(format: Format, review: &LitReview) -> Export {
        let mut entries: Vec<Entry> = review
            .cited_works
            .iter()
            .enumerate()
            .map(|(n, w)| Entry::of_cited(w, n + 1))
            .collect();
        let mut seen: std::collections::HashSet<String> =
            entries.iter().map(|e| e.key.clone()).collect();
        for r in &review.results {
            let e = Entry::of_result(r);
            if seen.insert(e.key.clone()) {
                entries.push(e);
            }
        }
        Export::of(format, "lit-review", &entries)
    }

    fn of(format: Format, name: &str, entries: &[Entry]) -> Export {
        let body = match format {
            Format::Bibtex => bibtex(entries),
            Format::Ris => ris(entries),
            Format::CslJson => csl_json(entries),
        };
        Export {
            format,
            name: format!("hamlet-{name}.{}", format.extension()),
            body,
        }
    }
}

impl<'r> Responder<'r, 'static> for Export {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .status(Status::Ok)
            .header(self.format.content_type())
            .header(Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.name),
            ))
            .sized_body(self.body.len(), std::io::Cursor::new(self.body))
            .ok()
    }
}

/// A BibTeX value: braces balanced away, LaTeX's special characters escaped.
fn bib_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '{' => out.push('('),
            '}' => out.push(')'),
            '\\' => out.push('/'),
            '&' | '%' | '$' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '~' | '^' => out.push(' '),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn bibtex(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let kind = match e.kind {
            Kind::PhdThesis => "phdthesis",
            Kind::MastersThesis => "mastersthesis",
            Kind::Report => "techreport",
            Kind::Cited => "misc",
        };
        out.push_str(&format!("@{kind}{{{},\n", e.key));
        let mut field = |name: &str, value: &str| {
            out.push_str(&format!("  {name} = {{{}}},\n", bib_escape(value)));
        };
        if let Some(t) = &e.title {
            field("title", t);
        }
        if !e.authors.is_empty() {
            field("author", &e.authors.join(" and "));
        }
        if let Some(y) = e.year {
            field("year", &y.to_string());
        }
        match e.kind {
            Kind::PhdThesis | Kind::MastersThesis => {
                if let Some(d) = &e.department {
                    field("school", d);
                }
                if let Some(d) = &e.degree {
                    field("type", d);
                }
            }
            Kind::Report => {
                if let Some(d) = &e.department {
                    field("institution", d);
                }
                if let Some(d) = &e.degree {
                    field("type", d);
                }
            }
            Kind::Cited => {}
        }
        if let Some(u) = &e.url {
            field("url", u);
        }
        if let Some(d) = &e.doi {
            field("doi", d);
        }
        if let Some(n) = &e.note {
            field("note", n);
        }
        out.push_str("}\n\n");
    }
    out
}

fn ris(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let mut tag = |t: &str, v: &str| {
            let v = v.replace(['\r', '\n'], " ");
            out.push_str(&format!("{t}  - {v}\r\n"));
        };
        tag(
            "TY",
            match e.kind {
                Kind::PhdThesis | Kind::MastersThesis => "THES",
                Kind::Report => "RPRT",
                Kind::Cited => "GEN",
            },
        );
        tag("ID", &e.key);
        if let Some(t) = &e.title {
            tag("TI", t);
        }
        for a in &e.authors {
            tag("AU", a);
        }
        if let Some(y) = e.year {
            tag("PY", &y.to_string());
        }
        if let Some(d) = &e.department {
            tag("PB", d);
        }
        if let Some(d) = &e.degree {
            tag("M3", d);
        }
        if let Some(u) = &e.url {
            tag("UR", u);
        }
        if let Some(d) = &e.doi {
            tag("DO", d);
        }
        if let Some(n) = &e.note {
            tag("N1", n);
        }
        tag("ER", "");
    }
    out
}

fn csl_json(entries: &[Entry]) -> String {
    let items: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let mut item = serde_json::Map::new();
            item.insert("id".into(), e.key.clone().into());
            item.insert(
                "type".into(),
                match e.kind {
                    Kind::PhdThesis | Kind::MastersThesis => "thesis",
                    Kind::Report => "report",
                    Kind::Cited => "document",
                }
                .into(),
            );
            if let Some(t) = &e.title {
                item.insert("title".into(), t.clone().into());
            }
            if !e.authors.is_empty() {
                item.insert(
                    "author".into(),
                    e.authors
                        .iter()
                        .map(|a| serde_json::json!({ "literal": a }))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            if let Some(y) = e.year {
                item.insert("issued".into(), serde_json::json!({ "date-parts": [[y]] }));
            }
            if let Some(d) = &e.department {
                item.insert("publisher".into(), d.clone().into());
            }
            if let Some(d) = &e.degree {
                item.insert("genre".into(), d.clone().into());
            }
            if let Some(u) = &e.url {
                item.insert("URL".into(), u.clone().into());
            }
            if let Some(d) = &e.doi {
                item.insert("DOI".into(), d.clone().into());
            }
            if let Some(n) = &e.note {
                item.insert("note".into(), n.clone().into());
            }
            serde_json::Value::Object(item)
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named_or_refused() {
        assert_eq!(Format::parse(None).unwrap(), None);
        assert_eq!(Format::parse(Some("json")).unwrap(), None);
        assert_eq!(Format::parse(Some("BibTeX")).unwrap(), Some(Format::Bibtex));
        assert_eq!(
            Format::parse(Some("csl-json")).unwrap(),
            Some(Format::CslJson)
        );
        assert!(matches!(
            Format::parse(Some("endnote")),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn degrees_pick_the_entry_type() {
        assert_eq!(kind_of(Some("Ph. D.")), Kind::PhdThesis);
        assert_eq!(kind_of(Some("Sc.D.")), Kind::PhdThesis);
        assert_eq!(kind_of(Some("S.M.")), Kind::MastersThesis);
        assert_eq!(kind_of(Some("Proposed Standard")), Kind::Report);
        assert_eq!(kind_of(None), Kind::Report);
    }

    #[test]
    fn bibtex_values_cannot_break_out_of_their_braces() {
        assert_eq!(bib_escape("a {b} 50% & c_d\\"), "a (b) 50\\% \\& c\\_d/");
    }
}
