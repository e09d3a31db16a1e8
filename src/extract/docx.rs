//! .docx uploads: the paragraphs of `word/document.xml`, read from the zip archive under a
//! decompressed-size limit and an entry-count limit (zip bombs), with a streaming XML reader
//! (no tree is built, so deep nesting costs nothing).

use std::io::Read;

use quick_xml::events::Event;

use super::{ExtractError, Format, Limits};

const NAME: Format = Format::Docx;

pub(super) fn text(bytes: &[u8], limits: &Limits) -> Result<String, ExtractError> {
    let corrupt = |why: String| ExtractError::Corrupt(NAME, why);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| corrupt(format!("not a readable zip archive: {e}")))?;
    if zip.len() > limits.max_zip_entries {
        return Err(corrupt(format!("{} entries in the archive", zip.len())));
    }
    if zip.by_name("EncryptionInfo").is_ok() {
        return Err(ExtractError::Encrypted(NAME));
    }
    let part = zip
        .by_name("word/document.xml")
        .map_err(|_| corrupt("no word/document.xml inside".into()))?;
    if part.encrypted() {
        return Err(ExtractError::Encrypted(NAME));
    }
    let mut xml = Vec::new();
    // The declared size can lie: the limit is enforced on what is actually inflated.
    part.take(limits.max_unzipped_bytes + 1)
        .read_to_end(&mut xml)
        .map_err(|e| corrupt(format!("the document part cannot be inflated: {e}")))?;
    if xml.len() as u64 > limits.max_unzipped_bytes {
        return Err(ExtractError::TooLarge(
            NAME,
            limits.max_unzipped_bytes >> 20,
        ));
    }
    paragraphs(&xml).map_err(|e| corrupt(format!("its XML is malformed: {e}")))
}

/// The text of WordprocessingML: `w:t` runs, with paragraph ends as newlines and tabs/breaks
/// as whitespace.
fn paragraphs(xml: &[u8]) -> Result<String, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == b"t" => in_text = true,
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => out.push('\n'),
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"tab" => out.push('\t'),
                b"br" | b"cr" => out.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => {
                let s = t
                    .unescape()
                    .unwrap_or_else(|_| String::from_utf8_lossy(&t).into_owned().into());
                out.push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn docx_with(document_xml: &[u8]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("[Content_Types].xml", opts).unwrap();
        w.write_all(b"<Types/>").unwrap();
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(document_xml).unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_paragraphs() {
        let xml = br#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>Clock</w:t></w:r><w:r><w:t xml:space="preserve"> division &amp; power</w:t></w:r></w:p><w:p><w:r><w:t>Second</w:t><w:tab/><w:t>para</w:t></w:r></w:p></w:body></w:document>"#;
        let got = text(&docx_with(xml), &Limits::default()).unwrap();
        assert_eq!(got, "Clock division & power\nSecond\tpara\n");
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let big = vec![b' '; 4 << 20];
        let limits = Limits {
            max_unzipped_bytes: 1 << 20,
            ..Limits::default()
        };
        assert!(matches!(
            text(&docx_with(&big), &limits),
            Err(ExtractError::TooLarge(..))
        ));
        assert!(matches!(
            text(b"PK\x03\x04 not really", &limits),
            Err(ExtractError::Corrupt(..))
        ));
        let no_part = {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            w.start_file("a.txt", zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"hi").unwrap();
            w.finish().unwrap().into_inner()
        };
        assert!(matches!(
            text(&no_part, &limits),
            Err(ExtractError::Corrupt(..))
        ));
        assert!(matches!(
            text(&docx_with(b"<w:p><w:t>unclosed</w:p>"), &limits),
            Err(ExtractError::Corrupt(..))
        ));
    }
}
