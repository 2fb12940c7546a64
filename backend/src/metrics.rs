//! What `/metrics` tells Prometheus about this replica: write-backs by operation and outcome,
//! codes sent by method and delivery, refusals by limit, failed guesses by reason, connections refused for their
//! address holding too many, agents connected, and how long the agents take to answer. Each
//! replica counts its own; Prometheus sums them.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sspr_protocol::gate::Method;
use sspr_protocol::package::Operation;
use sspr_protocol::ErrorCode;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WritebackLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    method: String,
    delivery: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuessLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RelayLabels {
    request: &'static str,
}

/// A value's name as the wire spells it (snake case), for a label.
fn wire_name(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "other".to_owned(),
    }
}

/// Relay round trips, in seconds: from a fast lookup to a slow DC.
const RELAY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

pub struct Metrics {
    registry: Registry,
    writebacks: Family<WritebackLabels, Counter>,
    codes: Family<CodeLabels, Counter>,
    refusals: Family<LimitLabels, Counter>,
    guesses: Family<GuessLabels, Counter>,
    agents: Gauge,
    relay: Family<RelayLabels, Histogram>,
    connections_refused: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sspr");
        let writebacks = Family::<WritebackLabels, Counter>::default();
        registry.register(
            "writebacks",
            "Resets, unlocks, changes and password checks, by outcome (applied or the reason)",
            writebacks.clone(),
        );
        let codes = Family::<CodeLabels, Counter>::default();
        registry.register(
            "codes",
            "Verification codes handed to mail or a phone provider, by method and delivery",
            codes.clone(),
        );
        let refusals = Family::<LimitLabels, Counter>::default();
        registry.register(
            "limit_refusals",
            "Requests refused by a rate limit, by limit",
            refusals.clone(),
        );
        let guesses = Family::<GuessLabels, Counter>::default();
        registry.register(
            "failed_guesses",
            "Wrong or exhausted codes, wrong answers and failed CAPTCHAs, by reason",
            guesses.clone(),
        );
        let agents = Gauge::default();
        registry.register(
            "agents_connected",
            "Healthy agents connected to this replica",
            agents.clone(),
        );
        let relay = Family::<RelayLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(RELAY_BUCKETS)
        });
        registry.register(
            "relay_round_trip_seconds",
            "Time from a request to an agent to its answer",
            relay.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections closed at once because their address already held connections_per_address",
            connections_refused.clone(),
        );
        Self {
            registry,
            writebacks,
            codes,
            refusals,
            guesses,
            agents,
            relay,
            connections_refused,
        }
    }
}

impl Metrics {
    /// A write-back's outcome: `applied`, or the reason it was not.
    pub fn writeback(&self, operation: Operation, outcome: Result<(), ErrorCode>) {
        let outcome = match outcome {
            Ok(()) => "applied".to_owned(),
            Err(code) => wire_name(code),
        };
        let operation = wire_name(operation);
        self.writebacks
            .get_or_create(&WritebackLabels { operation, outcome })
            .inc();
    }

    pub fn code(&self, method: Method, delivered: bool) {
        let delivery = if delivered { "sent" } else { "failed" };
        let method = wire_name(method);
        self.codes
            .get_or_create(&CodeLabels { method, delivery })
            .inc();
    }

    pub fn refused(&self, limit: &'static str) {
        self.refusals.get_or_create(&LimitLabels { limit }).inc();
    }

    pub fn failed_guess(&self, reason: ErrorCode) {
        let reason = wire_name(reason);
        self.guesses.get_or_create(&GuessLabels { reason }).inc();
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    pub fn relay_round_trip(&self, request: &'static str, seconds: f64) {
        self.relay
            .get_or_create(&RelayLabels { request })
            .observe(seconds);
    }

    /// The exposition text, with the agent gauge read now.
    pub fn render(&self, agents_connected: usize) -> String {
        self.agents
            .set(i64::try_from(agents_connected).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
