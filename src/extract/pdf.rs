//! .pdf uploads: the text layer, through the pdf-extract crate. A scanned PDF without a text
//! layer gives no text (`NoText`); OCR is not attempted for uploads.
//!
//! pdf-extract can panic on malformed files; the panic is caught here and reported as a
//! damaged file, so a hostile upload cannot take a worker down. Before pdf-extract sees the
//! file, a page tree whose /Parent chain loops is refused (it would loop for ever), and so is a
//! Flate stream that inflates past `Limits::max_unzipped_bytes` (lopdf inflates with no limit:
//! a 1 MB PDF held 1 GB of zeros). The sandbox's memory limit (`sandbox`) stays the backstop
//! for what this does not see (LZW, object streams inflated while the file is parsed).

use std::io::Read;

use super::{ExtractError, Format, Limits};

pub(super) fn text(bytes: &[u8], limits: &Limits) -> Result<String, ExtractError> {
    let name = Format::Pdf;
    let checked = std::panic::catch_unwind(|| {
        pdf_extract::Document::load_mem(bytes).map(|doc| {
            if !parent_chains_end(&doc) {
                Err(ExtractError::Corrupt(
                    name,
                    "its page tree loops back on itself".into(),
                ))
            } else if !streams_inflate_within(&doc, limits.max_unzipped_bytes) {
                Err(ExtractError::TooLarge(
                    name,
                    limits.max_unzipped_bytes >> 20,
                ))
            } else {
                Ok(())
            }
        })
    });
    if let Ok(Ok(Err(refused))) = checked {
        return Err(refused);
    }
    let result = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes));
    match result {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) if is_encrypted(bytes) => {
            tracing::debug!(error = %e, "encrypted pdf");
            Err(ExtractError::Encrypted(name))
        }
        Ok(Err(e)) => Err(ExtractError::Corrupt(name, short(&e.to_string()))),
        Err(_) if is_encrypted(bytes) => Err(ExtractError::Encrypted(name)),
        Err(_) => Err(ExtractError::Corrupt(
            name,
            "its structure cannot be read".into(),
        )),
    }
}

/// Whether every page's chain of /Parent references ends (within 64 steps). pdf-extract
/// follows the chain for inherited attributes without noticing a loop, so a page that is its
/// own ancestor (found by fuzzing: scripts/fuzz.sh) kept a worker busy for ever.
fn parent_chains_end(doc: &pdf_extract::Document) -> bool {
    doc.get_pages().values().all(|&page| {
        let mut seen = std::collections::HashSet::new();
        let mut current = page;
        loop {
            if !seen.insert(current) || seen.len() > 64 {
                return false;
            }
            let parent = doc
                .get_dictionary(current)
                .ok()
                .and_then(|d| d.get(b"Parent").ok())
                .and_then(|p| p.as_reference().ok());
            match parent {
                Some(p) => current = p,
                None => return true,
            }
        }
    })
}

/// Whether every stream that is not an image inflates to at most `limit` bytes through its
/// chain of FlateDecode filters, measured without keeping more than one stream's output.
/// Images are left out: pdf-extract never decodes them, and a scan's pages may be large.
fn streams_inflate_within(doc: &pdf_extract::Document, limit: u64) -> bool {
    doc.objects.values().all(|object| {
        let Ok(stream) = object.as_stream() else {
            return true;
        };
        let is_image = stream
            .dict
            .get(b"Subtype")
            .and_then(|s| s.as_name())
            .is_ok_and(|s| s == b"Image");
        let Ok(filters) = stream.filters() else {
            return true;
        };
        if is_image || filters.is_empty() {
            return true;
        }
        let mut data = std::borrow::Cow::Borrowed(stream.content.as_slice());
        for (i, filter) in filters.iter().enumerate() {
            if *filter != b"FlateDecode" {
                return true;
            }
            let mut decoder = flate2::read::ZlibDecoder::new(&data[..]).take(limit + 1);
            if i + 1 == filters.len() {
                // The last filter's output is only counted.
                let n = std::io::copy(&mut decoder, &mut std::io::sink()).unwrap_or(0);
                return n <= limit;
            }
            let mut out = Vec::new();
            let _ = decoder.read_to_end(&mut out);
            if out.len() as u64 > limit {
                return false;
            }
            data = std::borrow::Cow::Owned(out);
        }
        true
    })
}

/// Whether the file declares an encryption dictionary in a trailer.
fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}
