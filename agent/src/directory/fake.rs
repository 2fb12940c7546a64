//! Stand-in directories for the agent's own unit tests of the relay and the handler (the AD
//! behaviour itself is tested against Samba in the integration suite).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::relay::{Account, AccountDetails, AccountSummary, SEARCH_LIMIT};
use sspr_protocol::seal::Secret;

use super::{search_query, Directory, DirectoryError, DomainInfo, Matches, ResetOptions, Tier};

fn domain_info() -> DomainInfo {
    DomainInfo {
        dns_name: "corp.example.test".into(),
        base_dn: "DC=corp,DC=example,DC=test".into(),
        policy: PasswordPolicy::default(),
        policy_hints_oid: None,
        dc_host: "dc1.corp.example.test".into(),
        pdc_host: Some("dc1.corp.example.test".into()),
        configuration_dn: "CN=Configuration,DC=corp,DC=example,DC=test".into(),
        netbios: "CORP".into(),
        upn_suffixes: Vec::new(),
    }
}

/// Counts unlocks, each taking `delay`; knows no accounts and does nothing else.
pub struct Counting {
    unlocks: AtomicUsize,
    delay: Duration,
}

impl Counting {
    pub fn new(delay: Duration) -> Self {
        Self {
            unlocks: AtomicUsize::new(0),
            delay,
        }
    }

    pub fn unlocks(&self) -> usize {
        self.unlocks.load(Ordering::SeqCst)
    }
}

impl Directory for Counting {
    async fn domain(&self) -> Result<DomainInfo, DirectoryError> {
        Ok(domain_info())
    }
    async fn lookup(&self, _: &str) -> Result<Option<Account>, DirectoryError> {
        Ok(None)
    }
    async fn reset(
        &self,
        _: &str,
        _: &Secret,
        _: ResetOptions,
        _: &Tier,
    ) -> Result<(), DirectoryError> {
        Err(DirectoryError::Other("not in this test".into()))
    }
    async fn change(&self, _: &str, _: &Secret, _: &Secret) -> Result<(), DirectoryError> {
        Err(DirectoryError::Other("not in this test".into()))
    }
    async fn unlock(&self, _: &str, _: &Tier) -> Result<(), DirectoryError> {
        tokio::time::sleep(self.delay).await;
        self.unlocks.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn verify(&self, _: &str, _: &Secret) -> Result<(), DirectoryError> {
        Err(DirectoryError::Other("not in this test".into()))
    }
    fn reset_allowed(&self, _: &DomainInfo) -> bool {
        true
    }
    async fn search(&self, query: &str) -> Result<Matches, DirectoryError> {
        search_query(query)?;
        Ok(Matches::default())
    }
    async fn details(&self, _: &str) -> Result<Option<AccountDetails>, DirectoryError> {
        Ok(None)
    }
}

/// Knows a few accounts (their groups already resolved, nested ones included), holds resets
/// and unlocks to the same tiering as the real directory, and records which accounts were
/// written: a test sees that a refused request wrote nothing.
pub struct Known {
    accounts: Vec<Account>,
    written: Mutex<Vec<String>>,
}

impl Known {
    pub fn new(accounts: Vec<Account>) -> Self {
        Self {
            accounts,
            written: Mutex::default(),
        }
    }

    /// An enabled, unprotected account in scope, its anchor its name, in these groups.
    pub fn account(name: &str, groups: &[&str]) -> Account {
        Account {
            anchor: name.into(),
            account_name: name.into(),
            display_name: name.into(),
            enabled: true,
            locked: false,
            protected: false,
            in_scope: true,
            mail: Vec::new(),
            policy: PasswordPolicy::default(),
            contacts: Default::default(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            language: None,
        }
    }

    /// The anchors written, in order.
    pub fn written(&self) -> Vec<String> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn write(&self, anchor: &str, tier: &Tier) -> Result<(), DirectoryError> {
        let account = self
            .accounts
            .iter()
            .find(|a| a.anchor == anchor)
            .ok_or(DirectoryError::NotFound)?;
        tier.admits(account)?;
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(anchor.to_owned());
        Ok(())
    }
}

impl Directory for Known {
    async fn domain(&self) -> Result<DomainInfo, DirectoryError> {
        Ok(domain_info())
    }
    async fn lookup(&self, username: &str) -> Result<Option<Account>, DirectoryError> {
        Ok(self
            .accounts
            .iter()
            .find(|a| a.account_name.eq_ignore_ascii_case(username))
            .cloned())
    }
    async fn reset(
        &self,
        anchor: &str,
        _: &Secret,
        _: ResetOptions,
        tier: &Tier,
    ) -> Result<(), DirectoryError> {
        self.write(anchor, tier)
    }
    async fn change(&self, anchor: &str, _: &Secret, _: &Secret) -> Result<(), DirectoryError> {
        self.write(anchor, &Tier::SelfService)
    }
    async fn unlock(&self, anchor: &str, tier: &Tier) -> Result<(), DirectoryError> {
        self.write(anchor, tier)
    }
    async fn verify(&self, _: &str, _: &Secret) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn reset_allowed(&self, _: &DomainInfo) -> bool {
        true
    }
    async fn search(&self, query: &str) -> Result<Matches, DirectoryError> {
        let query = search_query(query)?.to_lowercase();
        let mut accounts: Vec<AccountSummary> = self
            .accounts
            .iter()
            .filter(|a| {
                [&a.account_name, &a.display_name]
                    .iter()
                    .any(|name| name.to_lowercase().starts_with(&query))
            })
            .map(|a| AccountSummary {
                anchor: a.anchor.clone(),
                account_name: a.account_name.clone(),
                upn: format!("{}@corp.example.test", a.account_name),
                display_name: a.display_name.clone(),
                mail: a.mail.first().cloned(),
                enabled: a.enabled,
                locked: a.locked,
            })
            .collect();
        let more = accounts.len() > SEARCH_LIMIT;
        accounts.truncate(SEARCH_LIMIT);
        Ok(Matches { accounts, more })
    }
    async fn details(&self, anchor: &str) -> Result<Option<AccountDetails>, DirectoryError> {
        Ok(self
            .accounts
            .iter()
            .find(|a| a.anchor == anchor)
            .map(|a| AccountDetails {
                account: a.clone(),
                upn: format!("{}@corp.example.test", a.account_name),
                locked_since: None,
                password_last_set: None,
                password_expires: None,
                must_change: false,
                bad_password_count: 0,
            }))
    }
}
