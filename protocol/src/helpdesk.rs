//! Staff console ⇄ server: the helpdesk. Staff sign in with their own AD password (sealed in
//! the browser like every password and checked by the agent binding as them), membership of a
//! configured staff group and their own second factor; the session then lives in a cookie
//! (HttpOnly, SameSite=Strict) and every state change carries [`CSRF_HEADER`].

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::register::SlotState;
use crate::relay::{AccountDetails, AccountSummary};
use crate::seal::SealedSecret;

/// The key to seal the password to is the change flow's: `change::CHANGE_KEY_PATH`.
pub const SIGN_IN_PATH: &str = "/api/staff/sign-in";
/// Sends a code to the staff member's own mail, when they choose it as second factor.
pub const FACTOR_SEND_PATH: &str = "/api/staff/second-factor/send";
pub const FACTOR_PATH: &str = "/api/staff/second-factor";
/// GET: the signed-in session, if any (the console asks on load).
pub const SESSION_PATH: &str = "/api/staff/session";
pub const SIGN_OUT_PATH: &str = "/api/staff/sign-out";
pub const SEARCH_PATH: &str = "/api/helpdesk/search";
pub const ACCOUNT_PATH: &str = "/api/helpdesk/account";
/// Sends a code to one of the user's methods; the caller reads it back to the staff member.
pub const VERIFY_SEND_PATH: &str = "/api/helpdesk/verify/send";
pub const VERIFY_PATH: &str = "/api/helpdesk/verify";
/// The key to seal a password to: `change::CHANGE_KEY_PATH` with `?directory=`.
pub const RESET_PATH: &str = "/api/helpdesk/reset";
pub const UNLOCK_PATH: &str = "/api/helpdesk/unlock";
/// Mails the user a single-use link to set their own password: staff never learn it.
pub const LINK_PATH: &str = "/api/helpdesk/link";
/// Removes a registered method (a lost phone), or the whole registration.
pub const REVOKE_PATH: &str = "/api/helpdesk/revoke";
/// The fragment a one-time link carries its token in (`/#reset-link=<token>`): a fragment never
/// reaches a server's or a proxy's log. The portal opens it as a reset flow at its new-password
/// step (`gate::KEY_PATH`, then `reset::PASSWORD_PATH`, with the token as the flow id).
pub const LINK_FRAGMENT: &str = "reset-link";
/// The header that carries the session's anti-forgery token on every state change. A page on
/// another site cannot read the token, and cannot set a custom header without CORS, which this
/// server never grants.
pub const CSRF_HEADER: &str = "x-sspr-csrf";

/// AD's privileged groups: staff never act on their members (nested counts). The server's
/// default `protected_groups`, and a list the agent always adds, whatever the server sends. By
/// common name: a forest installed in another language names them otherwise, and there only
/// their members' `adminCount=1` holds staff off.
pub const PRIVILEGED_GROUPS: &[&str] = &[
    "Domain Admins",
    "Enterprise Admins",
    "Schema Admins",
    "Administrators",
    "Account Operators",
    "Server Operators",
    "Backup Operators",
    "Print Operators",
    "Group Policy Creator Owners",
];

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSignIn {
    pub username: String,
    pub sealed_password: SealedSecret,
    #[serde(default)]
    pub lang: Lang,
}

impl std::fmt::Debug for StaffSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSignIn")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchHit {
    /// The directory (DNS name) the account is in.
    pub directory: String,
    pub account: AccountSummary,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// More matched than are shown: narrow the search down.
    pub more: bool,
}

/// One account, by directory and objectGUID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRef {
    pub directory: String,
    pub anchor: String,
}

/// Why staff may not act on an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffLimits {
    /// `adminCount=1`.
    Protected,
    /// A member of a protected group (nested counts).
    ProtectedGroup,
    /// A member of a staff group: staff never act on each other.
    Staff,
}

/// One line of the account's recent audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLine {
    pub at: crate::UnixTime,
    pub event: String,
    /// `self`, `helpdesk:<name>`, `system`, …
    pub actor: String,
}

/// The account as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountView {
    pub directory: String,
    pub details: AccountDetails,
    /// The methods the user has (masked), where each came from.
    pub methods: Vec<SlotState>,
    /// The account's own mail address, masked (a code can go there too).
    pub primary_mail: String,
    /// Set when staff may not act on this account.
    pub off_limits: Option<OffLimits>,
    /// Whether the caller was verified for this account in this session (and how).
    pub caller_verified: Option<CallerMethod>,
    /// Whether policy lets staff act without verifying the caller (with a written reason).
    pub may_skip_verification: bool,
    pub recent: Vec<AuditLine>,
}

/// How a caller proves who they are to the helpdesk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerMethod {
    /// A code mailed to the account's own address.
    Mail,
    /// A code mailed to the alternate address the user registered or the directory holds.
    AltMail,
    /// A code texted to the user's mobile.
    MobileText,
    /// The current code of the user's authenticator app, read out by the caller.
    Authenticator,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySend {
    pub account: AccountRef,
    pub method: CallerMethod,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySent {
    pub method: CallerMethod,
    /// Where the code went, masked, for the staff member to tell the caller.
    pub masked: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyAnswer {
    pub account: AccountRef,
    pub method: CallerMethod,
    pub code: String,
}

/// What staff record with every action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionNote {
    /// The service desk's ticket reference, if any.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Why the caller was not verified; only where policy allows skipping.
    #[serde(default)]
    pub skip_reason: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffReset {
    pub account: AccountRef,
    /// Sealed in the staff browser to the directory's agent, like every password.
    pub sealed: SealedSecret,
    pub must_change_at_next_logon: bool,
    /// Lift a lockout too.
    #[serde(default)]
    pub unlock: bool,
    #[serde(default)]
    pub note: ActionNote,
}

impl std::fmt::Debug for StaffReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffReset")
            .field("account", &self.account)
            .field("must_change_at_next_logon", &self.must_change_at_next_logon)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffUnlock {
    pub account: AccountRef,
    #[serde(default)]
    pub note: ActionNote,
}

/// Done: what the console tells the staff member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDone {
    pub request_id: String,
    /// The user was told by mail (to the account's own address).
    pub user_notified: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffLink {
    pub account: AccountRef,
    /// Where the link goes: the account's own mail or its alternate address.
    pub method: CallerMethod,
    #[serde(default)]
    pub note: ActionNote,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSent {
    /// Where it went, masked.
    pub masked: String,
    /// The link works once, until then (Unix seconds).
    pub expires_at: crate::UnixTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffRevoke {
    pub account: AccountRef,
    /// The method to remove; None clears the whole registration, so the user must register
    /// again. What the directory holds (e.g. `mobile`) stays: change it in AD.
    pub slot: Option<crate::register::Slot>,
    #[serde(default)]
    pub note: ActionNote,
}
