//! Benchmark: what the whole write-back path costs over a bare LDAP write, against one real
//! Samba AD DC in one run.
//!
//! (a) a direct ldap3 `unicodePwd` replace on an open, bound LDAPS connection;
//! (b) the same reset the way the product does it: sealed to the agent's RSA key as the browser
//!     seals it, wrapped in a package by the server, sent over the relay WebSocket to the real
//!     agent process, opened there, written to AD over its own LDAPS session, and the sealed
//!     outcome read back by the server.
//!
//! Interleaved, at least 200 resets each; prints median and p99 of both and the ratio b/a.
//! The same for the lookup that starts a flow: (c) a direct ldap3 search for the account by
//! its logon name on the open connection, against (d) the server asking the agent, which finds
//! the account, its nested groups and its password policy.
//! Run with `cargo bench -p sspr-tests --bench reset` (release build; do not run the
//! integration tests at the same time: both use the test DC's address).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sspr_protocol::package::{Flags, Operation, PackageBody};
use sspr_server::config::ServerConfig;
use sspr_server::AppState;
use sspr_tests::processes::{AgentOptions, AgentProcess};
use sspr_tests::samba;

const RESETS: usize = 200;
const USER: &str = "bench.user";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The server, in this process (so the benchmark can hand it packages directly), listening on
/// loopback for the agent.
async fn server(dir: &std::path::Path) -> (AppState, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let address = listener.local_addr().expect("address");
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).expect("randomness");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "{address}"
public_url = "http://{address}"
database = "{db}"
frontend_dir = "{dir}"
secret = "{secret}"

[mail]
smtp_host = "127.0.0.1"
smtp_port = 25
security = "none"
from = "SSPR <sspr@corp.example.test>"

[relay]
heartbeat_secs = 2
"#,
            db = dir.join("sspr.db").display(),
            dir = dir.display(),
            secret = sspr_protocol::b64::encode(&secret),
        ),
    )
    .expect("server config");
    let state = AppState::new(ServerConfig::load(Some(&config)).expect("config"))
        .await
        .expect("state");
    let app = sspr_server::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, format!("http://{address}"))
}

#[tokio::main]
async fn main() {
    sspr_agent::tls::install_crypto_provider();
    let dc = samba::shared();
    dc.create_user(USER, "Bench-Start-Pw-1!", None, "Bench User")
        .expect("user");
    let dir = tempfile::tempdir().expect("temp dir");
    let (state, url) = server(dir.path()).await;
    let token = state
        .store
        .create_onboarding_token(sspr_server::now(), 600)
        .await
        .expect("token");
    let mut agent = AgentProcess::onboard_at(&url, &token, None, dc, &AgentOptions::default());
    agent.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    let live = loop {
        if let Some(live) = state.hub.pick(sspr_server::now()) {
            break live;
        }
        assert!(
            Instant::now() < deadline,
            "agent never came up:\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let anchor = sspr_agent::directory::Directory::lookup(
        &sspr_agent::directory::ldap::LdapDirectory::new(directory_config(dc)).expect("dir"),
        USER,
    )
    .await
    .expect("lookup")
    .expect("found")
    .anchor;

    // (a)'s connection: opened and bound once, outside the measurement.
    let mut ldap = dc.admin_session().await.expect("administrator session");
    let user_dn = format!("CN=Bench User,CN=Users,{}", dc.base_dn());

    let (mut direct, mut full) = (Vec::new(), Vec::new());
    let (mut direct_lookups, mut lookups) = (Vec::new(), Vec::new());
    let mut last = String::new();
    for i in 0..RESETS {
        let password = format!("Direct-{i}-Pw!x");
        let started = Instant::now();
        ldap.modify(
            &user_dn,
            vec![ldap3::Mod::Replace(
                b"unicodePwd".to_vec(),
                std::collections::HashSet::from([sspr_agent::directory::ad::unicode_pwd(
                    &password,
                )
                .to_vec()]),
            )],
        )
        .await
        .and_then(|r| r.success())
        .expect("direct replace");
        direct.push(started.elapsed());

        let password = format!("Relayed-{i}-Pw!x");
        let started = Instant::now();
        let now = sspr_server::now();
        let body = PackageBody {
            op: Operation::Reset,
            anchor: anchor.clone(),
            actor: "self".into(),
            request_id: format!("bench-{i}-{now}"),
            issued_at: now,
            expires_at: now + 300,
            flags: Flags::default(),
            sealed: Some(
                sspr_protocol::seal::seal(&live.heartbeat.rsa_key, &password).expect("seal"),
            ),
            sealed_old: None,
            off_limits: Vec::new(),
        };
        sspr_server::relay::writeback::apply(&state, &live.id, &body)
            .await
            .expect("reset through the agent");
        full.push(started.elapsed());
        last = password;

        let started = Instant::now();
        let (found, _) = ldap
            .search(
                &dc.base_dn(),
                ldap3::Scope::Subtree,
                &format!("(&(objectCategory=person)(objectClass=user)(sAMAccountName={USER}))"),
                vec!["objectGUID", "sAMAccountName", "displayName", "mail"],
            )
            .await
            .and_then(|r| r.success())
            .expect("direct search");
        assert_eq!(found.len(), 1);
        direct_lookups.push(started.elapsed());

        let started = Instant::now();
        let account = sspr_server::relay::writeback::lookup(&state, &live.id, USER.into())
            .await
            .expect("lookup through the agent");
        assert!(account.is_some(), "the agent finds the account");
        lookups.push(started.elapsed());
    }
    let _ = ldap.unbind().await;
    // The last reset went through the agent: prove it landed.
    let mut check = dc.connect().await.expect("LDAPS");
    check
        .simple_bind(&dc.upn(USER), &last)
        .await
        .and_then(|r| r.success())
        .expect("AD accepts the last password set through the agent");

    println!("resets and lookups: {RESETS} each, interleaved, one Samba AD DC");
    report(
        "(a) direct ldap3 unicodePwd replace:      ",
        "(b) server → relay → agent → AD (sealed):  ",
        direct,
        full,
    );
    report(
        "(c) direct ldap3 search by logon name:    ",
        "(d) lookup, server → relay → agent → AD:  ",
        direct_lookups,
        lookups,
    );
    agent.stop();
}

/// Median and p99 of a baseline and of the product's way, and their ratios.
fn report(baseline: &str, product: &str, mut a: Vec<Duration>, mut b: Vec<Duration>) {
    a.sort();
    b.sort();
    let (a50, a99) = (percentile(&a, 0.5), percentile(&a, 0.99));
    let (b50, b99) = (percentile(&b, 0.5), percentile(&b, 0.99));
    println!(
        "{baseline} median {:7.2} ms   p99 {:7.2} ms",
        ms(a50),
        ms(a99)
    );
    println!(
        "{product} median {:7.2} ms   p99 {:7.2} ms",
        ms(b50),
        ms(b99)
    );
    println!(
        "  ratio: median {:.2}x   p99 {:.2}x",
        ms(b50) / ms(a50),
        ms(b99) / ms(a99)
    );
}

fn directory_config(dc: &samba::SambaDc) -> sspr_agent::config::DirectoryConfig {
    let mut config = sspr_agent::config::AgentConfig::default().directory;
    config.urls = vec![dc.ldaps_url()];
    config.ca_file = Some(dc.ca_file());
    config.bind_dn = dc.admin_dn();
    config.bind_password = dc.admin_password.clone().into();
    config
}
