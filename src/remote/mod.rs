//! Objects addressed by URL (https://, http://, file://, s3://bucket/key): model files fetched
//! streamed and hashed into a cache, resumed with HTTP Range after an interruption, retried
//! with backoff, and never handed over unless their sha256 matches; small objects (manifests)
//! read whole; and objects written (file://, s3://) by `hamlet publish`.

pub mod manifest;
pub mod s3;

pub use s3::AwsEnv;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where an object lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Http(String),
    File(PathBuf),
    S3 { bucket: String, key: String },
}

impl Location {
    /// Parses a URL; a bare path is a file.
    pub fn parse(url: &str) -> Result<Location, Error> {
        let bad = || Error::BadUrl(url.to_string());
        if url.starts_with("https://") || url.starts_with("http://") {
            reqwest::Url::parse(url).map_err(|_| bad())?;
            Ok(Location::Http(url.to_string()))
        } else if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(bad());
            }
            Ok(Location::File(PathBuf::from(path)))
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').ok_or_else(bad)?;
            if bucket.is_empty() || key.is_empty() {
                return Err(bad());
            }
            Ok(Location::S3 {
                bucket: bucket.into(),
                key: key.into(),
            })
        } else if url.contains("://") || url.is_empty() {
            Err(bad())
        } else {
            Ok(Location::File(PathBuf::from(url)))
        }
    }
}

/// `rel` read against `base`: an absolute URL stays as it is; a relative path replaces the
/// last segment of `base` (as a browser resolves a link).
pub fn resolve(base: &str, rel: &str) -> String {
    if rel.contains("://") || rel.starts_with('/') {
        return rel.to_string();
    }
    match base.rfind('/') {
        Some(i) => format!("{}{rel}", &base[..=i]),
        None => rel.to_string(),
    }
}

/// A URL as logs and messages show it: without its query, which can carry a signature.
pub fn shown(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

/// What can go wrong reaching an object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0:?} is not a supported URL (expected https://, http://, file:// or s3://bucket/key)"
    )]
    BadUrl(String),
    #[error("{url}: the server answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: no data for {secs} s: the connection stalled")]
    Stalled { url: String, secs: u64 },
    #[error("{url}: sha256 is {got}, expected {want}; the file is not used")]
    Checksum {
        url: String,
        got: String,
        want: String,
    },
    #[error("{url}: larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("S3 credentials: {0}")]
    Credentials(String),
    #[error("{url}: {message}")]
    Invalid { url: String, message: String },
}

impl Error {
    /// Whether the object is not there (HTTP or S3 404, no such file): for a manifest, "no
    /// model is published yet".
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Status { status, .. } => *status == 404,
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// Whether trying again could help: network trouble and server errors, not a 404 or a
    /// wrong checksum.
    pub fn retryable(&self) -> bool {
        match self {
            Error::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Error::Transport { .. } | Error::Stalled { .. } | Error::Credentials(_) => true,
            _ => false,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How fetches behave: `MODEL_CACHE_DIR`, `MODEL_FETCH_RETRIES`, `MODEL_FETCH_STALL_SECS`.
#[derive(Debug, Clone)]
pub struct FetchOpts {
    pub cache_dir: PathBuf,
    pub retries: u32,
    pub stall: Duration,
    /// The first wait between attempts; each later wait doubles, up to 30 s.
    pub backoff: Duration,
}

/// A file fetched into the cache and checked.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// False when a cached copy with the right hash was reused.
    pub downloaded: bool,
}

/// An exclusive lock (flock) on one model's entry in the cache directory, held while it is
/// fetched and (`Remote::fetch_and`) read. Several processes may share the directory
/// (`heroku local web=2`, containers with one volume): one downloads while the others wait and
/// then find the file, and no one prunes a file another is writing or reading.
#[derive(Debug)]
struct CacheLock {
    _file: std::fs::File,
}

impl CacheLock {
    fn path(dir: &Path, sha256: &str) -> PathBuf {
        dir.join(format!("{sha256}.lock"))
    }

    /// Waits for the lock (in a blocking thread: another process may hold it for a download).
    async fn acquire(dir: &Path, sha256: &str) -> Result<CacheLock, Error> {
        let path = CacheLock::path(dir, sha256);
        let waited = path.clone();
        tokio::task::spawn_blocking(move || CacheLock::take(&waited, true))
            .await
            .map_err(|e| io(&path)(std::io::Error::other(e)))?
            .map(|l| l.expect("a blocking lock is always taken"))
    }

    /// The lock, or `None` when another process holds it and `wait` is false.
    fn take(path: &Path, wait: bool) -> Result<Option<CacheLock>, Error> {
        use rustix::fs::{flock, FlockOperation};
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let op = if wait {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::NonBlockingLockExclusive
        };
        match flock(&file, op) {
            Ok(()) => Ok(Some(CacheLock { _file: file })),
            Err(rustix::io::Errno::WOULDBLOCK) if !wait => Ok(None),
            Err(e) => Err(io(path)(e.into())),
        }
    }
}

/// Fetches and writes objects; cheap to clone.
#[derive(Clone)]
pub struct Remote {
    opts: FetchOpts,
    http: reqwest::Client,
    s3: Arc<s3::S3>,
}

impl Remote {
    pub fn new(opts: FetchOpts, aws: AwsEnv) -> Remote {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("hamlet/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with rustls");
        Remote {
            s3: Arc::new(s3::S3::new(aws, http.clone())),
            opts,
            http,
        }
    }

    /// Retries of a download or a read (`MODEL_FETCH_RETRIES`), the first wait `backoff`.
    fn policy(&self) -> crate::retry::Policy {
        crate::retry::Policy {
            retries: self.opts.retries,
            first: self.opts.backoff,
        }
    }

    /// The file at `url` whose sha256 is `sha256`, from the cache or downloaded into it.
    pub async fn fetch(&self, url: &str, sha256: &str) -> Result<Fetched, Error> {
        let (fetched, _lock) = self.fetch_locked(url, sha256).await?;
        Ok(fetched)
    }

    /// `fetch`, then `use_it` on the file while its cache entry is still locked, so that no
    /// other process sharing the cache prunes it before it has been read.
    pub async fn fetch_and<T, F, Fut>(
        &self,
        url: &str,
        sha256: &str,
        use_it: F,
    ) -> Result<(Fetched, T), Error>
    where
        F: FnOnce(&Fetched) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let (fetched, _lock) = self.fetch_locked(url, sha256).await?;
        let used = use_it(&fetched).await;
        Ok((fetched, used))
    }

    async fn fetch_locked(&self, url: &str, sha256: &str) -> Result<(Fetched, CacheLock), Error> {
        let location = Location::parse(url)?;
        let want = sha256.trim().to_ascii_lowercase();
        let dir = &self.opts.cache_dir;
        tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
        // Another process sharing the cache may be downloading the same file: wait for it,
        // then find its copy below.
        let lock = CacheLock::acquire(dir, &want).await?;
        let dest = dir.join(format!("{want}.safetensors"));
        if let Ok(meta) = tokio::fs::metadata(&dest).await {
            let got = hash_file(&dest).await?;
            if got == want {
                tracing::info!(url = %shown(url), sha256 = %want, path = %dest.display(), "model found in the cache; not downloading");
                return Ok((
                    Fetched {
                        path: dest,
                        sha256: want,
                        bytes: meta.len(),
                        downloaded: false,
                    },
                    lock,
                ));
            }
            tracing::warn!(path = %dest.display(), "cached model has the wrong sha256; downloading again");
            let _ = tokio::fs::remove_file(&dest).await;
        }
        let part = dir.join(format!("{want}.part"));
        let retries = self.opts.retries;
        let (got, bytes) = self
            .policy()
            .run(
                || self.download(url, &location, &part),
                |e: &Error, attempt, wait| {
                    let attempt = attempt + 1;
                    e.retryable().then(|| {
                        tracing::warn!(error = %e, attempt, of = retries, wait_ms = wait.as_millis() as u64, "model download failed; retrying");
                        wait
                    })
                },
            )
            .await?;
        if got != want {
            let _ = tokio::fs::remove_file(&part).await;
            let _ = tokio::fs::remove_file(CacheLock::path(dir, &want)).await;
            return Err(Error::Checksum {
                url: shown(url),
                got,
                want,
            });
        }
        tokio::fs::rename(&part, &dest).await.map_err(io(&dest))?;
        tracing::info!(url = %shown(url), sha256 = %want, bytes, "model downloaded and verified");
        Ok((
            Fetched {
                path: dest,
                sha256: want,
                bytes,
                downloaded: true,
            },
            lock,
        ))
    }

    /// One attempt: continues `part` where an earlier attempt left it (HTTP Range), hashing
    /// as it goes. Returns the sha256 and size of the whole file.
    async fn download(
        &self,
        url: &str,
        location: &Location,
        part: &Path,
    ) -> Result<(String, u64), Error> {
        if let Location::File(src) = location {
            let mut file = tokio::fs::File::open(src).await.map_err(io(src))?;
            let mut out = tokio::fs::File::create(part).await.map_err(io(part))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0u64;
            loop {
                let n = file.read(&mut buf).await.map_err(io(src))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n]).await.map_err(io(part))?;
                total += n as u64;
            }
            out.sync_all().await.map_err(io(part))?;
            return Ok((hex::encode(hasher.finalize()), total));
        }
        // What an earlier attempt left: hash it, and ask only for the rest.
        let (mut hasher, mut have) = match tokio::fs::metadata(part).await {
            Ok(m) if m.len() > 0 => (hash_prefix(part).await?, m.len()),
            _ => (Sha256::new(), 0),
        };
        let mut req = self.get(location).await?;
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let transport = |e: reqwest::Error| Error::Transport {
            url: shown(url),
            message: error_chain(&e),
        };
        let mut resp = match tokio::time::timeout(self.opts.stall, req.send()).await {
            Err(_) => {
                return Err(Error::Stalled {
                    url: shown(url),
                    secs: self.opts.stall.as_secs(),
                })
            }
            Ok(r) => r.map_err(transport)?,
        };
        let status = resp.status().as_u16();
        let out = match status {
            206 if have > 0 => tokio::fs::OpenOptions::new()
                .append(true)
                .open(part)
                .await
                .map_err(io(part))?,
            200 => {
                if have > 0 {
                    tracing::info!(url = %shown(url), "the server ignored the Range request; downloading from the start");
                }
                hasher = Sha256::new();
                have = 0;
                tokio::fs::File::create(part).await.map_err(io(part))?
            }
            416 => {
                // The partial file is no prefix of this object: start again.
                let _ = tokio::fs::remove_file(part).await;
                return Err(Error::Transport {
                    url: shown(url),
                    message: "the server refused the resume range; starting again".into(),
                });
            }
            _ => {
                return Err(Error::Status {
                    url: shown(url),
                    status,
                })
            }
        };
        // Chunks arrive in tens of KB; each tokio file write is a hop to the blocking pool, so
        // they are gathered into writes of a few MB.
        let mut out = tokio::io::BufWriter::with_capacity(4 << 20, out);
        let total = resp.content_length().map(|n| n + have);
        let started = Instant::now();
        let mut last_log = Instant::now();
        let start_have = have;
        loop {
            let chunk = match tokio::time::timeout(self.opts.stall, resp.chunk()).await {
                Err(_) => {
                    out.flush().await.map_err(io(part))?;
                    return Err(Error::Stalled {
                        url: shown(url),
                        secs: self.opts.stall.as_secs(),
                    });
                }
                Ok(Err(e)) => {
                    out.flush().await.map_err(io(part))?;
                    return Err(transport(e));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(io(part))?;
            have += chunk.len() as u64;
            if last_log.elapsed() >= Duration::from_secs(5) {
                last_log = Instant::now();
                let rate = (have - start_have) as f64 / started.elapsed().as_secs_f64().max(1e-3);
                tracing::info!(
                    url = %shown(url),
                    received_bytes = have,
                    total_bytes = total,
                    percent = total.map(|t| (have * 100).checked_div(t).unwrap_or(100)),
                    mb_per_s = (rate / 1e6 * 10.0).round() / 10.0,
                    "downloading the model"
                );
            }
        }
        // Flushed, not fsynced: a cached copy is hashed again before every use (`fetch`), so
        // one torn by a crash is downloaded again; waiting for the disk cost boot time
        // (benches/boot.sh).
        out.flush().await.map_err(io(part))?;
        if let Some(t) = total {
            if have < t {
                return Err(Error::Transport {
                    url: shown(url),
                    message: format!("the body ended after {have} of {t} bytes"),
                });
            }
        }
        Ok((hex::encode(hasher.finalize()), have))
    }

    /// A GET for an http(s) or s3 location.
    async fn get(&self, location: &Location) -> Result<reqwest::RequestBuilder, Error> {
        match location {
            Location::Http(url) => Ok(self.http.get(url)),
            Location::S3 { bucket, key } => {
                self.s3
                    .request(reqwest::Method::GET, bucket, key, None)
                    .await
            }
            Location::File(p) => Err(Error::BadUrl(p.display().to_string())),
        }
    }

    /// Removes cached models other than `keep` and partial downloads of other models, so
    /// the cache holds the model in service (and any download in progress for it).
    pub async fn prune_cache(&self, keep: &str) {
        let Ok(mut entries) = tokio::fs::read_dir(&self.opts.cache_dir).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".safetensors")
                .or_else(|| name.strip_suffix(".part"));
            if let Some(stem) = stem {
                if manifest::is_sha256(stem) && stem != keep {
                    // Held: another process sharing the cache is fetching or reading it.
                    let lock = CacheLock::path(&self.opts.cache_dir, stem);
                    let Ok(Some(_held)) = CacheLock::take(&lock, false) else {
                        continue;
                    };
                    let _ = tokio::fs::remove_file(&lock).await;
                    match tokio::fs::remove_file(entry.path()).await {
                        Ok(()) => {
                            tracing::info!(file = %name, "removed an old model from the cache")
                        }
                        Err(e) => {
                            tracing::warn!(file = %name, error = %e, "cannot remove an old cached model")
                        }
                    }
                }
            }
        }
    }

    /// A small object read whole (at most `limit` bytes), with the same retries.
    pub async fn read_small(&self, url: &str, limit: u64) -> Result<Vec<u8>, Error> {
        let location = Location::parse(url)?;
        self.policy()
            .run(
                || async {
                    match &location {
                        Location::File(p) => match tokio::fs::metadata(p).await {
                            Ok(m) if m.len() > limit => Err(Error::TooLarge {
                                url: shown(url),
                                limit,
                            }),
                            _ => tokio::fs::read(p).await.map_err(io(p)),
                        },
                        _ => self.read_small_once(url, &location, limit).await,
                    }
                },
                |e: &Error, attempt, wait| {
                    let attempt = attempt + 1;
                    e.retryable().then(|| {
                        tracing::warn!(error = %e, attempt, url = %shown(url), "read failed; retrying");
                        wait
                    })
                },
            )
            .await
    }

    async fn read_small_once(
        &self,
        url: &str,
        location: &Location,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        let transport = |e: reqwest::Error| Error::Transport {
            url: shown(url),
            message: error_chain(&e),
        };
        let stalled = || Error::Stalled {
            url: shown(url),
            secs: self.opts.stall.as_secs(),
        };
        let req = self.get(location).await?;
        let mut resp = tokio::time::timeout(self.opts.stall, req.send())
            .await
            .map_err(|_| stalled())?
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(Error::Status {
                url: shown(url),
                status: resp.status().as_u16(),
            });
        }
        read_body(&mut resp, limit, self.opts.stall)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => Error::TooLarge {
                    url: shown(url),
                    limit,
                },
                BodyError::Stalled => stalled(),
                BodyError::Transport(e) => transport(e),
            })
    }

    /// Writes `bytes` at `url` (file:// or a path: atomically; s3://: one PUT).
    pub async fn put(&self, url: &str, bytes: Vec<u8>) -> Result<(), Error> {
        match Location::parse(url)? {
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
                }
                let mut tmp = path.clone().into_os_string();
                tmp.push(format!(".tmp{}", std::process::id()));
                let tmp = PathBuf::from(tmp);
                let mut f = tokio::fs::File::create(&tmp).await.map_err(io(&tmp))?;
                f.write_all(&bytes).await.map_err(io(&tmp))?;
                f.sync_all().await.map_err(io(&tmp))?;
                tokio::fs::rename(&tmp, &path).await.map_err(io(&path))
            }
            Location::S3 { bucket, key } => {
                let resp = self
                    .s3
                    .request(reqwest::Method::PUT, &bucket, &key, Some(bytes))
                    .await?
                    .send()
                    .await
                    .map_err(|e| Error::Transport {
                        url: shown(url),
                        message: error_chain(&e),
                    })?;
                if !resp.status().is_success() {
                    return Err(Error::Status {
                        url: shown(url),
                        status: resp.status().as_u16(),
                    });
                }
                Ok(())
            }
            Location::Http(_) => Err(Error::Invalid {
                url: shown(url),
                message: "publishing writes to file:// or s3:// destinations".into(),
            }),
        }
    }

    /// Creates an S3 bucket (for tests and first-time setup against an S3-compatible server).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        let url = format!("s3://{bucket}");
        // Outside us-east-1, S3 wants the region named in the body.
        let body = self.s3.location_constraint();
        let resp = self
            .s3
            .request(reqwest::Method::PUT, bucket, "", body)
            .await?
            .send()
            .await
            .map_err(|e| Error::Transport {
                url: url.clone(),
                message: error_chain(&e),
            })?;
        match resp.status().as_u16() {
            200..=299 | 409 => Ok(()),
            status => Err(Error::Status { url, status }),
        }
    }
}

/// Why a response body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// It is (or says it is) larger than the limit.
    TooLarge,
    /// Nothing arrived for the stall time.
    Stalled,
    Transport(reqwest::Error),
}

/// Reads `resp`'s body whole: at most `limit` bytes (a larger Content-Length is refused
/// before reading), each chunk within `stall`. The manifest reader and the harvest use it.
pub async fn read_body(
    resp: &mut reqwest::Response,
    limit: u64,
    stall: Duration,
) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = tokio::time::timeout(stall, resp.chunk())
        .await
        .map_err(|_| BodyError::Stalled)?
        .map_err(BodyError::Transport)?
    {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(body)
}

/// The sha256 of a whole file, off the async threads.
pub async fn hash_file(path: &Path) -> Result<String, Error> {
    Ok(hex::encode(hash_prefix(path).await?.finalize()))
}

/// A hasher that has read all of `path`.
async fn hash_prefix(path: &Path) -> Result<Sha256, Error> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&owned)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut f, &mut hasher)?;
        Ok::<_, std::io::Error>(hasher)
    })
    .await
    .map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?
    .map_err(io(path))
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_or_say_why() {
        assert_eq!(
            Location::parse("s3://bucket/models/m.json").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                key: "models/m.json".into()
            }
        );
        assert_eq!(
            Location::parse("file:///srv/m.safetensors").unwrap(),
            Location::File("/srv/m.safetensors".into())
        );
        assert!(matches!(
            Location::parse("https://example.org/m").unwrap(),
            Location::Http(_)
        ));
        for bad in ["ftp://x/y", "s3://bucket", "s3:///key", ""] {
            assert!(
                matches!(Location::parse(bad), Err(Error::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn relative_names_resolve_against_the_manifest() {
        assert_eq!(
            resolve("s3://b/hamlet/manifest.json", "models/x.safetensors"),
            "s3://b/hamlet/models/x.safetensors"
        );
        assert_eq!(
            resolve("https://h/a/manifest.json", "https://cdn/x"),
            "https://cdn/x"
        );
    }
}
