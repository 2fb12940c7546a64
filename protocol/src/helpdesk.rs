//! Staff console ⇄ server: the helpdesk. Staff sign in with their own AD password (sealed in
//! the browser like every password and checked by the agent binding as them), membership of a
//! configured staff group and their own second factor; the session then lives in a cookie
//! (HttpOnly, SameSite=Strict) and every state change carries [`CSRF_HEADER`].

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::seal::SealedSecret;

/// The key to seal the password to is the change flow's: `change::CHANGE_KEY_PATH`.
pub const SIGN_IN_PATH: &str = "/api/staff/sign-in";
/// Sends a code to the staff member's own mail, when they choose it as second factor.
pub const FACTOR_SEND_PATH: &str = "/api/staff/second-factor/send";
pub const FACTOR_PATH: &str = "/api/staff/second-factor";
/// GET: the signed-in session, if any (the console asks on load).
pub const SESSION_PATH: &str = "/api/staff/session";
pub const SIGN_OUT_PATH: &str = "/api/staff/sign-out";
/// The header that carries the session's anti-forgery token on every state change. A page on
/// another site cannot read the token, and cannot set a custom header without CORS, which this
/// server never grants.
pub const CSRF_HEADER: &str = "x-sspr-csrf";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSignIn {
    pub username: String,
    pub sealed_password: SealedSecret,
    #[serde(default)]
    pub lang: Lang,
}

/// The staff member's own second factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// A code from the authenticator app they registered under "My verification methods".
    Authenticator,
    /// A code mailed to their own address (the directory's, or the alternate one they
    /// registered).
    Mail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorOffer {
    pub factor: Factor,
    /// Masked destination; empty for the authenticator.
    pub masked: String,
}

/// The password and the staff group were right: the second factor is next. The session cookie
/// is set already; it admits nothing but the second factor until that is passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorNeeded {
    pub offers: Vec<FactorOffer>,
    pub csrf_token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorSend {
    pub factor: Factor,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorAnswer {
    pub factor: Factor,
    pub code: String,
}

/// A signed-in staff member, as the console shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSession {
    pub account_name: String,
    pub display_name: String,
    pub csrf_token: String,
    /// The session ends after this many seconds without a request…
    pub idle_secs: i64,
    /// …and at this moment (Unix seconds) in any case.
    pub expires_at: crate::UnixTime,
}
