//! .pdf uploads: the text layer, through the pdf-extract crate. A scanned PDF without a text
//! layer gives no text (`NoText`); OCR is not attempted for uploads.
//!
//! pdf-extract can panic on malformed files; the panic is caught here and reported as a
//! damaged file, so a hostile upload cannot take a worker down.

use super::{ExtractError, Format};

pub(super) fn text(bytes: &[u8]) -> Result<String, ExtractError> {
    let name = Format::Pdf.name();
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

/// Whether the file declares an encryption dictionary in a trailer.
fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}
