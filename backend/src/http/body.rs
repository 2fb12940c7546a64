//! The API's bodies, in JSON or in postcard. The portal and the console speak postcard (the
//! code that decodes it is a fraction of JSON's, and code is most of what a browser downloads);
//! API clients, scripts and the tests speak JSON. A request's body is read by its
//! `Content-Type`; the answer, an error included, is in what its `Accept` names. (What the
//! layers outside the API's routes answer — a timeout's 503, a wrong method's 405 — has no
//! body, and the apps say "something went wrong" for it.) Failures answer in the same error
//! shape as everything else.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::body::{from_postcard, is_postcard, POSTCARD_MEDIA_TYPE};
use sspr_protocol::ErrorCode;

use crate::http::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Postcard,
}

tokio::task_local! {
    /// The format the request being answered asked for.
    static ANSWER_IN: Format;
}

fn sent_postcard(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_postcard)
}

/// Whether `Accept` names postcard, and not with `q=0` (which says "anything but").
fn accepts_postcard(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            is_postcard(entry)
                && !entry.split(';').skip(1).any(|param| {
                    param
                        .trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q == 0.0)
                })
        })
}

/// Middleware: this request's answers, errors included, in the format its `Accept` names.
pub async fn answer_as_asked(request: Request, next: Next) -> Response {
    let format = if accepts_postcard(request.headers()) {
        Format::Postcard
    } else {
        Format::Json
    };
    ANSWER_IN.scope(format, next.run(request)).await
}

/// A body of the API: read from a request, or written as an answer.
pub struct Api<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Api<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if sent_postcard(req.headers()) {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|rejection| unread(rejection.status()))?;
            return from_postcard(&body)
                .map(Self)
                .ok_or_else(|| AppError::code(ErrorCode::BadRequest));
        }
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection| unread(rejection.status()))
    }
}

/// A body that could not be read: too large, or not what was asked for.
fn unread(status: StatusCode) -> AppError {
    AppError::code(if status == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorCode::PayloadTooLarge
    } else {
        ErrorCode::BadRequest
    })
}

impl<T: Serialize> IntoResponse for Api<T> {
    fn into_response(self) -> Response {
        match ANSWER_IN.try_with(|format| *format).unwrap_or(Format::Json) {
            Format::Json => axum::Json(self.0).into_response(),
            Format::Postcard => match postcard::to_allocvec(&self.0) {
                Ok(body) => (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(POSTCARD_MEDIA_TYPE),
                    )],
                    body,
                )
                    .into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "an answer could not be written in postcard");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn postcard_is_named_exactly_and_not_refused() {
        let accept = |value| accepts_postcard(&headers(header::ACCEPT, value));
        assert!(accept("application/x-postcard"));
        assert!(accept("application/json, Application/X-Postcard;q=0.9"));
        assert!(!accept("application/x-postcard;q=0"));
        assert!(!accept("application/json"));
        assert!(!accept("text/plain; x=application/x-postcard"));
        let sent = |value| sent_postcard(&headers(header::CONTENT_TYPE, value));
        assert!(sent("application/x-postcard"));
        assert!(sent("application/x-postcard; charset=binary"));
        // A type a cross-site form may send without asking first is never read as postcard.
        assert!(!sent("text/plain; x=application/x-postcard"));
    }
}
