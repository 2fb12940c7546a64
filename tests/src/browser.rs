//! Headless Chromium driven through chromedriver (both Debian packages), loading the real WASM
//! build from the real server.

use std::process::Child;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh browser whose preferred language is `lang` (e.g. "en-US", "nl-NL").
    pub async fn start(lang: &str) -> Self {
        Self::start_with(lang, &[]).await
    }

    /// The same, with more Chromium switches (e.g. `--host-resolver-rules`).
    pub async fn start_with(lang: &str, extra_args: &[String]) -> Self {
        let profile = tempfile::Builder::new()
            .prefix("sspr-chromium-")
            .tempdir()
            .expect("profile dir");
        let port = crate::processes::free_port();
        let driver = crate::processes::spawn_watched(
            &format!("chromedriver --port={port}"),
            &profile.path().join("chromedriver.log"),
        )
        .expect("start chromedriver");
        crate::wait_for_async("chromedriver", Duration::from_secs(20), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        })
        .await;
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1280,900",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--lang={lang}"));
        args.push(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ));
        args.extend_from_slice(extra_args);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": { "intl.accept_languages": lang },
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        crate::processes::stop(&mut self.driver);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        crate::processes::stop(&mut self.driver);
    }
}

/// Chromium's CDP bridge in chromedriver (`goog/cdp/execute`): one DevTools command.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Makes the page see `prefers-color-scheme: dark` (or light again) without a restart, so a
/// test can look at the same state in both schemes. The default is Chromium's own (light).
pub async fn prefer_dark(client: &Client, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    client
        .issue_cmd(Cdp {
            cmd: "Emulation.setEmulatedMedia",
            params: serde_json::json!({
                "features": [{ "name": "prefers-color-scheme", "value": scheme }]
            }),
        })
        .await
        .expect("emulate the colour scheme");
}
