//! Every AD case the agent must handle, each against the real Samba DC: change (as the user,
//! with history), unlock after real failed binds, "must change at next logon", accounts that
//! self-service must not touch, a service account without rights, and TLS and reachability.

use sspr_agent::directory::{Directory, DirectoryError, ResetOptions, Tier};
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

    dir.unlock(&account.anchor, &Tier::SelfService)
        .await
        .expect("unlock");
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
        &Tier::SelfService,
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
        dir.reset(
            &protected.anchor,
            &new,
            ResetOptions::default(),
            &Tier::SelfService
        )
        .await,
        Err(DirectoryError::Protected)
    );
    assert_eq!(
        dir.unlock(&protected.anchor, &Tier::SelfService).await,
        Err(DirectoryError::Protected)
    );

    let disabled = dir.lookup("ds.user").await.expect("lookup").expect("found");
    assert!(!disabled.enabled);
    assert_eq!(
        dir.reset(
            &disabled.anchor,
            &new,
            ResetOptions::default(),
            &Tier::SelfService
        )
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
            .reset(
                &outside.anchor,
                &new,
                ResetOptions::default(),
                &Tier::SelfService
            )
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
            &Tier::SelfService,
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
            off_limits: Vec::new(),
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

    /// A helpdesk member's request as the server sends it: its actor and the server's own
    /// off-limits groups.
    fn from_the_helpdesk(mut body: PackageBody, off_limits: &[&str]) -> PackageBody {
        body.actor = "helpdesk:marie".into();
        body.off_limits = off_limits.iter().map(|g| (*g).to_owned()).collect();
        body
    }

    /// The agent's own tiering: a Domain Admins member (whether or not the DC has set its
    /// adminCount yet), a protected account and a member of a group the server named (nested,
    /// in another case) are refused to the helpdesk before anything is written; others are not.
    #[tokio::test]
    async fn the_helpdesk_cannot_touch_privileged_or_off_limits_accounts() {
        let dc = samba::shared();
        for (user, name) in [
            ("tier.admin", "Adam Tiered"),
            ("tier.prot", "Pam Tiered"),
            ("tier.vip", "Vera Tiered"),
            ("tier.plain", "Pete Tiered"),
        ] {
            dc.create_user(user, "Keeps-Passw0rd!", None, name)
                .expect("user");
        }
        dc.add_to_group("Domain Admins", "tier.admin")
            .expect("a domain admin");
        admin_replace(dc, "tier.prot", "adminCount", "1").await;
        dc.add_to_group("tier.Board", "tier.vip").expect("board");
        dc.add_to_group("tier.Executives", "tier.Board")
            .expect("the board among the executives");
        let h = handler(dc);

        let admin = anchor_of(dc, "tier.admin").await;
        let mut reset = from_the_helpdesk(
            body(&h, Operation::Reset, &admin, Some("Helpdesk-Gave-42"), None),
            &[],
        );
        reset.flags.must_change_at_next_logon = true;
        assert_eq!(
            apply(&h, reset).await,
            Outcome::Refused(ErrorCode::TargetOffLimits),
            "Domain Admins, though the server named no group"
        );
        assert_eq!(
            apply(
                &h,
                from_the_helpdesk(body(&h, Operation::Unlock, &admin, None, None), &[])
            )
            .await,
            Outcome::Refused(ErrorCode::TargetOffLimits)
        );
        let protected = anchor_of(dc, "tier.prot").await;
        assert_eq!(
            apply(
                &h,
                from_the_helpdesk(
                    body(
                        &h,
                        Operation::Reset,
                        &protected,
                        Some("Helpdesk-Gave-42"),
                        None
                    ),
                    &[]
                )
            )
            .await,
            Outcome::Refused(ErrorCode::TargetOffLimits)
        );
        let vip = anchor_of(dc, "tier.vip").await;
        assert_eq!(
            apply(
                &h,
                from_the_helpdesk(
                    body(&h, Operation::Reset, &vip, Some("Helpdesk-Gave-42"), None),
                    &["TIER.EXECUTIVES"]
                )
            )
            .await,
            Outcome::Refused(ErrorCode::TargetOffLimits),
            "a member of a member of the group the server named"
        );
        for user in ["tier.admin", "tier.prot", "tier.vip"] {
            bind_as(dc, user, "Keeps-Passw0rd!")
                .await
                .unwrap_or_else(|e| panic!("{user} keeps the old password: {e}"));
        }

        // The same helpdesk request for an account in no such group goes through, with the
        // change at next logon only the helpdesk may ask for.
        let plain = anchor_of(dc, "tier.plain").await;
        let mut reset = from_the_helpdesk(
            body(&h, Operation::Reset, &plain, Some("Helpdesk-Gave-42"), None),
            &["tier.Executives"],
        );
        reset.flags.must_change_at_next_logon = true;
        assert_eq!(apply(&h, reset).await, Outcome::Applied);
        let answer = bind_as(dc, "tier.plain", "Helpdesk-Gave-42")
            .await
            .expect_err("must change first");
        assert!(answer.contains("773"), "AD answers data 773: {answer}");
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
            ResetOptions::default(),
            &Tier::SelfService
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
        &Tier::SelfService,
    )
    .await
    .expect("long enough for the PSO");
    bind_as(dc, "pso.user", "Fourteen-Char-1!")
        .await
        .expect("AD accepts the new password");
}

/// The helpdesk's view of the directory: search by the start of a name or mail address, inside
/// the scope and up to the limit, and one account's details.
mod for_the_helpdesk {
    use sspr_agent::directory::Matches;
    use sspr_protocol::relay::SEARCH_LIMIT;

    use super::*;

    const PASSWORD: &str = "Search-Passw0rd!";

    fn names(found: &Matches) -> Vec<&str> {
        found
            .accounts
            .iter()
            .map(|a| a.account_name.as_str())
            .collect()
    }

    #[tokio::test]
    async fn search_finds_users_by_the_start_of_a_name_or_mail() {
        let dc = samba::shared();
        dc.create_user(
            "srch.quinn",
            PASSWORD,
            Some("lighthouse.keeper@example.test"),
            "Quorra Searchlight",
        )
        .expect("user");
        dc.create_user("srch.ulla", PASSWORD, None, "Quorra Beacon")
            .expect("user");
        dc.create_user("srch.otto", PASSWORD, None, "Otto Offline")
            .expect("user");
        dc.samba_tool(&["user", "disable", "srch.otto"])
            .expect("disable");
        let dir = directory(dc);

        // By logon name, sorted by display name.
        let found = dir.search("srch.").await.expect("search");
        assert_eq!(names(&found), ["srch.otto", "srch.ulla", "srch.quinn"]);
        assert!(!found.more);
        let quinn = &found.accounts[2];
        assert_eq!(quinn.display_name, "Quorra Searchlight");
        assert_eq!(
            quinn.mail.as_deref(),
            Some("lighthouse.keeper@example.test")
        );
        assert!(
            quinn.upn.to_ascii_lowercase().starts_with("srch.quinn@"),
            "{}",
            quinn.upn
        );
        assert!(quinn.enabled && !quinn.locked);
        assert!(!found.accounts[0].enabled, "srch.otto is disabled");
        assert_eq!(quinn.anchor, anchor_of(dc, "srch.quinn").await);

        for (query, expected) in [
            // The display name as a whole: the given name alone does not start with it.
            ("Quorra S", vec!["srch.quinn"]),
            ("quorra s", vec!["srch.quinn"]),
            ("Quorra", vec!["srch.ulla", "srch.quinn"]),
            ("Searchli", vec!["srch.quinn"]),
            ("lighthouse.k", vec!["srch.quinn"]),
            ("srch.quinn@", vec!["srch.quinn"]),
        ] {
            let found = dir.search(query).await.expect("search");
            assert_eq!(names(&found), expected, "{query}");
        }
    }

    #[tokio::test]
    async fn hostile_and_too_short_queries_match_nobody() {
        let dc = samba::shared();
        dc.create_user("hstl.user", PASSWORD, None, "Hana Hostile")
            .expect("user");
        let dir = directory(dc);
        assert_eq!(
            names(&dir.search("hstl.u").await.expect("search")),
            ["hstl.user"],
            "the same text without the wildcards finds the user"
        );
        for hostile in [
            "*)(objectClass=*",
            "*)(sAMAccountName=hstl.u*",
            "hstl.u*",
            r"hstl.\2a",
            "*)",
        ] {
            assert_eq!(
                dir.search(hostile).await,
                Ok(Matches::default()),
                "{hostile} must match literally, that is nobody"
            );
        }
        for short in ["s", "  s ", "*", ""] {
            assert_eq!(
                dir.search(short).await,
                Err(DirectoryError::BadQuery),
                "{short:?}"
            );
        }
        assert_eq!(
            dir.search(&"s".repeat(300)).await,
            Err(DirectoryError::BadQuery)
        );
        assert_eq!(
            DirectoryError::BadQuery.code(),
            sspr_protocol::ErrorCode::BadRequest
        );
    }

    #[tokio::test]
    async fn search_answers_at_most_the_limit_and_says_there_were_more() {
        let dc = samba::shared();
        for i in 0..SEARCH_LIMIT + 2 {
            dc.create_user(
                &format!("srchmany.{i:02}"),
                PASSWORD,
                None,
                &format!("Many Searcher{i:02}"),
            )
            .expect("user");
        }
        let dir = directory(dc);
        let found = dir.search("srchmany.").await.expect("search");
        assert_eq!(found.accounts.len(), SEARCH_LIMIT);
        assert!(found.more);
        let shown = names(&found);
        let mut sorted = shown.clone();
        sorted.sort();
        assert_eq!(shown, sorted, "sorted by display name");

        let found = dir.search("srchmany.0").await.expect("search");
        assert_eq!(found.accounts.len(), 10);
        assert!(!found.more);
        let found = dir.search("Many Searcher2").await.expect("search");
        assert_eq!(names(&found).len(), SEARCH_LIMIT + 2 - 20);
        assert!(!found.more);
    }

    #[tokio::test]
    async fn search_stays_inside_the_configured_scope() {
        let dc = samba::shared();
        dc.samba_tool(&["ou", "add", "OU=SrchScope"]).expect("OU");
        dc.samba_tool(&[
            "user",
            "create",
            "srcs.inside",
            PASSWORD,
            "--userou=OU=SrchScope",
            "--given-name=Ines",
            "--surname=Inside",
        ])
        .expect("a user in the OU");
        dc.create_user("srcs.outside", PASSWORD, None, "Oscar Outside")
            .expect("a user in CN=Users");

        let everywhere = directory(dc);
        assert_eq!(
            names(&everywhere.search("srcs.").await.expect("search")),
            ["srcs.inside", "srcs.outside"]
        );

        let mut scoped = config(dc);
        // An OU that does not exist is passed over, not an error.
        scoped.scope = vec![
            format!("OU=NotThere,{}", dc.base_dn()),
            format!("OU=SrchScope,{}", dc.base_dn()),
        ];
        let scoped = directory_with(scoped);
        assert_eq!(
            names(&scoped.search("srcs.").await.expect("search")),
            ["srcs.inside"]
        );
        // The details are shown whatever the scope, marked.
        let outside = anchor_of(dc, "srcs.outside").await;
        let details = scoped
            .details(&outside)
            .await
            .expect("details")
            .expect("found");
        assert!(!details.account.in_scope);
    }

    async fn read(
        dir: &sspr_agent::directory::ldap::LdapDirectory,
        anchor: &str,
    ) -> sspr_protocol::relay::AccountDetails {
        dir.details(anchor).await.expect("details").expect("found")
    }

    /// Unix seconds now, by the test's clock (the DC runs on this host).
    fn now() -> i64 {
        sspr_agent::now()
    }

    #[tokio::test]
    async fn details_show_lockout_password_age_bad_passwords_and_nested_groups() {
        let dc = samba::shared();
        let created = now();
        dc.create_user(
            "dt.user",
            "Right-Passw0rd!",
            Some("dt.user@example.test"),
            "Dora Details",
        )
        .expect("user");
        dc.add_to_group("dt.inner", "dt.user").expect("inner group");
        dc.add_to_group("dt.outer", "dt.inner")
            .expect("the inner group in the outer one");
        let dir = directory(dc);
        let anchor = anchor_of(dc, "dt.user").await;
        let fresh = read(&dir, &anchor).await;
        assert_eq!(fresh.account.anchor, anchor);
        assert!(fresh.upn.to_ascii_lowercase().starts_with("dt.user@"));
        for group in ["dt.inner", "dt.outer"] {
            assert!(
                fresh.account.groups.iter().any(|g| g == group),
                "{group} in {:?}",
                fresh.account.groups
            );
        }
        let set = fresh.password_last_set.expect("set at creation");
        assert!(
            (created - 120..=now() + 120).contains(&set),
            "pwdLastSet {set}, created at {created}"
        );
        let max_age = fresh.account.policy.max_age_secs;
        assert!(max_age > 0, "Samba's domain policy has a maximum age");
        assert_eq!(fresh.password_expires, Some(set + max_age));
        assert!(!fresh.must_change);
        assert_eq!(fresh.bad_password_count, 0);
        assert_eq!(fresh.locked_since, None);

        assert!(bind_as(dc, "dt.user", "Wrong-Passw0rd!").await.is_err());
        assert_eq!(read(&dir, &anchor).await.bad_password_count, 1);

        for _ in 0..2 {
            assert!(bind_as(dc, "dt.user", "Wrong-Passw0rd!").await.is_err());
        }
        let locked = read(&dir, &anchor).await;
        assert!(locked.account.locked);
        let since = locked.locked_since.expect("locked since");
        assert!(
            (created - 120..=now() + 120).contains(&since),
            "lockoutTime {since}"
        );
        assert_eq!(locked.bad_password_count, 3);

        // "Password never expires" on the account: no expiry, whatever the policy says.
        admin_replace(dc, "dt.user", "userAccountControl", "66048").await;
        let never = read(&dir, &anchor).await;
        assert_eq!(never.password_expires, None);
        assert!(never.password_last_set.is_some());
        admin_replace(dc, "dt.user", "userAccountControl", "512").await;

        dir.unlock(&anchor, &Tier::SelfService)
            .await
            .expect("unlock");
        dir.reset(
            &anchor,
            &secret("Helpdesk-Gave-42"),
            ResetOptions {
                must_change_at_next_logon: true,
            },
            &Tier::SelfService,
        )
        .await
        .expect("reset");
        let must_change = read(&dir, &anchor).await;
        assert!(must_change.must_change);
        assert!(!must_change.account.locked);
        assert_eq!(must_change.locked_since, None);
        assert_eq!(
            (must_change.password_last_set, must_change.password_expires),
            (None, None)
        );

        assert_eq!(
            dir.details("00000000-0000-0000-0000-000000000000").await,
            Ok(None)
        );
        assert_eq!(dir.details("*)(objectClass=*").await, Ok(None));
    }
}
