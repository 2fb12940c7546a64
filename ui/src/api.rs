//! The HTTP basics both apps build their calls on, and the calls both make. Pages never build
//! URLs or parse JSON themselves: each app's own `api.rs` wraps these.
//!
//! Sending and reading an answer is one non-generic future for every call; only serialising
//! the body and parsing the answer are per type. That keeps each call small in the WASM.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::change::{ChangeKey, CHANGE_KEY_PATH};
use sspr_protocol::reset::{Status, STATUS_PATH};
use sspr_protocol::{ApiError, ErrorCode};

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

/// A JSON answer, or the server's error in its one shape.
pub async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    parse(&answer(response).await?)
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|_| Failure::Network)
}

/// The answer's body when the server said yes; its error when it said no.
async fn answer(response: Response) -> Result<String, Failure> {
    if !response.ok() {
        return Err(refusal(response).await);
    }
    response.text().await.map_err(|_| Failure::Network)
}

async fn refusal(response: Response) -> Failure {
    Failure::Api(
        response
            .json()
            .await
            .unwrap_or_else(|_| ApiError::new(ErrorCode::Internal)),
    )
}

async fn send(request: Result<Request, gloo_net::Error>) -> Result<Response, Failure> {
    request
        .map_err(|_| Failure::Network)?
        .send()
        .await
        .map_err(|_| Failure::Network)
}

async fn fetch(request: Result<Request, gloo_net::Error>) -> Result<String, Failure> {
    answer(send(request).await?).await
}

/// A POST of `body` as JSON (what `RequestBuilder::json` does).
fn post_request<B: Serialize>(
    path: &str,
    body: &B,
    headers: &[(&str, &str)],
) -> Result<Request, gloo_net::Error> {
    json_post(path, headers, serde_json::to_string(body)?)
}

fn json_post(
    path: &str,
    headers: &[(&str, &str)],
    json: String,
) -> Result<Request, gloo_net::Error> {
    let mut request = Request::post(path);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
        .header("Content-Type", "application/json")
        .body(json)
}

/// POSTs `body` as JSON, with `headers` besides (the console's anti-forgery token).
pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
    headers: &[(&str, &str)],
) -> Result<T, Failure> {
    parse(&fetch(post_request(path, body, headers)).await?)
}

/// POSTs where the answer has no body (`204 No Content`).
pub async fn post_no_content<B: Serialize>(
    path: &str,
    body: &B,
    headers: &[(&str, &str)],
) -> Result<(), Failure> {
    fetch(post_request(path, body, headers)).await.map(drop)
}

/// GETs a JSON answer; `query` is appended as `?name=value&…`.
pub async fn get<T: DeserializeOwned>(path: &str, query: &[(&str, &str)]) -> Result<T, Failure> {
    let mut request = Request::get(path);
    if !query.is_empty() {
        request = request.query(query.iter().copied());
    }
    parse(&fetch(request.build()).await?)
}

/// Whether write-back is up, and the directories served.
pub async fn status() -> Result<Status, Failure> {
    get(STATUS_PATH, &[]).await
}

/// The key to seal a password to, with the directory's rules: of `directory`'s agents, or of
/// any agent.
pub async fn change_key(directory: Option<&str>) -> Result<ChangeKey, Failure> {
    let pair;
    let query: &[(&str, &str)] = match directory {
        Some(directory) => {
            pair = [("directory", directory)];
            &pair
        }
        None => &[],
    };
    get(CHANGE_KEY_PATH, query).await
}
