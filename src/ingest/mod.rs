//! Turning a collection's source files into `store::NewDocument`s: the IETF RFC series
//! (`rfc`), the generic JSON-lines format any institution can produce (`jsonl`), OAI-PMH
//! responses from a live repository (`oai`, for `hamlet harvest`), and the
//! reference-list extraction both share (`references`).
//!
//! Pure parsing: no database, no HTTP, no tensors. Every error names the file and the line.

pub(crate) mod jsonl;
pub mod oai;
pub(crate) mod references;
pub(crate) mod rfc;

use std::path::{Path, PathBuf};

/// What can be wrong with an import's input. Each variant names the file, and the line where
/// there is one, so the user can go straight to it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: invalid UTF-8 (byte offset {offset}); convert the file to UTF-8")]
    Utf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
    },
    /// Reading stopped because whoever consumed the documents (the database writer) stopped.
    #[error("reading stopped: the database writer failed")]
    Cancelled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn malformed(path: &Path, line: usize, message: impl Into<String>) -> Error {
        Error::Malformed {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// Decodes UTF-8, or says where the first invalid byte is (file, 1-based line, byte offset).
/// A leading byte-order mark is dropped.
pub(crate) fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.drain(..3);
            }
            Ok(s)
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Err(Error::Utf8 {
                path: path.to_path_buf(),
                line,
                offset,
            })
        }
    }
}

/// Reads a whole file as UTF-8 text, with errors naming the file.
pub(crate) fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_utf8(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_errors_name_line_and_offset() {
        let err =
            decode_utf8(Path::new("x.txt"), b"ok\nstill ok\nbad \xe9 here".to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.txt:3: invalid UTF-8 (byte offset 16); convert the file to UTF-8"
        );
    }

    #[test]
    fn bom_is_dropped() {
        assert_eq!(
            decode_utf8(Path::new("x"), "\u{feff}abc".as_bytes().to_vec()).unwrap(),
            "abc"
        );
    }
}
