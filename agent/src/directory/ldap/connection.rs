//! Connecting to a DC: LDAPS only, its certificate verified, every call with a timeout, binds
//! as the service account or as a user, and ldap3's errors sorted into ours.

use std::collections::HashSet;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry};
use secrecy::ExposeSecret;

use super::LdapDirectory;
use crate::directory::{ad, DirectoryError};

/// Entries per page of a paged search: a search stops after a few dozen, so larger pages would
/// only make the DC read ahead for nothing.
const SEARCH_PAGE_SIZE: i32 = 50;

/// LDAP's noSuchObject: the search base is not there.
const NO_SUCH_OBJECT: u32 = 32;

/// Sorts ldap3's errors into unreachable, TLS trouble and the rest.
pub(super) fn classify(err: LdapError) -> DirectoryError {
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
        // The connection broke under an operation: the DC went away (or restarted).
        err
        @ (LdapError::OpSend { .. } | LdapError::ResultRecv { .. } | LdapError::EndOfStream) => {
            DirectoryError::Unreachable(format!("the connection to the DC broke: {err}"))
        }
        other => DirectoryError::Other(other.to_string()),
    }
}

pub(super) fn bind_refused(refusal: ad::BindRefusal) -> DirectoryError {
    match refusal {
        ad::BindRefusal::WrongPassword => DirectoryError::WrongPassword,
        ad::BindRefusal::Locked => DirectoryError::Locked,
        ad::BindRefusal::Disabled => DirectoryError::Disabled,
        ad::BindRefusal::MustChange => DirectoryError::Other("the password must be changed".into()),
        ad::BindRefusal::Other(text) => DirectoryError::Other(text),
    }
}

impl LdapDirectory {
    /// A session bound as the user, or why AD refused the user's bind.
    pub(super) async fn connect_as(
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

    /// A TLS connection to the first DC that answers, the PDC emulator first, not yet bound.
    pub(super) async fn open(&self) -> Result<(Ldap, String), DirectoryError> {
        let mut last = DirectoryError::Unreachable("no DC configured".into());
        for url in self.dc_order() {
            match self.open_url(&url).await {
                Ok(ldap) => return Ok((ldap, url)),
                Err(e) => last = e,
            }
        }
        Err(last)
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
            .simple_bind(
                &self.config.bind_dn,
                self.config.bind_password.expose_secret(),
            )
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

    /// One search whose (few) entries come back at once.
    pub async fn ldap_search(
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

    /// A subtree search in pages (AD answers an unpaged one with at most its MaxPageSize
    /// entries, 1,000 by default), stopped after `at_most` entries; continuation references
    /// are left out. `NotFound` when `base` does not exist.
    pub(super) async fn paged_search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        filter: &str,
        attrs: &[&str],
        at_most: usize,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let adapters: Vec<Box<dyn Adapter<&str, Vec<&str>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(SEARCH_PAGE_SIZE)),
        ];
        let mut stream = ldap
            .with_timeout(self.timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs.to_vec())
            .await
            .map_err(classify)?;
        let mut entries = Vec::new();
        let mut exhausted = false;
        while entries.len() < at_most {
            match stream.next().await.map_err(classify)? {
                Some(entry) => entries.push(SearchEntry::construct(entry)),
                None => {
                    exhausted = true;
                    break;
                }
            }
        }
        let result = stream.finish().await;
        if !exhausted {
            // Enough read: the DC would go on sending pages nobody reads.
            let _ = ldap.abandon(stream.ldap_handle().last_id()).await;
            return Ok(entries);
        }
        match result.rc {
            0 => Ok(entries),
            NO_SUCH_OBJECT => Err(DirectoryError::NotFound),
            _ => Err(classify(LdapError::LdapResult { result })),
        }
    }

    pub(super) async fn replace(
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

    pub(super) async fn modify(
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
