//! Active Directory over LDAPS with ldap3. Every operation runs on a bound service-account
//! session from a small pool (a user's own bind gets a connection of its own), has a timeout,
//! and escapes whatever a user typed.
//!
//! Here the `Directory` operations themselves; beside them, by concern:
//! - `topology`: which DC is which, and the PDC emulator first;
//! - `connection`: LDAPS, binds, timeouts, and ldap3's errors sorted into ours;
//! - `pool`: the bound service sessions kept for the next operation, and what each DC's domain
//!   root said;
//! - `policy`: the domain's password policy and fine-grained ones (PSOs);
//! - `account`: finding accounts and mapping their entries, their nested groups, and whether
//!   the one acting may touch them;
//! - `search`: the helpdesk's search and its view of one account;
//! - `entry`: reading attribute values out of search entries.

mod account;
mod connection;
mod entry;
mod policy;
#[macro_use]
mod pool;
mod search;
mod topology;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3::{ldap_escape, Ldap, Mod, Scope};
use rustls::ClientConfig;
use sspr_protocol::policy::{AccountNames, PasswordPolicy};
use sspr_protocol::relay::{Account, AccountDetails};
use sspr_protocol::seal::Secret;

use super::ad;
use super::{Directory, DirectoryError, DomainInfo, Matches, ResetOptions, Tier};
use crate::config::DirectoryConfig;
use connection::bind_refused;
use entry::{first, values};
use policy::refine;
pub use topology::pdc_first;
use topology::reaches;

pub struct LdapDirectory {
    config: DirectoryConfig,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    /// PSO DN (lowercase) → its policy, and when it was read.
    psos: Mutex<HashMap<String, (PasswordPolicy, Instant)>>,
    /// Each configured URL's DC, by its `dnsHostName` (lowercase), as learned on connecting.
    hosts: Mutex<HashMap<String, String>>,
    /// The PDC emulator: the domain's `fSMORoleOwner` and that server's `dNSHostName`.
    pdc: Mutex<Option<(String, String)>>,
    /// Bound service sessions waiting for the next operation (`pool`).
    idle: Mutex<Vec<pool::Idle>>,
    /// What each DC's domain root said (by URL), and when it was read.
    infos: Mutex<HashMap<String, (DomainInfo, Instant)>>,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LdapDirectory {
    pub fn new(config: DirectoryConfig) -> Result<Self, DirectoryError> {
        let tls = crate::tls::client_config(config.ca_file.as_deref(), false)
            .map_err(|e| DirectoryError::Tls(e.to_string()))?;
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        Ok(Self {
            config,
            tls,
            timeout,
            psos: Mutex::default(),
            hosts: Mutex::default(),
            pdc: Mutex::default(),
            idle: Mutex::default(),
            infos: Mutex::default(),
        })
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    /// A new bound session plus what the domain root says, read now: naming context, controls,
    /// policy, and which DC is the PDC emulator.
    pub async fn session(&self) -> Result<(Ldap, DomainInfo), DirectoryError> {
        let session = self.open_session().await?;
        Ok((session.ldap, session.info))
    }

    /// What the domain root says, read on `ldap` (a bound session to `url`), and kept for the
    /// operations that follow on that DC.
    async fn read_info(&self, ldap: &mut Ldap, url: &str) -> Result<DomainInfo, DirectoryError> {
        let root = self
            .ldap_search(
                ldap,
                "",
                Scope::Base,
                "(objectClass=*)",
                &[
                    "defaultNamingContext",
                    "configurationNamingContext",
                    "supportedControl",
                    "dnsHostName",
                ],
            )
            .await?;
        let root = root
            .first()
            .ok_or_else(|| DirectoryError::Other("the DC returned no rootDSE".into()))?;
        let base_dn = first(root, "defaultNamingContext")
            .ok_or_else(|| DirectoryError::Other("rootDSE has no defaultNamingContext".into()))?
            .to_owned();
        let supported = root
            .attrs
            .get("supportedControl")
            .cloned()
            .unwrap_or_default();
        let domain = self
            .ldap_search(
                ldap,
                &base_dn,
                Scope::Base,
                "(objectClass=*)",
                &[
                    "minPwdLength",
                    "pwdProperties",
                    "pwdHistoryLength",
                    "minPwdAge",
                    "maxPwdAge",
                    "fSMORoleOwner",
                ],
            )
            .await?;
        let domain = domain
            .first()
            .ok_or_else(|| DirectoryError::AccessDenied("cannot read the domain root".into()))?;
        let policy = policy::domain_policy(domain);
        let dc_host = first(root, "dnsHostName")
            .unwrap_or_default()
            .to_ascii_lowercase();
        lock(&self.hosts).insert(url.to_owned(), dc_host.clone());
        let pdc_host = match first(domain, "fSMORoleOwner") {
            Some(owner) => self.pdc_host(ldap, owner).await,
            None => None,
        };
        let info = DomainInfo {
            dns_name: ad::dns_name_of(&base_dn),
            base_dn,
            policy,
            policy_hints_oid: ad::pick_policy_hints(&supported),
            dc_host,
            pdc_host,
            configuration_dn: first(root, "configurationNamingContext")
                .unwrap_or_default()
                .to_owned(),
            netbios: String::new(),
            upn_suffixes: Vec::new(),
        };
        lock(&self.infos).insert(url.to_owned(), (info.clone(), Instant::now()));
        Ok(info)
    }
}

impl Directory for LdapDirectory {
    async fn change(&self, anchor: &str, old: &Secret, new: &Secret) -> Result<(), DirectoryError> {
        let account::Target { dn, account, .. } = with_service!(self, |ldap, info| async {
            self.eligible(ldap, info, anchor, &Tier::SelfService).await
        }
        .await)?;
        let policy = account.policy;
        let names = AccountNames {
            account_name: account.account_name,
            display_name: account.display_name,
        };
        let mods = || {
            vec![
                Mod::Delete(
                    b"unicodePwd".to_vec(),
                    HashSet::from([ad::unicode_pwd(old.expose()).to_vec()]),
                ),
                Mod::Add(
                    b"unicodePwd".to_vec(),
                    HashSet::from([ad::unicode_pwd(new.expose()).to_vec()]),
                ),
            ]
        };
        // Bound as the user, the delete-old/add-new is a change: AD checks the current password,
        // history and minimum age. A user who must change at next logon cannot bind yet; then
        // the change goes through the service account, where AD still demands the old password.
        match self.connect_as(&dn, old.expose()).await? {
            Ok(mut user) => {
                let result = match policy::enforce(&policy, new.expose(), &names) {
                    Ok(()) => self.modify(&mut user, &dn, mods(), None).await,
                    Err(refused) => Err(refused),
                };
                let _ = user.unbind().await;
                result
            }
            Err(ad::BindRefusal::MustChange) => {
                policy::enforce(&policy, new.expose(), &names)?;
                // Not tried twice: a change that landed before the connection broke would fail
                // the second time, on the old password it just replaced.
                let mut service = self.checkout().await?;
                let result = self.modify(&mut service.ldap, &dn, mods(), None).await;
                self.give_back(service, &result);
                result
            }
            Err(refusal) => Err(bind_refused(refusal)),
        }
        .map_err(|e| refine(e, &policy, new.expose(), &names))
    }

    async fn unlock(&self, anchor: &str, tier: &Tier) -> Result<(), DirectoryError> {
        with_service!(self, |ldap, info| async {
            let target = self.eligible(ldap, info, anchor, tier).await?;
            self.replace(ldap, &target.dn, "lockoutTime", b"0".to_vec(), None)
                .await
        }
        .await)
    }

    async fn verify(&self, anchor: &str, password: &Secret) -> Result<(), DirectoryError> {
        let target = with_service!(self, |ldap, info| async {
            self.eligible(ldap, info, anchor, &Tier::SelfService).await
        }
        .await)?;
        match self.connect_as(&target.dn, password.expose()).await? {
            Ok(mut user) => {
                let _ = user.unbind().await;
                Ok(())
            }
            // The password is right; it only has to be changed.
            Err(ad::BindRefusal::MustChange) => Ok(()),
            Err(refusal) => Err(bind_refused(refusal)),
        }
    }

    async fn domain(&self) -> Result<DomainInfo, DirectoryError> {
        let mut info = with_service!(self, |ldap, info| async {
            // The heartbeat: what the domain root says, read afresh.
            let mut info = match self.url_of(&info.dc_host) {
                Some(url) => self.read_info(ldap, &url).await?,
                None => info.clone(),
            };
            // The names users may type the domain by: its NetBIOS name (from its crossRef)
            // and the forest's extra UPN suffixes. Unreadable, they are left out: routing
            // by DNS name works.
            let partitions = format!("CN=Partitions,{}", info.configuration_dn);
            if let Ok(found) = self
                .ldap_search(
                    ldap,
                    &partitions,
                    Scope::Subtree,
                    &format!(
                        "(|(&(objectClass=crossRef)(nCName={}))(objectClass=crossRefContainer))",
                        ldap_escape(&info.base_dn)
                    ),
                    &["nETBIOSName", "uPNSuffixes"],
                )
                .await
            {
                for entry in &found {
                    if let Some(name) = first(entry, "nETBIOSName") {
                        info.netbios = name.to_owned();
                    }
                    info.upn_suffixes.extend(values(entry, "uPNSuffixes"));
                }
            }
            Ok(info)
        }
        .await)?;
        if let Some(pdc) = &info.pdc_host {
            let first_is_pdc = self
                .dc_order()
                .first()
                .is_some_and(|url| reaches(url, &lock(&self.hosts), pdc));
            if !first_is_pdc {
                self.learn_hosts().await;
            }
        }
        info.upn_suffixes.sort();
        info.upn_suffixes.dedup();
        Ok(info)
    }

    async fn lookup(&self, username: &str) -> Result<Option<Account>, DirectoryError> {
        with_service!(self, |ldap, info| async {
            let Some(filter) = Self::username_filter(username, info) else {
                return Ok(None);
            };
            let found = self
                .ldap_search(
                    ldap,
                    &info.base_dn,
                    Scope::Subtree,
                    &filter,
                    &self.account_attrs(),
                )
                .await?;
            // Asked for a name that matched nobody as well, so a lookup takes as long either way.
            let member_dn = match found.as_slice() {
                [entry] => entry.dn.clone(),
                _ => format!("CN=nobody,{}", info.base_dn),
            };
            let groups = self.nested_groups(ldap, info, &member_dn).await?;
            // Zero or several matches: nobody to help, and nothing to reveal.
            Ok(match found.as_slice() {
                [entry] => match self.account_of(entry, info) {
                    Some(mut account) => {
                        account.policy = self.effective_policy(ldap, entry, info).await;
                        account.groups = groups;
                        Some(account)
                    }
                    None => None,
                },
                _ => None,
            })
        }
        .await)
    }

    async fn reset(
        &self,
        anchor: &str,
        password: &Secret,
        options: ResetOptions,
        tier: &Tier,
    ) -> Result<(), DirectoryError> {
        with_service!(self, |ldap, info| async {
            if !self.reset_allowed(info) {
                return Err(DirectoryError::ResetWithoutHistory);
            }
            // Checked again now, not only at lookup: the account may have changed since.
            let account::Target {
                dn,
                account,
                must_change,
            } = self.eligible(ldap, info, anchor, tier).await?;
            let names = AccountNames {
                account_name: account.account_name.clone(),
                display_name: account.display_name.clone(),
            };
            policy::enforce(&account.policy, password.expose(), &names)?;
            let encoded = ad::unicode_pwd(password.expose());
            self.replace(
                ldap,
                &dn,
                "unicodePwd",
                encoded.to_vec(),
                info.policy_hints_oid,
            )
            .await
            .map_err(|e| refine(e, &account.policy, password.expose(), &names))?;
            if options.must_change_at_next_logon {
                self.replace(ldap, &dn, "pwdLastSet", b"0".to_vec(), None)
                    .await?;
            } else if must_change {
                // A self-service reset must not leave the user forced to change what they just
                // chose (read with the account, before the write: AD never sets 0 by itself).
                self.replace(ldap, &dn, "pwdLastSet", b"-1".to_vec(), None)
                    .await?;
            }
            Ok(())
        }
        .await)
    }

    fn reset_allowed(&self, info: &DomainInfo) -> bool {
        info.policy_hints_oid.is_some() || self.config.allow_reset_without_history
    }

    async fn search(&self, query: &str) -> Result<Matches, DirectoryError> {
        // Refused before a session is taken for it.
        let filter = search::search_filter(query)?;
        with_service!(self, |ldap, info| self
            .find_matches(ldap, info, &filter)
            .await)
    }

    async fn details(&self, anchor: &str) -> Result<Option<AccountDetails>, DirectoryError> {
        with_service!(self, |ldap, info| self
            .read_details(ldap, info, anchor)
            .await)
    }
}
