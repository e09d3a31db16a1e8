//! Fetching model files against real servers on 127.0.0.1: an HTTP server scripted to fail in
//! the ways networks do (a body cut short, a stall, a 500, no Range support), wrong checksums,
//! the cache, and s3:// against moto's S3 server (installed by scripts/test.sh from PyPI).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hamlet::remote::AwsEnv;
use hamlet::remote::{Error, FetchOpts, Remote};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the scripted server does with one connection.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// The (rest of the) body, honouring Range.
    Full,
    /// Headers for the whole (rest of the) body, then only this many bytes, then close.
    CutAfter(usize),
    /// Headers, this many bytes, then nothing (the connection stays open).
    StallAfter(usize),
    /// The whole body with 200, ignoring Range.
    IgnoreRange,
    /// This status, no body.
    Status(u16),
}

struct Scripted {
    port: u16,
    /// Each request's head, lower-cased.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A request's head (request line and headers), or None if the peer closed first.
async fn read_head(sock: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.unwrap_or(0) == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Serves `body`, the i-th connection answered by `script[i]` (the last answer repeats).
async fn scripted(body: Vec<u8>, script: Vec<Answer>) -> Scripted {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let body = Arc::new(body);
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let answer = script[n.min(script.len() - 1)];
            n += 1;
            let body = body.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let Some(head) = read_head(&mut sock).await else {
                    return;
                };
                let head = head.to_ascii_lowercase();
                log.lock().unwrap().push(head.clone());
                let from: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("range: bytes="))
                    .and_then(|r| r.trim().trim_end_matches('-').parse().ok())
                    .unwrap_or(0);
                let (status, start) = match answer {
                    Answer::Status(code) => {
                        let _ = sock
                            .write_all(
                                format!("HTTP/1.1 {code} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                                    .as_bytes(),
                            )
                            .await;
                        return;
                    }
                    Answer::IgnoreRange => ("200 OK", 0),
                    _ if from > 0 => ("206 Partial Content", from),
                    _ => ("200 OK", 0),
                };
                let rest = &body[start..];
                let mut headers = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    rest.len()
                );
                if start > 0 {
                    headers.push_str(&format!(
                        "Content-Range: bytes {start}-{}/{}\r\n",
                        body.len() - 1,
                        body.len()
                    ));
                }
                headers.push_str("\r\n");
                let _ = sock.write_all(headers.as_bytes()).await;
                match answer {
                    Answer::CutAfter(k) => {
                        let _ = sock.write_all(&rest[..k.min(rest.len())]).await;
                        let _ = sock.flush().await;
                    }
                    Answer::StallAfter(k) => {
                        let _ = sock.write_all(&rest[..k.min(rest.len())]).await;
                        let _ = sock.flush().await;
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    _ => {
                        let _ = sock.write_all(rest).await;
                    }
                }
            });
        }
    });
    Scripted { port, requests }
}

/// 200 kB that do not repeat, and their sha256.
fn payload() -> (Vec<u8>, String) {
    let body: Vec<u8> = (0u32..50_000)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    let sha = hex::encode(Sha256::digest(&body));
    (body, sha)
}

fn remote(cache: &std::path::Path) -> Remote {
    Remote::new(
        FetchOpts {
            cache_dir: cache.to_path_buf(),
            retries: 3,
            stall: Duration::from_secs(1),
            backoff: Duration::from_millis(20),
        },
        AwsEnv::default(),
    )
}

/// A remote for the s3:// credential tests: no retries (a credential failure shows at once).
fn s3_remote(cache: &std::path::Path, env: AwsEnv) -> Remote {
    Remote::new(
        FetchOpts {
            cache_dir: cache.to_path_buf(),
            retries: 0,
            stall: Duration::from_secs(5),
            backoff: Duration::from_millis(20),
        },
        env,
    )
}

fn ranges(server: &Scripted) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|h| {
            h.lines()
                .find_map(|l| l.strip_prefix("range: "))
                .map(str::to_string)
        })
        .collect()
}

#[tokio::test]
async fn a_body_cut_short_is_resumed_with_a_range_request() {
    let (body, sha) = payload();
    let server = scripted(body.clone(), vec![Answer::CutAfter(70_000), Answer::Full]).await;
    let cache = tempfile::tempdir().unwrap();
    let r = remote(cache.path());
    let got = r.fetch(&server.url("m.safetensors"), &sha).await.unwrap();
    assert!(got.downloaded);
    assert_eq!(std::fs::read(&got.path).unwrap(), body);
    assert_eq!(
        ranges(&server),
        vec![None, Some("bytes=70000-".into())],
        "the second request resumes where the first stopped"
    );

    // A cached file with the right hash is reused without asking the server.
    let again = r.fetch(&server.url("m.safetensors"), &sha).await.unwrap();
    assert!(!again.downloaded);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stalled_connection_is_cut_and_resumed() {
    let (body, sha) = payload();
    let server = scripted(body.clone(), vec![Answer::StallAfter(50_000), Answer::Full]).await;
    let cache = tempfile::tempdir().unwrap();
    let got = remote(cache.path())
        .fetch(&server.url("m"), &sha)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), body);
    assert_eq!(ranges(&server)[1].as_deref(), Some("bytes=50000-"));
}

#[tokio::test]
async fn a_server_error_is_retried_and_a_missing_file_is_not() {
    let (body, sha) = payload();
    let server = scripted(body.clone(), vec![Answer::Status(500), Answer::Full]).await;
    let cache = tempfile::tempdir().unwrap();
    let got = remote(cache.path())
        .fetch(&server.url("m"), &sha)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), body);
    assert_eq!(server.requests().len(), 2);

    let missing = scripted(body, vec![Answer::Status(404)]).await;
    let err = remote(cache.path())
        .fetch(&missing.url("m"), &"0".repeat(64))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    assert_eq!(missing.requests().len(), 1, "a 404 is not retried");

    let down = scripted(Vec::new(), vec![Answer::Status(503)]).await;
    let err = remote(cache.path())
        .fetch(&down.url("m"), &"0".repeat(64))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 503, .. }), "{err}");
    assert_eq!(down.requests().len(), 4, "one try and three retries");
}

#[tokio::test]
async fn a_server_without_range_support_is_read_from_the_start() {
    let (body, sha) = payload();
    let server = scripted(
        body.clone(),
        vec![Answer::CutAfter(30_000), Answer::IgnoreRange],
    )
    .await;
    let cache = tempfile::tempdir().unwrap();
    let got = remote(cache.path())
        .fetch(&server.url("m"), &sha)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), body);
}

#[tokio::test]
async fn processes_sharing_a_cache_download_once_and_never_prune_a_model_in_use() {
    let (body, sha) = payload();
    let server = scripted(body.clone(), vec![Answer::Full]).await;
    let cache = tempfile::tempdir().unwrap();
    let url = server.url("m");
    // Two servers (two Remotes: two open lock files, as two processes have) see the same
    // manifest at the same moment.
    let fetches: Vec<_> = (0..2)
        .map(|_| {
            let (r, url, sha) = (remote(cache.path()), url.clone(), sha.clone());
            tokio::spawn(async move { r.fetch(&url, &sha).await.map(|f| f.downloaded) })
        })
        .collect();
    let mut downloaded = Vec::new();
    for f in fetches {
        downloaded.push(f.await.unwrap().unwrap());
    }
    downloaded.sort();
    assert_eq!(
        downloaded,
        vec![false, true],
        "one downloads, the other waits and finds its copy"
    );
    assert_eq!(server.requests().len(), 1);

    // While one process reads the model (fetch_and: a server loading it), another's prune
    // leaves it alone.
    let (_, read) = remote(cache.path())
        .fetch_and(&url, &sha, |f| {
            let (path, dir) = (f.path.clone(), cache.path().to_path_buf());
            async move {
                remote(&dir).prune_cache(&"0".repeat(64)).await;
                std::fs::read(&path).ok()
            }
        })
        .await
        .unwrap();
    assert_eq!(
        read.as_deref(),
        Some(&body[..]),
        "a model being read was pruned"
    );
    remote(cache.path()).prune_cache(&"0".repeat(64)).await;
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "once no one holds it, the old model and its lock file go"
    );
}

#[tokio::test]
async fn a_wrong_checksum_leaves_nothing_behind() {
    let (body, _) = payload();
    let server = scripted(body, vec![Answer::Full]).await;
    let cache = tempfile::tempdir().unwrap();
    let want = "ab".repeat(32);
    let err = remote(cache.path())
        .fetch(&server.url("m"), &want)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    assert!(err.to_string().contains(&want), "{err}");
    assert_eq!(server.requests().len(), 1, "a bad checksum is not retried");
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "neither the file nor a partial download is kept"
    );
}

#[tokio::test]
async fn a_corrupt_cached_copy_is_downloaded_again() {
    let (body, sha) = payload();
    let server = scripted(body.clone(), vec![Answer::Full]).await;
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(cache.path().join(format!("{sha}.safetensors")), b"bit rot").unwrap();
    let got = remote(cache.path())
        .fetch(&server.url("m"), &sha)
        .await
        .unwrap();
    assert!(got.downloaded);
    assert_eq!(std::fs::read(&got.path).unwrap(), body);
}

/// moto's S3 server on a free port, or None outside CI when moto is not installed.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spawned = std::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return skip_without_moto(&e.to_string()),
    };
    for _ in 0..200 {
        if let Ok(Some(status)) = child.try_wait() {
            return skip_without_moto(&format!("moto.server exited: {status}"));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(Moto { child, port });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    skip_without_moto("moto.server did not listen within 20 s")
}

fn skip_without_moto(why: &str) -> Option<Moto> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("moto's S3 server is needed under CI (scripts/test.sh installs it): {why}");
    }
    eprintln!("skipping the s3:// test: {why} (pip install 'moto[server]')");
    None
}

fn s3_env(port: u16) -> AwsEnv {
    AwsEnv {
        access_key_id: Some("AKIDEXAMPLE".into()),
        secret_access_key: Some(hamlet::secret::Secret::new("secret")),
        region: Some("eu-west-1".into()),
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        metadata_disabled: true,
        ..AwsEnv::default()
    }
}

#[tokio::test]
async fn s3_objects_are_written_and_fetched_through_the_manifest() {
    let Some(moto) = moto().await else { return };
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOpts {
        cache_dir: cache.path().to_path_buf(),
        retries: 2,
        stall: Duration::from_secs(5),
        backoff: Duration::from_millis(20),
    };
    let r = Remote::new(opts, s3_env(moto.port));
    r.create_bucket("hamlet-models").await.unwrap();

    let (body, sha) = payload();
    r.put("s3://hamlet-models/prod/models/m.safetensors", body.clone())
        .await
        .unwrap();
    let manifest = serde_json::json!({
        "format": "hamlet-model-manifest", "version": 1, "model": "models/m.safetensors",
        "sha256": sha, "size_bytes": body.len(), "published_at": "2026-11-25T00:00:00Z",
        "corpus_sha256": "", "documents": 0
    });
    r.put(
        "s3://hamlet-models/prod/manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    )
    .await
    .unwrap();

    let (_, target) = hamlet::remote::manifest::read(&r, "s3://hamlet-models/prod/manifest.json")
        .await
        .unwrap();
    assert_eq!(target.url, "s3://hamlet-models/prod/models/m.safetensors");
    let got = r.fetch(&target.url, &target.sha256).await.unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), body);

    let err = r
        .fetch("s3://hamlet-models/prod/missing", &sha.replace('a', "b"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
}

/// The instance-role half of the credential chain: with no keys in the environment, the
/// credentials come from an IMDSv2 endpoint (here a small local one) and sign for moto.
#[tokio::test]
async fn s3_credentials_come_from_the_instance_role_when_the_environment_has_none() {
    let Some(moto) = moto().await else { return };
    let imds = imds_server().await;
    let env = AwsEnv {
        access_key_id: None,
        secret_access_key: None,
        metadata_disabled: false,
        metadata_endpoint: Some(format!("http://127.0.0.1:{}", imds.0)),
        ..s3_env(moto.port)
    };
    let cache = tempfile::tempdir().unwrap();
    let r = s3_remote(cache.path(), env);
    r.create_bucket("role-bucket").await.unwrap();
    r.put("s3://role-bucket/x.bin", b"role".to_vec())
        .await
        .unwrap();
    let seen: Vec<String> = imds.1.lock().unwrap().iter().map(|r| r.0.clone()).collect();
    assert_eq!(
        seen[0], "PUT /latest/api/token",
        "IMDSv2 asks for a token first"
    );
    assert!(seen
        .iter()
        .any(|r| r == "GET /latest/meta-data/iam/security-credentials/hamlet-role"));
}

/// The rest of the standard chain (issue 23): an ECS task role from the container credentials
/// endpoint (here a small local one that wants its authorization token), and a profile of a
/// shared credentials file (`hamlet publish` from a laptop), each signing for moto with no keys
/// in the environment and the instance metadata service off; a profile the file lacks is a
/// clear error.
#[tokio::test]
async fn s3_credentials_come_from_the_container_endpoint_and_from_a_profile() {
    let Some(moto) = moto().await else { return };
    let (port, seen) = container_server().await;
    let cache = tempfile::tempdir().unwrap();
    let remote = |env: AwsEnv| s3_remote(cache.path(), env);
    let keyless = AwsEnv {
        access_key_id: None,
        secret_access_key: None,
        ..s3_env(moto.port)
    };
    let ecs = remote(AwsEnv {
        container_credentials_uri: Some(format!("http://127.0.0.1:{port}/v2/credentials/task")),
        container_authorization: Some(hamlet::secret::Secret::new("ecs-token")),
        ..keyless.clone()
    });
    ecs.create_bucket("task-bucket").await.unwrap();
    ecs.put("s3://task-bucket/x.bin", b"task".to_vec())
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().first().map(|r| r.0.as_str()),
        Some("GET /v2/credentials/task"),
        "the container endpoint was asked"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = d\n\n[laptop]\naws_access_key_id = AKLAPTOP\naws_secret_access_key = l\n",
    )
    .unwrap();
    let laptop = remote(AwsEnv {
        profile: Some("laptop".into()),
        shared_credentials_file: Some(file.clone()),
        ..keyless.clone()
    });
    laptop
        .put("s3://task-bucket/y.bin", b"laptop".to_vec())
        .await
        .unwrap();
    let missing = remote(AwsEnv {
        profile: Some("nope".into()),
        shared_credentials_file: Some(file),
        ..keyless
    });
    let err = missing
        .put("s3://task-bucket/z.bin", b"z".to_vec())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("no profile [nope]"), "{err:#}");
}

/// EKS's web identity (IRSA): the token file is exchanged with STS (here a small local one
/// that checks the action, role and token) for the role's credentials, which sign for moto.
#[tokio::test]
async fn s3_credentials_come_from_a_web_identity_token() {
    let Some(moto) = moto().await else { return };
    let (port, seen) = sts_server().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "eks-token-123\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let r = s3_remote(
        cache.path(),
        AwsEnv {
            access_key_id: None,
            secret_access_key: None,
            web_identity_token_file: Some(token),
            role_arn: Some("arn:aws:iam::123456789012:role/hamlet".into()),
            sts_endpoint: Some(format!("http://127.0.0.1:{port}")),
            ..s3_env(moto.port)
        },
    );
    r.create_bucket("irsa-bucket").await.unwrap();
    r.put("s3://irsa-bucket/x.bin", b"irsa".to_vec())
        .await
        .unwrap();
    let bodies: Vec<String> = seen.lock().unwrap().iter().map(|r| r.1.clone()).collect();
    assert_eq!(bodies.len(), 1, "one exchange, then cached: {bodies:?}");
    assert!(
        bodies[0].contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fhamlet")
            && bodies[0].contains("RoleSessionName=hamlet"),
        "{bodies:?}"
    );
}

/// What a fake endpoint saw: each request's line (method and path) and body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A small HTTP server standing in for a credentials endpoint: `answer(head, body)` is the
/// body of a 200, or None for a 403. Returns its port and every request it saw.
async fn fake_endpoint(
    answer: impl Fn(&str, &str) -> Option<String> + Send + Sync + 'static,
) -> (u16, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (log, answer) = (log.clone(), answer.clone());
            tokio::spawn(async move {
                let Some(head) = read_head(&mut sock).await else {
                    return;
                };
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = sock.read_exact(&mut body).await;
                let body = String::from_utf8_lossy(&body).into_owned();
                let line: String = head
                    .lines()
                    .next()
                    .unwrap_or("")
                    .rsplit_once(' ')
                    .map(|(l, _)| l.to_string())
                    .unwrap_or_default();
                let reply = match answer(&head, &body) {
                    Some(b) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                        b.len()
                    ),
                    None => {
                        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .into()
                    }
                };
                log.lock().unwrap().push((line, body));
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

/// A tiny IMDSv2: a token, a role name, the role's credentials.
async fn imds_server() -> (u16, Seen) {
    fake_endpoint(|head, _| {
        let line = head.lines().next().unwrap_or("");
        let has_token = head
            .to_ascii_lowercase()
            .contains("x-aws-ec2-metadata-token: tok");
        if line.starts_with("PUT /latest/api/token ") {
            Some("tok".into())
        } else if line.starts_with("GET /latest/meta-data/iam/security-credentials/ ") && has_token {
            Some("hamlet-role".into())
        } else if line.starts_with("GET /latest/meta-data/iam/security-credentials/hamlet-role ")
            && has_token
        {
            Some(r#"{"Code":"Success","AccessKeyId":"ASIAROLE","SecretAccessKey":"rolesecret","Token":"roletoken","Expiration":"2099-01-01T00:00:00Z"}"#.into())
        } else {
            None
        }
    })
    .await
}

/// A container credentials endpoint: the role's credentials for a GET with the right
/// Authorization header.
async fn container_server() -> (u16, Seen) {
    fake_endpoint(|head, _| {
        head.to_ascii_lowercase()
            .contains("authorization: ecs-token")
            .then(|| r#"{"AccessKeyId":"ASIATASK","SecretAccessKey":"tasksecret","Token":"tasktoken","Expiration":"2099-01-01T00:00:00Z"}"#.to_string())
    })
    .await
}

/// An STS that answers AssumeRoleWithWebIdentity for the token `eks-token-123`.
async fn sts_server() -> (u16, Seen) {
    fake_endpoint(|head, body| {
        (head.starts_with("POST / ")
            && body.contains("Action=AssumeRoleWithWebIdentity")
            && body.contains("WebIdentityToken=eks-token-123"))
        .then(|| "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAIRSA</AccessKeyId><SecretAccessKey>irsasecret</SecretAccessKey><SessionToken>irsatoken</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>".to_string())
    })
    .await
}
