//! Active Directory over LDAPS with ldap3. Every operation opens its own bound session, has a
//! timeout, and escapes whatever a user typed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3::{
    ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry,
};
use rustls::ClientConfig;
use sspr_protocol::policy::{AccountNames, PasswordPolicy, Rule, DOMAIN_PASSWORD_COMPLEX};
use sspr_protocol::relay::{Account, DirectoryContacts};
use sspr_protocol::seal::Secret;

use super::ad;
use super::{Directory, DirectoryError, DomainInfo, ResetOptions};
use crate::config::DirectoryConfig;

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
    // Constructed: the DN of the fine-grained password policy that wins for this account.
    "msDS-ResultantPSO",
];

/// A fine-grained password policy (PSO) object's settings.
const PSO_ATTRS: &[&str] = &[
    "msDS-MinimumPasswordLength",
    "msDS-PasswordComplexityEnabled",
    "msDS-PasswordHistoryLength",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
];

/// How long the heartbeat waits for a DC it asks which host it is.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// PSOs change rarely; reading one again for every lookup would also make accounts with a PSO
/// measurably slower to look up than those without.
const PSO_CACHE_TTL: Duration = Duration::from_secs(300);

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
}

/// The configured DCs with the PDC emulator first (password changes land there first and the
/// other DCs ask it about a password they do not know yet); otherwise in the configured order.
pub fn pdc_first(
    urls: &[String],
    hosts: &HashMap<String, String>,
    pdc: Option<&str>,
) -> Vec<String> {
    let mut ordered = urls.to_vec();
    if let Some(pdc) = pdc {
        ordered.sort_by_key(|url| !reaches(url, hosts, pdc));
    }
    ordered
}

/// Whether `url` is known to reach the DC `host`: learnt on connecting, or named in the URL.
fn reaches(url: &str, hosts: &HashMap<String, String>, host: &str) -> bool {
    hosts.get(url).map(String::as_str) == Some(host)
        || url_host(url).is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// `ldaps://dc1.corp.example.com:636` → `dc1.corp.example.com`.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?']).next()?;
    Some(host.rsplit_once(':').map_or(host, |(h, _)| h))
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

/// Sorts ldap3's errors into unreachable, TLS trouble and the rest.
fn classify(err: LdapError) -> DirectoryError {
    match err {
        LdapError::LdapResult { result } => match result.rc {
            49 => DirectoryError::AccessDenied(format!(
                "the service account's bind was refused: {}",
                result.text
            )),
            50 => DirectoryError::AccessDenied(result.text),
            52 | 51 => DirectoryError::Unreachable(format!("rc={}: {}", result.rc, result.text)),
            rc => DirectoryError::Other(format!("rc={rc}: {}", result.text)),
        },
        LdapError::Io { source } => {
            let text = source.to_string();
            if source.kind() == std::io::ErrorKind::InvalidData
                || text.contains("certificate")
                || text.contains("tls")
            {
                DirectoryError::Tls(text)
            } else {
                DirectoryError::Unreachable(text)
            }
        }
        LdapError::Rustls { source } => DirectoryError::Tls(source.to_string()),
        LdapError::Timeout { .. } => DirectoryError::Unreachable("timed out".into()),
        other => DirectoryError::Other(other.to_string()),
    }
}

fn first<'a>(entry: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    entry
        .attrs
        .get(attr)
        .and_then(|v| v.first())
        .map(String::as_str)
}

/// Every value of an attribute, its name matched without regard to case (AD answers in the
/// schema's spelling, the configuration may not).
fn values(entry: &SearchEntry, attr: &str) -> Vec<String> {
    if attr.is_empty() {
        return Vec::new();
    }
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A binary attribute lands in `attrs` when its bytes happen to be valid UTF-8.
fn first_bytes(entry: &SearchEntry, attr: &str) -> Option<Vec<u8>> {
    entry
        .bin_attrs
        .get(attr)
        .and_then(|v| v.first().cloned())
        .or_else(|| first(entry, attr).map(|s| s.as_bytes().to_vec()))
}

/// `a, b` and `a,b` name the same DN; compare without the blanks and case.
fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
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
        })
    }

    /// A session bound as the user, or why AD refused the user's bind.
    async fn connect_as(
        &self,
        dn: &str,
        password: &str,
    ) -> Result<Result<Ldap, ad::BindRefusal>, DirectoryError> {
        let (mut ldap, _) = self.open().await?;
        let result = ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(classify)?;
        match result.rc {
            0 => Ok(Ok(ldap)),
            49 => Ok(Err(ad::classify_bind(&result.text))),
            rc => Err(DirectoryError::Other(format!(
                "bind rc={rc}: {}",
                result.text
            ))),
        }
    }

    /// The order the DCs are tried in now: the PDC emulator first, once a session has shown
    /// which DC that is and which configured URL reaches it.
    pub fn dc_order(&self) -> Vec<String> {
        let pdc = lock(&self.pdc).as_ref().map(|(_, host)| host.clone());
        pdc_first(&self.config.urls, &lock(&self.hosts), pdc.as_deref())
    }

    /// A TLS connection to the first DC that answers, the PDC emulator first, not yet bound.
    async fn open(&self) -> Result<(Ldap, String), DirectoryError> {
        let mut last = DirectoryError::Unreachable("no DC configured".into());
        for url in self.dc_order() {
            match self.open_url(&url).await {
                Ok(ldap) => return Ok((ldap, url)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    /// A TLS connection to this DC, not yet bound. Plain LDAP is refused.
    pub async fn open_url(&self, url: &str) -> Result<Ldap, DirectoryError> {
        if !url.starts_with("ldaps://") {
            return Err(DirectoryError::Tls(format!(
                "{url} is not ldaps://; plain LDAP is refused"
            )));
        }
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_config(self.tls.clone());
        let (conn, ldap) = LdapConnAsync::with_settings(settings, url)
            .await
            .map_err(classify)?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// Binds `ldap` as the service account.
    pub async fn bind_service(&self, ldap: &mut Ldap) -> Result<(), DirectoryError> {
        let result = ldap
            .with_timeout(self.timeout)
            .simple_bind(&self.config.bind_dn, &self.config.bind_password)
            .await
            .map_err(classify)?;
        match result.rc {
            0 => Ok(()),
            rc => Err(DirectoryError::AccessDenied(format!(
                "the service account's bind was refused (rc={rc}): {}",
                result.text
            ))),
        }
    }

    pub async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let (entries, _) = ldap
            .with_timeout(self.timeout)
            .search(base, scope, filter, attrs.to_vec())
            .await
            .and_then(|r| r.success())
            .map_err(classify)?;
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    /// A bound session plus what the domain root says: naming context, controls, policy, and
    /// which DC is the PDC emulator.
    pub async fn session(&self) -> Result<(Ldap, DomainInfo), DirectoryError> {
        let (mut ldap, url) = self.open().await?;
        self.bind_service(&mut ldap).await?;
        let root = self
            .search(
                &mut ldap,
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
            .search(
                &mut ldap,
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
        let num = |attr: &str| {
            first(domain, attr)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let policy = PasswordPolicy {
            min_length: num("minPwdLength").clamp(0, 256) as u32,
            complexity: (num("pwdProperties") as u32) & DOMAIN_PASSWORD_COMPLEX != 0,
            history_length: num("pwdHistoryLength").clamp(0, 1024) as u32,
            min_age_secs: first(domain, "minPwdAge")
                .map(ad::interval_secs)
                .unwrap_or(0),
            max_age_secs: first(domain, "maxPwdAge")
                .map(ad::interval_secs)
                .unwrap_or(0),
        };
        let dc_host = first(root, "dnsHostName")
            .unwrap_or_default()
            .to_ascii_lowercase();
        lock(&self.hosts).insert(url, dc_host.clone());
        let pdc_host = match first(domain, "fSMORoleOwner") {
            Some(owner) => self.pdc_host(&mut ldap, owner).await,
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
        Ok((ldap, info))
    }

    /// Asks each configured DC not yet known which host it is (its rootDSE, no bind), so the
    /// PDC emulator can be put first even when it is listed after a DC that always answers.
    /// One that does not answer is asked again at the next heartbeat.
    async fn learn_hosts(&self) {
        let unknown: Vec<String> = {
            let hosts = lock(&self.hosts);
            self.config
                .urls
                .iter()
                .filter(|u| !hosts.contains_key(*u))
                .cloned()
                .collect()
        };
        for url in unknown {
            // Short: this runs in the heartbeat, which must not be held up by a dead DC.
            let opened = tokio::time::timeout(PROBE_TIMEOUT, self.open_url(&url)).await;
            let Ok(Ok(mut ldap)) = opened else {
                continue;
            };
            let host = self.dc_host_name(&mut ldap).await;
            let _ = ldap.unbind().await;
            if let Some(host) = host {
                lock(&self.hosts).insert(url, host);
            }
        }
    }

    /// Which host the DC at the other end of `ldap` is (its rootDSE's `dnsHostName`,
    /// lowercase); readable without a bind.
    pub async fn dc_host_name(&self, ldap: &mut Ldap) -> Option<String> {
        let found = self
            .search(ldap, "", Scope::Base, "(objectClass=*)", &["dnsHostName"])
            .await
            .ok()?;
        first(found.first()?, "dnsHostName").map(str::to_ascii_lowercase)
    }

    /// The PDC emulator's host name, from the domain's `fSMORoleOwner` (the DN of its NTDS
    /// Settings, below its server object). Looked up again only when the role moves.
    async fn pdc_host(&self, ldap: &mut Ldap, owner: &str) -> Option<String> {
        if let Some((known, host)) = lock(&self.pdc).as_ref() {
            if known == owner {
                return Some(host.clone());
            }
        }
        let (_, server) = owner.split_once(',')?;
        let found = self
            .search(
                ldap,
                server,
                Scope::Base,
                "(objectClass=*)",
                &["dNSHostName"],
            )
            .await
            .ok()?;
        let host = first(found.first()?, "dNSHostName")?.to_ascii_lowercase();
        *lock(&self.pdc) = Some((owner.to_owned(), host.clone()));
        Some(host)
    }

    /// The policy that applies to the account: its resultant PSO where one applies, the
    /// domain's otherwise. A PSO the service account cannot read leaves the domain policy (AD
    /// still enforces the PSO; only the live feedback is less exact) and says so in the log.
    async fn effective_policy(
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
            .search(ldap, &pso_dn, Scope::Base, "(objectClass=*)", PSO_ATTRS)
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

    /// The account attributes plus the configured contact attributes.
    fn account_attrs(&self) -> Vec<&str> {
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

    fn account_of(&self, entry: &SearchEntry, info: &DomainInfo) -> Option<Account> {
        let anchor = ad::guid_to_string(&first_bytes(entry, "objectGUID")?)?;
        let uac: u32 = first(entry, "userAccountControl")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
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
            locked: first(entry, "lockoutTime")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
                > 0,
            protected: first(entry, "adminCount") == Some("1"),
            in_scope,
            mail: entry.attrs.get("mail").cloned().unwrap_or_default(),
            policy: info.policy.clone(),
            contacts: DirectoryContacts {
                mobile: values(entry, &self.config.contacts.mobile),
                office_phone: values(entry, &self.config.contacts.office_phone),
                other_mail: values(entry, &self.config.contacts.other_mail),
            },
            // Filled in by `lookup`, which asks for nested groups too.
            groups: Vec::new(),
        })
    }

    fn username_filter(username: &str, info: &DomainInfo) -> Option<String> {
        let name = username.trim();
        if name.is_empty() || name.len() > sspr_protocol::reset::MAX_USERNAME_LEN {
            return None;
        }
        let inner = if let Some((_, user)) = name.split_once('\\') {
            format!("(sAMAccountName={})", ldap_escape(user))
        } else if let Some((local, suffix)) = name.rsplit_once('@') {
            if suffix.eq_ignore_ascii_case(&info.dns_name) {
                format!(
                    "(|(userPrincipalName={})(sAMAccountName={}))",
                    ldap_escape(name),
                    ldap_escape(local)
                )
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

    pub async fn find_by_anchor(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
    ) -> Result<(String, Account), DirectoryError> {
        let value = ad::guid_filter_value(anchor).ok_or(DirectoryError::NotFound)?;
        let mut found = self
            .search(
                ldap,
                &info.base_dn,
                Scope::Subtree,
                &format!("(objectGUID={value})"),
                &self.account_attrs(),
            )
            .await?;
        if found.len() != 1 {
            return Err(DirectoryError::NotFound);
        }
        let entry = found.remove(0);
        let mut account = self
            .account_of(&entry, info)
            .ok_or(DirectoryError::NotFound)?;
        account.policy = self.effective_policy(ldap, &entry, info).await;
        Ok((entry.dn, account))
    }

    async fn replace(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        attr: &str,
        value: Vec<u8>,
        control: Option<&str>,
    ) -> Result<(), DirectoryError> {
        let mods = vec![Mod::Replace(
            attr.as_bytes().to_vec(),
            HashSet::from([value]),
        )];
        self.modify(ldap, dn, mods, control).await
    }

    async fn modify(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        mods: Vec<Mod<Vec<u8>>>,
        control: Option<&str>,
    ) -> Result<(), DirectoryError> {
        let ldap = ldap.with_timeout(self.timeout);
        let ldap = match control {
            Some(oid) => ldap.with_controls(ad::policy_hints_control(oid)),
            None => ldap,
        };
        let result = ldap.modify(dn, mods).await.map_err(classify)?;
        if result.rc == 0 {
            Ok(())
        } else {
            Err(ad::map_modify_error(result.rc, &result.text))
        }
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
fn refine(
    err: DirectoryError,
    policy: &PasswordPolicy,
    password: &str,
    names: &AccountNames,
) -> DirectoryError {
    if !matches!(err, DirectoryError::PolicyOther(_)) {
        return err;
    }
    match policy
        .evaluate(password, names)
        .into_iter()
        .find(|c| !c.met)
        .map(|c| c.rule)
    {
        Some(Rule::MinLength(_)) => DirectoryError::TooShort,
        Some(Rule::Complexity | Rule::NotAccountName) => DirectoryError::Complexity,
        None => err,
    }
}

impl LdapDirectory {
    /// Finds the account by anchor and checks, now, that self-service may touch it.
    async fn eligible(
        &self,
        ldap: &mut Ldap,
        info: &DomainInfo,
        anchor: &str,
    ) -> Result<(String, Account), DirectoryError> {
        let (dn, account) = self.find_by_anchor(ldap, info, anchor).await?;
        if account.protected {
            return Err(DirectoryError::Protected);
        }
        if !account.enabled {
            return Err(DirectoryError::Disabled);
        }
        if !account.in_scope {
            return Err(DirectoryError::OutOfScope);
        }
        Ok((dn, account))
    }
}

fn bind_refused(refusal: ad::BindRefusal) -> DirectoryError {
    match refusal {
        ad::BindRefusal::WrongPassword => DirectoryError::WrongPassword,
        ad::BindRefusal::Locked => DirectoryError::Locked,
        ad::BindRefusal::Disabled => DirectoryError::Disabled,
        ad::BindRefusal::MustChange => DirectoryError::Other("the password must be changed".into()),
        ad::BindRefusal::Other(text) => DirectoryError::Other(text),
    }
}

impl Directory for LdapDirectory {
    async fn change(&self, anchor: &str, old: &Secret, new: &Secret) -> Result<(), DirectoryError> {
        let (mut service, info) = self.session().await?;
        let (dn, account) = self.eligible(&mut service, &info, anchor).await?;
        // Bound as the user, the delete-old/add-new is a change: AD checks the current password,
        // history and minimum age. A user who must change at next logon cannot bind yet; then
        // the change goes through the service account, where AD still demands the old password.
        let mut ldap = match self.connect_as(&dn, old.expose()).await? {
            Ok(user) => {
                let _ = service.unbind().await;
                user
            }
            Err(ad::BindRefusal::MustChange) => service,
            Err(refusal) => return Err(bind_refused(refusal)),
        };
        let mods = vec![
            Mod::Delete(
                b"unicodePwd".to_vec(),
                HashSet::from([ad::unicode_pwd(old.expose()).to_vec()]),
            ),
            Mod::Add(
                b"unicodePwd".to_vec(),
                HashSet::from([ad::unicode_pwd(new.expose()).to_vec()]),
            ),
        ];
        let policy = account.policy;
        let names = AccountNames {
            account_name: account.account_name,
            display_name: account.display_name,
        };
        let result = self
            .modify(&mut ldap, &dn, mods, None)
            .await
            .map_err(|e| refine(e, &policy, new.expose(), &names));
        let _ = ldap.unbind().await;
        result
    }

    async fn unlock(&self, anchor: &str) -> Result<(), DirectoryError> {
        let (mut ldap, info) = self.session().await?;
        let (dn, _) = self.eligible(&mut ldap, &info, anchor).await?;
        let result = self
            .replace(&mut ldap, &dn, "lockoutTime", b"0".to_vec(), None)
            .await;
        let _ = ldap.unbind().await;
        result
    }

    async fn verify(&self, anchor: &str, password: &Secret) -> Result<(), DirectoryError> {
        let (mut service, info) = self.session().await?;
        let (dn, _) = self.eligible(&mut service, &info, anchor).await?;
        let _ = service.unbind().await;
        match self.connect_as(&dn, password.expose()).await? {
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
        let (mut ldap, mut info) = self.session().await?;
        if let Some(pdc) = &info.pdc_host {
            let first_is_pdc = self
                .dc_order()
                .first()
                .is_some_and(|url| reaches(url, &lock(&self.hosts), pdc));
            if !first_is_pdc {
                self.learn_hosts().await;
            }
        }
        // The names users may type the domain by: its NetBIOS name (from its crossRef) and the
        // forest's extra UPN suffixes. Unreadable, they are left out: routing by DNS name works.
        let partitions = format!("CN=Partitions,{}", info.configuration_dn);
        if let Ok(found) = self
            .search(
                &mut ldap,
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
        let _ = ldap.unbind().await;
        Ok(info)
    }

    async fn lookup(&self, username: &str) -> Result<Option<Account>, DirectoryError> {
        let (mut ldap, info) = self.session().await?;
        let Some(filter) = Self::username_filter(username, &info) else {
            return Ok(None);
        };
        let found = self
            .search(
                &mut ldap,
                &info.base_dn,
                Scope::Subtree,
                &filter,
                &self.account_attrs(),
            )
            .await?;
        // Every group the account is in, nested ones too (LDAP_MATCHING_RULE_IN_CHAIN). Asked
        // for a name that matched nobody as well, so a lookup takes as long either way.
        let member_dn = match found.as_slice() {
            [entry] => entry.dn.clone(),
            _ => format!("CN=nobody,{}", info.base_dn),
        };
        let groups = self
            .search(
                &mut ldap,
                &info.base_dn,
                Scope::Subtree,
                &format!(
                    "(&(objectCategory=group)(member:{IN_CHAIN}:={}))",
                    ldap_escape(&member_dn)
                ),
                &["cn"],
            )
            .await?;
        // Zero or several matches: nobody to help, and nothing to reveal.
        let account = match found.as_slice() {
            [entry] => match self.account_of(entry, &info) {
                Some(mut account) => {
                    account.policy = self.effective_policy(&mut ldap, entry, &info).await;
                    account.groups = groups
                        .iter()
                        .filter_map(|g| first(g, "cn").map(str::to_owned))
                        .collect();
                    Some(account)
                }
                None => None,
            },
            _ => None,
        };
        let _ = ldap.unbind().await;
        Ok(account)
    }

    async fn reset(
        &self,
        anchor: &str,
        password: &Secret,
        options: ResetOptions,
    ) -> Result<(), DirectoryError> {
        let (mut ldap, info) = self.session().await?;
        if !self.reset_allowed(&info) {
            return Err(DirectoryError::ResetWithoutHistory);
        }
        // Checked again now, not only at lookup: the account may have changed since.
        let (dn, account) = self.eligible(&mut ldap, &info, anchor).await?;
        let names = AccountNames {
            account_name: account.account_name.clone(),
            display_name: account.display_name.clone(),
        };
        let encoded = ad::unicode_pwd(password.expose());
        self.replace(
            &mut ldap,
            &dn,
            "unicodePwd",
            encoded.to_vec(),
            info.policy_hints_oid,
        )
        .await
        .map_err(|e| refine(e, &account.policy, password.expose(), &names))?;
        if options.must_change_at_next_logon {
            self.replace(&mut ldap, &dn, "pwdLastSet", b"0".to_vec(), None)
                .await?;
        } else {
            // A self-service reset must not leave the user forced to change what they just chose.
            let now = self
                .search(
                    &mut ldap,
                    &dn,
                    Scope::Base,
                    "(objectClass=*)",
                    &["pwdLastSet"],
                )
                .await?;
            if now.first().and_then(|e| first(e, "pwdLastSet")) == Some("0") {
                self.replace(&mut ldap, &dn, "pwdLastSet", b"-1".to_vec(), None)
                    .await?;
            }
        }
        let _ = ldap.unbind().await;
        Ok(())
    }

    fn reset_allowed(&self, info: &DomainInfo) -> bool {
        info.policy_hints_oid.is_some() || self.config.allow_reset_without_history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdc_emulator_goes_first_and_the_rest_keep_their_order() {
        let urls: Vec<String> = ["ldaps://a", "ldaps://b", "ldaps://c"]
            .map(String::from)
            .to_vec();
        let hosts = HashMap::from([
            ("ldaps://a".to_owned(), "dc1.corp".to_owned()),
            ("ldaps://c".to_owned(), "dc3.corp".to_owned()),
        ]);
        assert_eq!(
            pdc_first(&urls, &hosts, Some("dc3.corp")),
            ["ldaps://c", "ldaps://a", "ldaps://b"]
        );
        // Not known yet, or not configured: as configured.
        assert_eq!(pdc_first(&urls, &hosts, None), urls);
        assert_eq!(pdc_first(&urls, &hosts, Some("dc9.corp")), urls);
        // A URL that names the PDC's host counts without asking it.
        let named: Vec<String> = ["ldaps://dc1.corp:636", "ldaps://DC2.corp"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            pdc_first(&named, &HashMap::new(), Some("dc2.corp")),
            ["ldaps://DC2.corp", "ldaps://dc1.corp:636"]
        );
    }
}
