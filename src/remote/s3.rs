//! s3://bucket/key: requests signed with AWS Signature Version 4, with credentials from the
//! standard chain: the `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`
//! variables, a profile of the shared credentials file (`AWS_PROFILE`,
//! `AWS_SHARED_CREDENTIALS_FILE`), the container endpoint ECS and EKS Pod Identity set
//! (`AWS_CONTAINER_CREDENTIALS_*`), then the EC2 instance role through IMDSv2. A web identity
//! token (EKS IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`) is exchanged with STS
//! after the profile and before the container endpoint, as the SDKs do. `AWS_ENDPOINT_URL_S3` or
//! `AWS_ENDPOINT_URL` points at an S3-compatible server (path-style addressing there).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::Error;
use crate::secret::Secret;

/// The AWS SDKs' standard variables, read for s3:// model URLs: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (else a profile of the shared credentials
/// file, the ECS container endpoint, then the instance role are asked: below),
/// `AWS_REGION` or `AWS_DEFAULT_REGION` (default us-east-1), `AWS_ENDPOINT_URL_S3` or
/// `AWS_ENDPOINT_URL` (an S3-compatible server), `AWS_EC2_METADATA_SERVICE_ENDPOINT` and
/// `AWS_EC2_METADATA_DISABLED`.
#[derive(Debug, Clone, Default)]
pub struct AwsEnv {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub metadata_endpoint: Option<String>,
    pub metadata_disabled: bool,
    /// `AWS_PROFILE` (default `default`): the profile read from the shared credentials file.
    pub profile: Option<String>,
    /// `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`, from `HOME`).
    pub shared_credentials_file: Option<std::path::PathBuf>,
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS task roles: asked of 169.254.170.2) or
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (EKS Pod Identity and others).
    pub container_credentials_uri: Option<String>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or the contents of
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: sent to the container endpoint.
    pub container_authorization: Option<Secret>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (EKS IRSA): the token is exchanged
    /// for the role's credentials with STS (`AWS_ROLE_SESSION_NAME`, default `hamlet`).
    pub web_identity_token_file: Option<std::path::PathBuf>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`: another STS (default `https://sts.REGION.amazonaws.com`).
    pub sts_endpoint: Option<String>,
}

/// Signs requests to S3 for one region and endpoint.
pub struct S3 {
    env: AwsEnv,
    http: reqwest::Client,
    /// Instance-role credentials, reused until five minutes before they expire.
    cached: Mutex<Option<(Credentials, SystemTime)>>,
}

#[derive(Clone)]
struct Credentials {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
}

/// The SHA-256 of an empty body, which every GET signs.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl S3 {
    pub fn new(env: AwsEnv, http: reqwest::Client) -> S3 {
        S3 {
            env,
            http,
            cached: Mutex::new(None),
        }
    }

    fn region(&self) -> &str {
        self.env.region.as_deref().unwrap_or("us-east-1")
    }

    /// The CreateBucket body that names the region (none for us-east-1).
    pub fn location_constraint(&self) -> Option<Vec<u8>> {
        (self.region() != "us-east-1").then(|| {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region()
            )
            .into_bytes()
        })
    }

    /// The object's HTTPS (or custom endpoint) URL.
    fn url(&self, bucket: &str, key: &str) -> String {
        let path = key.split('/').map(uri_encode).collect::<Vec<_>>().join("/");
        match &self.env.endpoint_url {
            Some(endpoint) => format!("{}/{bucket}/{path}", endpoint.trim_end_matches('/')),
            // Bucket names with dots do not match the wildcard certificate: path-style then.
            None if bucket.contains('.') => {
                format!("https://s3.{}.amazonaws.com/{bucket}/{path}", self.region())
            }
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{path}", self.region()),
        }
    }

    /// A signed request for `method` on the object (an empty key addresses the bucket).
    pub async fn request(
        &self,
        method: reqwest::Method,
        bucket: &str,
        key: &str,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let url = self.url(bucket, key);
        let url = if key.is_empty() {
            url.trim_end_matches('/').to_string()
        } else {
            url
        };
        let parsed = reqwest::Url::parse(&url).map_err(|_| Error::BadUrl(url.clone()))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(Error::BadUrl(url)),
        };
        let creds = self.credentials().await?;
        let payload_sha = match &body {
            Some(b) => hex::encode(Sha256::digest(b)),
            None => EMPTY_SHA256.to_string(),
        };
        let (amz_date, date) = amz_dates(SystemTime::now());
        let mut headers: Vec<(&str, String)> = vec![
            ("host", host),
            ("x-amz-content-sha256", payload_sha.clone()),
            ("x-amz-date", amz_date.clone()),
        ];
        if let Some(token) = &creds.session_token {
            headers.push(("x-amz-security-token", token.expose().to_string()));
        }
        let (signed_headers, signature) = sign(
            &Signing {
                method: method.as_str(),
                path: parsed.path(),
                headers: &headers,
                payload_sha: &payload_sha,
                region: self.region(),
                amz_date: &amz_date,
                date: &date,
            },
            creds.secret_access_key.expose(),
        );
        let scope = format!("{date}/{}/s3/aws4_request", self.region());
        let mut req = self.http.request(method, parsed).header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                creds.access_key_id
            ),
        );
        for (k, v) in headers.into_iter().filter(|(k, _)| *k != "host") {
            req = req.header(k, v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        Ok(req)
    }

    /// Credentials from the environment, else from the instance role.
    async fn credentials(&self) -> Result<Credentials, Error> {
        if let (Some(id), Some(secret)) = (&self.env.access_key_id, &self.env.secret_access_key) {
            return Ok(Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: self.env.session_token.clone(),
            });
        }
        if let Some(c) = self.profile_credentials()? {
            return Ok(c);
        }
        if let Some((c, expires)) = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            if SystemTime::now() + Duration::from_secs(300) < expires {
                return Ok(c);
            }
        }
        if let (Some(file), Some(arn)) = (&self.env.web_identity_token_file, &self.env.role_arn) {
            let (creds, expires) = self.web_identity(file, arn).await.map_err(|e| {
                Error::Credentials(format!("the web identity token {}: {e}", file.display()))
            })?;
            *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((creds.clone(), expires));
            return Ok(creds);
        }
        if let Some(uri) = &self.env.container_credentials_uri {
            let (creds, expires) = self.container_role(uri).await.map_err(|e| {
                Error::Credentials(format!("the container credentials endpoint {uri}: {e}"))
            })?;
            *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((creds.clone(), expires));
            return Ok(creds);
        }
        if self.env.metadata_disabled {
            return Err(Error::Credentials(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are unset and the instance metadata service is disabled".into(),
            ));
        }
        let (creds, expires) = self.instance_role().await.map_err(|e| {
            Error::Credentials(format!(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are unset, and no instance role answered: {e}"
            ))
        })?;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((creds.clone(), expires));
        Ok(creds)
    }

    /// The keys of `AWS_PROFILE` (default `default`) in the shared credentials file, when the
    /// file exists and has that profile; a profile named but missing is an error.
    fn profile_credentials(&self) -> Result<Option<Credentials>, Error> {
        let Some(path) = &self.env.shared_credentials_file else {
            return Ok(None);
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return match &self.env.profile {
                Some(p) => Err(Error::Credentials(format!(
                    "AWS_PROFILE={p}, but {} cannot be read",
                    path.display()
                ))),
                None => Ok(None),
            };
        };
        let want = self.env.profile.as_deref().unwrap_or("default");
        let found = profile_keys(&text, want);
        match found {
            Some(c) => Ok(Some(c)),
            None if self.env.profile.is_some() => Err(Error::Credentials(format!(
                "{} has no profile [{want}] with aws_access_key_id and aws_secret_access_key",
                path.display()
            ))),
            None => Ok(None),
        }
    }

    /// The container credentials endpoint (ECS task role, EKS Pod Identity): one GET, with the
    /// authorization token when one is set.
    async fn container_role(&self, uri: &str) -> Result<(Credentials, SystemTime), String> {
        let mut req = self.http.get(uri).timeout(Duration::from_secs(5));
        if let Some(token) = &self.env.container_authorization {
            req = req.header("Authorization", token.expose());
        }
        let body = text_of(req).await?;
        let c: RoleCredentials = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        Ok((c.into(), SystemTime::now() + Duration::from_secs(3600)))
    }

    /// STS AssumeRoleWithWebIdentity (an unsigned request: the token is the proof); the token
    /// file is read each time, since the platform rotates it.
    async fn web_identity(
        &self,
        file: &std::path::Path,
        role_arn: &str,
    ) -> Result<(Credentials, SystemTime), String> {
        let token = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        let endpoint = self
            .env
            .sts_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", self.region()));
        let session = self.env.role_session_name.as_deref().unwrap_or("hamlet");
        let req = self
            .http
            .post(endpoint.trim_end_matches('/').to_string() + "/")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}&WebIdentityToken={}",
                form_encode(role_arn),
                form_encode(session),
                form_encode(token.trim())
            ))
            .timeout(Duration::from_secs(10));
        let body = text_of(req).await?;
        let field = |name: &str| {
            let open = format!("<{name}>");
            let close = format!("</{name}>");
            let start = body.find(&open)? + open.len();
            let end = body[start..].find(&close)? + start;
            Some(body[start..end].trim().to_string())
        };
        let (Some(id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
            return Err("STS answered without credentials".into());
        };
        Ok((
            Credentials {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
                session_token: field("SessionToken").map(Secret::new),
            },
            // STS's default session is an hour; refresh before then.
            SystemTime::now() + Duration::from_secs(3000),
        ))
    }

    /// IMDSv2: a session token, the role's name, then its temporary credentials.
    async fn instance_role(&self) -> Result<(Credentials, SystemTime), String> {
        let base = self
            .env
            .metadata_endpoint
            .as_deref()
            .unwrap_or("http://169.254.169.254")
            .trim_end_matches('/')
            .to_string();
        let timeout = Duration::from_secs(2);
        let token = text_of(
            self.http
                .put(format!("{base}/latest/api/token"))
                .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
                .timeout(timeout),
        )
        .await?;
        let get = |path: String| {
            text_of(
                self.http
                    .get(format!("{base}{path}"))
                    .header("X-aws-ec2-metadata-token", token.clone())
                    .timeout(timeout),
            )
        };
        let roles = get("/latest/meta-data/iam/security-credentials/".into()).await?;
        let role = roles.lines().next().unwrap_or("").trim().to_string();
        if role.is_empty() {
            return Err("the instance has no IAM role".into());
        }
        let body = get(format!("/latest/meta-data/iam/security-credentials/{role}")).await?;
        let c: RoleCredentials = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        // Role credentials last hours; refreshing hourly is well inside that.
        Ok((c.into(), SystemTime::now() + Duration::from_secs(3600)))
    }
}

/// Temporary credentials as the instance and container endpoints answer them.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
}

impl From<RoleCredentials> for Credentials {
    fn from(c: RoleCredentials) -> Credentials {
        Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: c.token.map(Secret::new),
        }
    }
}

/// The body of a successful answer to `req`, or why there is none (credential endpoints).
async fn text_of(req: reqwest::RequestBuilder) -> Result<String, String> {
    req.send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The keys of `[profile]` in an AWS shared credentials file (INI: `key = value` lines under
/// `[name]` headers; `#` and `;` start comments).
fn profile_keys(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials {
        access_key_id: id?,
        secret_access_key: Secret::new(secret?),
        session_token: token.map(Secret::new),
    })
}

/// What a SigV4 signature covers. `headers` are lower-case names, sorted, `host` included.
struct Signing<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [(&'a str, String)],
    payload_sha: &'a str,
    region: &'a str,
    amz_date: &'a str,
    date: &'a str,
}

/// The signed-headers list and the signature of a request without a query string.
fn sign(s: &Signing<'_>, secret: &str) -> (String, String) {
    let signed_headers = s.headers.iter().map(|h| h.0).collect::<Vec<_>>().join(";");
    let canonical = format!(
        "{}\n{}\n\n{}\n{}\n{}",
        s.method,
        s.path,
        s.headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect::<String>(),
        signed_headers,
        s.payload_sha
    );
    let scope = format!("{}/{}/s3/aws4_request", s.date, s.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        s.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), s.date.as_bytes());
    for part in [s.region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    (signed_headers, hex::encode(hmac(&key, to_sign.as_bytes())))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding of one path segment, as SigV4 wants it.
fn uri_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `(YYYYMMDDTHHMMSSZ, YYYYMMDD)` in UTC.
fn amz_dates(t: SystemTime) -> (String, String) {
    let (y, mo, d, h, mi, s) =
        crate::clock::civil(t.duration_since(UNIX_EPOCH).unwrap_or_default());
    (
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z"),
        format!("{y:04}{mo:02}{d:02}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GET Object example of AWS's "Signature Calculations for the Authorization Header:
    /// Transferring Payload in a Single Chunk" page (examplebucket/test.txt, 2013-05-24, with a
    /// Range header): `sign` reproduces its signature.
    #[test]
    fn signs_as_aws_documents() {
        let headers = [
            ("host", "examplebucket.s3.amazonaws.com".to_string()),
            ("range", "bytes=0-9".to_string()),
            ("x-amz-content-sha256", EMPTY_SHA256.to_string()),
            ("x-amz-date", "20130524T000000Z".to_string()),
        ];
        let (signed, signature) = sign(
            &Signing {
                method: "GET",
                path: "/test.txt",
                headers: &headers,
                payload_sha: EMPTY_SHA256,
                region: "us-east-1",
                amz_date: "20130524T000000Z",
                date: "20130524",
            },
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(signed, "host;range;x-amz-content-sha256;x-amz-date");
        assert_eq!(
            signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn shared_credentials_profiles() {
        let file = "# a comment\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key=sd\n\n[ci]\n; another\nAWS_ACCESS_KEY_ID = AKCI\naws_secret_access_key = sc\naws_session_token = tc\n[half]\naws_access_key_id = AKHALF\n";
        let d = profile_keys(file, "default").unwrap();
        assert_eq!(d.access_key_id, "AKDEFAULT");
        assert_eq!(d.secret_access_key.expose(), "sd");
        assert!(d.session_token.is_none());
        let ci = profile_keys(file, "ci").unwrap();
        assert_eq!(ci.access_key_id, "AKCI");
        assert_eq!(ci.session_token.unwrap().expose(), "tc");
        assert!(
            profile_keys(file, "half").is_none(),
            "a profile without its secret"
        );
        assert!(profile_keys(file, "missing").is_none());
    }

    #[test]
    fn dates_and_urls() {
        let t = UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        assert_eq!(amz_dates(t), ("20130524T000000Z".into(), "20130524".into()));
        let s3 = S3::new(AwsEnv::default(), reqwest::Client::new());
        assert_eq!(
            s3.url("models", "hamlet/a b.json"),
            "https://models.s3.us-east-1.amazonaws.com/hamlet/a%20b.json"
        );
        let local = S3::new(
            AwsEnv {
                endpoint_url: Some("http://127.0.0.1:9000/".into()),
                ..AwsEnv::default()
            },
            reqwest::Client::new(),
        );
        assert_eq!(
            local.url("models", "m.json"),
            "http://127.0.0.1:9000/models/m.json"
        );
    }
}
