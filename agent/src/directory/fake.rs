//! A stand-in directory for the agent's own unit tests of the relay and the handler (the AD
//! behaviour itself is tested against Samba in the integration suite).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::relay::Account;
use sspr_protocol::seal::Secret;

use super::{Directory, DirectoryError, DomainInfo, ResetOptions};

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
        Ok(DomainInfo {
            dns_name: "corp.example.test".into(),
            base_dn: "DC=corp,DC=example,DC=test".into(),
            policy: PasswordPolicy::default(),
            policy_hints_oid: None,
            dc_host: "dc1.corp.example.test".into(),
            pdc_host: Some("dc1.corp.example.test".into()),
            configuration_dn: "CN=Configuration,DC=corp,DC=example,DC=test".into(),
            netbios: "CORP".into(),
            upn_suffixes: Vec::new(),
        })
    }
    async fn lookup(&self, _: &str) -> Result<Option<Account>, DirectoryError> {
        Ok(None)
    }
    async fn reset(&self, _: &str, _: &Secret, _: ResetOptions) -> Result<(), DirectoryError> {
        Err(DirectoryError::Other("not in this test".into()))
    }
    async fn change(&self, _: &str, _: &Secret, _: &Secret) -> Result<(), DirectoryError> {
        Err(DirectoryError::Other("not in this test".into()))
    }
    async fn unlock(&self, _: &str) -> Result<(), DirectoryError> {
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
}
