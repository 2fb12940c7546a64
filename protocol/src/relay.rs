//! Server ⇄ agent. The agent opens the WebSocket outbound and authenticates with its relay
//! secret; the server sends requests, the agent answers each by id and sends heartbeats.
//! Passwords only ever cross inside a [`Package`].

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::package::{Package, PackageKey, SealedOutcome, WrappedKey};
use crate::policy::PasswordPolicy;
use crate::seal::AgentPublicKey;

pub const ONBOARD_PATH: &str = "/api/agent/onboard";
pub const RELAY_PATH: &str = "/api/agent/relay";
/// `sspr-agent doctor` checks its credentials here (204, or 401) without opening a relay, which
/// would take the place of the running agent's.
pub const CHECK_PATH: &str = "/api/agent/check";
/// Agents authenticate with `Authorization: Bearer <agent id>.<relay secret>`.
pub const AUTH_SEPARATOR: char = '.';
pub const DEFAULT_HEARTBEAT_SECS: u64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardRequest {
    pub token: String,
    /// A name for the operator, usually the agent's host name.
    pub name: String,
    pub version: String,
    pub rsa_key: AgentPublicKey,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Onboarded {
    pub agent_id: String,
    pub relay_secret: String,
    pub package_key: PackageKey,
}

impl std::fmt::Debug for Onboarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarded")
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub version: String,
    /// The AD domain's DNS name, e.g. `corp.example.test`.
    pub directory: String,
    /// Its NetBIOS name and the forest's extra UPN suffixes, for routing typed user IDs.
    #[serde(default)]
    pub netbios: String,
    #[serde(default)]
    pub upn_suffixes: Vec<String>,
    pub rsa_key: AgentPublicKey,
    /// The RSA key before the last rollover, still opened during its grace period: a browser
    /// that sealed to it just before the rollover still gets its request through.
    #[serde(default)]
    pub previous_rsa_key_id: Option<String>,
    pub package_key_id: String,
    pub policy: PasswordPolicy,
    /// False when the DC cannot enforce history on a reset and the operator has not allowed
    /// resets anyway: the server then offers no reset for this directory.
    pub reset_allowed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ServerMessage {
    Lookup { id: u64, username: String },
    Apply { id: u64, package: Package },
}

impl ServerMessage {
    pub fn id(&self) -> u64 {
        match self {
            Self::Lookup { id, .. } | Self::Apply { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum AgentMessage {
    Heartbeat(Heartbeat),
    Reply {
        id: u64,
        reply: Reply,
    },
    /// The agent is stopping: it finishes what it has in hand but takes nothing new, so the
    /// server sends new requests to another agent.
    Draining,
    /// The agent rolled its package key over: the new one, sealed under the old one. Sent with
    /// every heartbeat while the old key is in its grace period, so a lost message is repeated.
    KeyRollover(WrappedKey),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Lookup(Option<Account>),
    Outcome(SealedOutcome),
    /// The agent could not act on the request at all (package refused, directory down).
    Failed(ErrorCode),
}

/// A directory account as self-service needs to know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// objectGUID in its canonical text form.
    pub anchor: String,
    pub account_name: String,
    pub display_name: String,
    pub enabled: bool,
    pub locked: bool,
    /// `adminCount=1`: a protected account that self-service must never touch.
    pub protected: bool,
    /// Inside the configured OUs.
    pub in_scope: bool,
    pub mail: Vec<String>,
    pub policy: PasswordPolicy,
    /// Contact data the directory already holds (by default `mobile`, `telephoneNumber` and
    /// `otherMailbox`): it counts as registered without any user action.
    #[serde(default)]
    pub contacts: DirectoryContacts,
    /// The common names of the groups the account is a member of, nested membership included.
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryContacts {
    pub mobile: Vec<String>,
    pub office_phone: Vec<String>,
    pub other_mail: Vec<String>,
}

impl Account {
    pub fn eligible(&self) -> bool {
        self.enabled && !self.protected && self.in_scope
    }
}
