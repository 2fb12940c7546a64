//! The frontend's files, read into memory once at start and served from there: each with the
//! brotli and gzip copies `scripts/build-frontend.sh` made beside it (`x.br`, `x.gz`), picked by
//! the browser's `Accept-Encoding`. A file whose name carries a content hash (`name-<16 hex
//! digits>.ext`, as the build names them) never changes under that name: it is cached for a
//! year, `immutable`. Everything else — `index.html` above all — is `no-cache`, answered
//! with `304 Not Modified` while its `ETag` still matches.
//!
//! Why not a file server: the frontend is small and fixed for the life of the process, and a
//! file opened per request was the slowest thing the server did.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// A content coding the build may have stored a copy in, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    const ALL: [Coding; 2] = [Coding::Brotli, Coding::Gzip];

    fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gz",
        }
    }
}

#[derive(Debug)]
struct Asset {
    content_type: HeaderValue,
    cache_control: HeaderValue,
    /// The bytes as built, then each stored coding's copy; each with its own ETag.
    identity: Variant,
    coded: Vec<(Coding, Variant)>,
}

#[derive(Debug)]
struct Variant {
    bytes: Bytes,
    etag: HeaderValue,
}

impl Variant {
    fn new(bytes: Vec<u8>, coding: Option<Coding>) -> Self {
        let digest = hex::encode(&Sha256::digest(&bytes)[..12]);
        let etag = match coding {
            Some(c) => format!("\"{digest}-{}\"", c.token()),
            None => format!("\"{digest}\""),
        };
        Self {
            bytes: Bytes::from(bytes),
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        }
    }
}

/// One app's files (the portal's, or the console's) by their path under its root, and the
/// page every other path gets (the app routes on the client).
#[derive(Debug, Default)]
pub struct Assets {
    files: HashMap<String, Asset>,
}

/// `name-0123456789abcdef.ext`: named by its content, so it never changes under this name.
fn is_content_named(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Assets {
    /// Every file under `root` except the folders named in `skip` (another app's root) and
    /// the stored coded copies, which join the file they were made from. A root that does not
    /// exist gives an app without files: every path answers 404 (the frontend is not built).
    pub fn load(root: &Path, skip: &[&str]) -> std::io::Result<Self> {
        let mut assets = Self::default();
        if root.is_dir() {
            assets.read_dir(root, root, skip)?;
        }
        Ok(assets)
    }

    fn read_dir(&mut self, root: &Path, dir: &Path, skip: &[&str]) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            if path.is_dir() {
                if !skip.contains(&relative.as_str()) {
                    self.read_dir(root, &path, skip)?;
                }
                continue;
            }
            if Coding::ALL
                .iter()
                .any(|c| relative.ends_with(&format!(".{}", c.extension())))
            {
                continue;
            }
            let mut coded = Vec::new();
            for coding in Coding::ALL {
                let copy = path.with_file_name(format!(
                    "{}.{}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    coding.extension()
                ));
                if let Ok(bytes) = std::fs::read(&copy) {
                    coded.push((coding, Variant::new(bytes, Some(coding))));
                }
            }
            let content_type = mime_guess::from_path(&path).first_or_octet_stream();
            let content_type = if content_type.subtype() == mime_guess::mime::JAVASCRIPT {
                "text/javascript; charset=utf-8".to_owned()
            } else if content_type.type_() == mime_guess::mime::TEXT {
                format!("{content_type}; charset=utf-8")
            } else {
                content_type.to_string()
            };
            let cache_control = if is_content_named(&relative) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            self.files.insert(
                relative,
                Asset {
                    content_type: HeaderValue::from_str(&content_type)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                    cache_control: HeaderValue::from_static(cache_control),
                    identity: Variant::new(std::fs::read(&path)?, None),
                    coded,
                },
            );
        }
        Ok(())
    }

    pub fn has_index(&self) -> bool {
        self.files.contains_key("index.html")
    }

    /// The answer to `GET`/`HEAD` of `path` (relative to this app's root).
    fn answer(&self, method: &Method, path: &str, headers: &HeaderMap) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD")],
            )
                .into_response();
        }
        let path = path.trim_start_matches('/');
        let asset = match self.files.get(path) {
            Some(asset) => asset,
            // A path that names a file is not a page: a missing script must not come back as
            // HTML under a 200.
            None if path.rsplit('/').next().unwrap_or(path).contains('.') => {
                return StatusCode::NOT_FOUND.into_response();
            }
            None => match self.files.get("index.html") {
                Some(index) => index,
                None => {
                    return (
                        StatusCode::NOT_FOUND,
                        "The portal's files are not built: run scripts/build-frontend.sh.",
                    )
                        .into_response()
                }
            },
        };
        let accepted = accepted_codings(headers);
        let (coding, variant) = asset
            .coded
            .iter()
            .find(|(coding, _)| accepted.contains(coding))
            .map(|(coding, variant)| (Some(*coding), variant))
            .unwrap_or((None, &asset.identity));

        let mut response = if not_modified(headers, &variant.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = if method == Method::HEAD {
                Response::new(Body::empty())
            } else {
                Response::new(Body::from(variant.bytes.clone()))
            };
            let out = response.headers_mut();
            out.insert(header::CONTENT_TYPE, asset.content_type.clone());
            out.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(variant.bytes.len()),
            );
            if let Some(coding) = coding {
                out.insert(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(coding.token()),
                );
            }
            response
        };
        let out = response.headers_mut();
        out.insert(header::ETAG, variant.etag.clone());
        out.insert(header::CACHE_CONTROL, asset.cache_control.clone());
        if !asset.coded.is_empty() {
            out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        response
    }
}

/// The stored codings this request accepts: named (or `*`) with a weight above zero.
fn accepted_codings(headers: &HeaderMap) -> Vec<Coding> {
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let mut any = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            let coding = match name.as_str() {
                "br" => Some(Coding::Brotli),
                "gzip" | "x-gzip" => Some(Coding::Gzip),
                "*" => {
                    any = !zero;
                    None
                }
                _ => None,
            };
            match (coding, zero) {
                (Some(c), false) => accepted.push(c),
                (Some(c), true) => refused.push(c),
                (None, _) => {}
            }
        }
    }
    if any {
        accepted.extend(Coding::ALL);
    }
    accepted.retain(|c| !refused.contains(c));
    accepted
}

fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// The handler for an app's files, for `Router::fallback` or `nest_service`.
pub async fn serve(
    State(assets): State<Arc<Assets>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    assets.answer(&method, uri.path(), &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> (tempfile::TempDir, Assets) {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(dir.path().join(name), bytes).expect("write");
        };
        write("index.html", b"<!doctype html><title>portal</title>");
        write("index.html.br", b"BR-INDEX");
        write("index.html.gz", b"GZ-INDEX");
        write("app-0123456789abcdef.wasm", b"\0asm");
        write("app-0123456789abcdef.wasm.gz", b"GZ-WASM");
        std::fs::create_dir(dir.path().join("console")).expect("dir");
        std::fs::write(dir.path().join("console/index.html"), b"console").expect("write");
        let assets = Assets::load(dir.path(), &["console"]).expect("load");
        (dir, assets)
    }

    fn get(assets: &Assets, path: &str, headers: &[(&'static str, &str)]) -> Response {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).expect("value"));
        }
        assets.answer(&Method::GET, path, &map)
    }

    fn text(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[test]
    fn the_best_stored_coding_the_browser_accepts_is_served() {
        let (_dir, assets) = app();
        let br = get(
            &assets,
            "/",
            &[("accept-encoding", "gzip, deflate, br, zstd")],
        );
        assert_eq!(text(&br, header::CONTENT_ENCODING), "br");
        assert_eq!(text(&br, header::CONTENT_LENGTH), "8");
        assert_eq!(text(&br, header::VARY), "accept-encoding");
        let gz = get(&assets, "/", &[("accept-encoding", "gzip;q=1.0, br;q=0")]);
        assert_eq!(text(&gz, header::CONTENT_ENCODING), "gzip");
        let plain = get(&assets, "/", &[]);
        assert_eq!(text(&plain, header::CONTENT_ENCODING), "");
        assert_eq!(
            text(&plain, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        let star = get(&assets, "/", &[("accept-encoding", "*")]);
        assert_eq!(text(&star, header::CONTENT_ENCODING), "br");
        // Only the codings stored for this file: no brotli copy of the wasm.
        let wasm = get(
            &assets,
            "/app-0123456789abcdef.wasm",
            &[("accept-encoding", "br, gzip")],
        );
        assert_eq!(text(&wasm, header::CONTENT_ENCODING), "gzip");
        assert_eq!(text(&wasm, header::CONTENT_TYPE), "application/wasm");
    }

    #[test]
    fn content_named_files_are_immutable_and_pages_revalidate() {
        let (_dir, assets) = app();
        let wasm = get(&assets, "/app-0123456789abcdef.wasm", &[]);
        assert_eq!(text(&wasm, header::CACHE_CONTROL), IMMUTABLE);
        let page = get(&assets, "/reset", &[]);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(text(&page, header::CACHE_CONTROL), REVALIDATE);
        let etag = text(&page, header::ETAG).to_owned();
        let again = get(&assets, "/unlock", &[("if-none-match", &etag)]);
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        // Another coding is another representation, with its own tag.
        let br = get(
            &assets,
            "/",
            &[("accept-encoding", "br"), ("if-none-match", &etag)],
        );
        assert_eq!(br.status(), StatusCode::OK);
    }

    #[test]
    fn missing_files_are_404_not_the_page_and_other_apps_are_not_served() {
        let (_dir, assets) = app();
        assert_eq!(
            get(&assets, "/missing.js", &[]).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&assets, "/console/index.html", &[]).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&assets, "/index.html.br", &[]).status(),
            StatusCode::NOT_FOUND
        );
        let post = assets.answer(&Method::POST, "/", &HeaderMap::new());
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        let empty = Assets::load(Path::new("/nonexistent/dist"), &[]).expect("load");
        assert!(!empty.has_index());
        assert_eq!(get(&empty, "/", &[]).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn content_names_are_recognised() {
        assert!(is_content_named("sspr-frontend_bg-0123456789abcdef.wasm"));
        assert!(is_content_named("console/main-fedcba9876543210.css"));
        assert!(!is_content_named("index.html"));
        assert!(!is_content_named("favicon.svg"));
        assert!(!is_content_named("app-0123.js"));
    }
}
