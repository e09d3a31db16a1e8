//! Plain-text uploads: the charset is detected (a byte-order mark, valid UTF-8, then
//! chardetng's guess over legacy encodings), never assumed.

use encoding_rs::{Encoding, UTF_8};

use super::ExtractError;

/// Decodes `bytes`, returning the text and the name of the encoding it was read as.
pub(super) fn decode(bytes: &[u8]) -> Result<(String, &'static str), ExtractError> {
    let encoding = if let Some((enc, _)) = Encoding::for_bom(bytes) {
        enc
    } else if std::str::from_utf8(bytes).is_ok() {
        UTF_8
    } else {
        if !looks_textual(bytes) {
            return Err(ExtractError::Unsupported("Binary".into()));
        }
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(bytes, true);
        detector.guess(None, true)
    };
    // decode() strips a BOM and replaces malformed sequences rather than failing.
    let (text, used, _had_errors) = encoding.decode(bytes);
    let text = text.replace('\0', "");
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
        .count();
    if controls * 20 > text.chars().count().max(1) {
        return Err(ExtractError::Unsupported("Binary".into()));
    }
    Ok((text, used.name()))
}

/// True when `bytes` has no NUL bytes and few control characters: text in some 8-bit
/// encoding rather than a binary format.
pub(super) fn looks_textual(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.contains(&0) {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    controls * 20 <= sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_common_encodings() {
        assert_eq!(
            decode("héllo".as_bytes()).unwrap(),
            ("héllo".into(), "UTF-8")
        );
        let (t, e) = decode(b"\xEF\xBB\xBFbom").unwrap();
        assert_eq!((t.as_str(), e), ("bom", "UTF-8"));
        let (t, e) = decode(b"\xFF\xFEh\0i\0").unwrap();
        assert_eq!((t.as_str(), e), ("hi", "UTF-16LE"));
        // Latin-1 / windows-1252 French: not valid UTF-8, detected rather than mangled.
        let latin = b"Le syst\xe8me de r\xe9f\xe9rence est d\xe9crit dans la th\xe8se, \xe0 la page suivante.";
        let (t, e) = decode(latin).unwrap();
        assert!(t.contains("système de référence"), "{t}");
        assert_eq!(e, "windows-1252");
    }

    #[test]
    fn binary_is_refused() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend((0..200u8).map(|i| i % 7));
        assert!(decode(&png).is_err());
    }
}
