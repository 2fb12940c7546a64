//! Browser ⇄ server: a password change. The user knows the current password; both passwords
//! are sealed in the browser, and the agent changes the password as the user, so AD enforces
//! history and minimum age.

use serde::{Deserialize, Serialize};

use crate::policy::PasswordPolicy;
use crate::seal::{AgentPublicKey, SealedSecret};

/// GET: the key to seal to and the domain's rules (the same for every name, so nothing is
/// revealed about any account).
pub const CHANGE_KEY_PATH: &str = "/api/change/key";
pub const CHANGE_PATH: &str = "/api/change";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeKey {
    pub agent_key: AgentPublicKey,
    pub policy: PasswordPolicy,
    /// The directory whose agent holds the key (ask with `?directory=<dns name>`).
    #[serde(default)]
    pub directory: String,
}

/// The query of [`CHANGE_KEY_PATH`]: the key of this directory's agents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyQuery {
    pub directory: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    pub username: String,
    pub sealed_current: SealedSecret,
    pub sealed_new: SealedSecret,
    #[serde(default)]
    pub lang: crate::Lang,
}
