//! The directory the agent writes to. `Directory` is what the relay handler needs; the LDAP
//! implementation for Active Directory lives in `ldap`, AD's encodings and answers in `ad`.

pub mod acl;
pub mod ad;
#[cfg(test)]
pub mod fake;
pub mod ldap;

use std::future::Future;

use sspr_protocol::package::PackageBody;
use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::relay::{Account, AccountDetails, AccountSummary, MIN_SEARCH_CHARS};
use sspr_protocol::reset::MAX_USERNAME_LEN;
use sspr_protocol::seal::Secret;
use sspr_protocol::ErrorCode;

/// Everything that can go wrong in the directory, each with its own user-facing code.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("the directory refused the password: too short")]
    TooShort,
    #[error("the directory refused the password: complexity")]
    Complexity,
    #[error("the directory refused the password: it contains the account name or a part of the display name")]
    ContainsName,
    #[error("the directory refused the password: it is in the password history")]
    History,
    #[error("the directory refused the password: the current one is too young to change")]
    TooYoung,
    #[error("the directory refused the password: {0}")]
    PolicyOther(String),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the account is locked out")]
    Locked,
    #[error("no such account")]
    NotFound,
    #[error("the account is disabled")]
    Disabled,
    #[error("the account is protected (adminCount=1) and never changed by self-service")]
    Protected,
    #[error("the account is outside the configured scope")]
    OutOfScope,
    #[error(
        "the account is off limits to the helpdesk (protected, or a member of an off-limits group)"
    )]
    OffLimits,
    #[error("a search needs {MIN_SEARCH_CHARS} to {MAX_USERNAME_LEN} characters")]
    BadQuery,
    #[error("the DC does not support the password-policy-hints control, so a reset cannot enforce history; set directory.allow_reset_without_history = true to allow resets anyway")]
    ResetWithoutHistory,
    #[error("the service account lacks a right in the directory: {0}")]
    AccessDenied(String),
    #[error("no domain controller could be reached: {0}")]
    Unreachable(String),
    #[error("TLS to the domain controller failed (is its CA in directory.ca_file?): {0}")]
    Tls(String),
    #[error("directory error: {0}")]
    Other(String),
}

impl DirectoryError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooShort => ErrorCode::PasswordTooShort,
            Self::Complexity => ErrorCode::PasswordComplexity,
            Self::ContainsName => ErrorCode::PasswordContainsName,
            Self::History => ErrorCode::PasswordHistory,
            Self::TooYoung => ErrorCode::PasswordTooYoung,
            Self::PolicyOther(_) => ErrorCode::PasswordRejected,
            Self::WrongPassword => ErrorCode::CurrentPasswordWrong,
            Self::Locked => ErrorCode::AccountLocked,
            Self::NotFound | Self::Disabled | Self::Protected | Self::OutOfScope => {
                ErrorCode::AccountNotEligible
            }
            Self::OffLimits => ErrorCode::TargetOffLimits,
            Self::BadQuery => ErrorCode::BadRequest,
            Self::ResetWithoutHistory => ErrorCode::OperationNotAllowed,
            Self::AccessDenied(_) => ErrorCode::DirectoryAccessDenied,
            Self::Unreachable(_) | Self::Tls(_) => ErrorCode::DirectoryUnreachable,
            Self::Other(_) => ErrorCode::Internal,
        }
    }

    pub fn is_policy(&self) -> bool {
        matches!(
            self,
            Self::TooShort
                | Self::Complexity
                | Self::ContainsName
                | Self::History
                | Self::TooYoung
                | Self::PolicyOther(_)
        )
    }
}

/// What the agent knows about its domain, refreshed with every heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    pub dns_name: String,
    pub base_dn: String,
    pub policy: PasswordPolicy,
    /// The policy-hints control the DC offers, if any.
    pub policy_hints_oid: Option<&'static str>,
    /// The DC this session talks to, and the PDC emulator (`dnsHostName`, lowercase).
    pub dc_host: String,
    pub pdc_host: Option<String>,
    /// The configuration partition's DN (where the domain's NetBIOS name and the forest's UPN
    /// suffixes live).
    pub configuration_dn: String,
    /// Filled in by `domain` (the heartbeat), not for every operation.
    pub netbios: String,
    pub upn_suffixes: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetOptions {
    pub must_change_at_next_logon: bool,
}

/// The package actor of a helpdesk member: `helpdesk:<account name>`.
pub const HELPDESK_ACTOR_PREFIX: &str = "helpdesk:";

/// Groups whose members the helpdesk never touches, whatever the server sends: a server can
/// add groups to a package's `off_limits`, but a compromised or misconfigured one cannot take
/// these away.
pub use sspr_protocol::helpdesk::PRIVILEGED_GROUPS;

/// Who acts on an account decides what the directory refuses before it writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tier {
    /// The account's owner: self-service's rules only (enabled, not protected, in scope).
    #[default]
    SelfService,
    /// Someone acting on another's account: never on a protected account (adminCount=1) nor
    /// on a member, nested membership counting, of one of these groups (common names).
    Restricted { off_limits: Vec<String> },
}

impl Tier {
    /// The tier a package asks for: a helpdesk member is held to the built-in privileged
    /// groups and the server's `off_limits`; any package that names off-limits groups is held
    /// to them, whoever it is for.
    pub fn of(body: &PackageBody) -> Self {
        let mut off_limits = body.off_limits.clone();
        if body.actor.starts_with(HELPDESK_ACTOR_PREFIX) {
            off_limits.extend(PRIVILEGED_GROUPS.iter().map(|g| (*g).to_owned()));
        } else if off_limits.is_empty() {
            return Self::SelfService;
        }
        Self::Restricted { off_limits }
    }

    pub fn is_restricted(&self) -> bool {
        matches!(self, Self::Restricted { .. })
    }

    /// Whether this account may be written by this tier. `account.groups` must hold its nested
    /// groups for a restricted tier. Off limits is decided first: staff learn nothing more
    /// about such an account than that.
    pub fn admits(&self, account: &Account) -> Result<(), DirectoryError> {
        if let Self::Restricted { off_limits } = self {
            let barred: Vec<String> = off_limits.iter().map(|g| g.to_lowercase()).collect();
            let in_barred_group = account
                .groups
                .iter()
                .any(|g| barred.contains(&g.to_lowercase()));
            if account.protected || in_barred_group {
                return Err(DirectoryError::OffLimits);
            }
        }
        if account.protected {
            return Err(DirectoryError::Protected);
        }
        if !account.enabled {
            return Err(DirectoryError::Disabled);
        }
        if !account.in_scope {
            return Err(DirectoryError::OutOfScope);
        }
        Ok(())
    }
}

/// A helpdesk search's text, trimmed, or `BadQuery` when it is too short to narrow anything
/// down or longer than any name could be.
pub fn search_query(raw: &str) -> Result<&str, DirectoryError> {
    let query = raw.trim();
    if query.chars().count() < MIN_SEARCH_CHARS || query.len() > MAX_USERNAME_LEN {
        return Err(DirectoryError::BadQuery);
    }
    Ok(query)
}

/// A helpdesk search's answer: at most `SEARCH_LIMIT` accounts, and whether there were more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matches {
    pub accounts: Vec<AccountSummary>,
    pub more: bool,
}

pub trait Directory: Send + Sync {
    fn domain(&self) -> impl Future<Output = Result<DomainInfo, DirectoryError>> + Send;
    /// Resolves a user-typed name (UPN, sAMAccountName or DOMAIN\user) to exactly one account.
    fn lookup(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Account>, DirectoryError>> + Send;
    /// Replaces the password of the account with this objectGUID, if `tier` may touch it.
    fn reset(
        &self,
        anchor: &str,
        password: &Secret,
        options: ResetOptions,
        tier: &Tier,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Changes the password as the user would: the current one must be right, and AD enforces
    /// history and minimum age.
    fn change(
        &self,
        anchor: &str,
        old: &Secret,
        new: &Secret,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Lifts a lockout (`lockoutTime: 0`), if `tier` may touch the account. The caller has
    /// proven the user's identity.
    fn unlock(
        &self,
        anchor: &str,
        tier: &Tier,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Checks a user's password by binding as the user (sign-in for registration).
    fn verify(
        &self,
        anchor: &str,
        password: &Secret,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Whether resets may be applied at all (history enforceable, or allowed without).
    fn reset_allowed(&self, info: &DomainInfo) -> bool;
    /// The helpdesk's search: users in scope whose names or mail start with `query`.
    fn search(&self, query: &str) -> impl Future<Output = Result<Matches, DirectoryError>> + Send;
    /// The helpdesk's view of one account by objectGUID, whatever its scope or state (the
    /// console shows those, marked); None when there is no such account.
    fn details(
        &self,
        anchor: &str,
    ) -> impl Future<Output = Result<Option<AccountDetails>, DirectoryError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(groups: &[&str]) -> Account {
        fake::Known::account("jan", groups)
    }

    fn helpdesk(off_limits: &[&str]) -> Tier {
        let body = PackageBody {
            op: sspr_protocol::package::Operation::Reset,
            anchor: "a".into(),
            actor: "helpdesk:marie".into(),
            request_id: "r".into(),
            issued_at: 0,
            expires_at: 0,
            flags: Default::default(),
            sealed: None,
            sealed_old: None,
            off_limits: off_limits.iter().map(|g| (*g).to_owned()).collect(),
        };
        Tier::of(&body)
    }

    #[test]
    fn the_helpdesk_is_always_held_to_the_built_in_groups() {
        let tier = helpdesk(&[]);
        assert_eq!(
            tier.admits(&account(&["domain admins"])),
            Err(DirectoryError::OffLimits)
        );
        assert_eq!(
            tier.admits(&account(&["BACKUP OPERATORS"])),
            Err(DirectoryError::OffLimits)
        );
        assert_eq!(tier.admits(&account(&["Staff", "Users"])), Ok(()));
    }

    #[test]
    fn the_server_s_groups_are_added_and_compared_without_case() {
        let tier = helpdesk(&["VIPs", "Ärzte"]);
        assert_eq!(
            tier.admits(&account(&["vips"])),
            Err(DirectoryError::OffLimits)
        );
        assert_eq!(
            tier.admits(&account(&["ärzte"])),
            Err(DirectoryError::OffLimits)
        );
        assert_eq!(
            tier.admits(&account(&["Enterprise Admins"])),
            Err(DirectoryError::OffLimits)
        );
    }

    #[test]
    fn protected_accounts_are_off_limits_to_staff_and_not_eligible_for_their_owners() {
        let mut protected = account(&[]);
        protected.protected = true;
        assert_eq!(
            helpdesk(&[]).admits(&protected),
            Err(DirectoryError::OffLimits)
        );
        assert_eq!(
            Tier::SelfService.admits(&protected),
            Err(DirectoryError::Protected)
        );
        // Self-service is not held to group membership: its own rules decide.
        assert_eq!(
            Tier::SelfService.admits(&account(&["Domain Admins"])),
            Ok(())
        );
        let mut disabled = account(&[]);
        disabled.enabled = false;
        assert_eq!(
            helpdesk(&[]).admits(&disabled),
            Err(DirectoryError::Disabled)
        );
    }

    #[test]
    fn search_queries_are_trimmed_and_bounded() {
        assert_eq!(search_query("  ja "), Ok("ja"));
        assert_eq!(search_query(" j "), Err(DirectoryError::BadQuery));
        assert_eq!(search_query("é"), Err(DirectoryError::BadQuery));
        assert_eq!(search_query("éé"), Ok("éé"));
        assert_eq!(
            DirectoryError::BadQuery.to_string(),
            "a search needs 2 to 256 characters"
        );
        assert_eq!(
            search_query(&"a".repeat(MAX_USERNAME_LEN + 1)),
            Err(DirectoryError::BadQuery)
        );
    }
}
