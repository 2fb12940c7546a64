//! Every call to the server. Pages never build URLs or parse JSON themselves.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::captcha::PowSolution;
use sspr_protocol::reset::*;
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::{ApiError, ErrorCode, Lang};

/// Why a call failed: the server said no (with a code), or it could not be reached.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    Api(ApiError),
    Network,
}

impl Failure {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Failure::Api(e) => Some(e.code),
            Failure::Network => None,
        }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    if response.ok() {
        response.json().await.map_err(|_| Failure::Network)
    } else {
        Err(Failure::Api(
            response
                .json()
                .await
                .unwrap_or_else(|_| ApiError::new(ErrorCode::Internal)),
        ))
    }
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, Failure> {
    let response = Request::post(path)
        .json(body)
        .map_err(|_| Failure::Network)?
        .send()
        .await
        .map_err(|_| Failure::Network)?;
    decode(response).await
}

pub async fn change_key() -> Result<sspr_protocol::change::ChangeKey, Failure> {
    decode(
        Request::get(sspr_protocol::change::CHANGE_KEY_PATH)
            .send()
            .await
            .map_err(|_| Failure::Network)?,
    )
    .await
}

pub async fn change(request: sspr_protocol::change::ChangeRequest) -> Result<Completed, Failure> {
    post(sspr_protocol::change::CHANGE_PATH, &request).await
}

pub async fn status() -> Result<Status, Failure> {
    decode(
        Request::get(STATUS_PATH)
            .send()
            .await
            .map_err(|_| Failure::Network)?,
    )
    .await
}

pub async fn start(username: String, lang: Lang, purpose: Purpose) -> Result<Started, Failure> {
    post(
        START_PATH,
        &StartRequest {
            username,
            lang,
            purpose,
        },
    )
    .await
}

pub async fn unlock_code(flow_id: String, code: String) -> Result<Completed, Failure> {
    post(UNLOCK_CODE_PATH, &CodeAnswer { flow_id, code }).await
}

pub async fn captcha(flow_id: String, solution: PowSolution) -> Result<CodeSent, Failure> {
    post(CAPTCHA_PATH, &CaptchaAnswer { flow_id, solution }).await
}

pub async fn code(flow_id: String, code: String) -> Result<NewPasswordStep, Failure> {
    post(CODE_PATH, &CodeAnswer { flow_id, code }).await
}

pub async fn resend(flow_id: String) -> Result<CodeSent, Failure> {
    post(RESEND_PATH, &FlowRef { flow_id }).await
}

pub async fn password(flow_id: String, sealed: SealedSecret) -> Result<Completed, Failure> {
    post(PASSWORD_PATH, &PasswordSubmit { flow_id, sealed }).await
}
