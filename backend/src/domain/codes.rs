//! Codes and answers as they are kept and compared: keyed hashes, bound to the flow or session
//! they belong to, so a code is worth nothing anywhere else and the store never holds one.

use serde::{Deserialize, Serialize};

use crate::crypto::{CryptoError, ServerKeys};

/// What a hash is for; each scope keys its hashes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeScope {
    /// A code sent at a gate of a reset or unlock flow.
    Gate,
    /// A code sent to a number or address being registered.
    Registration,
    /// A picture CAPTCHA's digits.
    Captcha,
    /// A code mailed to a staff member signing in to the helpdesk console.
    Staff,
    /// A code sent to a caller's method, read back to a staff member.
    Caller,
}

impl CodeScope {
    fn label(self) -> &'static [u8] {
        match self {
            CodeScope::Gate => b"gate",
            CodeScope::Registration => b"register",
            CodeScope::Captcha => b"captcha",
            CodeScope::Staff => b"staff",
            CodeScope::Caller => b"caller",
        }
    }
}

/// The one code hash: keyed with the server secret, bound to its scope and to the id hash of
/// the flow or session, from the code as typed (surrounding spaces dropped).
pub fn code_hash(
    keys: &ServerKeys,
    scope: CodeScope,
    id_hash: &str,
    code: &str,
) -> Result<String, CryptoError> {
    keys.mac(&[scope.label(), id_hash.as_bytes(), code.trim().as_bytes()])
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
/// A code sent and not yet answered.
pub struct PendingCode {
    /// Keyed hash of the code, bound to this flow.
    pub hash: String,
    pub expires_at: i64,
    pub attempts_left: u32,
}

/// The code gate's settings.
#[derive(Clone, Copy, Debug)]
pub struct CodeRules {
    pub ttl_secs: i64,
    pub attempts: u32,
    pub resend_cooldown_secs: i64,
}

impl CodeRules {
    pub fn of(reset: &crate::config::ResetConfig) -> Self {
        Self {
            ttl_secs: i64::from(reset.code_ttl_secs),
            attempts: reset.code_attempts,
            resend_cooldown_secs: i64::from(reset.resend_cooldown_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_bound_to_its_scope_and_flow() {
        let keys = ServerKeys::new(&[7u8; 32]).expect("keys");
        let hash = |scope, id: &str, code: &str| code_hash(&keys, scope, id, code).expect("mac");
        let gate = hash(CodeScope::Gate, "flow-a", "12345678");
        assert_eq!(gate, hash(CodeScope::Gate, "flow-a", " 12345678 "));
        assert_ne!(gate, hash(CodeScope::Gate, "flow-b", "12345678"));
        assert_ne!(gate, hash(CodeScope::Registration, "flow-a", "12345678"));
    }
}
