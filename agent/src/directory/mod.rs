//! The directory the agent writes to. `Directory` is what the relay handler needs; the LDAP
//! implementation for Active Directory lives in `ldap`, AD's encodings and answers in `ad`.

pub mod acl;
pub mod ad;
#[cfg(test)]
pub mod fake;
pub mod ldap;

use std::future::Future;

use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::relay::Account;
use sspr_protocol::seal::Secret;
use sspr_protocol::ErrorCode;

/// Everything that can go wrong in the directory, each with its own user-facing code.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("the directory refused the password: too short")]
    TooShort,
    #[error("the directory refused the password: complexity")]
    Complexity,
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
            Self::History => ErrorCode::PasswordHistory,
            Self::TooYoung => ErrorCode::PasswordTooYoung,
            Self::PolicyOther(_) => ErrorCode::PasswordRejected,
            Self::WrongPassword => ErrorCode::CurrentPasswordWrong,
            Self::Locked => ErrorCode::AccountLocked,
            Self::NotFound | Self::Disabled | Self::Protected | Self::OutOfScope => {
                ErrorCode::AccountNotEligible
            }
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

pub trait Directory: Send + Sync {
    fn domain(&self) -> impl Future<Output = Result<DomainInfo, DirectoryError>> + Send;
    /// Resolves a user-typed name (UPN, sAMAccountName or DOMAIN\user) to exactly one account.
    fn lookup(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Account>, DirectoryError>> + Send;
    /// Replaces the password of the account with this objectGUID.
    fn reset(
        &self,
        anchor: &str,
        password: &Secret,
        options: ResetOptions,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Changes the password as the user would: the current one must be right, and AD enforces
    /// history and minimum age.
    fn change(
        &self,
        anchor: &str,
        old: &Secret,
        new: &Secret,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Lifts a lockout (`lockoutTime: 0`). The caller has proven the user's identity.
    fn unlock(&self, anchor: &str) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Checks a user's password by binding as the user (sign-in for registration).
    fn verify(
        &self,
        anchor: &str,
        password: &Secret,
    ) -> impl Future<Output = Result<(), DirectoryError>> + Send;
    /// Whether resets may be applied at all (history enforceable, or allowed without).
    fn reset_allowed(&self, info: &DomainInfo) -> bool;
}
