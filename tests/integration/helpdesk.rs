//! The helpdesk's work through the API against the real stack (issue 11): a signed-in staff
//! member finds a caller's account, verifies the caller with a code the caller reads back,
//! then resets with "must change at next logon" (proven by AD answering `data 773`) or lifts
//! a real lockout — and is refused, audited, for protected accounts and other staff.

use reqwest::StatusCode;
use sspr_protocol::helpdesk::{
    AccountRef, AccountView, ActionDone, ActionNote, CallerMethod, LinkSent, OffLimits,
    SearchRequest, SearchResults, StaffLink, StaffReset, StaffRevoke, StaffUnlock, VerifyAnswer,
    VerifySend, VerifySent, ACCOUNT_PATH, LINK_FRAGMENT, LINK_PATH, RESET_PATH, REVOKE_PATH,
    SEARCH_PATH, UNLOCK_PATH, VERIFY_PATH, VERIFY_SEND_PATH,
};
use sspr_protocol::register::{
    Confirm, Enrolment, Registered, SessionRef, Slot, AUTHENTICATOR_PATH, CONFIRM_PATH,
};
use sspr_protocol::reset::{FlowRef, NewPasswordStep, KEY_PATH};
use sspr_protocol::ErrorCode;
use sspr_tests::api::{change_key_of, oathtool, post, submit_password};
use sspr_tests::samba;

use crate::agent_ad::bind_as;
use crate::staff::{refused, stack_for, staff_groups, user, Console, PASSWORD};

const DOMAIN: &str = "corp.example.test";

pub(crate) async fn find(console: &mut Console<'_>, query: &str, account_name: &str) -> AccountRef {
    let results: SearchResults = console
        .post(
            SEARCH_PATH,
            &SearchRequest {
                query: query.into(),
            },
        )
        .await
        .expect("search");
    let hit = results
        .hits
        .iter()
        .find(|h| h.account.account_name == account_name)
        .unwrap_or_else(|| panic!("{account_name} among {results:?}"));
    assert_eq!(hit.directory, DOMAIN);
    AccountRef {
        directory: hit.directory.clone(),
        anchor: hit.account.anchor.clone(),
    }
}

/// Sends a code to the caller's own mail, and types in what they read back.
pub(crate) async fn verify_by_mail(
    console: &mut Console<'_>,
    account: &AccountRef,
    mail: &str,
) -> AccountView {
    let already = console.stack().smtp.mails_to(mail).len();
    let sent: VerifySent = console
        .post(
            VERIFY_SEND_PATH,
            &VerifySend {
                account: account.clone(),
                method: CallerMethod::Mail,
            },
        )
        .await
        .expect("code sent to the caller");
    assert!(sent.masked.contains('•'), "{sent:?}");
    let code = console
        .stack()
        .smtp
        .wait_for_mail(mail, already)
        .code()
        .expect("a code");
    console
        .post(
            VERIFY_PATH,
            &VerifyAnswer {
                account: account.clone(),
                method: CallerMethod::Mail,
                code,
            },
        )
        .await
        .expect("the code the caller read back")
}

async fn staff_reset(
    console: &mut Console<'_>,
    account: &AccountRef,
    password: &str,
) -> Result<ActionDone, (StatusCode, sspr_protocol::ApiError)> {
    let key = change_key_of(console.stack(), Some(&account.directory)).await;
    console
        .post(
            RESET_PATH,
            &StaffReset {
                account: account.clone(),
                sealed: sspr_protocol::seal::seal(&key.agent_key, password).expect("seal"),
                must_change_at_next_logon: true,
                unlock: false,
                note: ActionNote {
                    ticket: Some("INC-4711".into()),
                    skip_reason: None,
                },
            },
        )
        .await
}

/// Find, see, verify, reset: AD then holds the new password and asks for a change at the next
/// logon (`data 773`); the user is told by mail, and the audit names the staff member, the
/// target, how the caller was verified and the ticket.
#[tokio::test]
async fn staff_find_verify_and_reset_with_must_change() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct6", "Hilde Direct");
    user(dc, "hd.nested6", "Nico Nested");
    let mail = user(dc, "caller.six", "Cora Caller");
    // Mails sent on the service desk's behalf speak the user's language.
    dc.set_attribute("caller.six", "preferredLanguage", "nl-NL")
        .await
        .expect("preferredLanguage");
    let group = staff_groups(dc, "F", "hd.direct6", "hd.nested6");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct6", &staff_mail).await;

    refused(
        console
            .post::<_, SearchResults>(SEARCH_PATH, &SearchRequest { query: "c".into() })
            .await,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
    );
    let account = find(&mut console, "Cora", "caller.six").await;
    assert_eq!(find(&mut console, "caller.s", "caller.six").await, account);
    let view: AccountView = console.post(ACCOUNT_PATH, &account).await.expect("account");
    assert_eq!(view.details.account.display_name, "Cora Caller");
    assert!(view.details.account.enabled && !view.details.account.locked);
    assert!(view.details.password_last_set.is_some());
    assert_eq!(view.off_limits, None);
    assert_eq!(view.caller_verified, None);
    assert!(view.primary_mail.starts_with('c') && view.primary_mail.contains('•'));
    assert!(view.methods.iter().any(|m| m.slot == Slot::AltMail));

    refused(
        staff_reset(&mut console, &account, "Desk-Gave-7731!").await,
        StatusCode::FORBIDDEN,
        ErrorCode::CallerNotVerified,
    );
    let verified = verify_by_mail(&mut console, &account, &mail).await;
    assert_eq!(verified.caller_verified, Some(CallerMethod::Mail));

    let notices_before = stack.smtp.mails_to(&mail).len();
    let done = staff_reset(&mut console, &account, "Desk-Gave-7731!")
        .await
        .expect("reset");
    assert!(done.user_notified);
    let answer = bind_as(dc, "caller.six", "Desk-Gave-7731!")
        .await
        .expect_err("must change first");
    assert!(answer.contains("773"), "AD answers data 773: {answer}");
    bind_as(dc, "caller.six", PASSWORD)
        .await
        .expect_err("the old password is gone");
    let notice = stack.smtp.wait_for_mail(&mail, notices_before);
    assert!(
        notice
            .subject()
            .is_some_and(|s| s.contains("De servicedesk heeft je wachtwoord")),
        "the user is told, in Dutch: {}",
        notice.data
    );

    let audit = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(audit.contains("staff_reset") && audit.contains("INC-4711"));
    assert!(audit.contains("caller_verified"));
    let view: AccountView = console.post(ACCOUNT_PATH, &account).await.expect("account");
    assert!(view.details.must_change);
    assert!(
        view.recent
            .iter()
            .any(|l| l.event == "staff_reset" && l.actor == "helpdesk:hd.direct6"),
        "{:?}",
        view.recent
    );
}

/// A lockout made by real failed binds is lifted by the helpdesk after the caller is verified;
/// the same password then binds again.
#[tokio::test]
async fn staff_unlock_a_real_lockout() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct7", "Hidde Direct");
    user(dc, "hd.nested7", "Nadia Nested");
    let mail = user(dc, "caller.seven", "Cees Caller");
    let group = staff_groups(dc, "G", "hd.direct7", "hd.nested7");
    let stack = stack_for(dc, &group, "").await;
    for _ in 0..3 {
        assert!(bind_as(dc, "caller.seven", "Wrong-Passw0rd!")
            .await
            .is_err());
    }
    let locked = bind_as(dc, "caller.seven", PASSWORD)
        .await
        .expect_err("locked out");
    assert!(locked.contains("775"), "AD says locked: {locked}");

    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct7", &staff_mail).await;
    let account = find(&mut console, "caller.sev", "caller.seven").await;
    let view: AccountView = console.post(ACCOUNT_PATH, &account).await.expect("account");
    assert!(view.details.account.locked);
    assert!(view.details.locked_since.is_some());
    assert!(view.details.bad_password_count >= 3);

    let unlock = StaffUnlock {
        account: account.clone(),
        note: ActionNote::default(),
    };
    refused(
        console.post::<_, ActionDone>(UNLOCK_PATH, &unlock).await,
        StatusCode::FORBIDDEN,
        ErrorCode::CallerNotVerified,
    );
    verify_by_mail(&mut console, &account, &mail).await;
    let _: ActionDone = console.post(UNLOCK_PATH, &unlock).await.expect("unlocked");
    bind_as(dc, "caller.seven", PASSWORD)
        .await
        .expect("the same password works again");
}

/// Staff never act on a Domain Admins member or on other staff: the account shows why, and a
/// caller check, a reset and an unlock are each refused and audited.
#[tokio::test]
async fn staff_cannot_touch_domain_admins_or_other_staff() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct8", "Hester Direct");
    user(dc, "hd.nested8", "Niels Nested");
    user(dc, "boss.eight", "Bram Boss");
    dc.add_to_group("Domain Admins", "boss.eight")
        .expect("a domain admin");
    let group = staff_groups(dc, "H", "hd.direct8", "hd.nested8");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct8", &staff_mail).await;

    for (name, query, why) in [
        ("boss.eight", "boss.e", OffLimits::ProtectedGroup),
        ("hd.nested8", "hd.nested8", OffLimits::Staff),
    ] {
        let account = find(&mut console, query, name).await;
        let view: AccountView = console.post(ACCOUNT_PATH, &account).await.expect("account");
        assert_eq!(view.off_limits, Some(why), "{name}");
        refused(
            console
                .post::<_, VerifySent>(
                    VERIFY_SEND_PATH,
                    &VerifySend {
                        account: account.clone(),
                        method: CallerMethod::Mail,
                    },
                )
                .await,
            StatusCode::FORBIDDEN,
            ErrorCode::TargetOffLimits,
        );
        refused(
            staff_reset(&mut console, &account, "Desk-Gave-7731!").await,
            StatusCode::FORBIDDEN,
            ErrorCode::TargetOffLimits,
        );
        refused(
            console
                .post::<_, ActionDone>(
                    UNLOCK_PATH,
                    &StaffUnlock {
                        account: account.clone(),
                        note: ActionNote::default(),
                    },
                )
                .await,
            StatusCode::FORBIDDEN,
            ErrorCode::TargetOffLimits,
        );
        bind_as(dc, name, PASSWORD)
            .await
            .expect("the password is untouched");
    }
    let audit = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(audit.contains("staff_refused"));
}

/// A one-time link instead of a password staff would know: mailed to the verified user, it
/// opens the new-password step once; the password the user sets binds, the link is then
/// spent, and what the staff member saw never held it.
#[tokio::test]
async fn a_one_time_link_lets_the_user_set_their_own_password() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct9", "Hanne Direct");
    user(dc, "hd.nested9", "Nout Nested");
    let mail = user(dc, "caller.nine", "Carla Caller");
    let group = staff_groups(dc, "I", "hd.direct9", "hd.nested9");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct9", &staff_mail).await;
    let account = find(&mut console, "Carla", "caller.nine").await;
    let link = StaffLink {
        account: account.clone(),
        method: CallerMethod::Mail,
        note: ActionNote::default(),
    };
    refused(
        console.post::<_, LinkSent>(LINK_PATH, &link).await,
        StatusCode::FORBIDDEN,
        ErrorCode::CallerNotVerified,
    );
    verify_by_mail(&mut console, &account, &mail).await;
    let before = stack.smtp.mails_to(&mail).len();
    let sent: LinkSent = console.post(LINK_PATH, &link).await.expect("link sent");
    assert!(sent.masked.starts_with('c') && sent.masked.contains('•'));
    let message = stack.smtp.wait_for_mail(&mail, before);
    let marker = format!("#{LINK_FRAGMENT}=");
    // The body may come quoted-printable: soft line breaks and `=3D` for `=`.
    let body = message.data.replace("=\r\n", "").replace("=3D", "=");
    let token: String = body
        .split(&marker)
        .nth(1)
        .unwrap_or_else(|| panic!("a link in {body}"))
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 20, "{token}");
    let audit = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(audit.contains("staff_link_sent") && !audit.contains(&token));

    // The user, in the portal: the new-password step, with the account's rules.
    let step: NewPasswordStep = post(
        &stack,
        KEY_PATH,
        &FlowRef {
            flow_id: token.clone(),
        },
    )
    .await
    .expect("the link opens the new-password step");
    assert_eq!(step.names.account_name, "caller.nine");
    submit_password(&stack, &token, &step.agent_key, "Own-Chosen-Pw-88")
        .await
        .expect("the user's own password");
    bind_as(dc, "caller.nine", "Own-Chosen-Pw-88")
        .await
        .expect("the user's password binds");
    // A second submission on the spent link writes nothing (a repeat of a finished flow is
    // answered as finished, the way a double-clicked submit is).
    let _ = submit_password(&stack, &token, &step.agent_key, "Second-Go-Pw-99").await;
    bind_as(dc, "caller.nine", "Second-Go-Pw-99")
        .await
        .expect_err("the link works once");
    bind_as(dc, "caller.nine", "Own-Chosen-Pw-88")
        .await
        .expect("still the user's password");
    let spent: Result<NewPasswordStep, _> = post(
        &stack,
        KEY_PATH,
        &FlowRef {
            flow_id: token.clone(),
        },
    )
    .await;
    assert!(spent.is_err(), "the spent link opens nothing: {spent:?}");
}

/// A lost phone: staff remove the authenticator the user registered, then clear the whole
/// registration; the account shows it, the user is told, the audit names the staff member.
#[tokio::test]
async fn staff_revoke_a_lost_authenticator_and_clear_a_registration() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct10", "Hanna Tien");
    user(dc, "hd.nested10", "Nina Tien");
    let mail = user(dc, "caller.ten", "Carel Caller");
    let group = staff_groups(dc, "J", "hd.direct10", "hd.nested10");
    let stack = stack_for(dc, &group, "").await;

    let registered = sspr_tests::api::sign_in(&stack, "caller.ten", PASSWORD)
        .await
        .expect("register sign-in");
    let enrolment: Enrolment = post(
        &stack,
        AUTHENTICATOR_PATH,
        &SessionRef {
            session: registered.session.clone(),
        },
    )
    .await
    .expect("enrolment");
    let _: Registered = post(
        &stack,
        CONFIRM_PATH,
        &Confirm {
            session: registered.session,
            code: oathtool(&enrolment.secret, 0),
        },
    )
    .await
    .expect("enrolled");

    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct10", &staff_mail).await;
    let account = find(&mut console, "caller.t", "caller.ten").await;
    let has_app = |view: &AccountView| {
        view.methods
            .iter()
            .any(|m| m.slot == Slot::Authenticator && m.source.is_some())
    };
    let view: AccountView = console.post(ACCOUNT_PATH, &account).await.expect("account");
    assert!(has_app(&view), "{:?}", view.methods);
    let revoke = |slot| StaffRevoke {
        account: account.clone(),
        slot,
        note: ActionNote {
            ticket: Some("INC-10".into()),
            skip_reason: None,
        },
    };
    refused(
        console
            .post::<_, AccountView>(REVOKE_PATH, &revoke(Some(Slot::Authenticator)))
            .await,
        StatusCode::FORBIDDEN,
        ErrorCode::CallerNotVerified,
    );
    verify_by_mail(&mut console, &account, &mail).await;
    let before = stack.smtp.mails_to(&mail).len();
    let view: AccountView = console
        .post(REVOKE_PATH, &revoke(Some(Slot::Authenticator)))
        .await
        .expect("revoked");
    assert!(!has_app(&view), "{:?}", view.methods);
    let notice = stack.smtp.wait_for_mail(&mail, before);
    assert!(notice
        .subject()
        .is_some_and(|s| s.contains("verification methods")));
    let _: AccountView = console
        .post(REVOKE_PATH, &revoke(None))
        .await
        .expect("cleared");
    let audit = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(audit.contains("staff_revoked") && audit.contains("INC-10"));
    // The app's codes no longer open a gate: it is not offered.
    let (_, gate) =
        sspr_tests::api::to_gate(&stack, "caller.ten", sspr_protocol::reset::Purpose::Reset).await;
    assert!(
        !gate
            .offers
            .iter()
            .any(|o| o.method == sspr_protocol::gate::Method::Authenticator),
        "{gate:?}"
    );
}

/// Where policy lets staff act without verifying the caller, they must say why: without a
/// reason the reset is refused; with one it goes through and the audit keeps the reason.
#[tokio::test]
async fn skipping_verification_takes_a_written_reason_where_policy_allows_it() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct11", "Hans Elf");
    user(dc, "hd.nested11", "Nel Elf");
    user(dc, "caller.eleven", "Chris Caller");
    let group = staff_groups(dc, "K", "hd.direct11", "hd.nested11");
    let stack = stack_for(dc, &group, "allow_unverified = true\n").await;
    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct11", &staff_mail).await;
    let account = find(&mut console, "caller.el", "caller.eleven").await;
    let view: AccountView = console.post(ACCOUNT_PATH, &account).await.expect("account");
    assert!(view.may_skip_verification);
    let key = change_key_of(&stack, Some(DOMAIN)).await;
    let reset = |skip_reason: Option<&str>| StaffReset {
        account: account.clone(),
        sealed: sspr_protocol::seal::seal(&key.agent_key, "Skip-Desk-Pw-42!").expect("seal"),
        must_change_at_next_logon: false,
        unlock: false,
        note: ActionNote {
            ticket: None,
            skip_reason: skip_reason.map(str::to_owned),
        },
    };
    refused(
        console
            .post::<_, ActionDone>(RESET_PATH, &reset(Some("  ")))
            .await,
        StatusCode::FORBIDDEN,
        ErrorCode::CallerNotVerified,
    );
    let _: ActionDone = console
        .post(RESET_PATH, &reset(Some("Manager confirmed in person")))
        .await
        .expect("reset with a reason");
    bind_as(dc, "caller.eleven", "Skip-Desk-Pw-42!")
        .await
        .expect("the new password binds");
    let audit = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(audit.contains("Manager confirmed in person"));
}
