//! .pdf uploads: the text layer, through the pdf-extract crate. A scanned PDF without a text
//! layer gives no text (`NoText`); OCR is not attempted for uploads.
//!
//! pdf-extract can panic on malformed files; the panic is caught here and reported as a
//! damaged file, so a hostile upload cannot take a worker down. A page tree whose /Parent
//! chain loops is refused before pdf-extract sees it (it would loop for ever).

use super::{ExtractError, Format};

pub(super) fn text(bytes: &[u8]) -> Result<String, ExtractError> {
    let name = Format::Pdf;
    let looping = std::panic::catch_unwind(|| {
        pdf_extract::Document::load_mem(bytes).map(|doc| !parent_chains_end(&doc))
    });
    if let Ok(Ok(true)) = looping {
        return Err(ExtractError::Corrupt(
            name,
            "its page tree loops back on itself".into(),
        ));
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

/// Whether the file declares an encryption dictionary in a trailer.
fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}
