//! Server ⇄ agent. The agent opens the WebSocket outbound and authenticates with its relay
//! secret; the server sends requests, the agent answers each by id and sends heartbeats.
//! Passwords only ever cross inside a [`Package`].
//!
//! Each message is one binary WebSocket frame in postcard ([`ServerMessage::to_frame`],
//! [`AgentMessage::from_frame`]): a reset's package would grow by a third as base64 inside JSON
//! text, and the relay carries nothing a person reads on the way. The server's frame capture
//! (diagnostics) writes each one out as JSON.

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
    /// Whether a reset is held to the password history (the DC takes the policy-hints
    /// control); a change always is. Where it is not, a reset page does not promise it.
    pub reset_enforces_history: bool,
}

/// Externally tagged (serde's default), which postcard can read back; JSON shows it as
/// `{"apply": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMessage {
    Lookup {
        id: u64,
        username: String,
    },
    Apply {
        id: u64,
        package: Package,
    },
    /// The helpdesk's search: accounts whose logon name, UPN, display name, given name,
    /// surname or mail start with `query` (at least [`MIN_SEARCH_CHARS`]), inside the
    /// configured scope, at most [`SEARCH_LIMIT`] of them.
    Search {
        id: u64,
        query: String,
    },
    /// The helpdesk's view of one account, by its objectGUID.
    Details {
        id: u64,
        anchor: String,
    },
}

impl ServerMessage {
    pub fn id(&self) -> u64 {
        match self {
            Self::Lookup { id, .. }
            | Self::Apply { id, .. }
            | Self::Search { id, .. }
            | Self::Details { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// A relay frame that did not encode or decode: another version of the protocol, or damage.
#[derive(Debug, thiserror::Error)]
#[error("not a relay message of this version: {0}")]
pub struct FrameError(#[from] postcard::Error);

/// One encoding for both directions, said once.
macro_rules! relay_frame {
    ($message:ty) => {
        impl $message {
            pub fn to_frame(&self) -> Result<Vec<u8>, FrameError> {
                Ok(postcard::to_allocvec(self)?)
            }

            pub fn from_frame(bytes: &[u8]) -> Result<Self, FrameError> {
                Ok(postcard::from_bytes(bytes)?)
            }
        }
    };
}
relay_frame!(ServerMessage);
relay_frame!(AgentMessage);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Lookup(Option<Account>),
    Outcome(SealedOutcome),
    /// A search's matches, at most [`SEARCH_LIMIT`]; `more` when there were more.
    Found {
        accounts: Vec<AccountSummary>,
        more: bool,
    },
    /// None: no account with that objectGUID (in scope or not).
    Details(Option<Box<AccountDetails>>),
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
    /// AD's `preferredLanguage` (e.g. `nl-NL`): the language of mails the service desk's
    /// actions send the user.
    #[serde(default)]
    pub language: Option<String>,
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

/// A search needs this many characters: fewer would list the directory.
pub const MIN_SEARCH_CHARS: usize = 2;
/// The most a search answers; the console asks to narrow it down beyond that.
pub const SEARCH_LIMIT: usize = 25;

/// One match of a helpdesk search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub anchor: String,
    pub account_name: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub enabled: bool,
    pub locked: bool,
}

/// An account as the helpdesk sees it. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetails {
    /// Names, state, contacts, nested groups, `protected` (adminCount=1), scope and the
    /// password policy that applies (domain or fine-grained).
    pub account: Account,
    pub upn: String,
    /// When the lockout began (`lockoutTime`), while locked.
    pub locked_since: Option<crate::UnixTime>,
    /// `pwdLastSet`; None when it is 0 (must change at next logon) or never set.
    pub password_last_set: Option<crate::UnixTime>,
    /// When the password expires by the policy's maximum age; None when it never does
    /// (no maximum age, or "password never expires" on the account).
    pub password_expires: Option<crate::UnixTime>,
    /// `pwdLastSet` = 0: the user must change the password at the next logon.
    pub must_change: bool,
    /// `badPwdCount` as the DC the agent asked keeps it (AD does not replicate it; the agent
    /// asks the PDC emulator where it can, which sees every failure).
    pub bad_password_count: u32,
}
