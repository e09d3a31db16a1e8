//! Turning an uploaded file into plain text: .txt (charset detected), .docx (paragraphs of the
//! main document part) and .pdf (text layer). Uploads are hostile input: every reader works on
//! bytes already held in memory, under limits (`Limits`), and a failure is an `ExtractError`
//! with a message meant for the reader, never a panic.
//!
//! Knows nothing of HTTP: `web` maps `ExtractError` to a 4xx.

mod docx;
pub mod ocr;
mod pdf;
pub mod sandbox;
mod txt;

use serde::{Deserialize, Serialize};

/// What kind of file an upload is, decided from its bytes first and its name second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    Text,
    Docx,
    Pdf,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Docx => "Word (.docx)",
            Format::Pdf => "PDF",
        }
    }
}

/// Bounds on the work one upload may cause.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest .docx part or PDF stream we decompress, in bytes (zip and Flate bombs stop
    /// here).
    pub max_unzipped_bytes: u64,
    /// Most entries a .docx archive may list.
    pub max_zip_entries: usize,
    /// Most characters of text kept from one upload.
    pub max_chars: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_unzipped_bytes: 64 << 20,
            max_zip_entries: 2_000,
            // As much as the largest plain-text upload (HAMLET_UPLOAD_MAX_BYTES's default).
            max_chars: 4 << 20,
        }
    }
}

/// Why an upload gave no text. Every message is written for the person who uploaded it.
/// Serialisable: the sandbox's child process sends it to the server (`sandbox`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ExtractError {
    #[error("the file is empty")]
    Empty,
    #[error("no text could be found in this {} file", .0.name())]
    NoText(Format),
    #[error("{0} files are not supported: upload a .txt, .docx or .pdf file, or paste the text")]
    Unsupported(String),
    #[error(
        "this {} file is password-protected or encrypted; save an unprotected copy and try again",
        .0.name()
    )]
    Encrypted(Format),
    #[error("this {name} file is damaged or not really a {name} file ({1})", name = .0.name())]
    Corrupt(Format, String),
    /// Unpacking it needs more than a limit: a zip or compression bomb, or simply too big.
    #[error("this {name} file is too large once unpacked (a limit of {1} MB)", name = .0.name())]
    TooLarge(Format, u64),
    /// Reading it ran past the time limit (seconds).
    #[error(
        "reading this {name} file took too long (over {1} s); paste its text instead",
        name = .0.name()
    )]
    TooSlow(Format, u64),
}

/// The text of an upload, and what it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub format: Format,
    pub text: String,
    /// For text files, the character encoding that was detected.
    pub encoding: Option<&'static str>,
}

/// Picks the format: magic bytes win over the file name, so a renamed file is read as what it
/// is; a name with a known non-text extension (.doc, .odt, images...) is refused.
pub fn sniff(bytes: &[u8], filename: Option<&str>) -> Result<Format, ExtractError> {
    let ext = filename
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    if bytes.starts_with(b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return match ext.as_deref() {
            Some("docx") | None => Ok(Format::Docx),
            Some(other) => Err(ExtractError::Unsupported(format!(".{other}"))),
        };
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        // An OLE compound file: a legacy .doc, or a password-protected .docx.
        return match ext.as_deref() {
            Some("docx") => Err(ExtractError::Encrypted(Format::Docx)),
            _ => Err(ExtractError::Unsupported("Legacy Word (.doc)".into())),
        };
    }
    match ext.as_deref() {
        None | Some("txt" | "text" | "md" | "markdown" | "rst" | "tex" | "csv") => Ok(Format::Text),
        Some("docx") => Err(ExtractError::Corrupt(
            Format::Docx,
            "it is not a zip archive".into(),
        )),
        Some("pdf") => Err(ExtractError::Corrupt(
            Format::Pdf,
            "it does not start with %PDF".into(),
        )),
        Some(other) if txt::looks_textual(bytes) && other.len() <= 8 => Ok(Format::Text),
        Some(other) => Err(ExtractError::Unsupported(format!(".{other}"))),
    }
}

/// The text of an uploaded file.
pub fn extract(
    bytes: &[u8],
    filename: Option<&str>,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let format = sniff(bytes, filename)?;
    let (mut text, encoding) = match format {
        Format::Text => {
            let (text, enc) = txt::decode(bytes)?;
            (text, Some(enc))
        }
        Format::Docx => (docx::text(bytes, limits)?, None),
        Format::Pdf => (pdf::text(bytes, limits)?, None),
    };
    if text.len() > limits.max_chars {
        let mut cut = limits.max_chars;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    if !text.chars().any(char::is_alphanumeric) {
        return Err(ExtractError::NoText(format));
    }
    Ok(Extracted {
        format,
        text,
        encoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_prefers_content_over_names() {
        assert_eq!(sniff(b"%PDF-1.4 ...", Some("a.txt")), Ok(Format::Pdf));
        assert_eq!(sniff(b"PK\x03\x04....", Some("a.docx")), Ok(Format::Docx));
        assert_eq!(sniff(b"hello", Some("notes.TXT")), Ok(Format::Text));
        assert_eq!(sniff(b"hello", None), Ok(Format::Text));
        assert!(matches!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0", Some("a.png")),
            Err(ExtractError::Unsupported(_))
        ));
        assert!(matches!(
            sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1], Some("a.doc")),
            Err(ExtractError::Unsupported(_))
        ));
        assert!(matches!(
            sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1], Some("a.docx")),
            Err(ExtractError::Encrypted(_))
        ));
        assert!(matches!(
            sniff(b"plain", Some("a.docx")),
            Err(ExtractError::Corrupt(..))
        ));
    }

    #[test]
    fn empty_and_textless_uploads_are_refused() {
        let l = Limits::default();
        assert_eq!(extract(b"", None, &l), Err(ExtractError::Empty));
        assert_eq!(
            extract(b"  \n\t -- ", Some("a.txt"), &l),
            Err(ExtractError::NoText(Format::Text))
        );
    }

    #[test]
    fn text_is_capped_on_a_char_boundary() {
        let l = Limits {
            max_chars: 5,
            ..Limits::default()
        };
        let got = extract("abcdé".as_bytes(), None, &l).unwrap();
        assert_eq!(got.text, "abcd");
    }
}
