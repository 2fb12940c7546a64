//! The store's conformance suite: the same checks against SQLite and against a real PostgreSQL
//! server. On PostgreSQL each check also runs across two stores on one database — two
//! replicas — where nothing may be lost, applied twice or counted past a limit.

use std::sync::Arc;

use sqlx::Row;
use sspr_protocol::gate::{Family, Method};
use sspr_protocol::package::PackageKey;
use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::Lang;
use sspr_server::config::ServerConfig;
use sspr_server::crypto::ServerKeys;
use sspr_server::domain::audit::{Actor, AuditEvent, AuditRecord};
use sspr_server::domain::codes::CodeRules;
use sspr_server::domain::flow::{AccountTarget, Gates, Passed, ResetFlow, Start, Target};
use sspr_server::domain::limits::Limited;
use sspr_server::domain::registration::Contact;
use sspr_server::store::{
    database_url, AgentRecord, Backend, LimitError, Limiter, Store, StoreError,
};

const NOW: i64 = 1_800_000_000;
const RULES: CodeRules = CodeRules {
    ttl_secs: 600,
    attempts: 5,
    resend_cooldown_secs: 60,
};

fn keys() -> Arc<ServerKeys> {
    Arc::new(ServerKeys::new(&[5u8; 32]).expect("keys"))
}

async fn open(database: &str) -> Store {
    Store::open(database, keys()).await.expect("open the store")
}

/// Every byte a table's binary or text column holds, read around the store.
async fn raw(database: &str, sql: &str) -> Vec<u8> {
    sqlx::any::install_default_drivers();
    let (url, _) = database_url(database).expect("url");
    let pool = sqlx::AnyPool::connect(&url).await.expect("raw connection");
    let rows = sqlx::query(sql).fetch_all(&pool).await.expect("raw read");
    pool.close().await;
    rows.iter()
        .flat_map(|r| {
            r.try_get::<Vec<u8>, _>(0)
                .or_else(|_| r.try_get::<String, _>(0).map(String::into_bytes))
                .expect("bytes or text")
        })
        .collect()
}

async fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("conformance.db").display().to_string();
    (dir, path)
}

#[tokio::test]
async fn the_store_conforms_on_sqlite() {
    let (_dir, database) = sqlite().await;
    let store = open(&database).await;
    assert_eq!(store.backend(), Backend::Sqlite);
    // One process holds a SQLite file: its "replicas" share one store.
    conformance(&database, &store, &store).await;
}

#[tokio::test]
async fn the_store_conforms_on_postgres() {
    let database = sspr_tests::postgres::shared().database();
    let (a, b) = (open(&database).await, open(&database).await);
    assert_eq!(a.backend(), Backend::Postgres);
    conformance(&database, &a, &b).await;
}

#[tokio::test]
async fn migrations_run_once_and_a_second_open_finds_the_schema() {
    let (_dir, sqlite) = sqlite().await;
    for database in [sqlite, sspr_tests::postgres::shared().database()] {
        let store = open(&database).await;
        store.note_phone_country(31).await.expect("write");
        drop(store);
        let again = open(&database).await;
        assert!(
            again.phone_country_known(31).await.expect("read"),
            "{database}"
        );
    }
    assert!(matches!(
        Store::open("mysql://nope", keys()).await,
        Err(StoreError::Url(_))
    ));
}

async fn conformance(database: &str, a: &Store, b: &Store) {
    onboarding_tokens(a, b).await;
    agents(a, b).await;
    audit_is_typed_and_append_only(database, a).await;
    parallel_audit_lines_are_all_kept_in_order(a, b).await;
    flows_begun_at_once_are_all_kept(a, b).await;
    flows_are_sealed_and_expire(database, a).await;
    registrations_are_sealed(database, a, b).await;
    parallel_updates_of_a_flow_are_never_lost(a, b).await;
    of_two_right_codes_exactly_one_wins(a, b).await;
    limits_hold_across_replicas(a, b).await;
    phone_countries(a, b).await;
}

async fn onboarding_tokens(a: &Store, b: &Store) {
    let token = a.create_onboarding_token(NOW, 60).await.expect("token");
    assert!(!b
        .consume_onboarding_token("sspr-onboard-nope", NOW)
        .await
        .expect("query"));
    let (one, two) = tokio::join!(
        a.consume_onboarding_token(&token, NOW + 1),
        b.consume_onboarding_token(&token, NOW + 1)
    );
    assert!(
        one.expect("query") ^ two.expect("query"),
        "a token is used exactly once"
    );
    let late = a.create_onboarding_token(NOW, 60).await.expect("token");
    assert!(
        !b.consume_onboarding_token(&late, NOW + 60)
            .await
            .expect("query"),
        "expired"
    );
}

async fn agents(a: &Store, b: &Store) {
    let key = PackageKey::generate().expect("key");
    let record = AgentRecord {
        id: "agt_conformance".into(),
        name: "dc-side".into(),
        version: "1.0".into(),
        secret_hash: "hash".into(),
        package_key: key.clone(),
        rsa_key_id: "rsa-1".into(),
        created_at: NOW,
        revoked: false,
    };
    a.add_agent(&record).await.expect("add");
    let read = b
        .agent("agt_conformance")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        (read.name.as_str(), read.rsa_key_id.as_str()),
        ("dc-side", "rsa-1")
    );
    assert_eq!(read.package_key.key_id, key.key_id);
    let rolled = PackageKey::generate().expect("key");
    b.roll_agent_keys("agt_conformance", &rolled, "rsa-2")
        .await
        .expect("roll");
    let read = a
        .agent("agt_conformance")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(read.package_key.key_id, rolled.key_id);
    assert_eq!(read.rsa_key_id, "rsa-2");
    assert!(a.agent("agt_other").await.expect("read").is_none());
}

async fn audit_is_typed_and_append_only(database: &str, a: &Store) {
    let records = [
        AuditRecord {
            at: NOW,
            actor: Actor::SelfService,
            subject: "jan".into(),
            event: AuditEvent::ResetSucceeded {
                request_id: "r1".into(),
            },
        },
        AuditRecord {
            at: NOW + 1,
            actor: Actor::Helpdesk("marie".into()),
            subject: "piet".into(),
            event: AuditEvent::UnlockRefused {
                reason: sspr_protocol::ErrorCode::DirectoryUnreachable,
            },
        },
    ];
    for record in &records {
        a.audit(record).await.expect("append");
    }
    let newest = a.audit_entries(2).await.expect("read");
    assert_eq!(newest, vec![records[1].clone(), records[0].clone()]);
    sqlx::any::install_default_drivers();
    let (url, _) = database_url(database).expect("url");
    let pool = sqlx::AnyPool::connect(&url).await.expect("raw");
    for sql in [
        "DELETE FROM audit",
        "UPDATE audit SET subject = 'someone else'",
    ] {
        assert!(
            sqlx::query(sql).execute(&pool).await.is_err(),
            "the database refuses {sql}"
        );
    }
    let filtered: i64 = sqlx::query("SELECT COUNT(*) FROM audit WHERE actor = 'helpdesk' AND actor_id = 'marie' AND event = 'unlock_refused'")
        .fetch_one(&pool)
        .await
        .expect("count")
        .try_get(0)
        .expect("int");
    assert_eq!(
        filtered, 1,
        "actor and event are columns a viewer filters on"
    );
    pool.close().await;
}

/// Lines appended at once, from two replicas, are written together (`store::audit`): every one
/// is kept, and each replica's lines in the order they were appended.
async fn parallel_audit_lines_are_all_kept_in_order(a: &Store, b: &Store) {
    let line = |replica: &str, i: usize| AuditRecord {
        at: NOW,
        actor: Actor::System,
        subject: format!("{replica}-{i:03}"),
        event: AuditEvent::RateLimited {
            limit: "parallel".into(),
        },
    };
    let appends = (0..100).map(|i| {
        let (store, replica) = if i % 2 == 0 { (a, "a") } else { (b, "b") };
        let record = line(replica, i);
        async move { store.audit(&record).await }
    });
    for appended in futures_util::future::join_all(appends).await {
        appended.expect("append");
    }
    let newest = a.audit_entries(100).await.expect("read");
    let mut subjects: Vec<_> = newest.iter().map(|r| r.subject.clone()).collect();
    subjects.reverse();
    for replica in ["a", "b"] {
        let own: Vec<_> = subjects
            .iter()
            .filter(|s| s.starts_with(replica))
            .cloned()
            .collect();
        let expected: Vec<_> = (0..100)
            .filter(|i| (i % 2 == 0) == (replica == "a"))
            .map(|i| format!("{replica}-{i:03}"))
            .collect();
        assert_eq!(own, expected, "replica {replica}'s lines, oldest first");
    }
}

/// New flows are written together too (`store::append`): each one begun at once, on either
/// replica, is there afterwards as it was begun.
async fn flows_begun_at_once_are_all_kept(a: &Store, b: &Store) {
    let inserts = (0..100).map(|i| {
        let store = if i % 2 == 0 { a } else { b };
        let flow = ResetFlow::new(format!("at-once-{i}"), Lang::En, vec![], 0, NOW, 600);
        async move { store.insert_flow(&format!("at-once-{i}"), &flow).await }
    });
    for inserted in futures_util::future::join_all(inserts).await {
        inserted.expect("insert");
    }
    for i in 0..100 {
        let store = if i % 3 == 0 { a } else { b };
        let flow = store
            .flow(&format!("at-once-{i}"), NOW)
            .await
            .expect("flow");
        assert_eq!(flow.username, format!("at-once-{i}"));
    }
}

fn account() -> AccountTarget {
    AccountTarget {
        anchor: "anchor-1".into(),
        account_name: "marker-user".into(),
        display_name: "Marker".into(),
        mail: "marker-user@corp.example.test".into(),
        policy: PasswordPolicy::default(),
        directory: "corp.example.test".into(),
        locked: false,
    }
}

/// A flow at its one gate, with a mail code whose keyed hash is `hash` pending.
fn flow_with_code(hash: &str) -> ResetFlow {
    let mut flow = ResetFlow::new(
        "marker-user@corp.example.test".into(),
        Lang::En,
        vec![],
        0,
        NOW,
        1800,
    );
    flow.pass_verified_captcha(true).expect("captcha");
    flow.enter_gates(Gates {
        target: Target::Account(account()),
        contacts: vec![Contact {
            family: Family::Mail,
            to: "marker-user@corp.example.test".into(),
            from_directory: true,
        }],
        allowed: vec![Method::Mail],
        required: 1,
        passed: vec![],
        challenge: None,
        phone_tries_left: 3,
        guesses_left: 5,
        sent: vec![],
    })
    .expect("gates");
    let picked = flow.pick(0, None, RULES, NOW).expect("mail");
    flow.begin_challenge(&picked, Start::Code(hash.into()), RULES, NOW)
        .expect("code");
    flow
}

async fn flows_are_sealed_and_expire(database: &str, a: &Store) {
    a.insert_flow("flow-sealed", &flow_with_code("h"))
        .await
        .expect("insert");
    let bytes = raw(database, "SELECT state FROM flows").await;
    assert!(!bytes.is_empty());
    assert!(
        !bytes.windows(11).any(|w| w == b"marker-user"),
        "the database holds no username in clear"
    );
    let name = a
        .update_flow("flow-sealed", NOW + 10, |f| f.username.clone())
        .await
        .expect("live");
    assert_eq!(name, "marker-user@corp.example.test");
    assert!(matches!(
        a.flow("flow-sealed", NOW + 1800).await,
        Err(StoreError::UnknownFlow)
    ));
    assert!(matches!(
        a.update_flow("flow-sealed", NOW + 1800, |_| ()).await,
        Err(StoreError::UnknownFlow)
    ));
    assert!(a.prune(NOW + 1800, 86_400).await.expect("prune") >= 1);
}

async fn registrations_are_sealed(database: &str, a: &Store, b: &Store) {
    a.update_registration("guid-1", NOW, |r| {
        r.alt_mail = Some("marker-mail@example.test".into())
    })
    .await
    .expect("save");
    let bytes = raw(database, "SELECT data FROM registrations").await;
    assert!(!bytes.windows(11).any(|w| w == b"marker-mail"));
    let subjects = raw(database, "SELECT subject FROM registrations").await;
    assert!(
        !subjects.windows(6).any(|w| w == b"guid-1"),
        "rows do not name accounts"
    );
    let read = b
        .registration("guid-1")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(read.alt_mail.as_deref(), Some("marker-mail@example.test"));
    assert_eq!(b.registration("guid-2").await.expect("read"), None);
    // Parallel first registrations of one account from two replicas: both changes land.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                store
                    .update_registration("guid-new", NOW, |r| {
                        let mut mobile = r.mobile.take().unwrap_or_default();
                        mobile.push('x');
                        r.mobile = Some(mobile);
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("update");
    }
    let mobile = a
        .registration("guid-new")
        .await
        .expect("read")
        .expect("there")
        .mobile;
    assert_eq!(mobile.map(|m| m.len()), Some(20), "no update was lost");
}

async fn parallel_updates_of_a_flow_are_never_lost(a: &Store, b: &Store) {
    a.insert_flow("flow-busy", &flow_with_code("h"))
        .await
        .expect("insert");
    let before = a.flow("flow-busy", NOW).await.expect("read").username.len();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                store
                    .update_flow("flow-busy", NOW, |f| f.username.push('!'))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("update");
    }
    let after = b.flow("flow-busy", NOW).await.expect("read").username.len();
    assert_eq!(
        after - before,
        40,
        "every one of 40 parallel updates landed"
    );
}

async fn of_two_right_codes_exactly_one_wins(a: &Store, b: &Store) {
    a.insert_flow("flow-race", &flow_with_code("right"))
        .await
        .expect("insert");
    let check = |store: &Store| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update_flow("flow-race", NOW + 5, |f| {
                    f.check_code(sspr_protocol::reset::Purpose::Reset, "right", NOW + 5)
                })
                .await
                .expect("store")
        })
    };
    let (one, two) = (check(a), check(b));
    let outcomes = [one.await.expect("task"), two.await.expect("task")];
    let passed = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Passed::AllGates(_))))
        .count();
    assert_eq!(passed, 1, "{outcomes:?}");
}

async fn limits_hold_across_replicas(a: &Store, b: &Store) {
    let config = ServerConfig::default().limits;
    let limiters = [
        Limiter::new(config.clone(), a.clone(), Default::default()),
        Limiter::new(config.clone(), b.clone(), Default::default()),
    ];
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let limiter = limiters[i % 2].clone();
            tokio::spawn(async move {
                limiter
                    .hit(Limited::CodeSend, "someone@example.test", NOW)
                    .await
            })
        })
        .collect();
    let (mut counted, mut refused) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => counted += 1,
            Err(LimitError::Reached(retry)) => {
                assert_eq!(retry, 900, "the window is 15 minutes");
                refused += 1
            }
            Err(LimitError::Store(e)) => panic!("store: {e}"),
        }
    }
    assert_eq!(
        (counted, refused),
        (3, 997),
        "three sends per destination, across replicas"
    );
    assert!(matches!(
        limiters[1]
            .check(Limited::CodeSend, "someone@example.test", NOW + 10)
            .await,
        Err(LimitError::Reached(890))
    ));
    assert!(limiters[0]
        .check(Limited::CodeSend, "other@example.test", NOW)
        .await
        .is_ok());
    assert!(
        limiters[1]
            .hit(Limited::CodeSend, "someone@example.test", NOW + 900)
            .await
            .is_ok(),
        "the window moves on"
    );
}

async fn phone_countries(a: &Store, b: &Store) {
    let (one, two) = tokio::join!(a.note_phone_country(32), b.note_phone_country(32));
    one.expect("note");
    two.expect("note again");
    assert!(b.phone_country_known(32).await.expect("read"));
    assert!(!a.phone_country_known(44).await.expect("read"));
}
