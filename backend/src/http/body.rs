//! The API's bodies, in JSON or in postcard. The portal and the console speak postcard (the
//! code that decodes it is a fraction of JSON's, and code is most of what a browser downloads);
//! API clients, scripts and the tests speak JSON. A request's body is read by its
//! `Content-Type`; the answer, an error included, is in what its `Accept` names.
//! Failures answer in the same error shape as everything else.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::{ErrorCode, POSTCARD_MEDIA_TYPE};

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

fn names_postcard(headers: &HeaderMap, name: header::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(POSTCARD_MEDIA_TYPE))
}

/// Middleware: this request's answers, errors included, in the format its `Accept` names.
pub async fn answer_as_asked(request: Request, next: Next) -> Response {
    let format = if names_postcard(request.headers(), header::ACCEPT) {
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
        if names_postcard(req.headers(), header::CONTENT_TYPE) {
            let body = Bytes::from_request(req, state).await.map_err(|rejection| {
                AppError::code(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::PayloadTooLarge
                } else {
                    ErrorCode::BadRequest
                })
            })?;
            return postcard::from_bytes(&body)
                .map(Self)
                .map_err(|_| AppError::code(ErrorCode::BadRequest));
        }
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::code(match rejection {
                JsonRejection::BytesRejection(ref r)
                    if r.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    ErrorCode::PayloadTooLarge
                }
                _ => ErrorCode::BadRequest,
            })),
        }
    }
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
