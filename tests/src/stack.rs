//! The whole product on loopback: Samba DC, SMTP sink, server, onboarded agent.

use std::time::Duration;

use crate::processes::{AgentOptions, AgentProcess, ServerOptions, ServerProcess};
use crate::samba::SambaDc;
use crate::smtp::SmtpSink;

pub struct Stack {
    pub dc: &'static SambaDc,
    pub smtp: SmtpSink,
    pub server: ServerProcess,
    pub agent: AgentProcess,
    pub http: reqwest::Client,
    /// Where the API helpers send requests: the server, or a load balancer in front of it.
    pub base_url: String,
}

impl Stack {
    pub async fn start(dc: &'static SambaDc, configure: impl FnOnce(&mut ServerOptions)) -> Self {
        Self::start_with(dc, configure, |_| AgentOptions::default()).await
    }

    /// As `start`, with the agent's settings chosen once the server runs (e.g. a proxy to it).
    pub async fn start_with(
        dc: &'static SambaDc,
        configure: impl FnOnce(&mut ServerOptions),
        agent: impl FnOnce(&ServerProcess) -> AgentOptions,
    ) -> Self {
        sspr_agent::tls::install_crypto_provider();
        let smtp = SmtpSink::start();
        let mut options = ServerOptions::new(smtp.port);
        configure(&mut options);
        let server = tokio::task::spawn_blocking(move || ServerProcess::start(&options))
            .await
            .expect("server fixture");
        let agent_options = agent(&server);
        let mut agent = AgentProcess::onboard_with(&server, dc, &agent_options);
        agent.start();
        let mut http = reqwest::Client::builder();
        if let Some(ca) = &server.ca_file {
            // The same verified TLS setup the agent uses, trusting the server's private CA.
            let tls = sspr_agent::tls::client_config(Some(ca), false).expect("TLS config");
            http = http.use_preconfigured_tls((*tls).clone());
        }
        let http = http.build().expect("HTTP client");
        let stack = Self {
            dc,
            smtp,
            base_url: server.url.clone(),
            server,
            agent,
            http,
        };
        stack.wait_writeback(true).await;
        stack
    }

    /// A stack of parts started elsewhere (replicas, a load balancer): plain HTTP to
    /// `base_url`. Waits until write-back is available there.
    pub async fn assemble(
        dc: &'static SambaDc,
        smtp: SmtpSink,
        server: ServerProcess,
        agent: AgentProcess,
        base_url: String,
    ) -> Self {
        let stack = Self {
            dc,
            smtp,
            server,
            agent,
            http: reqwest::Client::new(),
            base_url,
        };
        stack.wait_writeback(true).await;
        stack
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Waits until the server reports write-back as `available`; on timeout the failure shows
    /// the ends of the server's and the agent's logs.
    pub async fn wait_writeback(&self, available: bool) {
        let url = self.api(sspr_protocol::reset::STATUS_PATH);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut last;
        loop {
            match self.http.get(&url).send().await {
                Ok(response) => match response.json::<sspr_protocol::reset::Status>().await {
                    Ok(status) if status.writeback_available == available => return,
                    Ok(status) => last = format!("{status:?}"),
                    Err(e) => last = format!("{e:?}"),
                },
                Err(e) => last = format!("{e:?}"),
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for write-back available = {available} (last answer: {last})\n--- server log (end)\n{}\n--- agent log (end)\n{}",
                    tail(&self.server.log(), 15),
                    tail(&self.agent.log(), 15)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
