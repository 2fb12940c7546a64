//! Which DC is which: the configured URLs in the order they are tried (the PDC emulator first),
//! each URL's DC by its `dnsHostName`, and the PDC emulator found through `fSMORoleOwner`.

use std::collections::HashMap;
use std::time::Duration;

use ldap3::{Ldap, Scope};

use super::entry::first;
use super::{lock, LdapDirectory};

/// How long the heartbeat waits for a DC it asks which host it is.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

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
pub(super) fn reaches(url: &str, hosts: &HashMap<String, String>, host: &str) -> bool {
    hosts.get(url).map(String::as_str) == Some(host)
        || url_host(url).is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// `ldaps://dc1.corp.example.com:636` → `dc1.corp.example.com`.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?']).next()?;
    Some(host.rsplit_once(':').map_or(host, |(h, _)| h))
}

impl LdapDirectory {
    /// The order the DCs are tried in now: the PDC emulator first, once a session has shown
    /// which DC that is and which configured URL reaches it.
    pub fn dc_order(&self) -> Vec<String> {
        let pdc = lock(&self.pdc).as_ref().map(|(_, host)| host.clone());
        pdc_first(&self.config.urls, &lock(&self.hosts), pdc.as_deref())
    }

    /// The configured URL of the DC with this host name, as learned on connecting.
    pub(super) fn url_of(&self, host: &str) -> Option<String> {
        lock(&self.hosts)
            .iter()
            .find(|(_, known)| known.as_str() == host)
            .map(|(url, _)| url.clone())
    }

    /// Asks each configured DC not yet known which host it is (its rootDSE, no bind), so the
    /// PDC emulator can be put first even when it is listed after a DC that always answers.
    /// One that does not answer is asked again at the next heartbeat.
    pub(super) async fn learn_hosts(&self) {
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
            .ldap_search(ldap, "", Scope::Base, "(objectClass=*)", &["dnsHostName"])
            .await
            .ok()?;
        first(found.first()?, "dnsHostName").map(str::to_ascii_lowercase)
    }

    /// The PDC emulator's host name, from the domain's `fSMORoleOwner` (the DN of its NTDS
    /// Settings, below its server object). Looked up again only when the role moves.
    pub(super) async fn pdc_host(&self, ldap: &mut Ldap, owner: &str) -> Option<String> {
        if let Some((known, host)) = lock(&self.pdc).as_ref() {
            if known == owner {
                return Some(host.clone());
            }
        }
        let (_, server) = owner.split_once(',')?;
        let found = self
            .ldap_search(
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
