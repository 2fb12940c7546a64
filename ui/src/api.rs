//! The HTTP basics both apps build their calls on, and the calls both make. Pages never build
//! URLs or read bodies themselves: each app's own `api.rs` wraps these.
//!
//! Bodies go both ways in postcard (`POSTCARD_MEDIA_TYPE`), not JSON: decoding it takes a
//! fraction of the code, and the code is most of what the browser downloads.
//!
//! Sending and reading an answer is one non-generic future for every call; only serialising
//! the body and parsing the answer are per type. That keeps each call small in the WASM.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::body::{from_postcard, is_postcard, POSTCARD_MEDIA_TYPE};
use sspr_protocol::change::{ChangeKey, CHANGE_KEY_PATH};
use sspr_protocol::reset::{Status, STATUS_PATH};
use sspr_protocol::{ApiError, ErrorCode};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response, UrlSearchParams};

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

/// The whole body as `T`; bytes left over mean it is something else.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    from_postcard(body).ok_or(Failure::Network)
}

/// The answer's body when the server said yes; its error when it said no.
async fn answer(response: Response) -> Result<Vec<u8>, Failure> {
    if !response.ok() {
        return Err(refusal(response).await);
    }
    body(&response).await
}

async fn body(response: &Response) -> Result<Vec<u8>, Failure> {
    let buffer = response.array_buffer().map_err(|_| Failure::Network)?;
    let buffer = JsFuture::from(buffer).await.map_err(|_| Failure::Network)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The server's error; what is not one (a proxy's page, say) is an internal error.
async fn refusal(response: Response) -> Failure {
    let postcard = response
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .is_some_and(|kind| is_postcard(&kind));
    let error = match body(&response).await {
        Ok(body) if postcard => parse(&body).ok(),
        _ => None,
    };
    Failure::Api(error.unwrap_or_else(|| ApiError::new(ErrorCode::Internal)))
}

/// Sends the request with the browser's own `fetch` (same-origin, its cookies with it).
async fn fetch(request: Result<Request, JsValue>) -> Result<Vec<u8>, Failure> {
    let request = request.map_err(|_| Failure::Network)?;
    let sent = web_sys::window()
        .ok_or(Failure::Network)?
        .fetch_with_request(&request);
    let response = JsFuture::from(sent)
        .await
        .ok()
        .and_then(|r| r.dyn_into::<Response>().ok())
        .ok_or(Failure::Network)?;
    answer(response).await
}

/// A request that asks for postcard, with `headers` besides and, if given, a postcard body.
fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Request, JsValue> {
    let sent = Headers::new()?;
    for (name, value) in headers {
        sent.set(name, value)?;
    }
    sent.set("Accept", POSTCARD_MEDIA_TYPE)?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        sent.set("Content-Type", POSTCARD_MEDIA_TYPE)?;
        init.set_body(&js_sys::Uint8Array::from(body));
    }
    init.set_headers(&sent);
    Request::new_with_str_and_init(url, &init)
}

/// A POST of `body` in postcard.
fn post_request<B: Serialize>(
    path: &str,
    body: &B,
    headers: &[(&str, &str)],
) -> Result<Request, JsValue> {
    // Serialising the protocol's types cannot fail (no maps with non-string keys, no
    // unsized sequences); should it, the request goes empty and the server refuses it.
    let body = postcard::to_allocvec(body).unwrap_or_default();
    request("POST", path, headers, Some(&body))
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
    parse(&fetch(get_request(path, query)).await?)
}

fn get_request(path: &str, query: &[(&str, &str)]) -> Result<Request, JsValue> {
    if query.is_empty() {
        return request("GET", path, &[], None);
    }
    let params = UrlSearchParams::new()?;
    for (name, value) in query {
        params.append(name, value);
    }
    request(
        "GET",
        &format!("{path}?{}", String::from(params.to_string())),
        &[],
        None,
    )
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
