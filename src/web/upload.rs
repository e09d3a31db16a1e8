//! What a reader or API client submits to be matched: a file or pasted text, as JSON
//! (`{"text": ..., "limit": N}`) or as a multipart form (field `file` or `text`, plus the
//! forms' `csrf_token` and captcha fields). One data guard reads both, enforcing
//! `HAMLET_UPLOAD_MAX_BYTES` before anything is buffered (a declared Content-Length over the
//! limit is refused at once; a stream that runs past it is cut off). Every submission counts
//! against the client's upload rate limit, checked before the body is read. Uploaded bytes
//! live in memory for the request only: nothing is written to disk or logged. Files are read
//! by a child process under limits (`extract::sandbox`).

use std::sync::Arc;

use rocket::data::{ByteUnit, Data, FromData, Outcome};
use rocket::http::ContentType;
use rocket::Request;
use serde::Deserialize;

use super::error::Error;
use super::filter::Filter;
use super::guard::Shield;
use crate::config::AppConfig;
use crate::extract::sandbox::{Refused, Sandbox};

/// Multipart framing (boundaries, part headers, small fields) allowed beyond the file itself.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// An uploaded file, held in memory.
pub(crate) struct UploadedFile {
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// A parsed submission. `text` is pasted text; `file` an uploaded file (a non-empty file wins).
#[derive(Default)]
pub(crate) struct Submission {
    pub text: Option<String>,
    pub file: Option<UploadedFile>,
    pub limit: Option<usize>,
    pub min_score: Option<f32>,
    /// The reader's filters (`year_from`, `year_to`, `department`, `degree`).
    pub filter: Filter,
    /// `bibtex`, `ris` or `csljson`: the results as a file for a reference manager.
    pub format: Option<String>,
    pub csrf_token: Option<String>,
    pub captcha_answer: Option<String>,
    pub captcha_token: Option<String>,
    /// What reads the file (the server's sandbox).
    pub sandbox: Option<Arc<Sandbox>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBody {
    text: String,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    min_score: Option<f32>,
    #[serde(default)]
    year_from: Option<i64>,
    #[serde(default)]
    year_to: Option<i64>,
    #[serde(default)]
    department: Vec<String>,
    #[serde(default)]
    degree: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

impl Submission {
    /// The text to match: the file's extracted text, or the pasted text. A file is read in a
    /// child process under memory and time limits (`extract::sandbox`).
    pub(crate) async fn into_text(self) -> Result<String, Error> {
        let pasted = self.text.filter(|t| !t.trim().is_empty());
        // A form with no file chosen still sends an empty, unnamed `file` part.
        let file = self
            .file
            .filter(|f| !f.bytes.is_empty() || f.name.as_deref().is_some_and(|n| !n.is_empty()));
        let file = match (file, &pasted) {
            (Some(f), Some(_)) if f.bytes.is_empty() => None,
            (f, _) => f,
        };
        if let Some(file) = file {
            let sandbox = self
                .sandbox
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("no upload reader is set up")))?;
            let extracted = sandbox
                .extract(&file.bytes, file.name.as_deref())
                .await
                .map_err(|e| match e {
                    Refused::File(e) => Error::from(e),
                    Refused::Busy(_) => Error::Busy(e.to_string()),
                    Refused::Helper(why) => {
                        Error::Internal(anyhow::anyhow!("text extraction failed: {why}"))
                    }
                })?;
            return Ok(extracted.text);
        }
        match pasted {
            Some(t) if t.chars().any(char::is_alphanumeric) => Ok(t),
            Some(_) => Err(Error::BadRequest("the text has no words in it".into())),
            None => Err(Error::BadRequest(
                "nothing to match: choose a file or paste some text".into(),
            )),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Submission {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let max = req
            .rocket()
            .state::<AppConfig>()
            .map_or(4 << 20, |c| c.upload_max_bytes);
        // The rate limit is checked before a byte of the body is read.
        if let Some(shield) = req.rocket().state::<Shield>() {
            let client = shield
                .client_addr(req)
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            // JSON bodies are API text requests, with their own allowance (issue 26); files
            // and forms are uploads.
            let json = req.content_type().is_some_and(|ct| ct.is_json());
            let taken = if json {
                shield.take_api_text(client)
            } else {
                shield.take_upload(client)
            };
            if let Err(e) = taken {
                return Outcome::Error((e.status(), e));
            }
        }
        match read(req, data, max).await {
            Ok(mut s) => {
                s.sandbox = req.rocket().state::<Arc<Sandbox>>().cloned();
                Outcome::Success(s)
            }
            Err(e) => Outcome::Error((e.status(), e)),
        }
    }
}

fn too_large(max: u64) -> Error {
    Error::TooLarge(format!(
        "the upload is larger than the limit of {:.1} MB",
        max as f64 / (1 << 20) as f64
    ))
}

async fn read(req: &Request<'_>, data: Data<'_>, max: u64) -> Result<Submission, Error> {
    let declared = req
        .headers()
        .get_one("Content-Length")
        .and_then(|v| v.parse::<u64>().ok());
    let ct = req.content_type().cloned().unwrap_or(ContentType::Any);
    if ct.is_json() {
        if declared.is_some_and(|n| n > max) {
            return Err(too_large(max));
        }
        let body = data
            .open(ByteUnit::from(max))
            .into_bytes()
            .await
            .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
        if !body.is_complete() {
            return Err(too_large(max));
        }
        let body: JsonBody = serde_json::from_slice(&body).map_err(|e| {
            Error::BadRequest(format!(
                "expected JSON {{\"text\": \"...\", \"limit\": N}}: {e}"
            ))
        })?;
        return Ok(Submission {
            text: Some(body.text),
            limit: body.limit,
            min_score: body.min_score,
            filter: Filter {
                year_from: body.year_from,
                year_to: body.year_to,
                department: body.department,
                degree: body.degree,
            },
            format: body.format,
            ..Submission::default()
        });
    }
    if ct.is_form_data() {
        let stream_max = max + FORM_OVERHEAD;
        if declared.is_some_and(|n| n > stream_max) {
            return Err(too_large(max));
        }
        let boundary = ct
            .params()
            .find(|(k, _)| k.as_str().eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| Error::BadRequest("multipart body without a boundary".into()))?;
        return read_multipart(data, &boundary, max, stream_max).await;
    }
    Err(Error::Unsupported(
        "send JSON ({\"text\": \"...\"}) or a multipart form with a `file` or `text` field".into(),
    ))
}

async fn read_multipart(
    data: Data<'_>,
    boundary: &str,
    max: u64,
    stream_max: u64,
) -> Result<Submission, Error> {
    let limits = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(stream_max)
            .per_field(max)
            .for_field("file", max),
    );
    let reader = data.open(ByteUnit::from(stream_max + 1));
    let mut form = multer::Multipart::with_reader_with_constraints(reader, boundary, limits);
    let mut sub = Submission::default();
    let bad = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            too_large(max)
        }
        other => Error::BadRequest(format!("the form could not be read: {other}")),
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                let filename = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.map_err(bad)?;
                sub.file = Some(UploadedFile {
                    name: filename,
                    bytes: bytes.to_vec(),
                });
            }
            "text" => sub.text = Some(field.text().await.map_err(bad)?),
            "limit" => {
                let v = field.text().await.map_err(bad)?;
                sub.limit = parse_opt(&v, "limit")?;
            }
            "min_score" => {
                let v = field.text().await.map_err(bad)?;
                sub.min_score = parse_opt(&v, "min_score")?;
            }
            "year_from" => {
                let v = field.text().await.map_err(bad)?;
                sub.filter.year_from = parse_opt(&v, "year_from")?;
            }
            "year_to" => {
                let v = field.text().await.map_err(bad)?;
                sub.filter.year_to = parse_opt(&v, "year_to")?;
            }
            "department" => sub.filter.department.push(field.text().await.map_err(bad)?),
            "degree" => sub.filter.degree = Some(field.text().await.map_err(bad)?),
            "format" => sub.format = Some(field.text().await.map_err(bad)?),
            "csrf_token" => sub.csrf_token = Some(field.text().await.map_err(bad)?),
            "captcha_answer" => sub.captcha_answer = Some(field.text().await.map_err(bad)?),
            "captcha_token" => sub.captcha_token = Some(field.text().await.map_err(bad)?),
            _ => {
                // Unknown fields are drained (within the limits) and ignored.
                field.bytes().await.map_err(bad)?;
            }
        }
    }
    Ok(sub)
}

fn parse_opt<T: std::str::FromStr>(v: &str, what: &str) -> Result<Option<T>, Error> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| Error::BadRequest(format!("{what} must be a number, got {v:?}")))
}
