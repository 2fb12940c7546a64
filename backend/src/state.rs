//! What every request handler shares.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::config::ServerConfig;
use crate::courier::mail::Mailer;
use crate::courier::phone::PhoneGateway;
use crate::courier::timing::SendTimes;
use crate::crypto::ServerKeys;
use crate::metrics::Metrics;
use crate::relay::hub::Hub;
use crate::store::Limiter;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: ServerConfig,
    pub keys: Arc<ServerKeys>,
    pub store: Store,
    pub hub: Hub,
    pub limiter: Limiter,
    pub metrics: Arc<Metrics>,
    pub mailer: Mailer,
    pub phone: PhoneGateway,
    /// How long real sends take, for a decoy's to take as long.
    pub send_times: SendTimes,
    /// For calls out (CAPTCHA verification).
    pub http: reqwest::Client,
    capture: Option<Mutex<std::fs::File>>,
    /// Flips to true when the server is stopping: relay sessions close so agents reconnect
    /// to the next server at once, instead of holding the shutdown up.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Mail(#[from] crate::courier::mail::MailError),
    #[error("phone provider: {0}")]
    Phone(#[from] crate::courier::phone::PhoneError),
    #[error("server keys: {0}")]
    Keys(String),
    #[error("cannot open relay.capture_file: {0}")]
    Capture(std::io::Error),
}

impl AppState {
    pub async fn new(config: ServerConfig) -> Result<Self, StartError> {
        let keys = Arc::new(
            ServerKeys::new(&config.secret_bytes()?)
                .map_err(|e| StartError::Keys(e.to_string()))?,
        );
        let store = Store::open(&config.database, keys.clone()).await?;
        let capture = match &config.relay.capture_file {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(StartError::Capture)?,
            )),
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        Ok(Self(Arc::new(Inner {
            limiter: Limiter::new(config.limits.clone(), store.clone(), metrics.clone()),
            hub: Hub::new(config.relay.heartbeat_secs, metrics.clone()),
            metrics,
            mailer: Mailer::new(&config.mail)?,
            phone: PhoneGateway::new(config.phone.clone())?,
            send_times: SendTimes::default(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .map_err(|e| StartError::Keys(e.to_string()))?,
            keys,
            store,
            capture,
            config,
            shutdown: tokio::sync::watch::Sender::new(false),
        })))
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutting_down(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Diagnostics only (relay.capture_file): one line per relay frame — its direction, the
    /// agent, its size on the wire and the message as JSON.
    pub fn capture_frame(
        &self,
        direction: &str,
        agent_id: &str,
        wire_bytes: usize,
        message: &impl serde::Serialize,
    ) {
        if let Some(file) = &self.capture {
            let json = serde_json::to_string(message).unwrap_or_default();
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(file, "{direction} {agent_id} {wire_bytes} {json}");
        }
    }
}

impl AppState {
    /// A wrong guess (code, answers, CAPTCHA) as the operator sees it: a log line, a count in
    /// `/metrics` and an audit record — who was guessed at and from where, never what was typed.
    pub async fn failed_guess(
        &self,
        subject: &str,
        address: &str,
        reason: sspr_protocol::ErrorCode,
    ) -> Result<(), crate::store::StoreError> {
        use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
        self.metrics.failed_guess(reason);
        tracing::warn!(
            event = "guess_failed",
            ?reason,
            subject,
            address,
            "a wrong guess"
        );
        self.store
            .audit(&AuditRecord {
                at: crate::now(),
                actor: Actor::SelfService,
                subject: subject.to_owned(),
                event: AuditEvent::GuessFailed {
                    reason,
                    address: address.to_owned(),
                },
            })
            .await
    }
}
