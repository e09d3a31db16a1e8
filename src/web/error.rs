//! The one error type handlers return. It carries a message for the reader; causes that the
//! reader must not see (`Internal`) are logged once here, with their whole chain, and shown
//! as a generic message. JSON routes (`/api/...`) get `{"error": {"message": ...}}`, pages get
//! the rendered `error.html.tera`; both with the right status.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, Response};
use rocket_dyn_templates::{context, Template};

use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404, with what was not found.
    #[error("{0}")]
    NotFound(String),
    /// 400, with what is wrong with the request.
    #[error("{0}")]
    BadRequest(String),
    /// 403: a form without a valid CSRF token.
    #[error("{0}")]
    Forbidden(String),
    /// 413: the body is larger than `HAMLET_UPLOAD_MAX_BYTES`.
    #[error("{0}")]
    TooLarge(String),
    /// 415: a file type we cannot read.
    #[error("{0}")]
    Unsupported(String),
    /// 422: well-formed, but nothing can be done with it (an empty or damaged file, a
    /// document without text).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many uploads; retry after this many seconds.
    #[error("too many uploads from your address; try again in {0} seconds")]
    TooManyRequests(u64),
    /// 503: every upload reader is busy (`extract::sandbox`); retry in a few seconds.
    #[error("{0}")]
    Busy(String),
    /// 503: no model is in service (none trained or published yet, or still loading).
    #[error(
        "no recommendation model is in service yet (none has been trained and published); browsing and searching the collection work meanwhile"
    )]
    ModelNotReady,
    /// 503: a dependency (the database) is down; the request may succeed later.
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable(#[source] anyhow::Error),
    /// 500: a bug or an unexpected failure.
    #[error("something went wrong on our side")]
    Internal(#[source] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        match e {
            store::Error::NotFound(id) => {
                Error::NotFound(format!("no document with identifier {id}"))
            }
            e if e.is_unavailable() => Error::Unavailable(e.into()),
            other => Error::Internal(other.into()),
        }
    }
}

impl Error {
    pub fn status(&self) -> Status {
        match self {
            Error::NotFound(_) => Status::NotFound,
            Error::BadRequest(_) => Status::BadRequest,
            Error::Forbidden(_) => Status::Forbidden,
            Error::TooLarge(_) => Status::PayloadTooLarge,
            Error::Unsupported(_) => Status::UnsupportedMediaType,
            Error::Unprocessable(_) => Status::UnprocessableEntity,
            Error::TooManyRequests(_) => Status::TooManyRequests,
            Error::Unavailable(_) | Error::ModelNotReady | Error::Busy(_) => {
                Status::ServiceUnavailable
            }
            Error::Internal(_) => Status::InternalServerError,
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match &self {
            Error::Internal(cause) => {
                tracing::error!(path = %req.uri().path(), error = %format!("{cause:#}"), "request failed")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(path = %req.uri().path(), error = %format!("{cause:#}"), "dependency unavailable")
            }
            _ => {}
        }
        let mut res = render(req, self.status(), &self.to_string())?;
        if let Error::TooManyRequests(secs) = self {
            res.set_raw_header("Retry-After", secs.to_string());
        }
        Ok(res)
    }
}

/// The error response for `status` in the form the route speaks.
pub(crate) fn render(
    req: &Request<'_>,
    status: Status,
    message: &str,
) -> response::Result<'static> {
    let mut res = if wants_json(req) {
        Json(envelope(message)).respond_to(req)?
    } else {
        let ctx = context! { status: status.code, reason: status.reason().unwrap_or(""), message };
        Template::render("error", ctx).respond_to(req)?
    };
    if status == Status::ServiceUnavailable {
        res.set_raw_header("Retry-After", "5");
    }
    Response::build_from(res).status(status).ok()
}

/// The JSON every API error has: `{"error": {"message": ...}}`.
pub(crate) fn envelope(message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "message": message } })
}

fn wants_json(req: &Request<'_>) -> bool {
    req.uri().path().starts_with("/api/") || req.format().is_some_and(|f| f.is_json())
}

/// Every status Rocket produces by itself (unknown paths, bad forms) in the same shapes.
#[rocket::catch(default)]
pub(crate) fn default_catcher(status: Status, _req: &Request<'_>) -> CatcherResponse {
    let message = match status.code {
        404 => "there is nothing at this address".to_string(),
        422 | 400 => "the request could not be understood".to_string(),
        413 => "the request is too large".to_string(),
        _ => status.reason().unwrap_or("error").to_lowercase(),
    };
    CatcherResponse(status, message)
}

pub(crate) struct CatcherResponse(Status, String);

impl<'r> Responder<'r, 'static> for CatcherResponse {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        render(req, self.0, &self.1)
    }
}

impl From<crate::extract::ExtractError> for Error {
    fn from(e: crate::extract::ExtractError) -> Error {
        use crate::extract::ExtractError as E;
        match e {
            E::Unsupported(_) => Error::Unsupported(e.to_string()),
            E::TooLarge(..) => Error::TooLarge(e.to_string()),
            E::TooSlow(..) => Error::Unprocessable(e.to_string()),
            _ => Error::Unprocessable(e.to_string()),
        }
    }
}
