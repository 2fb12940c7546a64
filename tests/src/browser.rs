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
    emulate_media(client, dark, false).await;
}

/// The colour scheme, and whether the person asked for reduced motion.
async fn emulate_media(client: &Client, dark: bool, reduced_motion: bool) {
    let scheme = if dark { "dark" } else { "light" };
    let motion = if reduced_motion {
        "reduce"
    } else {
        "no-preference"
    };
    client
        .issue_cmd(Cdp {
            cmd: "Emulation.setEmulatedMedia",
            params: serde_json::json!({
                "features": [
                    { "name": "prefers-color-scheme", "value": scheme },
                    { "name": "prefers-reduced-motion", "value": motion },
                ]
            }),
        })
        .await
        .expect("emulate the colour scheme");
}

/// axe-core as scripts/setup.sh installs it (from npm).
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = std::env::var_os("SSPR_TOOLS_DIR").map_or_else(
            || {
                std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/sspr-tools")
            },
            std::path::PathBuf::from,
        );
        let file = dir.join("axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", file.display()))
    })
}

/// How the page is looked at: a desktop window, the same window at 200 % browser zoom, a phone.
#[derive(Clone, Copy)]
enum View {
    Desktop,
    /// What Chromium's zoom does to a 1280 × 900 window at 200 %: a layout viewport of
    /// 640 × 450 CSS pixels drawn at two device pixels each (WCAG 1.4.4).
    Zoomed,
    Phone,
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Desktop => "1280 px",
            View::Zoomed => "200 % zoom",
            View::Phone => "375 px",
        }
    }

    async fn apply(self, client: &Client) {
        let (width, height) = match self {
            View::Phone => (375, 800),
            View::Desktop | View::Zoomed => (1280, 900),
        };
        client.set_window_size(width, height).await.expect("resize");
        let zoom = match self {
            View::Zoomed => Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: serde_json::json!({
                    "width": 640, "height": 450, "deviceScaleFactor": 2, "mobile": false
                }),
            },
            View::Desktop | View::Phone => Cdp {
                cmd: "Emulation.clearDeviceMetricsOverride",
                params: serde_json::json!({}),
            },
        };
        client.issue_cmd(zoom).await.expect("zoom");
        if matches!(self, View::Zoomed) {
            // The check means something only if the page really lays out as zoomed.
            let seen = client
                .execute(
                    "return [window.innerWidth, window.devicePixelRatio];",
                    vec![],
                )
                .await
                .expect("measure the zoom");
            assert_eq!(seen, serde_json::json!([640, 2]), "200 % zoom");
        }
    }
}

/// Runs axe-core on the page as it is now — in the light and the dark colour scheme, at desktop
/// width, at 200 % zoom and at 375 px — and fails with every violation of any impact, each with
/// its rule, its help text and the elements it found. `what` names the page or step in the
/// message. The page is asked for reduced motion meanwhile (which it honours): no colour is
/// measured half-way through a transition. Zoomed and at 375 px the page must also reflow
/// without scrolling sideways (WCAG 1.4.10).
pub async fn assert_accessible(client: &Client, what: &str) {
    let mut found = Vec::new();
    for view in [View::Desktop, View::Zoomed, View::Phone] {
        view.apply(client).await;
        if !matches!(view, View::Desktop) {
            let wider = client
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await
                .expect("measure the page")
                .as_i64()
                .unwrap_or_default();
            if wider > 0 {
                found.push(format!(
                    "{}: the page scrolls sideways by {wider} px",
                    view.name()
                ));
            }
        }
        for dark in [false, true] {
            emulate_media(client, dark, true).await;
            let mut violations = axe_violations(client).await;
            if !violations.is_empty() {
                // Asked again after a moment: on a busy machine Chromium has once been seen
                // measuring text in the old scheme's colour on the new scheme's background,
                // just after the switch. What a person could see stays.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                violations = axe_violations(client).await;
            }
            found.extend(
                violations
                    .into_iter()
                    .map(|v| format!("{}{}: {v}", view.name(), if dark { ", dark" } else { "" })),
            );
        }
    }
    prefer_dark(client, false).await;
    View::Desktop.apply(client).await;
    assert!(
        found.is_empty(),
        "axe-core on {what}:\n{}",
        found.join("\n")
    );
}

async fn axe_violations(client: &Client) -> Vec<String> {
    let loaded = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .expect("ask for axe");
    if loaded != serde_json::Value::Bool(true) {
        client
            .execute(axe_source(), vec![])
            .await
            .expect("load axe-core into the page");
    }
    let answer = client
        .execute_async(
            // Two frames and a moment first: the page has restyled for the scheme and width
            // just set, and its (reduced) transitions have ended.
            r#"const done = arguments[arguments.length - 1];
               new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))
                 .then(() => new Promise(r => setTimeout(r, 50)))
                 .then(() => axe.run(document, { resultTypes: ["violations"] }))
                 .then(r => done(r.violations.map(v =>
                   `${v.impact} ${v.id}: ${v.help} — ` +
                   v.nodes.slice(0, 4).map(n => n.target.join(" ") + " (" + (n.failureSummary || "").replace(/\s+/g, " ") + ")").join(", "))))
                 .catch(e => done([`axe failed: ${e}`]));"#,
            vec![],
        )
        .await
        .expect("run axe-core");
    serde_json::from_value(answer).expect("a list of violations")
}
