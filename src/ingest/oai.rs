//! OAI-PMH 2.0 responses (`hamlet harvest`): Identify, ListMetadataFormats and ListRecords,
//! with records in `oai_dc` or DSpace's METS/MODS, read into what a thesis needs (title,
//! creators, advisors, departments, copyright year, degree, handle, PDF links).
//!
//! Pure parsing: the HTTP side is `cli::harvest`. Elements are matched by local name, so any
//! namespace prefix works; unknown elements are skipped.

use quick_xml::events::{BytesStart, Event};

use crate::store::{DocId, NewDepartment, NewDocument};

/// One OAI-PMH response, whatever the verb.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Response {
    pub response_date: String,
    /// `<error code="...">message</error>`: the first, when the repository answered with any.
    pub error: Option<OaiError>,
    /// Identify: `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`.
    pub granularity: Option<String>,
    pub repository_name: Option<String>,
    /// ListMetadataFormats: the prefixes offered.
    pub formats: Vec<String>,
    /// ListRecords: the records of this page.
    pub records: Vec<Record>,
    /// A non-empty resumption token: more pages follow.
    pub resumption_token: Option<String>,
    /// The resumption token's completeListSize, when the repository says.
    pub complete_list_size: Option<u64>,
    /// Whether the body was an OAI-PMH response at all (its root element).
    pub is_oai: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OaiError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for OaiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OAI-PMH error {}: {}", self.code, self.message.trim())
    }
}

/// One record of a ListRecords page.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Record {
    /// The OAI identifier, e.g. `oai:dspace.mit.edu:1721.1/33360`.
    pub oai_identifier: String,
    pub datestamp: String,
    /// `<header status="deleted">`: the repository withdrew it.
    pub deleted: bool,
    pub title: Option<String>,
    pub creators: Vec<String>,
    pub advisors: Vec<String>,
    pub departments: Vec<String>,
    /// Every date given (copyright, issued, accessioned, ...), as written.
    pub dates: Vec<String>,
    /// A MODS copyrightDate, preferred over the other dates for the year.
    pub copyright_date: Option<String>,
    /// Free-text descriptions and notes (DSpace puts "Thesis (Ph. D.)--..." there).
    pub notes: Vec<String>,
    /// The record's landing page (the handle URL), when one is given.
    pub url: Option<String>,
    /// Links to the document's PDF, best first.
    pub pdf_urls: Vec<String>,
}

/// The document identifier of an OAI identifier: the handle suffix when it is a number
/// (`oai:dspace.mit.edu:1721.1/33360` -> 33360, as the original's identifiers), otherwise a
/// stable 50-bit hash of the whole identifier above 10^15, clear of any handle suffix.
pub fn document_id(oai_identifier: &str) -> DocId {
    let tail = oai_identifier.rsplit(['/', ':']).next().unwrap_or("");
    if let Ok(n) = tail.parse::<i64>() {
        if (1..1_000_000_000_000_000).contains(&n) {
            return DocId(n);
        }
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(oai_identifier.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    DocId(1_000_000_000_000_000 + (u64::from_be_bytes(bytes) >> 14) as i64)
}

impl Record {
    /// The year: the copyright date's, else the earliest year among the dates (a thesis's
    /// copyright year comes before its accession).
    pub fn year(&self) -> Option<i64> {
        let year_of = |s: &str| {
            s.trim()
                .get(..4)
                .and_then(|y| y.parse::<i64>().ok())
                .filter(|y| (1000..=9999).contains(y))
        };
        self.copyright_date
            .as_deref()
            .and_then(year_of)
            .or_else(|| self.dates.iter().filter_map(|d| year_of(d)).min())
    }

    /// The degree, from DSpace's "Thesis (Ph. D.)--Massachusetts Institute of Technology, ...".
    pub fn degree(&self) -> Option<String> {
        self.notes.iter().find_map(|n| {
            let start = n.find("Thesis (")? + "Thesis (".len();
            let len = n[start..].find(')')?;
            let degree = n[start..start + len].trim();
            (!degree.is_empty()).then(|| degree.to_string())
        })
    }

    /// The record as a document, with its text or the reason there is none.
    pub fn document(&self, text: Option<String>, reason: Option<String>) -> NewDocument {
        let citations = text
            .as_deref()
            .map(|t| super::references::extract(t, &|_, _| None))
            .unwrap_or_default();
        NewDocument {
            identifier: document_id(&self.oai_identifier),
            title: self
                .title
                .clone()
                .unwrap_or_else(|| format!("Untitled ({})", self.oai_identifier)),
            year: self.year(),
            degree: self.degree(),
            url: self.url.clone().or_else(|| self.pdf_urls.first().cloned()),
            unextractable: text.is_none(),
            unextractable_reason: if text.is_none() { reason } else { None },
            text,
            authors: self.creators.clone(),
            advisors: self.advisors.clone(),
            departments: self
                .departments
                .iter()
                .map(|name| NewDepartment {
                    name: name.clone(),
                    course: None,
                })
                .collect(),
            citations,
        }
    }
}

/// Whether an oai_dc contributor names a department rather than a person (DSpace writes
/// both as dc:contributor: "Massachusetts Institute of Technology. Department of Physics.").
fn is_department(s: &str) -> bool {
    let l = s.to_lowercase();
    [
        "department",
        "dept.",
        "school of",
        "institute of",
        "program in",
        "laboratory",
        "center for",
        "university",
        "college",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A MODS `<name>` being read.
#[derive(Default)]
struct Name {
    parts: Vec<String>,
    role: Option<String>,
}

/// Parses one OAI-PMH response body.
pub fn parse(xml: &str) -> Result<Response, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    // Untrimmed: "A <![CDATA[thesis]]>" keeps its space; `clean` collapses whitespace.
    let mut out = Response::default();
    let mut stack: Vec<String> = Vec::new();
    let mut record: Option<Record> = None;
    let mut name: Option<Name> = None;
    // The current METS fileGrp's USE and file's MIMETYPE.
    let mut file_group_use = String::new();
    let mut file_mime = String::new();
    // The current mods:identifier's type, and oai_dc/mods element's text being gathered.
    let mut identifier_type = String::new();
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = local(e);
                open(
                    e,
                    &local,
                    &mut out,
                    &mut record,
                    &mut name,
                    &mut file_group_use,
                    &mut file_mime,
                    &mut identifier_type,
                )?;
                stack.push(local);
                text.clear();
                if matches!(event, Event::Empty(_)) {
                    // An empty element closes at once, with no text.
                    close(
                        &stack,
                        "",
                        &mut out,
                        &mut record,
                        &mut name,
                        &identifier_type,
                    );
                    stack.pop();
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| format!("bad XML text: {e}"))?;
                text.push_str(&s);
            }
            Event::CData(c) => text.push_str(&String::from_utf8_lossy(&c.into_inner())),
            Event::End(_) => {
                let gathered = clean(&text);
                close(
                    &stack,
                    &gathered,
                    &mut out,
                    &mut record,
                    &mut name,
                    &identifier_type,
                );
                stack.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn local(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attr(e: &BytesStart, want: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == want.as_bytes()).then(|| {
            a.unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_default()
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn open(
    e: &BytesStart,
    local: &str,
    out: &mut Response,
    record: &mut Option<Record>,
    name: &mut Option<Name>,
    file_group_use: &mut String,
    file_mime: &mut String,
    identifier_type: &mut String,
) -> Result<(), String> {
    match local {
        "OAI-PMH" => out.is_oai = true,
        "error" if out.error.is_none() => {
            out.error = Some(OaiError {
                code: attr(e, "code").unwrap_or_else(|| "unknown".into()),
                message: String::new(),
            })
        }
        "record" => *record = Some(Record::default()),
        "header" => {
            if let Some(r) = record.as_mut() {
                r.deleted = attr(e, "status").as_deref() == Some("deleted");
            }
        }
        "resumptionToken" => {
            out.complete_list_size = attr(e, "completeListSize").and_then(|n| n.parse().ok());
        }
        "name" => *name = Some(Name::default()),
        "fileGrp" => *file_group_use = attr(e, "USE").unwrap_or_default().to_uppercase(),
        "file" => *file_mime = attr(e, "MIMETYPE").unwrap_or_default().to_lowercase(),
        "FLocat" => {
            let ignored = ["THUMBNAIL", "TEXT", "LICENSE", "CC-LICENSE", "METADATA"];
            if let (Some(r), Some(href)) = (record.as_mut(), attr(e, "href")) {
                let pdf = file_mime == "application/pdf"
                    || href
                        .to_lowercase()
                        .split('?')
                        .next()
                        .unwrap_or("")
                        .ends_with(".pdf");
                if pdf && !ignored.contains(&file_group_use.as_str()) {
                    r.pdf_urls.push(href);
                }
            }
        }
        "identifier" => *identifier_type = attr(e, "type").unwrap_or_default(),
        _ => {}
    }
    Ok(())
}

fn close(
    stack: &[String],
    text: &str,
    out: &mut Response,
    record: &mut Option<Record>,
    name: &mut Option<Name>,
    identifier_type: &str,
) {
    let Some(local) = stack.last().map(String::as_str) else {
        return;
    };
    let parent = stack.len().checked_sub(2).map_or("", |i| stack[i].as_str());
    let in_header = parent == "header";
    match local {
        "responseDate" => out.response_date = text.to_string(),
        "error" => {
            if let Some(err) = out.error.as_mut() {
                if err.message.is_empty() {
                    err.message = text.to_string();
                }
            }
        }
        "granularity" => out.granularity = Some(text.to_string()),
        "repositoryName" => out.repository_name = Some(text.to_string()),
        "metadataPrefix" if parent == "metadataFormat" => out.formats.push(text.to_string()),
        "resumptionToken" => out.resumption_token = (!text.is_empty()).then(|| text.to_string()),
        "record" => {
            if let Some(r) = record.take() {
                out.records.push(r);
            }
        }
        _ => {}
    }
    // MODS names: gather parts and the role, file the name when it closes.
    if let Some(n) = name.as_mut() {
        match local {
            "namePart" if !text.is_empty() => n.parts.push(text.to_string()),
            "roleTerm" if !text.is_empty() => n.role = Some(text.to_lowercase()),
            _ => {}
        }
    }
    let Some(r) = record.as_mut() else {
        if local == "name" {
            *name = None;
        }
        return;
    };
    if local == "name" {
        if let Some(n) = name.take() {
            let full = n.parts.join(" ");
            if !full.is_empty() {
                match n.role.as_deref() {
                    Some(role) if role.contains("advisor") || role.contains("supervisor") => {
                        r.advisors.push(full)
                    }
                    Some(role)
                        if role.contains("department") || role.contains("degree grantor") =>
                    {
                        r.departments.push(full)
                    }
                    Some(role) if role.contains("author") || role.contains("creator") => {
                        r.creators.push(full)
                    }
                    None => r.creators.push(full),
                    Some(_) => {}
                }
            }
        }
        return;
    }
    if text.is_empty() {
        return;
    }
    let is_url = text.starts_with("http://") || text.starts_with("https://");
    let looks_pdf =
        is_url && (text.to_lowercase().ends_with(".pdf") || text.contains("/bitstream/"));
    match local {
        "identifier" if in_header => r.oai_identifier = text.to_string(),
        "datestamp" if in_header => r.datestamp = text.to_string(),
        // oai_dc (dc:*) and MODS (mods:*) share these local names.
        "title" if r.title.is_none() && parent != "relatedItem" => r.title = Some(text.to_string()),
        "creator" => r.creators.push(text.to_string()),
        "contributor" => {
            if is_department(text) {
                r.departments.push(text.trim_end_matches('.').to_string())
            } else {
                r.advisors.push(text.to_string())
            }
        }
        "date" | "dateIssued" | "dateAccessioned" | "dateAvailable" | "dateCreated" => {
            r.dates.push(text.to_string())
        }
        "copyrightDate" => r.copyright_date = Some(text.to_string()),
        "description" | "note" | "abstract" | "genre" | "type" => r.notes.push(text.to_string()),
        "identifier" | "relation" if looks_pdf => push_new(&mut r.pdf_urls, text),
        "identifier"
            if is_url
                && r.url.is_none()
                && (identifier_type.is_empty() || identifier_type == "uri") =>
        {
            r.url = Some(text.to_string())
        }
        _ => {}
    }
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|u| u == item) {
        list.push(item.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DC_PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2026-11-25T10:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">https://example.org/oai</request>
  <ListRecords>
    <record>
      <header><identifier>oai:example.org:1721.1/33360</identifier>
        <datestamp>2026-01-02T03:04:05Z</datestamp><setSpec>hdl_1721.1_7582</setSpec></header>
      <metadata>
        <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
                   xmlns:dc="http://purl.org/dc/elements/1.1/">
          <dc:title>Paragraph vectors &amp; theses</dc:title>
          <dc:creator>Smith, Jane</dc:creator>
          <dc:contributor>Doe, John</dc:contributor>
          <dc:contributor>Massachusetts Institute of Technology. Department of Physics.</dc:contributor>
          <dc:date>2006-08-25T18:55:21Z</dc:date>
          <dc:date>2005</dc:date>
          <dc:identifier>http://hdl.handle.net/1721.1/33360</dc:identifier>
          <dc:identifier>https://example.org/bitstream/1721.1/33360/1/thesis.pdf</dc:identifier>
          <dc:description>Thesis (Ph. D.)--Massachusetts Institute of Technology, Dept. of Physics, 2005.</dc:description>
        </oai_dc:dc>
      </metadata>
    </record>
    <record><header status="deleted"><identifier>oai:example.org:1721.1/9</identifier>
      <datestamp>2026-01-03</datestamp></header></record>
    <resumptionToken completeListSize="12" cursor="0">token-1</resumptionToken>
  </ListRecords>
</OAI-PMH>"#;

    #[test]
    fn reads_an_oai_dc_page() {
        let page = parse(DC_PAGE).unwrap();
        assert!(page.is_oai);
        assert_eq!(page.response_date, "2026-11-25T10:00:00Z");
        assert_eq!(page.resumption_token.as_deref(), Some("token-1"));
        assert_eq!(page.complete_list_size, Some(12));
        assert_eq!(page.records.len(), 2);
        let r = &page.records[0];
        assert_eq!(r.title.as_deref(), Some("Paragraph vectors & theses"));
        assert_eq!(r.creators, ["Smith, Jane"]);
        assert_eq!(r.advisors, ["Doe, John"]);
        assert_eq!(
            r.departments,
            ["Massachusetts Institute of Technology. Department of Physics"]
        );
        assert_eq!(r.year(), Some(2005));
        assert_eq!(r.degree().as_deref(), Some("Ph. D."));
        assert_eq!(r.url.as_deref(), Some("http://hdl.handle.net/1721.1/33360"));
        assert_eq!(
            r.pdf_urls,
            ["https://example.org/bitstream/1721.1/33360/1/thesis.pdf"]
        );
        assert_eq!(document_id(&r.oai_identifier), DocId(33360));
        assert!(page.records[1].deleted);
        assert_eq!(document_id(&page.records[1].oai_identifier), DocId(9));
    }

    #[test]
    fn reads_mets_with_mods_and_the_pdf_bitstream() {
        let xml = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-11-25T10:00:00Z</responseDate><ListRecords><record>
<header><identifier>oai:x:1721.1/5</identifier><datestamp>2026-01-01T00:00:00Z</datestamp></header>
<metadata><mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink">
 <mets:dmdSec><mets:mdWrap MDTYPE="MODS"><mets:xmlData><mods:mods xmlns:mods="http://www.loc.gov/mods/v3">
  <mods:name><mods:role><mods:roleTerm type="text">advisor</mods:roleTerm></mods:role><mods:namePart>Doe, John</mods:namePart></mods:name>
  <mods:name><mods:role><mods:roleTerm type="text">author</mods:roleTerm></mods:role><mods:namePart>Smith, Jane</mods:namePart></mods:name>
  <mods:name><mods:role><mods:roleTerm type="text">department</mods:roleTerm></mods:role><mods:namePart>Dept. of Physics</mods:namePart></mods:name>
  <mods:originInfo><mods:dateIssued encoding="iso8601">2006</mods:dateIssued><mods:copyrightDate encoding="iso8601">2005</mods:copyrightDate></mods:originInfo>
  <mods:identifier type="uri">http://hdl.handle.net/1721.1/5</mods:identifier>
  <mods:titleInfo><mods:title>A <![CDATA[thesis]]></mods:title></mods:titleInfo>
  <mods:note>Thesis (S.M.)--Massachusetts Institute of Technology</mods:note>
 </mods:mods></mets:xmlData></mets:mdWrap></mets:dmdSec>
 <mets:fileSec>
  <mets:fileGrp USE="THUMBNAIL"><mets:file MIMETYPE="image/jpeg"><mets:FLocat LOCTYPE="URL" xlink:href="http://x/t.jpg"/></mets:file></mets:fileGrp>
  <mets:fileGrp USE="ORIGINAL"><mets:file MIMETYPE="application/pdf"><mets:FLocat LOCTYPE="URL" xlink:href="http://x/bitstream/5/1/a.pdf?sequence=1"/></mets:file></mets:fileGrp>
 </mets:fileSec></mets:mets></metadata></record></ListRecords></OAI-PMH>"#;
        let page = parse(xml).unwrap();
        let r = &page.records[0];
        assert_eq!(r.title.as_deref(), Some("A thesis"));
        assert_eq!(r.creators, ["Smith, Jane"]);
        assert_eq!(r.advisors, ["Doe, John"]);
        assert_eq!(r.departments, ["Dept. of Physics"]);
        assert_eq!(r.year(), Some(2005));
        assert_eq!(r.degree().as_deref(), Some("S.M."));
        assert_eq!(r.url.as_deref(), Some("http://hdl.handle.net/1721.1/5"));
        assert_eq!(r.pdf_urls, ["http://x/bitstream/5/1/a.pdf?sequence=1"]);
        assert_eq!(page.resumption_token, None);
    }

    #[test]
    fn errors_identify_and_formats() {
        let err = parse(r#"<OAI-PMH><responseDate>d</responseDate><error code="badResumptionToken">The token expired.</error></OAI-PMH>"#).unwrap();
        assert_eq!(
            err.error.unwrap().to_string(),
            "OAI-PMH error badResumptionToken: The token expired."
        );
        let id = parse("<OAI-PMH><Identify><repositoryName>R</repositoryName><granularity>YYYY-MM-DD</granularity></Identify></OAI-PMH>").unwrap();
        assert_eq!(id.granularity.as_deref(), Some("YYYY-MM-DD"));
        let f = parse("<OAI-PMH><ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix></metadataFormat><metadataFormat><metadataPrefix>mets</metadataPrefix></metadataFormat></ListMetadataFormats></OAI-PMH>").unwrap();
        assert_eq!(f.formats, ["oai_dc", "mets"]);
        assert!(!parse("<html><body>Not here</body></html>").unwrap().is_oai);
        assert!(parse("<OAI-PMH><unclosed></OAI-PMH>").is_err());
    }

    #[test]
    fn identifiers_without_a_number_get_a_stable_hash() {
        let a = document_id("oai:arXiv.org:cs/abc");
        assert_eq!(a, document_id("oai:arXiv.org:cs/abc"));
        assert!(a.0 > 1_000_000_000_000_000 && a.0 < (1 << 53) + 1_000_000_000_000_000);
        assert_ne!(a, document_id("oai:arXiv.org:cs/abd"));
    }
}
