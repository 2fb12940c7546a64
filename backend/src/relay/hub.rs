//! The relay hub: which agents are connected, what they last reported, and the requests
//! waiting for their answers. An agent counts as healthy while its heartbeats keep coming.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sspr_protocol::directory::{directory_of, DirectoryName};
use sspr_protocol::relay::{Heartbeat, Reply, ServerMessage};
use sspr_protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HubError {
    #[error("the agent is not connected")]
    Gone,
    #[error("the agent did not answer in time")]
    Timeout,
}

struct Connected {
    connection: u64,
    tx: mpsc::Sender<ServerMessage>,
    heartbeat: Option<(Heartbeat, i64)>,
    /// Stopping: finishes what it has, gets nothing new.
    draining: bool,
}

#[derive(Default)]
struct Inner {
    agents: HashMap<String, Connected>,
    pending: HashMap<u64, (String, oneshot::Sender<Reply>)>,
}

pub struct Hub {
    inner: Mutex<Inner>,
    /// Bumped on every (re)connection, so a request can wait for its agent to come back.
    connections: tokio::sync::watch::Sender<u64>,
    next_id: AtomicU64,
    round_robin: AtomicUsize,
    /// A heartbeat older than this means the agent is gone: two intervals without one.
    stale_after_secs: i64,
    metrics: Arc<Metrics>,
}

/// What the server knows about a healthy agent.
#[derive(Clone, Debug)]
pub struct LiveAgent {
    pub id: String,
    pub heartbeat: Heartbeat,
}

/// The directories these agents serve, each once, by name.
fn directories_of(live: &[LiveAgent]) -> Vec<DirectoryName> {
    let mut all: Vec<DirectoryName> = Vec::new();
    for hb in live.iter().map(|a| &a.heartbeat) {
        if !all.iter().any(|d| d.dns_name == hb.directory) {
            all.push(DirectoryName {
                dns_name: hb.directory.clone(),
                netbios: hb.netbios.clone(),
                upn_suffixes: hb.upn_suffixes.clone(),
            });
        }
    }
    all.sort_by(|a, b| a.dns_name.cmp(&b.dns_name));
    all
}

/// The directory, among those `live` agents serve, that a typed user ID names.
fn directory_in(username: &str, live: &[LiveAgent]) -> Result<String, ErrorCode> {
    let directories = directories_of(live);
    if directories.is_empty() {
        return Err(ErrorCode::WritebackUnavailable);
    }
    directory_of(username, &directories)
        .map(|d| d.dns_name.clone())
        .ok_or(ErrorCode::DirectoryNeeded)
}

impl LiveAgent {
    fn holds(&self, rsa_key_id: &str) -> bool {
        self.heartbeat.rsa_key.key_id == rsa_key_id
            || self.heartbeat.previous_rsa_key_id.as_deref() == Some(rsa_key_id)
    }
}

impl Hub {
    pub fn new(heartbeat_secs: u64, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Mutex::default(),
            connections: tokio::sync::watch::Sender::new(0),
            next_id: AtomicU64::new(1),
            round_robin: AtomicUsize::new(0),
            stale_after_secs: 2 * heartbeat_secs as i64,
            metrics,
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new connection; a reconnecting agent replaces its old one.
    pub fn connect(&self, agent_id: &str, tx: mpsc::Sender<ServerMessage>) -> u64 {
        let connection = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner().agents.insert(
            agent_id.to_owned(),
            Connected {
                connection,
                tx,
                heartbeat: None,
                draining: false,
            },
        );
        self.connections.send_modify(|n| *n += 1);
        connection
    }

    /// Waits until `agent_id` is connected, at most `timeout`. True if it is.
    pub async fn wait_connected(&self, agent_id: &str, timeout: Duration) -> bool {
        let mut changes = self.connections.subscribe();
        let wait = async {
            loop {
                if self.inner().agents.contains_key(agent_id) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.inner().agents.contains_key(agent_id)
    }

    pub fn disconnect(&self, agent_id: &str, connection: u64) {
        let mut inner = self.inner();
        if inner
            .agents
            .get(agent_id)
            .is_some_and(|a| a.connection == connection)
        {
            inner.agents.remove(agent_id);
            // Whoever waits for this agent learns at once that it is gone.
            inner.pending.retain(|_, (agent, _)| agent != agent_id);
        }
    }

    pub fn heartbeat(&self, agent_id: &str, connection: u64, heartbeat: Heartbeat, now: i64) {
        if let Some(agent) = self
            .inner()
            .agents
            .get_mut(agent_id)
            .filter(|a| a.connection == connection)
        {
            agent.heartbeat = Some((heartbeat, now));
        }
    }

    pub fn draining(&self, agent_id: &str, connection: u64) {
        if let Some(agent) = self
            .inner()
            .agents
            .get_mut(agent_id)
            .filter(|a| a.connection == connection)
        {
            agent.draining = true;
        }
    }

    pub fn deliver(&self, request_id: u64, reply: Reply) {
        if let Some((_, tx)) = self.inner().pending.remove(&request_id) {
            let _ = tx.send(reply);
        }
    }

    fn live(&self, now: i64) -> Vec<LiveAgent> {
        let mut live: Vec<LiveAgent> = self
            .inner()
            .agents
            .iter()
            .filter(|(_, a)| !a.draining)
            .filter_map(|(id, a)| {
                let (hb, at) = a.heartbeat.as_ref()?;
                (now - at <= self.stale_after_secs && hb.reset_allowed).then(|| LiveAgent {
                    id: id.clone(),
                    heartbeat: hb.clone(),
                })
            })
            .collect();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        live
    }

    /// The directories with a healthy agent, each once, by name.
    pub fn directories(&self, now: i64) -> Vec<DirectoryName> {
        directories_of(&self.live(now))
    }

    /// The directory a typed user ID belongs to (see
    /// [`sspr_protocol::directory::directory_of`]), if a healthy agent serves it. Takes no turn
    /// in the spread.
    pub fn directory_for(&self, username: &str, now: i64) -> Result<String, ErrorCode> {
        directory_in(username, &self.live(now))
    }

    /// A healthy agent of the directory a typed user ID belongs to.
    pub fn route(&self, username: &str, now: i64) -> Result<LiveAgent, ErrorCode> {
        let live = self.live(now);
        let directory = directory_in(username, &live)?;
        self.spread(
            live.into_iter()
                .filter(|a| a.heartbeat.directory == directory),
        )
        .ok_or(ErrorCode::WritebackUnavailable)
    }

    /// How many healthy agents are connected.
    pub fn live_count(&self, now: i64) -> usize {
        self.live(now).len()
    }

    /// Whether any healthy agent may reset passwords (without taking a turn in the spread).
    pub fn available(&self, now: i64) -> bool {
        !self.live(now).is_empty()
    }

    /// A healthy agent that may reset passwords, spreading requests across several.
    pub fn pick(&self, now: i64) -> Option<LiveAgent> {
        self.spread(self.live(now).into_iter())
    }

    /// A healthy agent of `directory`, spreading requests across several.
    pub fn for_directory(&self, directory: &str, now: i64) -> Option<LiveAgent> {
        self.spread(
            self.live(now)
                .into_iter()
                .filter(|a| a.heartbeat.directory == directory),
        )
    }

    /// The next of `candidates` in turn: each call takes one turn.
    fn spread(&self, candidates: impl Iterator<Item = LiveAgent>) -> Option<LiveAgent> {
        let candidates: Vec<LiveAgent> = candidates.collect();
        if candidates.is_empty() {
            return None;
        }
        let i = self.round_robin.fetch_add(1, Ordering::Relaxed) % candidates.len();
        candidates.into_iter().nth(i)
    }

    /// The healthy agent of `directory` holding the RSA key a secret was sealed to.
    pub fn holding_key(&self, directory: &str, rsa_key_id: &str, now: i64) -> Option<LiveAgent> {
        self.live(now)
            .into_iter()
            .find(|a| a.heartbeat.directory == directory && a.holds(rsa_key_id))
    }

    /// The RSA key an agent last reported.
    pub fn rsa_key_of(&self, agent_id: &str) -> Option<String> {
        let inner = self.inner();
        let (hb, _) = inner.agents.get(agent_id)?.heartbeat.as_ref()?;
        Some(hb.rsa_key.key_id.clone())
    }

    /// Sends a request and waits for its answer.
    pub async fn request(
        &self,
        agent_id: &str,
        make: impl FnOnce(u64) -> ServerMessage,
        timeout: Duration,
    ) -> Result<Reply, HubError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let sender = {
            let mut inner = self.inner();
            let agent = inner.agents.get(agent_id).ok_or(HubError::Gone)?;
            let sender = agent.tx.clone();
            inner.pending.insert(id, (agent_id.to_owned(), tx));
            sender
        };
        let message = make(id);
        let kind = match &message {
            ServerMessage::Lookup { .. } => "lookup",
            ServerMessage::Apply { .. } => "apply",
            ServerMessage::Search { .. } => "search",
            ServerMessage::Details { .. } => "details",
        };
        let sent = std::time::Instant::now();
        if sender.send(message).await.is_err() {
            self.inner().pending.remove(&id);
            return Err(HubError::Gone);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => {
                self.metrics
                    .relay_round_trip(kind, sent.elapsed().as_secs_f64());
                Ok(reply)
            }
            Ok(Err(_)) => Err(HubError::Gone),
            Err(_) => {
                self.inner().pending.remove(&id);
                Err(HubError::Timeout)
            }
        }
    }
}
