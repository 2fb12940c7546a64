//! The helpdesk's side: finding accounts by the start of a name or mail address, and one
//! account's details (lockout, password age, bad password count) as the console shows them.

use std::collections::HashSet;

use ldap3::{ldap_escape, Ldap, SearchEntry};
use sspr_protocol::relay::{Account, AccountDetails, AccountSummary, SEARCH_LIMIT};

use super::account::{is_locked, user_account_control};
use super::entry::{first, first_bytes};
use super::LdapDirectory;
use crate::directory::{ad, search_query, DirectoryError, DomainInfo, Matches};

/// What a search shows of each match.
const SUMMARY_ATTRS: &[&str] = &[
    "objectGUID",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "mail",
    "userAccountControl",
    "lockoutTime",
];

/// Read for the helpdesk's view on top of what an account lookup reads.
const DETAIL_ATTRS: &[&str] = &["pwdLastSet", "badPwdCount"];

/// The attributes a search compares its text with, each by prefix: the names a caller gives
/// on the phone, and the mail address they read out.
const SEARCHED_ATTRS: &[&str] = &[
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "mail",
];

/// The LDAP filter for a helpdesk search: users one of whose names or mail starts with the
/// query. The query is escaped, so `*` or `)(` in it are matched as themselves and can never
/// widen the filter.
pub(super) fn search_filter(raw: &str) -> Result<String, DirectoryError> {
    let value = ldap_escape(search_query(raw)?);
    let any: String = SEARCHED_ATTRS
        .iter()
        .map(|attr| format!("({attr}={value}*)"))
        .collect();
    Ok(format!(
        "(&(objectCategory=person)(objectClass=user)(|{any}))"
    ))
}

fn summary_of(entry: &SearchEntry) -> Option<AccountSummary> {
    let text = |attr| first(entry, attr).unwrap_or_default().to_owned();
    Some(AccountSummary {
        anchor: ad::guid_to_string(&first_bytes(entry, "objectGUID")?)?,
        account_name: text("sAMAccountName"),
        upn: text("userPrincipalName"),
        display_name: text("displayName"),
        mail: first(entry, "mail").map(str::to_owned),
        enabled: user_account_control(entry) & ad::UAC_ACCOUNT_DISABLE == 0,
        locked: is_locked(entry),
    })
}

/// The helpdesk's view of `account`, whose entry is `entry` (read with [`DETAIL_ATTRS`]).
fn details_of(entry: &SearchEntry, account: Account) -> AccountDetails {
    let pwd_last_set = first(entry, "pwdLastSet").and_then(|v| v.trim().parse::<i64>().ok());
    let password_last_set = first(entry, "pwdLastSet").and_then(ad::filetime_to_unix);
    let never_expires = user_account_control(entry) & ad::UAC_DONT_EXPIRE_PASSWORD != 0;
    let max_age = account.policy.max_age_secs;
    let password_expires = password_last_set
        .filter(|_| max_age > 0 && !never_expires)
        .map(|set| set.saturating_add(max_age));
    let locked_since = if account.locked {
        first(entry, "lockoutTime").and_then(ad::filetime_to_unix)
    } else {
        None
    };
    AccountDetails {
        upn: first(entry, "userPrincipalName")
            .unwrap_or_default()
            .to_owned(),
        locked_since,
        password_last_set,
        password_expires,
        must_change: pwd_last_set == Some(0),
        bad_password_count: first(entry, "badPwdCount")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
        account,
    }
}

impl LdapDirectory {
    /// Where a search looks: the configured OUs, or the whole domain.
    fn search_bases(&self, info: &DomainInfo) -> Vec<String> {
        if self.config.scope.is_empty() {
            vec![info.base_dn.clone()]
        } else {
            self.config.scope.clone()
        }
    }

    /// The accounts `filter` (from [`search_filter`]) finds, at most `SEARCH_LIMIT` of them.
    pub(super) async fn find_matches(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        filter: &str,
    ) -> Result<Matches, DirectoryError> {
        // One more than is shown, to know whether there were more.
        let wanted = SEARCH_LIMIT + 1;
        let mut seen = HashSet::new();
        let mut accounts = Vec::new();
        for base in self.search_bases(info) {
            if accounts.len() >= wanted {
                break;
            }
            // Each base asked for the full number: configured OUs may overlap, and an account
            // found twice counts once.
            let entries = match self
                .paged_search(ldap, &base, filter, SUMMARY_ATTRS, wanted)
                .await
            {
                Ok(entries) => entries,
                // A configured OU that is not there holds nobody to find.
                Err(DirectoryError::NotFound) => continue,
                Err(err) => return Err(err),
            };
            for summary in entries.iter().filter_map(summary_of) {
                if seen.insert(summary.anchor.clone()) {
                    accounts.push(summary);
                }
            }
        }
        let more = accounts.len() > SEARCH_LIMIT;
        accounts
            .sort_by_cached_key(|a| (a.display_name.to_lowercase(), a.account_name.to_lowercase()));
        accounts.truncate(SEARCH_LIMIT);
        Ok(Matches { accounts, more })
    }

    pub(super) async fn read_details(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
    ) -> Result<Option<AccountDetails>, DirectoryError> {
        let attrs: Vec<&str> = self
            .account_attrs()
            .into_iter()
            .chain(DETAIL_ATTRS.iter().copied())
            .collect();
        let entry = match self.entry_by_anchor(ldap, info, anchor, &attrs).await {
            Ok(entry) => entry,
            Err(DirectoryError::NotFound) => return Ok(None),
            Err(err) => return Err(err),
        };
        let Some(mut account) = self.account_of(&entry, info) else {
            return Ok(None);
        };
        account.policy = self.effective_policy(ldap, &entry, info).await;
        account.groups = self.nested_groups(ldap, info, &entry.dn).await?;
        Ok(Some(details_of(&entry, account)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sspr_protocol::policy::PasswordPolicy;

    use super::*;

    #[test]
    fn the_filter_matches_every_name_and_mail_by_prefix() {
        assert_eq!(
            search_filter("  jan.de ").as_deref(),
            Ok(
                "(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=jan.de*)\
                (userPrincipalName=jan.de*)(displayName=jan.de*)(givenName=jan.de*)(sn=jan.de*)\
                (mail=jan.de*)))"
            )
        );
    }

    #[test]
    fn hostile_queries_are_escaped_and_never_widen_the_filter() {
        let filter = search_filter("*)(objectClass=*").expect("long enough");
        assert!(
            filter.contains(r"(sAMAccountName=\2a\29\28objectClass=\2a*)"),
            "{filter}"
        );
        // Only the filter's own wildcards (one per attribute) are left unescaped, and its
        // parentheses balance as built.
        assert_eq!(filter.matches('*').count(), SEARCHED_ATTRS.len());
        assert_eq!(filter.matches('(').count(), filter.matches(')').count());
        let filter = search_filter(r"a\29\00").expect("long enough");
        assert!(filter.contains(r"(sn=a\5c29\5c00*)"), "{filter}");
        assert!(search_filter("a\0b")
            .expect("long enough")
            .contains(r"a\00b*"));
        // A wildcard alone, or a blank query, would list the directory.
        assert_eq!(search_filter("*"), Err(DirectoryError::BadQuery));
        assert_eq!(search_filter("   "), Err(DirectoryError::BadQuery));
    }

    fn entry(attrs: &[(&str, &str)]) -> SearchEntry {
        SearchEntry {
            dn: "CN=Jan,CN=Users,DC=corp,DC=example,DC=test".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                .collect(),
            bin_attrs: HashMap::new(),
        }
    }

    fn account(locked: bool, max_age_secs: i64) -> Account {
        Account {
            anchor: "a".into(),
            account_name: "jan".into(),
            display_name: "Jan".into(),
            enabled: true,
            locked,
            protected: false,
            in_scope: true,
            mail: Vec::new(),
            policy: PasswordPolicy {
                max_age_secs,
                ..PasswordPolicy::default()
            },
            contacts: Default::default(),
            groups: Vec::new(),
            language: None,
        }
    }

    /// 2024-01-01T00:00:00Z as a FILETIME.
    const NEW_YEAR: &str = "133485408000000000";
    const NEW_YEAR_UNIX: i64 = 1_704_067_200;

    #[test]
    fn details_read_the_password_s_age_and_expiry() {
        let read = details_of(
            &entry(&[
                ("pwdLastSet", NEW_YEAR),
                ("userAccountControl", "512"),
                ("badPwdCount", "2"),
                ("userPrincipalName", "jan@corp.example.test"),
            ]),
            account(false, 86_400),
        );
        assert_eq!(read.password_last_set, Some(NEW_YEAR_UNIX));
        assert_eq!(read.password_expires, Some(NEW_YEAR_UNIX + 86_400));
        assert!(!read.must_change);
        assert_eq!(read.bad_password_count, 2);
        assert_eq!(read.locked_since, None);
        assert_eq!(read.upn, "jan@corp.example.test");
    }

    #[test]
    fn a_password_that_never_expires_or_must_change_has_no_expiry() {
        let never = details_of(
            &entry(&[("pwdLastSet", NEW_YEAR), ("userAccountControl", "66048")]),
            account(false, 86_400),
        );
        assert_eq!(never.password_expires, None);
        let no_max_age = details_of(&entry(&[("pwdLastSet", NEW_YEAR)]), account(false, 0));
        assert_eq!(no_max_age.password_expires, None);
        let must_change = details_of(&entry(&[("pwdLastSet", "0")]), account(false, 86_400));
        assert!(must_change.must_change);
        assert_eq!(
            (must_change.password_last_set, must_change.password_expires),
            (None, None)
        );
        let never_set = details_of(&entry(&[]), account(false, 86_400));
        assert!(!never_set.must_change);
        assert_eq!(never_set.bad_password_count, 0);
    }

    #[test]
    fn a_lockout_is_dated_while_it_lasts() {
        let locked = details_of(&entry(&[("lockoutTime", NEW_YEAR)]), account(true, 86_400));
        assert_eq!(locked.locked_since, Some(NEW_YEAR_UNIX));
        let lifted = details_of(&entry(&[("lockoutTime", "0")]), account(false, 86_400));
        assert_eq!(lifted.locked_since, None);
    }
}
