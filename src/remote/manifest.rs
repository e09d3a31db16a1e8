//! The manifest `hamlet publish` writes beside the models it publishes: which model file is
//! current and its sha256. A server whose `MODEL_URL` names a manifest (a `.json` URL)
//! follows it, and notices a new model when the manifest's sha256 changes.

use serde::{Deserialize, Serialize};

use super::{resolve, Error, Remote};

pub const FORMAT: &str = "hamlet-model-manifest";
/// Manifests are tiny; anything larger is not one.
const MAX_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The model file, relative to the manifest or an absolute URL.
    pub model: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub published_at: String,
    /// The training corpus's fingerprint, for people reading the manifest.
    pub corpus_sha256: String,
    pub documents: usize,
}

/// Whether `MODEL_URL` names a manifest rather than a model file.
pub fn is_manifest(url: &str) -> bool {
    url.split(['?', '#'])
        .next()
        .is_some_and(|p| p.ends_with(".json"))
}

/// What a model source currently designates: the model's URL and sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub sha256: String,
}

/// Reads the manifest at `url` and says which model it designates.
pub async fn read(remote: &Remote, url: &str) -> Result<(Manifest, Target), Error> {
    let bytes = remote.read_small(url, MAX_BYTES).await?;
    let invalid = |message: String| Error::Invalid {
        url: url.to_string(),
        message,
    };
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not a model manifest: {e}")))?;
    if m.format != FORMAT || m.version != 1 {
        return Err(invalid(format!(
            "format {:?} version {} is not {FORMAT} version 1",
            m.format, m.version
        )));
    }
    if !is_sha256(&m.sha256) {
        return Err(invalid(format!(
            "sha256 {:?} is not 64 hex digits",
            m.sha256
        )));
    }
    let target = Target {
        url: resolve(url, &m.model),
        sha256: m.sha256.to_ascii_lowercase(),
    };
    Ok((m, target))
}

/// 64 hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_json_urls() {
        assert!(is_manifest("s3://b/hamlet/manifest.json"));
        assert!(is_manifest("https://h/m.json?X-Amz-Signature=1"));
        assert!(!is_manifest("https://h/model.safetensors"));
    }
}
