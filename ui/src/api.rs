//! The HTTP basics both apps build their calls on, and the calls both make. Pages never build
//! URLs or read bodies themselves: each app's own `api.rs` wraps these.
//!
//! Bodies go both ways in postcard (`POSTCARD_MEDIA_TYPE`), not JSON: decoding it takes a
//! fraction of the code, and the code is most of what the browser downloads.
//!
//! Sending and reading an answer is one non-generic future for every call; only serialising
//! the body and parsing the answer are per type. That keeps each call small in the WASM.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::body::{from_postcard, is_postcard, POSTCARD_MEDIA_TYPE};
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

/// An answer, or the server's error in its one shape.
pub async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    parse(&answer(response).await?)
}

/// The whole body as `T`; bytes left over mean it is something else.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    from_postcard(body).ok_or(Failure::Network)
}

/// The answer's body when the server said yes; its error when it said no.
async fn answer(response: Response) -> Result<Vec<u8>, Failure> {
    if !response.ok() {
        return Err(refusal(response).await);
    }
    response.binary().await.map_err(|_| Failure::Network)
}

/// The server's error; what is not one (a proxy's page, say) is an internal error.
async fn refusal(response: Response) -> Failure {
    let postcard = response
        .headers()
        .get("content-type")
        .is_some_and(|kind| is_postcard(&kind));
    let error = match response.binary().await {
        Ok(body) if postcard => parse(&body).ok(),
        _ => None,
    };
    Failure::Api(error.unwrap_or_else(|| ApiError::new(ErrorCode::Internal)))
}

async fn send(request: Result<Request, gloo_net::Error>) -> Result<Response, Failure> {
    request
        .map_err(|_| Failure::Network)?
        .send()
        .await
        .map_err(|_| Failure::Network)
}

async fn fetch(request: Result<Request, gloo_net::Error>) -> Result<Vec<u8>, Failure> {
    answer(send(request).await?).await
}

/// A POST of `body` in postcard.
fn post_request<B: Serialize>(
    path: &str,
    body: &B,
    headers: &[(&str, &str)],
) -> Result<Request, gloo_net::Error> {
    // Serialising the protocol's types cannot fail (no maps with non-string keys, no
    // unsized sequences); should it, the request goes empty and the server refuses it.
    let body = postcard::to_allocvec(body).unwrap_or_default();
    binary_post(path, headers, &body)
}

fn binary_post(
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Request, gloo_net::Error> {
    let mut request = Request::post(path);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
        .header("Content-Type", POSTCARD_MEDIA_TYPE)
        .header("Accept", POSTCARD_MEDIA_TYPE)
        .body(js_sys::Uint8Array::from(body))
}

/// POSTs `body`, with `headers` besides (the console's anti-forgery token).
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

/// GETs an answer; `query` is appended as `?name=value&…`.
pub async fn get<T: DeserializeOwned>(path: &str, query: &[(&str, &str)]) -> Result<T, Failure> {
    let mut request = Request::get(path).header("Accept", POSTCARD_MEDIA_TYPE);
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
