//! The test kit: real parts on loopback. A Samba AD DC provisioned in a temporary directory, an
//! SMTP sink, the real `sspr-server` and `sspr-agent` processes, and headless Chromium. The
//! demo launcher uses the same pieces.
//!
//! Processes started here die with the process that started them (their stdin is a pipe from
//! us; a small shell watchdog kills them on EOF), so a crashed run leaves nothing holding ports.

pub mod api;
pub mod browser;
pub mod gateway;
pub mod haproxy;
pub mod memory;
pub mod pki;
pub mod postgres;
pub mod processes;
pub mod proxy;
pub mod samba;
pub mod smtp;
pub mod stack;

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or gives up after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Async flavour of [`wait_for`].
pub async fn wait_for_async<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default()
}

/// Every `src="…"` and `href="…"` a page names, in order: the build names files by their
/// content, so tests find them through the page that loads them.
pub fn referenced(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    found
}
