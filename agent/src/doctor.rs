//! `sspr-agent doctor`: checks, one by one, what the agent needs — the DCs over LDAPS with a
//! trusted certificate, the service account's bind, the domain, the PDC emulator, the service
//! account's rights on a test user, and the relay — and says for each failure what to fix.
//! It writes nothing: rights are read from the user's security descriptor and
//! `allowedAttributesEffective`, not tried out.

use ldap3::controls::RawControl;
use ldap3::{Ldap, Scope, SearchEntry};
use secrecy::ExposeSecret;
use sspr_protocol::relay::{AUTH_SEPARATOR, CHECK_PATH};

use crate::config::AgentConfig;
use crate::directory::ldap::LdapDirectory;
use crate::directory::{acl, Directory, DirectoryError, DomainInfo};
use crate::state::AgentState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub status: Status,
    pub what: String,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn pass(&mut self, what: impl Into<String>, detail: impl Into<String>) {
        self.add(Status::Pass, what, detail, None);
    }

    fn warn(&mut self, what: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(Status::Warn, what, detail, Some(fix.into()));
    }

    fn fail(&mut self, what: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(Status::Fail, what, detail, Some(fix.into()));
    }

    fn add(
        &mut self,
        status: Status,
        what: impl Into<String>,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            status,
            what: what.into(),
            detail: detail.into(),
            fix,
        });
    }

    pub fn failures(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count()
    }

    /// One line per check, `ok` / `warn` / `FAIL`, with the fix under each that needs one.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.status {
                Status::Pass => "  ok ",
                Status::Warn => "warn ",
                Status::Fail => "FAIL ",
            };
            out.push_str(&format!("{mark} {}: {}\n", c.what, c.detail));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("       fix: {fix}\n"));
            }
        }
        let (failed, warned) = (
            self.failures(),
            self.checks
                .iter()
                .filter(|c| c.status == Status::Warn)
                .count(),
        );
        out.push_str(&match (failed, warned) {
            (0, 0) => "All checks passed.\n".to_owned(),
            (0, w) => format!("No failures; {w} warning(s).\n"),
            (f, w) => format!("{f} check(s) failed, {w} warning(s).\n"),
        });
        out
    }
}

const FIX_TLS: &str = "put the CA certificate (PEM) that issued the DC's certificate in directory.ca_file; the certificate must name the host (or IP) used in the URL";
const FIX_UNREACHABLE: &str = "check the address, that TCP port 636 is open from this host to the DC, and that the DC has a certificate for LDAPS";

/// Runs every check. `test_user` is a user in scope whose rights are checked (nothing is
/// changed on it).
pub async fn run(config: &AgentConfig, test_user: Option<&str>) -> Report {
    let mut report = Report::default();
    if let Err(e) = config.check_directory() {
        report.fail(
            "configuration",
            e.to_string(),
            "edit the agent's configuration file",
        );
        return report;
    }
    report.pass(
        "configuration",
        format!(
            "{} DC(s); scope: {}",
            config.directory.urls.len(),
            if config.directory.scope.is_empty() {
                "the whole domain".to_owned()
            } else {
                config.directory.scope.join("; ")
            }
        ),
    );
    let directory = match LdapDirectory::new(config.directory.clone()) {
        Ok(d) => d,
        Err(e) => {
            report.fail("directory.ca_file", e.to_string(), FIX_TLS);
            return report;
        }
    };
    let mut hosts = Vec::new();
    for url in &config.directory.urls {
        hosts.push((url.clone(), check_dc(&directory, url, &mut report).await));
    }
    match directory.session().await {
        Ok((mut ldap, info)) => {
            check_domain(config, &info, &hosts, &mut report);
            match test_user {
                Some(user) => check_rights(&directory, &mut ldap, &info, user, &mut report).await,
                None => report.warn(
                    "rights",
                    "not checked",
                    "run `sspr-agent doctor --test-user <a user in scope>` to check Reset Password, Change Password and the writes of lockoutTime and pwdLastSet",
                ),
            }
            let _ = ldap.unbind().await;
        }
        Err(e) => report.fail("domain", e.to_string(), fix_for(&e)),
    }
    check_relay(config, &mut report).await;
    report
}

fn fix_for(err: &DirectoryError) -> &'static str {
    match err {
        DirectoryError::Tls(_) => FIX_TLS,
        DirectoryError::Unreachable(_) => FIX_UNREACHABLE,
        DirectoryError::AccessDenied(_) => "check directory.bind_dn and the bind password; the account must be enabled and not locked out",
        _ => "see the message; the DC's own log may say more",
    }
}

/// One DC: reachable over LDAPS with a trusted certificate, and the bind accepted. Returns the
/// DC's host name.
async fn check_dc(directory: &LdapDirectory, url: &str, report: &mut Report) -> Option<String> {
    let mut ldap = match directory.open_url(url).await {
        Ok(ldap) => ldap,
        Err(e) => {
            report.fail(url, e.to_string(), fix_for(&e));
            return None;
        }
    };
    if let Err(e) = directory.bind_service(&mut ldap).await {
        report.pass(url, "reachable over LDAPS, certificate trusted");
        report.fail(
            format!("bind as {}", directory.config().bind_dn),
            e.to_string(),
            fix_for(&e),
        );
        return None;
    }
    let host = directory.dc_host_name(&mut ldap).await;
    let _ = ldap.unbind().await;
    report.pass(
        url,
        format!(
            "reachable over LDAPS, certificate trusted, bind as {} accepted (DC {})",
            directory.config().bind_dn,
            host.as_deref().unwrap_or("?")
        ),
    );
    host
}

fn check_domain(
    config: &AgentConfig,
    info: &DomainInfo,
    hosts: &[(String, Option<String>)],
    report: &mut Report,
) {
    let p = &info.policy;
    report.pass(
        format!("domain {}", info.dns_name),
        format!(
            "readable; password policy: at least {} characters, complexity {}, history {}",
            p.min_length,
            if p.complexity { "on" } else { "off" },
            p.history_length
        ),
    );
    match (info.policy_hints_oid, config.directory.allow_reset_without_history) {
        (Some(oid), _) => report.pass("password history on resets", format!("enforced (the DC offers the policy-hints control {oid})")),
        (None, true) => report.warn(
            "password history on resets",
            "not enforced: the DC does not offer the policy-hints control; resets are allowed because allow_reset_without_history = true",
            "upgrade the DCs to Windows Server 2016 or later to have history enforced on resets",
        ),
        (None, false) => report.fail(
            "password history on resets",
            "the DC does not offer the policy-hints control, so the agent refuses every reset",
            "use Windows Server 2016 or later DCs, or set directory.allow_reset_without_history = true (see the README)",
        ),
    }
    let Some(pdc) = &info.pdc_host else {
        report.fail(
            "PDC emulator",
            "not found (the domain's fSMORoleOwner could not be read)",
            "let the service account read the domain root and the Sites container in the configuration partition",
        );
        return;
    };
    match hosts
        .iter()
        .position(|(_, host)| host.as_deref() == Some(pdc.as_str()))
    {
        Some(i) => report.pass(
            "PDC emulator",
            format!("{pdc} is {} (directory.urls[{i}]), tried first", hosts[i].0),
        ),
        None => report.warn(
            "PDC emulator",
            format!("{pdc} is not among directory.urls"),
            format!("add ldaps://{pdc} to directory.urls: password changes land on the PDC emulator first"),
        ),
    }
}

/// LDAP_SERVER_SD_FLAGS_OID asking for the DACL only (no SACL, which needs a privilege).
fn dacl_only() -> RawControl {
    RawControl {
        ctype: "1.2.840.113556.1.4.801".into(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x04]),
    }
}

async fn base_entry(
    ldap: &mut Ldap,
    dn: &str,
    attrs: Vec<&str>,
    timeout: std::time::Duration,
) -> Option<SearchEntry> {
    let (entries, _) = ldap
        .with_timeout(timeout)
        .with_controls(dacl_only())
        .search(dn, Scope::Base, "(objectClass=*)", attrs)
        .await
        .and_then(|r| r.success())
        .ok()?;
    entries.into_iter().next().map(SearchEntry::construct)
}

/// The service account's DN: `bind_dn` itself, or the account its UPN or DOMAIN\name names.
async fn service_dn(
    directory: &LdapDirectory,
    ldap: &mut Ldap,
    info: &DomainInfo,
) -> Option<String> {
    let bind = &directory.config().bind_dn;
    if bind.contains('=') {
        return Some(bind.clone());
    }
    let filter = match bind.split_once('\\') {
        Some((_, name)) => format!("(sAMAccountName={})", ldap3::ldap_escape(name)),
        None => format!("(userPrincipalName={})", ldap3::ldap_escape(bind)),
    };
    let found = directory
        .ldap_search(ldap, &info.base_dn, Scope::Subtree, &filter, &["1.1"])
        .await
        .ok()?;
    match found.as_slice() {
        [entry] => Some(entry.dn.clone()),
        _ => None,
    }
}

async fn check_rights(
    directory: &LdapDirectory,
    ldap: &mut Ldap,
    info: &DomainInfo,
    user: &str,
    report: &mut Report,
) {
    let timeout = std::time::Duration::from_secs(directory.config().timeout_secs.max(1));
    let account = match directory.lookup(user).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            report.fail(
                format!("test user {user}"),
                "not found",
                "name an existing user (sAMAccountName, UPN or DOMAIN\\name)",
            );
            return;
        }
        Err(e) => {
            report.fail(format!("test user {user}"), e.to_string(), fix_for(&e));
            return;
        }
    };
    if !account.eligible() {
        report.warn(
            format!("test user {user}"),
            "disabled, protected (adminCount=1) or outside directory.scope: self-service would refuse it",
            "pick an ordinary, enabled user inside the scope",
        );
    } else {
        report.pass(
            format!("test user {user}"),
            "found, enabled, not protected, in scope",
        );
    }
    let (dn, _) = match directory.find_by_anchor(ldap, info, &account.anchor).await {
        Ok(found) => found,
        Err(e) => {
            report.fail(format!("test user {user}"), e.to_string(), fix_for(&e));
            return;
        }
    };
    let Some(entry) = base_entry(
        ldap,
        &dn,
        vec!["nTSecurityDescriptor", "allowedAttributesEffective"],
        timeout,
    )
    .await
    else {
        report.fail(
            "rights",
            format!("cannot read {dn}"),
            "let the service account read the user objects",
        );
        return;
    };
    let mut sids: Vec<String> = acl::WORLD_SIDS.iter().map(|s| s.to_string()).collect();
    if let Some(own_dn) = service_dn(directory, ldap, info).await {
        if let Some(own) =
            base_entry(ldap, &own_dn, vec!["objectSid", "tokenGroups"], timeout).await
        {
            for attr in ["objectSid", "tokenGroups"] {
                for raw in own.bin_attrs.get(attr).into_iter().flatten() {
                    sids.extend(acl::sid_to_string(raw));
                }
            }
        }
    }
    let account_name = directory.config().bind_dn.clone();
    let aces = entry
        .bin_attrs
        .get("nTSecurityDescriptor")
        .and_then(|v| v.first())
        .and_then(|sd| acl::dacl(sd));
    for (right, guid, name) in [
        (acl::CONTROL_ACCESS, acl::RESET_PASSWORD, "Reset Password"),
        (acl::CONTROL_ACCESS, acl::CHANGE_PASSWORD, "Change Password"),
    ] {
        let what = format!("{name} on {user}");
        match &aces {
            Some(aces) if acl::holds(aces, &sids, right, guid) => report.pass(what, "granted"),
            Some(_) => report.fail(
                what,
                format!("not granted to {account_name}"),
                format!("on the users' OU (or the domain root): Properties → Security → Advanced → Add {account_name}, Applies to: Descendant User objects, allow \"{name}\" (or: dsacls \"<OU DN>\" /I:S /G \"<DOMAIN>\\<account>:CA;{name};user\")"),
            ),
            None => report.fail(what, "the user's security descriptor cannot be read", "let the service account read permissions on user objects"),
        }
    }
    let writable: Vec<String> = entry
        .attrs
        .get("allowedAttributesEffective")
        .cloned()
        .unwrap_or_default();
    for attr in ["lockoutTime", "pwdLastSet"] {
        let what = format!("write {attr} on {user}");
        if writable.iter().any(|a| a.eq_ignore_ascii_case(attr)) {
            report.pass(what, "granted");
        } else {
            report.fail(
                what,
                format!("not granted to {account_name}"),
                format!("on the users' OU: Properties → Security → Advanced → Add {account_name}, Applies to: Descendant User objects, allow \"Write {attr}\" (or: dsacls \"<OU DN>\" /I:S /G \"<DOMAIN>\\<account>:WP;{attr};user\")"),
            );
        }
    }
}

async fn check_relay(config: &AgentConfig, report: &mut Report) {
    let state = match AgentState::load(&config.state_dir) {
        Ok(state) => state,
        Err(e) => {
            report.fail(
                "relay",
                e.to_string(),
                "onboard the agent: sspr-agent onboard --server URL --token TOKEN",
            );
            return;
        }
    };
    let identity = &state.identity;
    let server = &identity.server_url;
    let client = crate::tls::client_config(config.server_ca_file.as_deref(), true)
        .map_err(|e| e.to_string())
        .and_then(|tls| {
            reqwest::Client::builder()
                .use_preconfigured_tls((*tls).clone())
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .map_err(|e| e.to_string())
        });
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            report.fail(format!("relay {server}"), e, "check server_ca_file");
            return;
        }
    };
    let answer = client
        .get(format!("{server}{CHECK_PATH}"))
        .bearer_auth(format!(
            "{}{AUTH_SEPARATOR}{}",
            identity.agent_id,
            identity.relay_secret.expose_secret()
        ))
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => report.pass(
            format!("relay {server}"),
            format!("reachable; agent {} authenticated", identity.agent_id),
        ),
        Ok(r) if r.status().as_u16() == 401 => report.fail(
            format!("relay {server}"),
            format!("the server does not accept agent {}'s credentials", identity.agent_id),
            "the agent was revoked or the server's database replaced: create a token (sspr-server token create) and onboard again",
        ),
        Ok(r) => report.fail(
            format!("relay {server}"),
            format!("the server answered {}", r.status()),
            "check that the address is the SSPR server, not a proxy's error page",
        ),
        Err(e) => report.fail(
            format!("relay {server}"),
            format!("unreachable: {e}"),
            "check the address and that outbound HTTPS to it is allowed (proxy, firewall); with a private CA, set server_ca_file",
        ),
    }
}
