//! Accounts: finding one by what a user typed or by its objectGUID, mapping its entry (names,
//! state, contacts), its nested groups, and checking that the one acting may touch it.

use ldap3::{ldap_escape, Ldap, Scope, SearchEntry};
use sspr_protocol::relay::{Account, DirectoryContacts};

use super::entry::{first, first_bytes, values};
use super::LdapDirectory;
use crate::directory::{ad, DirectoryError, DomainInfo, Tier};

/// LDAP_MATCHING_RULE_IN_CHAIN: follows `member` through nested groups.
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

const ACCOUNT_ATTRS: &[&str] = &[
    "objectGUID",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "userAccountControl",
    "lockoutTime",
    "adminCount",
    "mail",
    "preferredLanguage",
    // 0 when the user must change the password at next logon.
    "pwdLastSet",
    // Constructed: the DN of the fine-grained password policy that wins for this account.
    "msDS-ResultantPSO",
];

pub(super) fn user_account_control(entry: &SearchEntry) -> u32 {
    first(entry, "userAccountControl")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Locked out as AD records it: a lockout time other than 0.
pub(super) fn is_locked(entry: &SearchEntry) -> bool {
    first(entry, "lockoutTime")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
        > 0
}

/// `a, b` and `a,b` name the same DN; compare without the blanks and case.
fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// The account an operation is about to write, as read just before.
pub(super) struct Target {
    pub dn: String,
    pub account: Account,
    /// Must change the password at next logon (`pwdLastSet` 0).
    pub must_change: bool,
}

impl LdapDirectory {
    /// The account attributes plus the configured contact attributes.
    pub(super) fn account_attrs(&self) -> Vec<&str> {
        let c = &self.config.contacts;
        ACCOUNT_ATTRS
            .iter()
            .copied()
            .chain(
                [&c.mobile, &c.office_phone, &c.other_mail]
                    .into_iter()
                    .filter(|a| !a.is_empty())
                    .map(String::as_str),
            )
            .collect()
    }

    pub(super) fn account_of(&self, entry: &SearchEntry, info: &DomainInfo) -> Option<Account> {
        let anchor = ad::guid_to_string(&first_bytes(entry, "objectGUID")?)?;
        let uac = user_account_control(entry);
        let dn = normalize_dn(&entry.dn);
        let in_scope = self.config.scope.is_empty()
            || self.config.scope.iter().any(|s| {
                let s = normalize_dn(s);
                dn == s || dn.ends_with(&format!(",{s}"))
            });
        Some(Account {
            anchor,
            account_name: first(entry, "sAMAccountName")
                .unwrap_or_default()
                .to_owned(),
            display_name: first(entry, "displayName").unwrap_or_default().to_owned(),
            enabled: uac & ad::UAC_ACCOUNT_DISABLE == 0,
            locked: is_locked(entry),
            protected: first(entry, "adminCount") == Some("1"),
            in_scope,
            mail: entry.attrs.get("mail").cloned().unwrap_or_default(),
            policy: info.policy.clone(),
            contacts: DirectoryContacts {
                mobile: values(entry, &self.config.contacts.mobile),
                office_phone: values(entry, &self.config.contacts.office_phone),
                other_mail: values(entry, &self.config.contacts.other_mail),
            },
            // Filled in where they are needed (`lookup`, `details`, a restricted tier's check):
            // they take a query of their own.
            groups: Vec::new(),
            language: first(entry, "preferredLanguage").map(str::to_owned),
        })
    }

    pub(super) fn username_filter(username: &str, info: &DomainInfo) -> Option<String> {
        let name = username.trim();
        if name.is_empty() || name.len() > sspr_protocol::reset::MAX_USERNAME_LEN {
            return None;
        }
        let inner = if let Some((_, user)) = name.split_once('\\') {
            format!("(sAMAccountName={})", ldap_escape(user))
        } else if let Some((local, suffix)) = name.rsplit_once('@') {
            if suffix.eq_ignore_ascii_case(&info.dns_name) {
                // The server sends every spelling as `name@dns`: it names the account whose
                // logon name is `name`, or whose UPN is `name` at any of the forest's suffixes.
                let upns: String = std::iter::once(info.dns_name.as_str())
                    .chain(info.upn_suffixes.iter().map(String::as_str))
                    .map(|s| {
                        format!(
                            "(userPrincipalName={})",
                            ldap_escape(format!("{local}@{s}"))
                        )
                    })
                    .collect();
                format!("(|(sAMAccountName={}){upns})", ldap_escape(local))
            } else {
                format!("(userPrincipalName={})", ldap_escape(name))
            }
        } else {
            format!("(sAMAccountName={})", ldap_escape(name))
        };
        Some(format!(
            "(&(objectCategory=person)(objectClass=user){inner})"
        ))
    }

    /// The entry of the account with this objectGUID, anywhere in the domain, with `attrs`.
    pub(super) async fn entry_by_anchor(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
        attrs: &[&str],
    ) -> Result<SearchEntry, DirectoryError> {
        let value = ad::guid_filter_value(anchor).ok_or(DirectoryError::NotFound)?;
        let mut found = self
            .ldap_search(
                ldap,
                &info.base_dn,
                Scope::Subtree,
                &format!("(objectGUID={value})"),
                attrs,
            )
            .await?;
        if found.len() != 1 {
            return Err(DirectoryError::NotFound);
        }
        Ok(found.remove(0))
    }

    pub async fn find_by_anchor(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
    ) -> Result<(String, Account), DirectoryError> {
        let target = self.target_by_anchor(ldap, info, anchor).await?;
        Ok((target.dn, target.account))
    }

    async fn target_by_anchor(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
    ) -> Result<Target, DirectoryError> {
        let entry = self
            .entry_by_anchor(ldap, info, anchor, &self.account_attrs())
            .await?;
        let mut account = self
            .account_of(&entry, info)
            .ok_or(DirectoryError::NotFound)?;
        account.policy = self.effective_policy(ldap, &entry, info).await;
        Ok(Target {
            must_change: first(&entry, "pwdLastSet") == Some("0"),
            dn: entry.dn,
            account,
        })
    }

    /// The common names of every group `member_dn` is a member of, nested membership included
    /// (LDAP_MATCHING_RULE_IN_CHAIN follows `member` through the groups).
    pub(super) async fn nested_groups(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        member_dn: &str,
    ) -> Result<Vec<String>, DirectoryError> {
        let groups = self
            .ldap_search(
                ldap,
                &info.base_dn,
                Scope::Subtree,
                &format!(
                    "(&(objectCategory=group)(member:{IN_CHAIN}:={}))",
                    ldap_escape(member_dn)
                ),
                &["cn"],
            )
            .await?;
        Ok(groups
            .iter()
            .filter_map(|g| first(g, "cn").map(str::to_owned))
            .collect())
    }

    /// Finds the account by anchor and checks, now, that `tier` may touch it. A restricted
    /// tier needs the account's nested groups, read in the same session just before the write.
    pub(super) async fn eligible(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
        tier: &Tier,
    ) -> Result<Target, DirectoryError> {
        let mut target = self.target_by_anchor(ldap, info, anchor).await?;
        if tier.is_restricted() {
            target.account.groups = self.nested_groups(ldap, info, &target.dn).await?;
        }
        tier.admits(&target.account)?;
        Ok(target)
    }
}
