//! The whole product on loopback: Samba DC, SMTP sink, server, onboarded agent.

use std::time::Duration;

use crate::processes::{AgentProcess, ServerOptions, ServerProcess};
use crate::samba::SambaDc;
use crate::smtp::SmtpSink;

pub struct Stack {
    pub dc: &'static SambaDc,
    pub smtp: SmtpSink,
    pub server: ServerProcess,
    pub agent: AgentProcess,
    pub http: reqwest::Client,
}

impl Stack {
    pub async fn start(dc: &'static SambaDc, configure: impl FnOnce(&mut ServerOptions)) -> Self {
        sspr_agent::tls::install_crypto_provider();
        let smtp = SmtpSink::start();
        let mut options = ServerOptions::new(smtp.port);
        configure(&mut options);
        let server = tokio::task::spawn_blocking(move || ServerProcess::start(&options))
            .await
            .expect("server fixture");
        let mut agent = AgentProcess::onboard(&server, dc);
        agent.start();
        let stack = Self {
            dc,
            smtp,
            server,
            agent,
            http: reqwest::Client::new(),
        };
        stack.wait_writeback(true).await;
        stack
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    /// Waits until the server reports write-back as `available`.
    pub async fn wait_writeback(&self, available: bool) {
        let url = self.api(sspr_protocol::reset::STATUS_PATH);
        let http = self.http.clone();
        crate::wait_for_async(
            &format!("write-back available = {available}"),
            Duration::from_secs(60),
            || {
                let (url, http) = (url.clone(), http.clone());
                async move {
                    let status: sspr_protocol::reset::Status =
                        http.get(&url).send().await.ok()?.json().await.ok()?;
                    (status.writeback_available == available).then_some(())
                }
            },
        )
        .await;
    }

    /// Everything the server wrote to disk or the wire, for the leak checks.
    pub fn server_artifacts(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            ("server log".into(), self.server.log().into_bytes()),
            ("database".into(), self.server.database_bytes()),
            (
                "relay frames".into(),
                self.server.relay_frames().into_bytes(),
            ),
        ]
    }
}
