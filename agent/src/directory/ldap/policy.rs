//! The password policy an account is held to: the domain's, or the fine-grained password policy
//! (PSO) that wins for it (`msDS-ResultantPSO`), kept for a while once read.

use std::time::{Duration, Instant};

use ldap3::{Ldap, Scope, SearchEntry};
use sspr_protocol::policy::{AccountNames, PasswordPolicy, Rule, DOMAIN_PASSWORD_COMPLEX};

use super::entry::{first, values};
use super::{lock, LdapDirectory};
use crate::directory::{ad, DirectoryError, DomainInfo};

/// A fine-grained password policy (PSO) object's settings.
const PSO_ATTRS: &[&str] = &[
    "msDS-MinimumPasswordLength",
    "msDS-PasswordComplexityEnabled",
    "msDS-PasswordHistoryLength",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
];

/// PSOs change rarely; reading one again for every lookup would also make accounts with a PSO
/// measurably slower to look up than those without.
const PSO_CACHE_TTL: Duration = Duration::from_secs(300);

/// The domain's own password policy, from its root object's attributes.
pub(super) fn domain_policy(domain: &SearchEntry) -> PasswordPolicy {
    let num = |attr: &str| {
        first(domain, attr)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    PasswordPolicy {
        min_length: num("minPwdLength").clamp(0, 256) as u32,
        complexity: (num("pwdProperties") as u32) & DOMAIN_PASSWORD_COMPLEX != 0,
        history_length: num("pwdHistoryLength").clamp(0, 1024) as u32,
        min_age_secs: first(domain, "minPwdAge")
            .map(ad::interval_secs)
            .unwrap_or(0),
        max_age_secs: first(domain, "maxPwdAge")
            .map(ad::interval_secs)
            .unwrap_or(0),
    }
}

/// A PSO's settings as a policy; None when the object shows none of them (unreadable).
fn pso_policy(pso: &SearchEntry) -> Option<PasswordPolicy> {
    let num = |attr: &str| {
        values(pso, attr)
            .first()
            .and_then(|v| v.parse::<i64>().ok())
    };
    let min_length = num("msDS-MinimumPasswordLength")?;
    Some(PasswordPolicy {
        min_length: min_length.clamp(0, 256) as u32,
        complexity: values(pso, "msDS-PasswordComplexityEnabled")
            .first()
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
        history_length: num("msDS-PasswordHistoryLength")
            .unwrap_or(0)
            .clamp(0, 1024) as u32,
        min_age_secs: values(pso, "msDS-MinimumPasswordAge")
            .first()
            .map(|v| ad::interval_secs(v))
            .unwrap_or(0),
        max_age_secs: values(pso, "msDS-MaximumPasswordAge")
            .first()
            .map(|v| ad::interval_secs(v))
            .unwrap_or(0),
    })
}

/// Windows says only "constraint violation"; name the reason when our own evaluation can.
/// The rules the browser showed, checked here where the password is clear, before it is
/// written: the outcome does not depend on what the DC checks (Samba, for one, ignores the
/// display-name rule).
pub(super) fn enforce(
    policy: &PasswordPolicy,
    password: &str,
    names: &AccountNames,
) -> Result<(), DirectoryError> {
    match policy
        .evaluate(password, names)
        .into_iter()
        .find(|c| !c.met)
        .map(|c| c.rule)
    {
        Some(Rule::MinLength(_)) => Err(DirectoryError::TooShort),
        Some(Rule::Complexity) => Err(DirectoryError::Complexity),
        Some(Rule::NotAccountName) => Err(DirectoryError::ContainsName),
        None => Ok(()),
    }
}

pub(super) fn refine(
    err: DirectoryError,
    policy: &PasswordPolicy,
    password: &str,
    names: &AccountNames,
) -> DirectoryError {
    if !matches!(err, DirectoryError::PolicyOther(_)) {
        return err;
    }
    enforce(policy, password, names).err().unwrap_or(err)
}

impl LdapDirectory {
    /// The policy that applies to the account: its resultant PSO where one applies, the
    /// domain's otherwise. A PSO the service account cannot read leaves the domain policy (AD
    /// still enforces the PSO; only the live feedback is less exact) and says so in the log.
    pub(super) async fn effective_policy(
        &self,
        ldap: &mut Ldap,
        entry: &SearchEntry,
        info: &DomainInfo,
    ) -> PasswordPolicy {
        let Some(pso_dn) = values(entry, "msDS-ResultantPSO").into_iter().next() else {
            return info.policy.clone();
        };
        let key = pso_dn.to_ascii_lowercase();
        if let Some((policy, read_at)) = lock(&self.psos).get(&key) {
            if read_at.elapsed() < PSO_CACHE_TTL {
                return policy.clone();
            }
        }
        let read = self
            .ldap_search(ldap, &pso_dn, Scope::Base, "(objectClass=*)", PSO_ATTRS)
            .await
            .ok()
            .and_then(|found| found.into_iter().next())
            .and_then(|pso| pso_policy(&pso));
        match read {
            Some(policy) => {
                lock(&self.psos).insert(key, (policy.clone(), Instant::now()));
                policy
            }
            None => {
                crate::event!(warn, crate::events::Event::PsoUnreadable, pso = %pso_dn, "a fine-grained password policy applies but cannot be read; the domain policy is shown instead");
                info.policy.clone()
            }
        }
    }
}
