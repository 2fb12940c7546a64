//! Every AD case the agent must handle, each against the real Samba DC: change (as the user,
//! with history), unlock after real failed binds, "must change at next logon", accounts that
//! self-service must not touch, a service account without rights, and TLS and reachability.

use sspr_agent::directory::{Directory, DirectoryError, ResetOptions};
use sspr_protocol::seal::Secret;
use sspr_tests::samba::{self, SambaDc};

use crate::agent_ad::{admin_replace, bind_as, config, directory, directory_with, read_attr};

fn secret(s: &str) -> Secret {
    Secret::new(s.into())
}

async fn anchor_of(dc: &SambaDc, user: &str) -> String {
    directory(dc)
        .lookup(user)
        .await
        .expect("lookup")
        .expect("found")
        .anchor
}

#[tokio::test]
async fn change_as_the_user_enforces_history_and_the_current_password() {
    let dc = samba::shared();
    dc.create_user("ch.user", "First-Passw0rd!", None, "Chris Change")
        .expect("user");
    let dir = directory(dc);
    let anchor = anchor_of(dc, "ch.user").await;

    dir.change(
        &anchor,
        &secret("First-Passw0rd!"),
        &secret("Second-Passw0rd!"),
    )
    .await
    .expect("change");
    bind_as(dc, "ch.user", "Second-Passw0rd!")
        .await
        .expect("bind with the changed password");
    // Back to the first one: AD's history refuses it, because this was a change, not a reset.
    assert_eq!(
        dir.change(
            &anchor,
            &secret("Second-Passw0rd!"),
            &secret("First-Passw0rd!")
        )
        .await,
        Err(DirectoryError::History)
    );
    assert_eq!(
        dir.change(
            &anchor,
            &secret("Not-The-Current-1"),
            &secret("Third-Passw0rd!")
        )
        .await,
        Err(DirectoryError::WrongPassword)
    );
    assert_eq!(
        dir.change(&anchor, &secret("Second-Passw0rd!"), &secret("short"))
            .await,
        Err(DirectoryError::TooShort)
    );
    bind_as(dc, "ch.user", "Second-Passw0rd!")
        .await
        .expect("nothing changed by the refusals");
}

#[tokio::test]
async fn unlock_lifts_a_lockout_made_by_real_failed_binds() {
    let dc = samba::shared();
    dc.create_user("lk.user", "Right-Passw0rd!", None, "Lou Locked")
        .expect("user");
    for _ in 0..3 {
        assert!(bind_as(dc, "lk.user", "Wrong-Passw0rd!").await.is_err());
    }
    let locked = bind_as(dc, "lk.user", "Right-Passw0rd!")
        .await
        .expect_err("locked out");
    assert!(locked.contains("775"), "AD says locked: {locked}");
    let dir = directory(dc);
    let account = dir.lookup("lk.user").await.expect("lookup").expect("found");
    assert!(account.locked);
    // A change cannot go through while locked, and says why.
    assert_eq!(
        dir.change(
            &account.anchor,
            &secret("Right-Passw0rd!"),
            &secret("Other-Passw0rd!")
        )
        .await,
        Err(DirectoryError::Locked)
    );

    dir.unlock(&account.anchor).await.expect("unlock");
    bind_as(dc, "lk.user", "Right-Passw0rd!")
        .await
        .expect("the same password works again after the unlock");
    assert!(
        !dir.lookup("lk.user")
            .await
            .expect("lookup")
            .expect("found")
            .locked
    );
}

#[tokio::test]
async fn must_change_at_next_logon_is_what_ad_then_says() {
    let dc = samba::shared();
    dc.create_user("mc.user", "Old-Passw0rd!", None, "Max Must")
        .expect("user");
    let dir = directory(dc);
    let anchor = anchor_of(dc, "mc.user").await;
    dir.reset(
        &anchor,
        &secret("Helpdesk-Gave-42"),
        ResetOptions {
            must_change_at_next_logon: true,
        },
    )
    .await
    .expect("reset");
    assert_eq!(
        read_attr(dc, "mc.user", "pwdLastSet").await.as_deref(),
        Some("0")
    );
    let answer = bind_as(dc, "mc.user", "Helpdesk-Gave-42")
        .await
        .expect_err("must change first");
    assert!(answer.contains("773"), "AD answers data 773: {answer}");
    // The user proves the password is right by changing it, and can then sign in.
    dir.verify(&anchor, &secret("Helpdesk-Gave-42"))
        .await
        .expect("verify accepts a must-change password");
    dir.change(
        &anchor,
        &secret("Helpdesk-Gave-42"),
        &secret("My-Own-Choice-77"),
    )
    .await
    .expect("change");
    bind_as(dc, "mc.user", "My-Own-Choice-77")
        .await
        .expect("bind");
}

#[tokio::test]
async fn protected_disabled_and_out_of_scope_accounts_are_refused_before_ad_is_touched() {
    let dc = samba::shared();
    for (user, name) in [
        ("pr.user", "Pia Protected"),
        ("ds.user", "Dirk Disabled"),
        ("sc.user", "Sam Scope"),
    ] {
        dc.create_user(user, "Keep-Passw0rd!", None, name)
            .expect("user");
    }
    admin_replace(dc, "pr.user", "adminCount", "1").await;
    dc.samba_tool(&["user", "disable", "ds.user"])
        .expect("disable");
    let dir = directory(dc);
    let new = secret("Never-Applied-9");

    let protected = dir.lookup("pr.user").await.expect("lookup").expect("found");
    assert!(protected.protected && !protected.eligible());
    assert_eq!(
        dir.reset(&protected.anchor, &new, ResetOptions::default())
            .await,
        Err(DirectoryError::Protected)
    );
    assert_eq!(
        dir.unlock(&protected.anchor).await,
        Err(DirectoryError::Protected)
    );

    let disabled = dir.lookup("ds.user").await.expect("lookup").expect("found");
    assert!(!disabled.enabled);
    assert_eq!(
        dir.reset(&disabled.anchor, &new, ResetOptions::default())
            .await,
        Err(DirectoryError::Disabled)
    );

    let mut scoped = config(dc);
    scoped.scope = vec![format!("OU=Staff,{}", dc.base_dn())];
    let scoped = directory_with(scoped);
    let outside = scoped
        .lookup("sc.user")
        .await
        .expect("lookup")
        .expect("found");
    assert!(!outside.in_scope);
    assert_eq!(
        scoped
            .reset(&outside.anchor, &new, ResetOptions::default())
            .await,
        Err(DirectoryError::OutOfScope)
    );

    for user in ["pr.user", "ds.user", "sc.user"] {
        if user != "ds.user" {
            bind_as(dc, user, "Keep-Passw0rd!")
                .await
                .unwrap_or_else(|e| panic!("{user} unchanged: {e}"));
        }
    }
}

#[tokio::test]
async fn a_service_account_without_rights_gets_access_denied() {
    let dc = samba::shared();
    dc.create_user("svc.weak", "Weak-Service-1!", None, "Weak Service")
        .expect("service user");
    dc.create_user("ad.target", "Target-Passw0rd!", None, "Tara Target")
        .expect("user");
    let anchor = anchor_of(dc, "ad.target").await;
    let mut weak = config(dc);
    weak.bind_dn = dc.upn("svc.weak");
    weak.bind_password = "Weak-Service-1!".into();
    let result = directory_with(weak)
        .reset(
            &anchor,
            &secret("Denied-Passw0rd!"),
            ResetOptions::default(),
        )
        .await;
    assert!(
        matches!(result, Err(DirectoryError::AccessDenied(_))),
        "{result:?}"
    );
    bind_as(dc, "ad.target", "Target-Passw0rd!")
        .await
        .expect("unchanged");
}

#[tokio::test]
async fn tls_trouble_and_unreachable_dcs_are_named() {
    let dc = samba::shared();
    let other_ca = tempfile::tempdir().expect("dir");
    sspr_tests::pki::issue(other_ca.path(), "127.0.0.2", "unused").expect("another CA");

    let mut untrusted = config(dc);
    untrusted.ca_file = Some(other_ca.path().join("ca.pem"));
    let result = directory_with(untrusted).lookup("anyone").await;
    assert!(
        matches!(result, Err(DirectoryError::Tls(_))),
        "an untrusted certificate: {result:?}"
    );

    let mut plain = config(dc);
    plain.urls = vec![format!("ldap://{}", dc.address)];
    let result = directory_with(plain).lookup("anyone").await;
    assert!(
        matches!(&result, Err(DirectoryError::Tls(m)) if m.contains("plain LDAP is refused")),
        "{result:?}"
    );

    let mut gone = config(dc);
    gone.urls = vec!["ldaps://127.0.0.9".into()];
    let result = directory_with(gone).lookup("anyone").await;
    assert!(
        matches!(result, Err(DirectoryError::Unreachable(_))),
        "{result:?}"
    );
    assert_eq!(
        result.map(|_| ()).map_err(|e| e.code()),
        Err(sspr_protocol::ErrorCode::DirectoryUnreachable)
    );
}

/// Sealed packages through the agent's handler, as the relay delivers them.
mod through_the_handler {
    use sspr_agent::handler::Handler;
    use sspr_agent::state::{AgentState, Identity};
    use sspr_protocol::package::{Flags, Operation, Outcome, Package, PackageBody, PackageKey};
    use sspr_protocol::relay::{AgentMessage, Reply, ServerMessage};
    use sspr_protocol::seal::opener::AgentKeyPair;
    use sspr_protocol::seal::seal;
    use sspr_protocol::ErrorCode;

    use super::*;

    const NOW: i64 = 1_900_000_000;
    /// Every package needs its own request id: the agent refuses a replayed one.
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

    fn handler(dc: &'static SambaDc) -> Handler<sspr_agent::directory::ldap::LdapDirectory> {
        let state = AgentState::new(
            Identity {
                server_url: "http://127.0.0.1:1".into(),
                agent_id: "agt_test".into(),
                relay_secret: "unused".into(),
                package_key: PackageKey::generate().expect("key"),
                onboarded_at: NOW,
                keys_created_at: 0,
                previous_package_key: None,
                retired_at: None,
            },
            AgentKeyPair::generate(2048).expect("rsa"),
        );
        Handler::new(state, directory(dc))
    }

    async fn apply(
        h: &Handler<sspr_agent::directory::ldap::LdapDirectory>,
        body: PackageBody,
    ) -> Outcome {
        let state = h.state();
        let identity = &state.identity;
        let package =
            Package::seal(&identity.package_key, &identity.agent_id, &body).expect("package");
        match h.handle(ServerMessage::Apply { id: 1, package }, NOW).await {
            AgentMessage::Reply {
                reply: Reply::Outcome(sealed),
                ..
            } => sealed
                .open(&identity.package_key, &identity.agent_id, &body.request_id)
                .expect("outcome"),
            other => panic!("unexpected answer {other:?}"),
        }
    }

    fn body(
        h: &Handler<sspr_agent::directory::ldap::LdapDirectory>,
        op: Operation,
        anchor: &str,
        new: Option<&str>,
        old: Option<&str>,
    ) -> PackageBody {
        let state = h.state();
        let key = state.keys.public();
        PackageBody {
            op,
            anchor: anchor.into(),
            actor: "self".into(),
            request_id: format!(
                "req-{}",
                NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            issued_at: NOW,
            expires_at: NOW + 300,
            flags: Flags::default(),
            sealed: new.map(|p| seal(key, p).expect("seal")),
            sealed_old: old.map(|p| seal(key, p).expect("seal")),
        }
    }

    #[tokio::test]
    async fn change_and_unlock_packages_land_in_ad() {
        let dc = samba::shared();
        dc.create_user("hd.user", "Start-Passw0rd!", None, "Hal Handler")
            .expect("user");
        let anchor = anchor_of(dc, "hd.user").await;
        let h = handler(dc);

        let change = body(
            &h,
            Operation::Change,
            &anchor,
            Some("Changed-Passw0rd!"),
            Some("Start-Passw0rd!"),
        );
        assert_eq!(apply(&h, change).await, Outcome::Applied);
        bind_as(dc, "hd.user", "Changed-Passw0rd!")
            .await
            .expect("bind after the change");

        let wrong = body(
            &h,
            Operation::Change,
            &anchor,
            Some("Another-Passw0rd!"),
            Some("Not-Current-1!"),
        );
        assert_eq!(
            apply(&h, wrong).await,
            Outcome::Refused(ErrorCode::CurrentPasswordWrong)
        );
        let missing_old = body(
            &h,
            Operation::Change,
            &anchor,
            Some("Another-Passw0rd!"),
            None,
        );
        assert_eq!(
            apply(&h, missing_old).await,
            Outcome::Refused(ErrorCode::SealRejected)
        );

        for _ in 0..3 {
            let _ = bind_as(dc, "hd.user", "Wrong-Passw0rd!").await;
        }
        assert!(
            bind_as(dc, "hd.user", "Changed-Passw0rd!").await.is_err(),
            "locked"
        );
        assert_eq!(
            apply(&h, body(&h, Operation::Unlock, &anchor, None, None)).await,
            Outcome::Applied
        );
        bind_as(dc, "hd.user", "Changed-Passw0rd!")
            .await
            .expect("unlocked");

        // Self-service may never force a change at next logon.
        let mut forced = body(
            &h,
            Operation::Reset,
            &anchor,
            Some("Forced-Passw0rd!"),
            None,
        );
        forced.flags.must_change_at_next_logon = true;
        assert_eq!(
            apply(&h, forced).await,
            Outcome::Refused(ErrorCode::OperationNotAllowed)
        );
        bind_as(dc, "hd.user", "Changed-Passw0rd!")
            .await
            .expect("nothing applied");
    }
}

#[tokio::test]
async fn a_fine_grained_policy_is_read_and_enforced_for_its_members() {
    let dc = samba::shared();
    dc.create_user("pso.user", "Long-Enough-Passw0rd!", None, "Pat Strict")
        .expect("user");
    dc.create_user("pso.other", "Long-Enough-Passw0rd!", None, "Olly Domain")
        .expect("user");
    dc.apply_strict_pso("pso.user").expect("PSO applied");
    let dir = directory(dc);
    let strict = dir
        .lookup("pso.user")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(
        (strict.policy.min_length, strict.policy.history_length),
        (14, 5),
        "the PSO's settings, not the domain's"
    );
    assert!(strict.policy.complexity);
    let other = dir
        .lookup("pso.other")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(
        other.policy.min_length, 7,
        "a user the PSO does not apply to keeps the domain policy"
    );

    // AD enforces it, and the refusal is named: ten characters pass the domain policy only.
    assert_eq!(
        dir.reset(
            &strict.anchor,
            &secret("Ten-Char1!"),
            ResetOptions::default()
        )
        .await,
        Err(DirectoryError::TooShort)
    );
    bind_as(dc, "pso.user", "Long-Enough-Passw0rd!")
        .await
        .expect("nothing changed by the refusal");
    dir.reset(
        &strict.anchor,
        &secret("Fourteen-Char-1!"),
        ResetOptions::default(),
    )
    .await
    .expect("long enough for the PSO");
    bind_as(dc, "pso.user", "Fourteen-Char-1!")
        .await
        .expect("AD accepts the new password");
}
