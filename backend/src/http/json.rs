//! A JSON extractor whose failures answer in the same error shape as everything else.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use sspr_protocol::ErrorCode;

use crate::http::error::AppError;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
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
