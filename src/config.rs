//! The service's configuration, and the only place that reads environment variables.
//!
//! Sources, later ones winning: the defaults of the profile chosen by `HAMLET_PROFILE`
//! (`local`, the default; `heroku`; `aws`), then the environment (a `.env` file is loaded into
//! it by `main` through dotenvy when present). Each setting is declared once, in `SETTINGS`,
//! with its variable; `.env.example` and the README's table list the same variables, and a
//! test keeps the three in step. `validate()` stops boot with one line naming the variable.
//!
//! On aws, when `DATABASE_URL` is unset, it is assembled from Elastic Beanstalk's `RDS_*`
//! variables.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use figment::providers::Serialized;
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use crate::remote::AwsEnv;
use crate::remote::{FetchOpts, Remote};
pub use crate::secret::Secret;
use crate::store::Backend;

/// A deployment profile: which defaults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Local,
    Heroku,
    Aws,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Local, Profile::Heroku, Profile::Aws];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Local => "local",
            Profile::Heroku => "heroku",
            Profile::Aws => "aws",
        }
    }

    fn parse(s: &str) -> Result<Profile, ConfigError> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                ConfigError::new(
                    "HAMLET_PROFILE",
                    format!("unknown profile {s:?}; expected local, heroku or aws"),
                )
            })
    }
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, with timestamps.
    Text,
    /// One JSON object per line, without timestamps (the platform adds them).
    Json,
}

/// The whole configuration of a `hamlet` process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppConfig {
    /// `HAMLET_PROFILE`: local (default), heroku or aws.
    pub profile: Profile,
    /// `DATABASE_URL`: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    /// local: `sqlite://data/hamlet.sqlite3`; heroku: required (set by the Postgres add-on);
    /// aws: required, or assembled from `RDS_*`.
    pub database_url: Option<Secret>,
    /// `HAMLET_ADDRESS`: the address to bind. local: 127.0.0.1; heroku, aws: 0.0.0.0.
    pub address: IpAddr,
    /// `PORT`: the port to bind. Default 8000 (Heroku sets it).
    pub port: u16,
    /// `HAMLET_DB_MAX_CONNECTIONS`: database pool size. local: 4; heroku, aws: 10.
    pub db_max_connections: u32,
    /// `HAMLET_TORCH_THREADS`: libtorch intra-op threads. Default 1: on small machines OpenMP's
    /// busy-waiting made small tensor ops 10-200x slower with 2 (see `benches/torch_threads.rs`).
    pub torch_threads: usize,
    /// `HAMLET_LOG_FORMAT`: text or json. local: text; heroku, aws: json.
    pub log_format: LogFormat,
    /// `HAMLET_TEMPLATES_DIR`: page templates. Default `templates` (relative to the working dir).
    pub templates_dir: PathBuf,
    /// `HAMLET_PUBLIC_DIR`: static assets served under /static. Default `public`.
    pub public_dir: PathBuf,
    /// `HAMLET_MODEL_PATH`: the model file `hamlet train` writes and `hamlet serve` loads.
    /// Default `data/model.safetensors`.
    pub model_path: PathBuf,
    /// `SECRET_KEY`: signs the forms' CSRF tokens and captcha answers; at least 32 characters.
    /// local: a random key per process (forms then expire on restart); heroku, aws: required
    /// (app.json generates one).
    pub secret_key: Option<Secret>,
    /// `HAMLET_UPLOAD_MAX_BYTES`: the largest upload or request body accepted. Default 4194304
    /// (4 MB, as the original).
    pub upload_max_bytes: u64,
    /// `HAMLET_UPLOAD_RATE_PER_MINUTE`: file uploads and form submissions (pages, and
    /// multipart requests to the API) one client may make per minute; 0 turns the limit off.
    /// Default 10.
    pub upload_rate_per_minute: u32,
    /// `HAMLET_API_RATE_PER_MINUTE`: JSON text requests to the API (`POST /api/recommend`,
    /// `/api/lit-review`, `/api/map/place` with a JSON body) one client may make per minute;
    /// 0 turns the limit off. Kept apart from uploads so that an integrator calling from a
    /// catalogue can be given more without opening uploads to abuse (issue 26). Default 120.
    pub api_rate_per_minute: u32,
    /// `HAMLET_EXTRACT_MEMORY_MB`: megabytes of memory the process that reads one uploaded
    /// file may allocate; a file that needs more (a compression bomb) is refused with 413
    /// (`extract::sandbox`). Default 512.
    pub extract_memory_mb: u64,
    /// `HAMLET_EXTRACT_TIMEOUT_SECS`: seconds (wall clock and CPU) before reading one uploaded
    /// file is stopped and refused with 422. Default 20.
    pub extract_timeout_secs: u64,
    /// `HAMLET_EXTRACT_CONCURRENCY`: uploaded files read at once; one more is refused with 503
    /// and Retry-After, never queued. 0 = two per core. Default 0.
    pub extract_concurrency: usize,
    /// `HAMLET_MODEL_WEIGHTS`: `f32`, `f16` or `i8`, how the served model's word and output
    /// tables are kept in memory (a million-word, 52-dimension model: 416, 208 or 128 MB); f16
    /// and i8 move inferred vectors slightly. local: f32; heroku, aws: i8.
    pub model_weights: crate::model::weights::Precision,
    /// `HAMLET_PAGE_CACHE_MB`: megabytes of rendered similar_to pages kept until the model or
    /// the collection changes; 0 renders every request. Default 16.
    pub page_cache_mb: u64,
    /// `HAMLET_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges whose
    /// `X-Forwarded-For` is believed; `*` trusts every peer. local: none; heroku: `*` (only
    /// the router reaches a dyno); aws: the private ranges (the load balancer's VPC).
    pub trusted_proxies: String,
    /// `HAMLET_DOCUMENT_MIN_SCORE`: the default least score of results for a known document.
    /// Unset: the served model's own default, 0.75 (the original's cosine) for a
    /// compatibility-mode model, 0.3 for the default engine (`model::query`).
    pub document_min_score: Option<f32>,
    /// `HAMLET_TEXT_MIN_SCORE`: the default least score of results for an uploaded or pasted
    /// text. Unset: the served model's own default, 0.65 (the original's) or 0.2.
    pub text_min_score: Option<f32>,
    /// `HAMLET_CAPTCHA`: ask a small arithmetic question on the upload forms, as the
    /// original's captcha did. Default false.
    pub captcha: bool,
    /// `MODEL_URL`: where the served model comes from: a model file or a manifest written by
    /// `hamlet publish` (a `.json` URL, followed for hot reload); https://, http://, file:// or
    /// s3://bucket/key. Unset: serve `HAMLET_MODEL_PATH` (no model until one is there). A
    /// manifest that does not exist yet is "no model published yet", not an error.
    pub model_url: Option<String>,
    /// `MODEL_SHA256`: the model file's sha256; required when `MODEL_URL` names a model file,
    /// unset when it names a manifest (the manifest carries it).
    pub model_sha256: Option<String>,
    /// `MODEL_CACHE_DIR`: where fetched models are kept; a cached file with the right hash is
    /// not downloaded again. Default `data/model-cache`.
    pub model_cache_dir: PathBuf,
    /// `MODEL_CHECK_INTERVAL_SECS`: how often a running server looks for a new model (it also
    /// looks on SIGHUP); 0 = only on SIGHUP. Default 300.
    pub model_check_interval_secs: u64,
    /// `MODEL_FETCH_RETRIES`: retries of a failed download (backoff doubles from 0.5 s to 30 s).
    /// Default 8.
    pub model_fetch_retries: u32,
    /// `MODEL_FETCH_STALL_SECS`: a download that receives nothing for this long is cut and
    /// resumed. Default 30.
    pub model_fetch_stall_secs: u64,
    /// `HAMLET_ALLOWED_HOSTS`: comma-separated host names the site answers to (`.example.org`
    /// also allows its subdomains); empty = any. localhost always answers. heroku adds
    /// `HEROKU_APP_NAME`.herokuapp.com and `HEROKU_APP_DEFAULT_DOMAIN_NAME` when set.
    pub allowed_hosts: String,
    /// `HEROKU_APP_NAME`: set by Heroku's dyno metadata; see `allowed_hosts`.
    pub heroku_app_name: Option<String>,
    /// `HEROKU_APP_DEFAULT_DOMAIN_NAME`: set by Heroku's dyno metadata; see `allowed_hosts`.
    pub heroku_app_default_domain_name: Option<String>,
    /// The standard AWS variables, for s3:// URLs (not profile settings: see `AwsEnv`).
    #[serde(skip)]
    pub aws: AwsEnv,
}

/// The AWS variables, from `lookup` (the environment, or a test's map).
fn aws_from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> AwsEnv {
    let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
    AwsEnv {
        access_key_id: get("AWS_ACCESS_KEY_ID"),
        secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
        session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
        region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
        endpoint_url: get("AWS_ENDPOINT_URL_S3").or_else(|| get("AWS_ENDPOINT_URL")),
        metadata_endpoint: get("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
        metadata_disabled: get("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        profile: get("AWS_PROFILE"),
        shared_credentials_file: get("AWS_SHARED_CREDENTIALS_FILE")
            .map(std::path::PathBuf::from)
            .or_else(|| get("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials"))),
        container_credentials_uri: get("AWS_CONTAINER_CREDENTIALS_FULL_URI").or_else(|| {
            get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                .map(|rel| format!("http://169.254.170.2{rel}"))
        }),
        container_authorization: get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .or_else(|| {
                get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
                    .and_then(|f| std::fs::read_to_string(f).ok())
                    .map(|t| t.trim().to_string())
            })
            .map(Secret::new),
        web_identity_token_file: get("AWS_WEB_IDENTITY_TOKEN_FILE").map(std::path::PathBuf::from),
        role_arn: get("AWS_ROLE_ARN"),
        role_session_name: get("AWS_ROLE_SESSION_NAME"),
        sts_endpoint: get("AWS_ENDPOINT_URL_STS"),
    }
}

/// Every setting: its field in `AppConfig` and the environment variable that sets it.
pub const SETTINGS: &[(&str, &str)] = &[
    ("profile", "HAMLET_PROFILE"),
    ("database_url", "DATABASE_URL"),
    ("address", "HAMLET_ADDRESS"),
    ("port", "PORT"),
    ("db_max_connections", "HAMLET_DB_MAX_CONNECTIONS"),
    ("torch_threads", "HAMLET_TORCH_THREADS"),
    ("log_format", "HAMLET_LOG_FORMAT"),
    ("templates_dir", "HAMLET_TEMPLATES_DIR"),
    ("public_dir", "HAMLET_PUBLIC_DIR"),
    ("model_path", "HAMLET_MODEL_PATH"),
    ("secret_key", "SECRET_KEY"),
    ("upload_max_bytes", "HAMLET_UPLOAD_MAX_BYTES"),
    ("upload_rate_per_minute", "HAMLET_UPLOAD_RATE_PER_MINUTE"),
    ("api_rate_per_minute", "HAMLET_API_RATE_PER_MINUTE"),
    ("extract_memory_mb", "HAMLET_EXTRACT_MEMORY_MB"),
    ("extract_timeout_secs", "HAMLET_EXTRACT_TIMEOUT_SECS"),
    ("extract_concurrency", "HAMLET_EXTRACT_CONCURRENCY"),
    ("model_weights", "HAMLET_MODEL_WEIGHTS"),
    ("page_cache_mb", "HAMLET_PAGE_CACHE_MB"),
    ("trusted_proxies", "HAMLET_TRUSTED_PROXIES"),
    ("document_min_score", "HAMLET_DOCUMENT_MIN_SCORE"),
    ("text_min_score", "HAMLET_TEXT_MIN_SCORE"),
    ("captcha", "HAMLET_CAPTCHA"),
    ("model_url", "MODEL_URL"),
    ("model_sha256", "MODEL_SHA256"),
    ("model_cache_dir", "MODEL_CACHE_DIR"),
    ("model_check_interval_secs", "MODEL_CHECK_INTERVAL_SECS"),
    ("model_fetch_retries", "MODEL_FETCH_RETRIES"),
    ("model_fetch_stall_secs", "MODEL_FETCH_STALL_SECS"),
    ("allowed_hosts", "HAMLET_ALLOWED_HOSTS"),
    ("heroku_app_name", "HEROKU_APP_NAME"),
    (
        "heroku_app_default_domain_name",
        "HEROKU_APP_DEFAULT_DOMAIN_NAME",
    ),
];

/// The AWS variables read for s3:// URLs (documented beside `SETTINGS`).
pub const AWS_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
];

/// Settings whose values are always strings (a numeric-looking key or password stays text).
const STRING_SETTINGS: &[&str] = &[
    "database_url",
    "secret_key",
    "trusted_proxies",
    "model_url",
    "model_sha256",
    "model_cache_dir",
    "allowed_hosts",
    "heroku_app_name",
    "heroku_app_default_domain_name",
];

/// Variables read besides `SETTINGS`: the aws profile's database parts.
pub const RDS_VARS: &[&str] = &[
    "RDS_HOSTNAME",
    "RDS_PORT",
    "RDS_DB_NAME",
    "RDS_USERNAME",
    "RDS_PASSWORD",
];

/// A configuration problem, naming the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl ConfigError {
    fn new(var: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            var: var.to_string(),
            message: message.into(),
        }
    }
}

impl AppConfig {
    /// The defaults of a profile, before the environment is applied.
    pub fn defaults(profile: Profile) -> AppConfig {
        let deployed = profile != Profile::Local;
        AppConfig {
            profile,
            database_url: (!deployed).then(|| Secret::new("sqlite://data/hamlet.sqlite3")),
            address: if deployed {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            },
            port: 8000,
            db_max_connections: if deployed { 10 } else { 4 },
            torch_threads: 1,
            log_format: if deployed {
                LogFormat::Json
            } else {
                LogFormat::Text
            },
            templates_dir: PathBuf::from("templates"),
            public_dir: PathBuf::from("public"),
            model_path: PathBuf::from("data/model.safetensors"),
            secret_key: None,
            upload_max_bytes: 4 << 20,
            upload_rate_per_minute: 10,
            api_rate_per_minute: 120,
            extract_memory_mb: 512,
            extract_timeout_secs: 20,
            extract_concurrency: 0,
            page_cache_mb: 16,
            model_weights: if deployed {
                crate::model::weights::Precision::I8
            } else {
                crate::model::weights::Precision::F32
            },
            trusted_proxies: match profile {
                Profile::Local => String::new(),
                Profile::Heroku => "*".into(),
                Profile::Aws => "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16".into(),
            },
            document_min_score: None,
            text_min_score: None,
            captcha: false,
            model_url: None,
            model_sha256: None,
            model_cache_dir: PathBuf::from("data/model-cache"),
            model_check_interval_secs: 300,
            model_fetch_retries: 8,
            model_fetch_stall_secs: 30,
            allowed_hosts: String::new(),
            heroku_app_name: None,
            heroku_app_default_domain_name: None,
            aws: AwsEnv::default(),
        }
    }

    /// The limits on reading one uploaded file (`extract::sandbox`).
    /// How model files are fetched and cached.
    pub fn fetch_opts(&self) -> FetchOpts {
        FetchOpts {
            cache_dir: self.model_cache_dir.clone(),
            retries: self.model_fetch_retries,
            stall: std::time::Duration::from_secs(self.model_fetch_stall_secs.max(1)),
            backoff: std::time::Duration::from_millis(500),
        }
    }

    /// Objects by URL (model files, manifests) with these settings and AWS credentials.
    pub fn remote(&self) -> Remote {
        Remote::new(self.fetch_opts(), self.aws.clone())
    }

    pub fn sandbox_limits(&self) -> crate::extract::sandbox::SandboxLimits {
        crate::extract::sandbox::SandboxLimits {
            memory_mb: self.extract_memory_mb,
            timeout_secs: self.extract_timeout_secs,
            concurrency: match self.extract_concurrency {
                0 => crate::extract::sandbox::default_concurrency(),
                n => n,
            },
        }
    }

    /// Reads the configuration from the process environment and validates it.
    pub fn load() -> Result<AppConfig, ConfigError> {
        AppConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AppConfig, ConfigError> {
        let profile = match lookup("HAMLET_PROFILE") {
            Some(p) if !p.trim().is_empty() => Profile::parse(&p)?,
            _ => Profile::Local,
        };
        let mut values: Vec<(&str, String)> = Vec::new();
        for (key, var) in SETTINGS {
            if *key == "profile" {
                continue;
            }
            if let Some(v) = lookup(var).filter(|v| !v.is_empty()) {
                values.push((key, v));
            }
        }
        if profile == Profile::Aws && lookup("DATABASE_URL").is_none() {
            if let Some(url) = rds_url(&lookup)? {
                values.push(("database_url", url));
            }
        }
        // Values are parsed as figment's Env provider parses real environment variables, so
        // "8000" becomes a number and "abc" for a number is a type error naming its key.
        let mut figment = Figment::from(Serialized::defaults(AppConfig::defaults(profile)));
        for (key, value) in values {
            let parsed: figment::value::Value = if STRING_SETTINGS.contains(&key) {
                value.into()
            } else {
                value
                    .parse()
                    .unwrap_or_else(|e: std::convert::Infallible| match e {})
            };
            figment = figment.merge((key, parsed));
        }
        let mut config: AppConfig = figment.extract().map_err(|e| {
            let key = e.path.last().cloned().unwrap_or_default();
            let var = SETTINGS
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(key.as_str(), |(_, v)| v);
            ConfigError::new(var, e.kind.to_string())
        })?;
        config.aws = aws_from_lookup(&lookup);
        // Heroku Postgres accepts only TLS connections: ask for it unless the URL says.
        if profile == Profile::Heroku {
            if let Some(url) = &config.database_url {
                let u = url.expose();
                if u.starts_with("postgres") && !u.contains("sslmode=") {
                    let sep = if u.contains('?') { '&' } else { '?' };
                    config.database_url = Some(Secret::new(format!("{u}{sep}sslmode=require")));
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// A configuration built in code for tests: local profile, the given database.
    pub fn for_tests(database_url: &str) -> AppConfig {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        AppConfig {
            database_url: Some(Secret::new(database_url)),
            templates_dir: root.join("templates"),
            public_dir: root.join("public"),
            // No model unless a test trains one: never a developer's local data/ file.
            model_path: PathBuf::new(),
            port: 0,
            ..AppConfig::defaults(Profile::Local)
        }
    }

    /// Checks what types alone cannot; every error names its variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.as_ref().ok_or_else(|| {
            let hint = match self.profile {
                Profile::Heroku => "required on heroku (the heroku-postgresql add-on sets it)",
                Profile::Aws => {
                    "required on aws (or set RDS_HOSTNAME, RDS_DB_NAME, RDS_USERNAME, RDS_PASSWORD)"
                }
                Profile::Local => "required",
            };
            ConfigError::new("DATABASE_URL", hint)
        })?;
        Backend::from_url(url.expose())
            .map_err(|e| ConfigError::new("DATABASE_URL", e.to_string()))?;
        match &self.secret_key {
            Some(k) if k.expose().chars().count() < 32 => {
                return Err(ConfigError::new(
                    "SECRET_KEY",
                    "must be at least 32 characters (e.g. `openssl rand -hex 32`)",
                ))
            }
            None if self.profile != Profile::Local => {
                return Err(ConfigError::new(
                    "SECRET_KEY",
                    format!(
                        "required on {} (e.g. `openssl rand -hex 32`)",
                        self.profile.name()
                    ),
                ))
            }
            _ => {}
        }
        self.trusted_proxy_nets()?;
        for (var, v) in [
            ("HAMLET_DOCUMENT_MIN_SCORE", self.document_min_score),
            ("HAMLET_TEXT_MIN_SCORE", self.text_min_score),
        ] {
            if let Some(v) = v.filter(|v| !(-1.0..=1.0).contains(v)) {
                return Err(ConfigError::new(
                    var,
                    format!("a score between -1 and 1, got {v}"),
                ));
            }
        }
        if self.upload_max_bytes < 1024 {
            return Err(ConfigError::new(
                "HAMLET_UPLOAD_MAX_BYTES",
                format!("must be at least 1024, got {}", self.upload_max_bytes),
            ));
        }
        if !(16..=65536).contains(&self.extract_memory_mb) {
            return Err(ConfigError::new(
                "HAMLET_EXTRACT_MEMORY_MB",
                format!(
                    "must be between 16 and 65536, got {}",
                    self.extract_memory_mb
                ),
            ));
        }
        if !(1..=3600).contains(&self.extract_timeout_secs) {
            return Err(ConfigError::new(
                "HAMLET_EXTRACT_TIMEOUT_SECS",
                format!(
                    "must be between 1 and 3600, got {}",
                    self.extract_timeout_secs
                ),
            ));
        }
        if self.extract_concurrency > 1024 {
            return Err(ConfigError::new(
                "HAMLET_EXTRACT_CONCURRENCY",
                format!("must be at most 1024, got {}", self.extract_concurrency),
            ));
        }
        if !(1..=256).contains(&self.torch_threads) {
            return Err(ConfigError::new(
                "HAMLET_TORCH_THREADS",
                format!("must be between 1 and 256, got {}", self.torch_threads),
            ));
        }
        self.validate_model_source()?;
        if !(1..=1000).contains(&self.db_max_connections) {
            return Err(ConfigError::new(
                "HAMLET_DB_MAX_CONNECTIONS",
                format!(
                    "must be between 1 and 1000, got {}",
                    self.db_max_connections
                ),
            ));
        }
        Ok(())
    }

    /// The paths `hamlet serve` reads, checked before it starts: each problem is one line
    /// naming its variable and the path (Rocket would panic with a backtrace on a missing
    /// static directory, and fail every page on missing templates).
    pub fn check_serve_paths(&self) -> Result<(), ConfigError> {
        let dir = |var: &str, path: &std::path::Path, what: &str| {
            if path.is_dir() {
                Ok(())
            } else {
                let cwd = std::env::current_dir()
                    .map(|d| format!(" (relative to {})", d.display()))
                    .unwrap_or_default();
                let rel = if path.is_relative() {
                    cwd
                } else {
                    String::new()
                };
                Err(ConfigError::new(
                    var,
                    format!(
                        "{} is not a directory{rel}: point it at {what}",
                        path.display()
                    ),
                ))
            }
        };
        dir(
            "HAMLET_PUBLIC_DIR",
            &self.public_dir,
            "the checkout's or image's public/ folder",
        )?;
        dir(
            "HAMLET_TEMPLATES_DIR",
            &self.templates_dir,
            "the checkout's or image's templates/ folder",
        )?;
        let base = self.templates_dir.join("base.html.tera");
        if !base.is_file() {
            return Err(ConfigError::new(
                "HAMLET_TEMPLATES_DIR",
                format!(
                    "{} holds no base.html.tera: point it at the checkout's or image's templates/ folder",
                    self.templates_dir.display()
                ),
            ));
        }
        if self.model_url.is_none() && self.model_path.exists() && !self.model_path.is_file() {
            return Err(ConfigError::new(
                "HAMLET_MODEL_PATH",
                format!(
                    "{} is not a file (a model file written by `hamlet train`)",
                    self.model_path.display()
                ),
            ));
        }
        if self.model_url.is_some() {
            std::fs::create_dir_all(&self.model_cache_dir).map_err(|e| {
                ConfigError::new(
                    "MODEL_CACHE_DIR",
                    format!("{} cannot be created: {e}", self.model_cache_dir.display()),
                )
            })?;
        }
        Ok(())
    }

    /// `MODEL_URL` and `MODEL_SHA256` together.
    fn validate_model_source(&self) -> Result<(), ConfigError> {
        use crate::remote::manifest::{is_manifest, is_sha256};
        if let Some(sha) = &self.model_sha256 {
            if !is_sha256(sha.trim()) {
                return Err(ConfigError::new(
                    "MODEL_SHA256",
                    "expected 64 hex digits (`sha256sum MODEL`)",
                ));
            }
        }
        // No MODEL_URL is a state, not an error (issue 23): a new deployment has no model
        // before its collection is imported and trained, and `migrate`, `import` and
        // `harvest` never need one; the server serves what needs no model meanwhile.
        let Some(url) = &self.model_url else {
            if self.model_sha256.is_some() {
                return Err(ConfigError::new(
                    "MODEL_SHA256",
                    "set without MODEL_URL (the checksum of which download?)",
                ));
            }
            return Ok(());
        };
        crate::remote::Location::parse(url)
            .map_err(|e| ConfigError::new("MODEL_URL", e.to_string()))?;
        match (is_manifest(url), &self.model_sha256) {
            (false, None) => Err(ConfigError::new(
                "MODEL_SHA256",
                "required when MODEL_URL names a model file: a model is only loaded when its hash matches",
            )),
            (true, Some(_)) => Err(ConfigError::new(
                "MODEL_SHA256",
                "leave unset when MODEL_URL names a manifest: the manifest carries each model's checksum",
            )),
            _ => Ok(()),
        }
    }

    /// The host names the site answers to (lower case), or `None` for any.
    pub fn allowed_host_list(&self) -> Option<Vec<String>> {
        let mut hosts: Vec<String> = self
            .allowed_hosts
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if self.profile == Profile::Heroku {
            if let Some(app) = &self.heroku_app_name {
                hosts.push(format!("{}.herokuapp.com", app.trim().to_ascii_lowercase()));
            }
            if let Some(domain) = &self.heroku_app_default_domain_name {
                hosts.push(domain.trim().to_ascii_lowercase());
            }
        }
        if hosts.is_empty() || hosts.iter().any(|h| h == "*") {
            return None;
        }
        hosts.extend(["localhost".to_string(), "127.0.0.1".into(), "[::1]".into()]);
        Some(hosts)
    }

    /// `HAMLET_TRUSTED_PROXIES` parsed: `None` trusts every peer (`*`).
    pub fn trusted_proxy_nets(&self) -> Result<Option<Vec<ipnet::IpNet>>, ConfigError> {
        let mut nets = Vec::new();
        for part in self.trusted_proxies.split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            if part == "*" {
                return Ok(None);
            }
            let net = part
                .parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::new(
                        "HAMLET_TRUSTED_PROXIES",
                        format!("{part:?} is not an IP address or CIDR range"),
                    )
                })?;
            nets.push(net);
        }
        Ok(Some(nets))
    }

    /// The database URL (validated to be present).
    pub fn database_url(&self) -> &str {
        self.database_url.as_ref().map_or("", Secret::expose)
    }

    /// The database backend the URL selects.
    pub fn backend(&self) -> Backend {
        Backend::from_url(self.database_url()).unwrap_or(Backend::Sqlite)
    }
}

/// `postgres://USER:PASSWORD@HOST:PORT/DB` from Elastic Beanstalk's RDS variables, if
/// `RDS_HOSTNAME` is set.
fn rds_url(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(host) = lookup("RDS_HOSTNAME") else {
        return Ok(None);
    };
    let get = |var: &str| {
        lookup(var).ok_or_else(|| ConfigError::new(var, "required when RDS_HOSTNAME is set"))
    };
    let port = lookup("RDS_PORT").unwrap_or_else(|| "5432".into());
    port.parse::<u16>().map_err(|_| {
        ConfigError::new("RDS_PORT", format!("expected a port number, got {port:?}"))
    })?;
    let (db, user, password) = (
        get("RDS_DB_NAME")?,
        get("RDS_USERNAME")?,
        get("RDS_PASSWORD")?,
    );
    Ok(Some(format!(
        "postgres://{}:{}@{host}:{port}/{db}",
        encode(&user),
        encode(&password)
    )))
}

/// Percent-encodes what may not appear raw in a URL's user-info.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<AppConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AppConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn local_defaults() {
        let c = load(&[]).unwrap();
        assert_eq!(c.profile, Profile::Local);
        assert_eq!(c.database_url(), "sqlite://data/hamlet.sqlite3");
        assert_eq!(c.address.to_string(), "127.0.0.1");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.torch_threads, 1);
    }

    #[test]
    fn heroku_needs_a_database_and_binds_everywhere() {
        let err = load(&[("HAMLET_PROFILE", "heroku")]).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        let c = load(&[
            ("HAMLET_PROFILE", "heroku"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("PORT", "5123"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("MODEL_URL", "s3://models/hamlet/manifest.json"),
        ])
        .unwrap();
        assert_eq!(c.port, 5123);
        assert_eq!(c.address.to_string(), "0.0.0.0");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.backend(), Backend::Postgres);
        assert_eq!(c.database_url(), "postgres://u:p@h/db?sslmode=require");
        assert_eq!(
            c.trusted_proxy_nets().unwrap(),
            None,
            "the router is trusted"
        );
    }

    #[test]
    fn secret_key_is_required_outside_local_and_stays_text() {
        let base = [
            ("HAMLET_PROFILE", "heroku"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("MODEL_URL", "https://models.example/manifest.json"),
        ];
        assert_eq!(load(&base).unwrap_err().var, "SECRET_KEY");
        let short = [base[0], base[1], base[2], ("SECRET_KEY", "short")];
        assert_eq!(load(&short).unwrap_err().var, "SECRET_KEY");
        let digits = "12345678901234567890123456789012345";
        let c = load(&[base[0], base[1], base[2], ("SECRET_KEY", digits)]).unwrap();
        assert_eq!(c.secret_key.unwrap().expose(), digits);
        assert!(
            load(&[]).unwrap().secret_key.is_none(),
            "local makes one per process"
        );
    }

    #[test]
    fn trusted_proxies_parse_or_name_the_variable() {
        let c = load(&[("HAMLET_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")]).unwrap();
        assert_eq!(c.trusted_proxy_nets().unwrap().unwrap().len(), 2);
        assert_eq!(
            load(&[]).unwrap().trusted_proxy_nets().unwrap(),
            Some(vec![])
        );
        assert_eq!(
            load(&[("HAMLET_TRUSTED_PROXIES", "lb.example")])
                .unwrap_err()
                .var,
            "HAMLET_TRUSTED_PROXIES"
        );
    }

    #[test]
    fn aws_assembles_the_url_from_rds_variables() {
        let c = load(&[
            ("HAMLET_PROFILE", "aws"),
            ("RDS_HOSTNAME", "db.example"),
            ("RDS_DB_NAME", "hamlet"),
            ("RDS_USERNAME", "app"),
            ("RDS_PASSWORD", "p@ss/word"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("MODEL_URL", "s3://models/hamlet/manifest.json"),
        ])
        .unwrap();
        assert_eq!(
            c.database_url(),
            "postgres://app:p%40ss%2Fword@db.example:5432/hamlet"
        );
        let err = load(&[
            ("HAMLET_PROFILE", "aws"),
            ("RDS_HOSTNAME", "db"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "RDS_DB_NAME");
    }

    #[test]
    fn model_source_needs_a_checksum_or_a_manifest() {
        let sha = "ab".repeat(32);
        let heroku = [
            ("HAMLET_PROFILE", "heroku"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ];
        // A deployment without a model yet is valid: migrate, import and serve run.
        assert_eq!(load(&heroku).unwrap().model_url, None);
        let file = [
            heroku[0],
            heroku[1],
            heroku[2],
            ("MODEL_URL", "https://h/m.safetensors"),
        ];
        assert_eq!(load(&file).unwrap_err().var, "MODEL_SHA256");
        let pinned = [
            file[0],
            file[1],
            file[2],
            file[3],
            ("MODEL_SHA256", sha.as_str()),
        ];
        assert_eq!(
            load(&pinned).unwrap().model_sha256.as_deref(),
            Some(sha.as_str())
        );
        assert_eq!(
            load(&[
                ("MODEL_URL", "https://h/manifest.json"),
                ("MODEL_SHA256", &sha)
            ])
            .unwrap_err()
            .var,
            "MODEL_SHA256"
        );
        assert_eq!(
            load(&[("MODEL_URL", "ftp://h/m"), ("MODEL_SHA256", &sha)])
                .unwrap_err()
                .var,
            "MODEL_URL"
        );
        assert_eq!(
            load(&[("MODEL_URL", "file:///m"), ("MODEL_SHA256", "abc")])
                .unwrap_err()
                .var,
            "MODEL_SHA256"
        );
        assert!(
            load(&[]).unwrap().model_url.is_none(),
            "local serves HAMLET_MODEL_PATH"
        );
    }

    #[test]
    fn allowed_hosts_add_the_heroku_app() {
        assert_eq!(load(&[]).unwrap().allowed_host_list(), None);
        let c = load(&[
            ("HAMLET_PROFILE", "heroku"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("MODEL_URL", "https://h/manifest.json"),
            ("HEROKU_APP_NAME", "hamlet-demo"),
            ("HAMLET_ALLOWED_HOSTS", "Hamlet.Example.org"),
        ])
        .unwrap();
        let hosts = c.allowed_host_list().unwrap();
        assert!(hosts.contains(&"hamlet-demo.herokuapp.com".to_string()));
        assert!(hosts.contains(&"hamlet.example.org".to_string()));
        assert!(hosts.contains(&"localhost".to_string()));
    }

    #[test]
    fn serve_paths_are_checked_with_their_variable() {
        let root = env!("CARGO_MANIFEST_DIR");
        let templates = format!("{root}/templates");
        let public = format!("{root}/public");
        let ok = load(&[
            ("HAMLET_TEMPLATES_DIR", &templates),
            ("HAMLET_PUBLIC_DIR", &public),
        ])
        .unwrap();
        ok.check_serve_paths().unwrap();
        let err = load(&[
            ("HAMLET_TEMPLATES_DIR", &templates),
            ("HAMLET_PUBLIC_DIR", "/nonexistent/public"),
        ])
        .unwrap()
        .check_serve_paths()
        .unwrap_err();
        assert_eq!(err.var, "HAMLET_PUBLIC_DIR");
        assert!(err.to_string().contains("/nonexistent/public"), "{err}");
        let err = load(&[
            ("HAMLET_TEMPLATES_DIR", &public),
            ("HAMLET_PUBLIC_DIR", &public),
        ])
        .unwrap()
        .check_serve_paths()
        .unwrap_err();
        assert_eq!(err.var, "HAMLET_TEMPLATES_DIR");
        let err = load(&[
            ("HAMLET_TEMPLATES_DIR", &templates),
            ("HAMLET_PUBLIC_DIR", &public),
            ("HAMLET_MODEL_PATH", root),
        ])
        .unwrap()
        .check_serve_paths()
        .unwrap_err();
        assert_eq!(err.var, "HAMLET_MODEL_PATH");
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(load(&[("PORT", "eighty")]).unwrap_err().var, "PORT");
        assert_eq!(
            load(&[("HAMLET_TORCH_THREADS", "0")]).unwrap_err().var,
            "HAMLET_TORCH_THREADS"
        );
        assert_eq!(
            load(&[("HAMLET_PROFILE", "prod")]).unwrap_err().var,
            "HAMLET_PROFILE"
        );
        assert_eq!(
            load(&[("HAMLET_EXTRACT_MEMORY_MB", "1")]).unwrap_err().var,
            "HAMLET_EXTRACT_MEMORY_MB"
        );
        assert_eq!(
            load(&[("HAMLET_EXTRACT_TIMEOUT_SECS", "0")])
                .unwrap_err()
                .var,
            "HAMLET_EXTRACT_TIMEOUT_SECS"
        );
        let err = load(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        assert!(
            err.to_string()
                .starts_with("DATABASE_URL: unsupported database URL scheme"),
            "{err}"
        );
        assert_eq!(
            load(&[("HAMLET_LOG_FORMAT", "xml")]).unwrap_err().var,
            "HAMLET_LOG_FORMAT"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let c = load(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"));
    }

    #[test]
    fn every_field_is_a_setting() {
        // A field added to AppConfig without its variable would silently keep its default.
        let fields = serde_json::to_value(AppConfig::defaults(Profile::Local)).unwrap();
        let keys: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
        for field in fields.as_object().unwrap().keys() {
            assert!(
                keys.contains(&field.as_str()) || field == "aws",
                "{field} has no entry in SETTINGS"
            );
        }
        for key in &keys {
            assert!(fields.get(*key).is_some(), "SETTINGS names {key}, no field");
        }
        for key in STRING_SETTINGS {
            assert!(
                keys.contains(key),
                "STRING_SETTINGS names {key}, not a setting"
            );
        }
    }

    #[test]
    fn env_example_lists_every_variable() {
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
        for (_, var) in SETTINGS {
            assert!(
                example.contains(&format!("{var}=")),
                ".env.example lacks {var}"
            );
        }
        for var in RDS_VARS.iter().chain(AWS_VARS) {
            assert!(
                example.contains(&format!("{var}=")),
                ".env.example lacks {var}"
            );
        }
        // app.json offers every setting a Heroku deployer may choose; the platform sets the
        // rest (the add-on's DATABASE_URL, PORT, dyno metadata) and the image fixes the paths.
        let app: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/app.json")).unwrap(),
        )
        .unwrap();
        let set_by_platform = [
            "DATABASE_URL",
            "PORT",
            "HEROKU_APP_NAME",
            "HEROKU_APP_DEFAULT_DOMAIN_NAME",
            "HAMLET_ADDRESS",
            "HAMLET_TEMPLATES_DIR",
            "HAMLET_PUBLIC_DIR",
            "HAMLET_MODEL_PATH",
        ];
        for (_, var) in SETTINGS {
            if !set_by_platform.contains(var) {
                assert!(
                    app["env"][var]["description"].is_string(),
                    "app.json lacks {var}"
                );
            }
        }
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        for (_, var) in SETTINGS {
            assert!(readme.contains(&format!("`{var}`")), "README lacks {var}");
        }
    }
}
