//! The agent's directory code against a real Samba AD DC. A reset is proven by binding as the
//! user with the new password.

use sspr_agent::config::DirectoryConfig;
use sspr_agent::directory::ldap::LdapDirectory;
use sspr_agent::directory::{Directory, DirectoryError, ResetOptions, Tier};
use sspr_protocol::seal::Secret;
use sspr_tests::samba::{self, SambaDc};

/// The agent's directory settings for the test DC, with the administrator as service account.
pub fn config(dc: &SambaDc) -> DirectoryConfig {
    DirectoryConfig {
        urls: vec![dc.ldaps_url()],
        ca_file: Some(dc.ca_file()),
        bind_dn: dc.admin_dn(),
        bind_password: dc.admin_password.clone().into(),
        bind_password_file: None,
        scope: vec![],
        allow_reset_without_history: true,
        timeout_secs: 10,
        contacts: sspr_agent::config::AgentConfig::default()
            .directory
            .contacts,
    }
}

pub fn directory_with(config: DirectoryConfig) -> LdapDirectory {
    sspr_agent::tls::install_crypto_provider();
    LdapDirectory::new(config).expect("directory")
}

pub fn directory(dc: &SambaDc) -> LdapDirectory {
    directory_with(config(dc))
}

/// Binds as the user over LDAPS, verifying the DC's certificate against the test CA.
pub async fn bind_as(dc: &SambaDc, user: &str, password: &str) -> Result<(), String> {
    let mut ldap = dc.connect().await?;
    let result = ldap
        .simple_bind(&dc.upn(user), password)
        .await
        .map_err(|e| e.to_string())?;
    let _ = ldap.unbind().await;
    if result.rc == 0 {
        Ok(())
    } else {
        Err(result.text)
    }
}

/// A session bound as the domain administrator, and the user's entry with `attrs`, as an AD
/// admin would see them in their tools.
pub async fn admin_entry(
    dc: &SambaDc,
    user: &str,
    attrs: Vec<&str>,
) -> (ldap3::Ldap, ldap3::SearchEntry) {
    let mut ldap = dc.admin_session().await.expect("administrator session");
    let (entries, _) = ldap
        .search(
            &dc.base_dn(),
            ldap3::Scope::Subtree,
            &format!("(sAMAccountName={user})"),
            attrs,
        )
        .await
        .expect("search")
        .success()
        .expect("search ok");
    let entry = ldap3::SearchEntry::construct(entries.into_iter().next().expect("the user"));
    (ldap, entry)
}

/// Sets an attribute as the administrator, as an AD admin would in their tools.
pub async fn admin_replace(dc: &SambaDc, user: &str, attr: &str, value: &str) {
    dc.set_attribute(user, attr, value)
        .await
        .expect("set the attribute");
}

pub async fn read_attr(dc: &SambaDc, user: &str, attr: &str) -> Option<String> {
    let (mut ldap, entry) = admin_entry(dc, user, vec![attr]).await;
    let _ = ldap.unbind().await;
    entry.attrs.get(attr).and_then(|v| v.first().cloned())
}

#[tokio::test]
async fn reset_is_proven_by_a_bind_with_the_new_password() {
    let dc = samba::shared();
    dc.create_user(
        "ad.reset",
        "Old-Passw0rd!",
        Some("ad.reset@corp.example.test"),
        "Ada Reset",
    )
    .expect("user");
    let dir = directory(dc);

    let account = dir
        .lookup(&dc.upn("ad.reset"))
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(account.account_name, "ad.reset");
    assert_eq!(account.mail, vec!["ad.reset@corp.example.test".to_owned()]);
    assert!(account.enabled && !account.protected && account.in_scope && !account.locked);
    assert!(account.policy.complexity);
    // The other spellings of the same user find the same anchor.
    for spelling in ["ad.reset", "CORP\\ad.reset"] {
        assert_eq!(
            dir.lookup(spelling)
                .await
                .expect("lookup")
                .map(|a| a.anchor),
            Some(account.anchor.clone())
        );
    }

    dir.reset(
        &account.anchor,
        &Secret::new("Fresh-Start-2026".into()),
        ResetOptions::default(),
        &Tier::SelfService,
    )
    .await
    .expect("reset");
    bind_as(dc, "ad.reset", "Fresh-Start-2026")
        .await
        .expect("bind with the new password");
    assert!(
        bind_as(dc, "ad.reset", "Old-Passw0rd!").await.is_err(),
        "the old password must stop working"
    );
    // Not forced to change the password they just chose.
    let pwd_last_set = read_attr(dc, "ad.reset", "pwdLastSet")
        .await
        .expect("pwdLastSet");
    assert_ne!(pwd_last_set, "0");
}

#[tokio::test]
async fn policy_refusals_come_back_as_their_reasons() {
    let dc = samba::shared();
    dc.create_user("ad.policy", "Old-Passw0rd!", None, "Piet Policy")
        .expect("user");
    let dir = directory(dc);
    let anchor = dir
        .lookup("ad.policy")
        .await
        .expect("lookup")
        .expect("found")
        .anchor;
    let too_short = Secret::new("Sh0rt!".into());
    assert_eq!(
        dir.reset(
            &anchor,
            &too_short,
            ResetOptions::default(),
            &Tier::SelfService
        )
        .await,
        Err(DirectoryError::TooShort)
    );
    let too_simple = Secret::new("alllowercaseletters".into());
    assert_eq!(
        dir.reset(
            &anchor,
            &too_simple,
            ResetOptions::default(),
            &Tier::SelfService
        )
        .await,
        Err(DirectoryError::Complexity)
    );
    // Nothing changed: the old password still works.
    bind_as(dc, "ad.policy", "Old-Passw0rd!")
        .await
        .expect("old password still valid");
}

#[tokio::test]
async fn hostile_and_unknown_names_find_nobody() {
    let dc = samba::shared();
    let dir = directory(dc);
    for name in [
        "*)(objectClass=*",
        "*",
        "nobody.here",
        "",
        "a\\b\\c",
        "x@other.example",
    ] {
        assert_eq!(dir.lookup(name).await.expect("lookup"), None, "{name:?}");
    }
    // Wildcards that, unescaped, would match exactly one account (several matches already find
    // nobody, so only these show that typed text is escaped).
    dc.create_user("esc.unique42", "Escape-Passw0rd!", None, "Esc Unique")
        .expect("user");
    assert!(
        dir.lookup("esc.unique42").await.expect("lookup").is_some(),
        "the account exists"
    );
    for name in ["esc.uniq*", "CORP\\esc.uniq*", "esc.uniq*)(objectClass=*"] {
        assert_eq!(dir.lookup(name).await.expect("lookup"), None, "{name:?}");
    }
}

#[tokio::test]
async fn domain_policy_is_read_from_the_domain_root() {
    let dc = samba::shared();
    let info = directory(dc).domain().await.expect("domain");
    assert_eq!(info.dns_name, "corp.example.test");
    assert_eq!(info.policy.min_length, 7);
    assert!(info.policy.complexity);
    assert_eq!(info.policy.history_length, 24);
    assert_eq!(info.policy.min_age_secs, 0);
    // Samba 4.17 offers no policy-hints control.
    assert_eq!(info.policy_hints_oid, None);
    // The names users may type the domain by, and the PDC emulator (the only DC here).
    assert_eq!(info.netbios, "CORP");
    assert_eq!(info.dc_host, "dc2.corp.example.test");
    assert_eq!(info.pdc_host.as_deref(), Some("dc2.corp.example.test"));
}

#[tokio::test]
async fn the_pdc_emulator_is_tried_first_once_known() {
    let dc = samba::shared();
    // A DC that does not answer, listed first, and the test DC (the domain's PDC emulator).
    let (dead, live) = ("ldaps://127.0.0.9:1636".to_owned(), dc.ldaps_url());
    let dir = directory_with(DirectoryConfig {
        urls: vec![dead.clone(), live.clone()],
        ..config(dc)
    });
    assert_eq!(
        dir.dc_order(),
        [dead.clone(), live.clone()],
        "as configured"
    );
    let info = dir
        .domain()
        .await
        .expect("the live DC answers after the dead one");
    assert_eq!(info.pdc_host.as_deref(), Some("dc2.corp.example.test"));
    assert_eq!(
        dir.dc_order(),
        [live, dead],
        "the PDC emulator first from now on"
    );
}

#[tokio::test]
async fn with_two_dcs_the_pdc_emulator_takes_the_write_and_the_other_stands_in() {
    // A domain of its own with two DCs: the first is the PDC emulator, the second joined it
    // (and, running LDAP only, replicates nothing after the join).
    let (mut pdc, other) = SambaDc::start_pair(
        "127.0.0.4",
        "127.0.0.5",
        "CORP3.EXAMPLE.TEST",
        "CORP3",
        |pdc| pdc.create_user("pair.user", "Pair-Start-Pw-1", None, "Pair User"),
    )
    .expect("two DCs of one domain");
    // The other DC is listed first.
    let dir = directory_with(DirectoryConfig {
        urls: vec![other.ldaps_url(), pdc.ldaps_url()],
        ..config(&pdc)
    });
    let info = dir.domain().await.expect("domain");
    assert_eq!(
        info.dc_host, "dc5.corp3.example.test",
        "asked the first listed"
    );
    assert_eq!(info.pdc_host.as_deref(), Some("dc4.corp3.example.test"));
    assert_eq!(dir.dc_order(), [pdc.ldaps_url(), other.ldaps_url()]);

    // The reset is written on the PDC emulator, not on the DC listed first.
    let anchor = dir
        .lookup("pair.user")
        .await
        .expect("lookup")
        .expect("found")
        .anchor;
    dir.reset(
        &anchor,
        &Secret::new("On-The-Pdc-Pw-2".into()),
        ResetOptions::default(),
        &Tier::SelfService,
    )
    .await
    .expect("reset");
    bind_as(&pdc, "pair.user", "On-The-Pdc-Pw-2")
        .await
        .expect("the PDC has the new password");
    bind_as(&other, "pair.user", "Pair-Start-Pw-1")
        .await
        .expect("the other DC was not written");

    // The PDC goes down: the other DC stands in.
    pdc.stop();
    dir.reset(
        &anchor,
        &Secret::new("On-The-Other-Pw-3".into()),
        ResetOptions::default(),
        &Tier::SelfService,
    )
    .await
    .expect("reset through the other DC");
    bind_as(&other, "pair.user", "On-The-Other-Pw-3")
        .await
        .expect("the other DC has it");
}

/// A TCP proxy to the DC's LDAPS port that can cut every connection through it, as a DC
/// that drops its clients (a restart, an idle timeout) does.
struct Cutter {
    url: String,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    opened: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Cutter {
    async fn start(dc: &SambaDc) -> Self {
        // On the DC's own address, which its certificate names.
        let listener = tokio::net::TcpListener::bind((dc.address.as_str(), 0))
            .await
            .expect("listen");
        let port = listener.local_addr().expect("address").port();
        let target = format!("{}:636", dc.address);
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let opened = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (held, count) = (connections.clone(), opened.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut dc) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut dc).await;
                    }
                });
                held.lock().expect("connections").push(task);
            }
        });
        Self {
            url: format!("ldaps://{}:{port}", dc.address),
            connections,
            opened,
        }
    }

    fn cut(&self) {
        for task in self.connections.lock().expect("connections").drain(..) {
            task.abort();
        }
    }

    fn opened(&self) -> usize {
        self.opened.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The service account's sessions are kept and used again (one LDAPS connection for many
/// operations); a user's own bind never joins them; and a session the DC dropped is replaced
/// without the operation noticing.
#[tokio::test]
async fn service_sessions_are_kept_and_a_dropped_one_is_replaced() {
    let dc = samba::shared();
    dc.create_user("pool.user", "Pool-Start-Pw-1", None, "Pool User")
        .expect("user");
    let cutter = Cutter::start(dc).await;
    let dir = directory_with(DirectoryConfig {
        urls: vec![cutter.url.clone()],
        ..config(dc)
    });

    let account = dir
        .lookup("pool.user")
        .await
        .expect("lookup")
        .expect("found");
    for _ in 0..5 {
        assert!(dir.lookup("pool.user").await.expect("lookup").is_some());
    }
    assert_eq!(cutter.opened(), 1, "six lookups, one connection");
    assert_eq!(dir.kept_sessions(), 1);

    // The user's own bind (a verify, a change) has a connection of its own, closed after it.
    dir.verify(&account.anchor, &Secret::new("Pool-Start-Pw-1".into()))
        .await
        .expect("the right password");
    assert_eq!(cutter.opened(), 2);
    assert_eq!(dir.kept_sessions(), 1, "the user's session is not kept");

    // The DC drops every connection: the next operation gets a new session and succeeds.
    cutter.cut();
    dir.reset(
        &account.anchor,
        &Secret::new("Fresh-After-Cut-9x".into()),
        ResetOptions::default(),
        &Tier::SelfService,
    )
    .await
    .expect("a reset after the DC dropped the session");
    bind_as(dc, "pool.user", "Fresh-After-Cut-9x")
        .await
        .expect("the reset landed");
    assert_eq!(
        cutter.opened(),
        3,
        "one new connection replaced the dropped one"
    );
    assert_eq!(dir.kept_sessions(), 1);
}
