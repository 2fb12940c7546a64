//! The one place where failures become HTTP answers. Client mistakes are 4xx with a specific
//! code; 5xx bodies say nothing more than "internal" and the details go to the log.

use crate::http::body::Api;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sspr_protocol::{ApiError, ErrorCode};

use crate::domain::flow::FlowError;
use crate::relay::writeback::WritebackError;
use crate::store::{LimitError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Api(ApiError),
    #[error("internal error: {0}")]
    Internal(String),
    /// No answer came from the agent (it went away, or did not answer in time): the user sees
    /// `code`, and a package sent may or may not have been applied.
    #[error("no answer from the agent: {0:?}")]
    Unanswered(ErrorCode),
}

impl AppError {
    pub fn code(code: ErrorCode) -> Self {
        Self::Api(ApiError::new(code))
    }

    /// A refusal that says when to try again: in seconds for the browser (which shows its own
    /// clock time) and, in the message an API client reads, as a UTC clock time.
    pub fn too_many(retry_after_secs: u32) -> Self {
        let secs = retry_after_secs.max(1);
        let mut error = ApiError::new(ErrorCode::TooManyRequests).with_retry_after(secs);
        let at = crate::now() + i64::from(secs) + 59;
        // `UTC` is a unit, the same in every language.
        let time = format!("{} UTC", crate::http::routes::reset::format_utc(at));
        error.message = sspr_protocol::i18n::tf(
            sspr_protocol::i18n::Lang::En,
            ErrorCode::TooManyRequests.text(),
            &[("time", &time)],
        );
        Self::Api(error)
    }

    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Api(e) => e.code,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Unanswered(code) => *code,
        }
    }
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::code(code)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownFlow => Self::code(ErrorCode::UnknownFlow),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<LimitError> for AppError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Reached(retry_after_secs) => Self::too_many(retry_after_secs),
            LimitError::Store(e) => e.into(),
        }
    }
}

impl From<crate::crypto::CryptoError> for AppError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<FlowError> for AppError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::WrongStep => Self::code(ErrorCode::WrongStep),
            FlowError::CaptchaFailed => Self::code(ErrorCode::CaptchaFailed),
            FlowError::WrongCode { attempts_left } => {
                Self::Api(ApiError::new(ErrorCode::WrongCode).with_attempts_left(attempts_left))
            }
            FlowError::CodeExpired => Self::code(ErrorCode::CodeExpired),
            FlowError::CodeExhausted => Self::code(ErrorCode::CodeExhausted),
            FlowError::Cooldown { retry_after_secs } => Self::too_many(retry_after_secs),
            FlowError::MethodUnavailable => Self::code(ErrorCode::MethodUnavailable),
            FlowError::PhoneMismatch { attempts_left } => {
                Self::Api(ApiError::new(ErrorCode::PhoneMismatch).with_attempts_left(attempts_left))
            }
            FlowError::AnswersWrong { attempts_left } => {
                Self::Api(ApiError::new(ErrorCode::AnswersWrong).with_attempts_left(attempts_left))
            }
            FlowError::PhoneTriesExhausted => {
                Self::Api(ApiError::new(ErrorCode::PhoneMismatch).with_attempts_left(0))
            }
        }
    }
}

impl From<WritebackError> for AppError {
    fn from(e: WritebackError) -> Self {
        match e {
            WritebackError::Refused(code) => Self::code(code),
            WritebackError::Unanswered(code) => Self::Unanswered(code),
            WritebackError::Store(e) => e.into(),
            WritebackError::Internal(detail) => Self::Internal(detail),
        }
    }
}

/// The outcome of a store call whose change may itself fail (a wrong code must still be
/// saved as a spent attempt), as one result.
pub fn flatten<T, E: Into<AppError>>(
    outcome: Result<Result<T, E>, StoreError>,
) -> Result<T, AppError> {
    outcome?.map_err(Into::into)
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        BadRequest | InvalidUsername | CaptchaFailed | WrongCode | CodeExpired | CodeExhausted
        | SealRejected | CurrentPasswordWrong | PhoneMismatch | CodeReused | MethodUnavailable
        | SignInFailed | InvalidContact | AnswersWrong | QuestionsInvalid | DirectoryNeeded
        | UnknownDomain => StatusCode::BAD_REQUEST,
        SendFailed => StatusCode::BAD_GATEWAY,
        PasswordTooShort | PasswordComplexity | PasswordContainsName | PasswordHistory
        | PasswordTooYoung | PasswordRejected => StatusCode::UNPROCESSABLE_ENTITY,
        UnknownFlow => StatusCode::NOT_FOUND,
        WrongStep | AgentChanged => StatusCode::CONFLICT,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        InvalidToken | SessionEnded => StatusCode::UNAUTHORIZED,
        AccountNotEligible | OperationNotAllowed | AccountLocked | ForgedRequest
        | StaffFactorMissing | TargetOffLimits | CallerNotVerified => StatusCode::FORBIDDEN,
        WritebackUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        AgentTimeout => StatusCode::GATEWAY_TIMEOUT,
        DirectoryUnreachable | DirectoryAccessDenied => StatusCode::BAD_GATEWAY,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = match self {
            Self::Api(api) => api,
            Self::Unanswered(code) => ApiError::new(code),
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::new(ErrorCode::Internal)
            }
        };
        let retry_after = body.retry_after_secs;
        let mut response = (status_of(body.code), Api(body)).into_response();
        if let Some(secs) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
