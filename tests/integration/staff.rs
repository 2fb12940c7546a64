//! Staff sign-in to the helpdesk console (issue 11) against the real stack: the AD password
//! checked by the agent binding as the staff member, staff-group membership (nested counts),
//! the staff member's own second factor, and the session's cookie, timeouts and protection
//! against cross-site requests.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::helpdesk::{
    Factor, FactorAnswer, FactorOffer, FactorSend, SecondFactorNeeded, StaffSession, StaffSignIn,
    CSRF_HEADER, FACTOR_PATH, FACTOR_SEND_PATH, SESSION_PATH, SIGN_IN_PATH, SIGN_OUT_PATH,
};
use sspr_protocol::register::{Confirm, Enrolment, SessionRef, AUTHENTICATOR_PATH, CONFIRM_PATH};
use sspr_protocol::{ApiError, ErrorCode};
use sspr_tests::api::{change_key, oathtool, post};
use sspr_tests::samba::{self, SambaDc};
use sspr_tests::stack::Stack;

pub(crate) const PASSWORD: &str = "Staff-Passw0rd!";

/// The staff group, with a second group nested in it: `direct` is a member of the staff
/// group, `nested` only of the group inside it.
pub(crate) fn staff_groups(dc: &SambaDc, tag: &str, direct: &str, nested: &str) -> String {
    let staff = format!("SSPR Helpdesk {tag}");
    let tier = format!("Service Desk Tier 1 {tag}");
    dc.add_to_group(&staff, direct).expect("direct member");
    dc.add_to_group(&tier, nested).expect("nested member");
    dc.add_to_group(&staff, &tier)
        .expect("the tier group inside the staff group");
    staff
}

pub(crate) fn user(dc: &SambaDc, name: &str, display: &str) -> String {
    let mail = format!("{name}@corp.example.test");
    dc.create_user(name, PASSWORD, Some(&mail), display)
        .expect("user");
    mail
}

pub(crate) async fn stack_for(dc: &'static SambaDc, staff_group: &str, extra: &str) -> Stack {
    let toml = format!("[helpdesk]\nstaff_groups = [\"{staff_group}\"]\n{extra}");
    Stack::start(dc, move |o| o.extra_toml = toml).await
}

/// The console as a browser runs it: its cookie and anti-forgery token, and the page's
/// origin on every request.
pub(crate) struct Console<'a> {
    stack: &'a Stack,
    pub(crate) origin: String,
    pub(crate) cookie: Option<String>,
    pub(crate) csrf: Option<String>,
}

pub(crate) type Answer<T> = Result<T, (StatusCode, ApiError)>;

impl<'a> Console<'a> {
    pub(crate) fn stack(&self) -> &'a Stack {
        self.stack
    }

    pub(crate) fn new(stack: &'a Stack) -> Self {
        Self {
            stack,
            origin: stack.server.url.clone(),
            cookie: None,
            csrf: None,
        }
    }

    async fn send<T: DeserializeOwned>(&mut self, request: reqwest::RequestBuilder) -> Answer<T> {
        let mut request = request.header(ORIGIN, &self.origin);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some(csrf) = &self.csrf {
            request = request.header(CSRF_HEADER, csrf);
        }
        let response = request.send().await.expect("request");
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let set = set.to_str().expect("ascii cookie");
            assert!(
                set.contains("HttpOnly")
                    && set.contains("SameSite=Strict")
                    && set.contains("Path=/"),
                "{set}"
            );
            let pair = set.split(';').next().expect("name=value").to_owned();
            let cleared = pair.split_once('=').is_none_or(|(_, v)| v.is_empty());
            self.cookie = (!cleared).then_some(pair);
        }
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(serde_json::from_str("null").expect("unit"));
        }
        if status.is_success() {
            Ok(response.json().await.expect("json body"))
        } else {
            Err((status, response.json().await.expect("error body")))
        }
    }

    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &B,
    ) -> Answer<T> {
        let request = self.stack.http.post(self.stack.api(path)).json(body);
        self.send(request).await
    }

    pub(crate) async fn session(&mut self) -> Answer<StaffSession> {
        let request = self.stack.http.get(self.stack.api(SESSION_PATH));
        self.send(request).await
    }

    pub(crate) async fn sign_in(
        &mut self,
        username: &str,
        password: &str,
    ) -> Answer<SecondFactorNeeded> {
        let key = change_key(self.stack).await;
        let sealed_password = sspr_protocol::seal::seal(&key.agent_key, password).expect("seal");
        let needed: SecondFactorNeeded = self
            .post(
                SIGN_IN_PATH,
                &StaffSignIn {
                    username: username.into(),
                    sealed_password,
                    lang: Default::default(),
                },
            )
            .await?;
        self.csrf = Some(needed.csrf_token.clone());
        Ok(needed)
    }

    pub(crate) async fn factor(&mut self, factor: Factor, code: &str) -> Answer<StaffSession> {
        let session: StaffSession = self
            .post(
                FACTOR_PATH,
                &FactorAnswer {
                    factor,
                    code: code.into(),
                },
            )
            .await?;
        self.csrf = Some(session.csrf_token.clone());
        Ok(session)
    }

    /// The second factor's code, mailed to the staff member's own (first) address, and a
    /// wrong one beside it.
    async fn mailed_code(&mut self, mail: &str) -> (String, &'static str) {
        let _: FactorOffer = self
            .post(
                FACTOR_SEND_PATH,
                &FactorSend {
                    factor: Factor::Mail,
                },
            )
            .await
            .expect("sent");
        let code = self.stack.smtp.wait_for_mail(mail, 0).code().expect("code");
        let wrong = if code == "13579246" {
            "13579247"
        } else {
            "13579246"
        };
        (code, wrong)
    }

    /// Password, then a code mailed to the staff member's own address.
    pub(crate) async fn sign_in_by_mail(&mut self, username: &str, mail: &str) -> StaffSession {
        self.sign_in(username, PASSWORD)
            .await
            .expect("password and group");
        let already = self.stack.smtp.mails_to(mail).len();
        let sent: FactorOffer = self
            .post(
                FACTOR_SEND_PATH,
                &FactorSend {
                    factor: Factor::Mail,
                },
            )
            .await
            .expect("code mailed");
        assert_eq!(sent.factor, Factor::Mail);
        let code = self
            .stack
            .smtp
            .wait_for_mail(mail, already)
            .code()
            .expect("a code");
        self.factor(Factor::Mail, &code).await.expect("right code")
    }
}

pub(crate) fn refused<T: std::fmt::Debug>(answer: Answer<T>, status: StatusCode, code: ErrorCode) {
    match answer {
        Err((s, e)) if s == status && e.code == code => {}
        other => panic!("expected {status} {code:?}, got {other:?}"),
    }
}

/// A member of a group nested in the staff group signs in with their authenticator app: a
/// wrong code is refused, the right one opens a session under a new cookie, the old cookie is
/// worth nothing, and signing out ends the session.
#[tokio::test]
async fn a_nested_staff_member_signs_in_with_their_app_and_out_again() {
    let dc = samba::shared();
    user(dc, "hd.direct1", "Hanna Direct");
    user(dc, "hd.nested1", "Nina Nested");
    let group = staff_groups(dc, "A", "hd.direct1", "hd.nested1");
    let stack = stack_for(dc, &group, "").await;

    // The staff member's own app, registered under "My verification methods".
    let registered = sspr_tests::api::sign_in(&stack, "hd.nested1", PASSWORD)
        .await
        .expect("register sign-in");
    let session = SessionRef {
        session: registered.session,
    };
    let enrolment: Enrolment = post(&stack, AUTHENTICATOR_PATH, &session)
        .await
        .expect("enrolment");
    let _: sspr_protocol::register::Registered = post(
        &stack,
        CONFIRM_PATH,
        &Confirm {
            session: session.session.clone(),
            code: oathtool(&enrolment.secret, 0),
        },
    )
    .await
    .expect("enrolled");

    let mut console = Console::new(&stack);
    let needed = console
        .sign_in("hd.nested1", PASSWORD)
        .await
        .expect("a nested member is staff");
    let factors: Vec<Factor> = needed.offers.iter().map(|o| o.factor).collect();
    assert_eq!(factors, [Factor::Authenticator, Factor::Mail]);
    let before = console
        .cookie
        .clone()
        .expect("a cookie before the second factor");
    refused(
        console.session().await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SessionEnded,
    );

    let right = oathtool(&enrolment.secret, 30);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    refused(
        console.factor(Factor::Authenticator, wrong).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::WrongCode,
    );
    let signed_in = console
        .factor(Factor::Authenticator, &right)
        .await
        .expect("the app's code");
    assert_eq!(signed_in.account_name, "hd.nested1");
    assert_eq!(signed_in.display_name, "Nina Nested");
    let after = console.cookie.clone().expect("a cookie");
    assert_ne!(after, before, "a new session id at sign-in");
    assert_eq!(console.session().await.expect("signed in"), signed_in);

    let mut stale = Console::new(&stack);
    stale.cookie = Some(before);
    refused(
        stale.session().await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SessionEnded,
    );

    let _: () = console.post(SIGN_OUT_PATH, &()).await.expect("signed out");
    let mut kept = Console::new(&stack);
    kept.cookie = Some(after);
    refused(
        kept.session().await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SessionEnded,
    );

    let audit = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(audit.contains("staff_signed_in") && audit.contains("staff_signed_out"));
}

/// Someone who is not staff — with the right password — hears exactly what a wrong password
/// hears; so does a staff member with a wrong password.
#[tokio::test]
async fn non_staff_get_the_answer_of_a_wrong_password() {
    let dc = samba::shared();
    user(dc, "hd.direct2", "Harm Direct");
    user(dc, "hd.nested2", "Noor Nested");
    user(dc, "not.staff2", "Otto Outsider");
    let group = staff_groups(dc, "B", "hd.direct2", "hd.nested2");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    let outsider = console.sign_in("not.staff2", PASSWORD).await;
    let wrong = console.sign_in("hd.direct2", "Wrong-Passw0rd!").await;
    let (Err(outsider), Err(wrong)) = (outsider, wrong) else {
        panic!("both refused");
    };
    assert_eq!(outsider.0, StatusCode::BAD_REQUEST);
    assert_eq!(outsider.1.code, ErrorCode::SignInFailed);
    assert_eq!(outsider, wrong, "the same answer");
    assert!(console.cookie.is_none(), "no session for either");
    crate::agent_ad::bind_as(dc, "hd.direct2", PASSWORD)
        .await
        .expect("one wrong password locked nothing");
}

/// The mailed second factor: five wrong codes end the session, and then the right one is
/// worth nothing; each wrong code is logged and audited without what was typed.
#[tokio::test]
async fn wrong_mailed_codes_end_the_session() {
    let dc = samba::shared();
    let mail = user(dc, "hd.direct3", "Hugo Direct");
    user(dc, "hd.nested3", "Nora Nested");
    let group = staff_groups(dc, "C", "hd.direct3", "hd.nested3");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    let needed = console
        .sign_in("hd.direct3", PASSWORD)
        .await
        .expect("staff");
    let [offer] = needed.offers.as_slice() else {
        panic!("one factor: {needed:?}");
    };
    assert_eq!(offer.factor, Factor::Mail, "no app registered");
    assert!(
        offer.masked.starts_with('h')
            && offer.masked.contains('•')
            && !offer.masked.contains("direct3"),
        "masked: {}",
        offer.masked
    );
    let (code, wrong) = console.mailed_code(&mail).await;
    for _ in 0..4 {
        refused(
            console.factor(Factor::Mail, wrong).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::WrongCode,
        );
    }
    refused(
        console.factor(Factor::Mail, wrong).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::CodeExhausted,
    );
    refused(
        console.factor(Factor::Mail, &code).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SessionEnded,
    );
    let log = stack.server.log();
    assert!(log.contains("guess_failed") && !log.contains(wrong));
    // A fresh sign-in works.
    console.sign_in_by_mail("hd.direct3", &mail).await;
    console.session().await.expect("signed in");
}

/// Answers sent at once try no more codes than the session allows: each takes its attempt
/// before its code is looked at, so twelve at once are five guesses (four "wrong", the fifth
/// ends the session) and the rest are turned away unread.
#[tokio::test]
async fn answers_sent_at_once_try_no_more_codes_than_the_session_allows() {
    let dc = samba::shared();
    let mail = user(dc, "hd.direct14", "Hanna Parallel");
    user(dc, "hd.nested14", "Nico Parallel");
    let group = staff_groups(dc, "P", "hd.direct14", "hd.nested14");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    console
        .sign_in("hd.direct14", PASSWORD)
        .await
        .expect("staff");
    let (code, wrong) = console.mailed_code(&mail).await;
    let answers = (0..12).map(|_| {
        let mut tab = Console::new(&stack);
        tab.cookie = console.cookie.clone();
        tab.csrf = console.csrf.clone();
        async move { tab.factor(Factor::Mail, wrong).await }
    });
    let answers = futures_util::future::join_all(answers).await;
    let said = |code: ErrorCode| {
        answers
            .iter()
            .filter(|a| matches!(a, Err((_, e)) if e.code == code))
            .count()
    };
    assert_eq!(said(ErrorCode::WrongCode), 4, "{answers:?}");
    let guesses = stack.server.log().matches("guess_failed").count();
    assert_eq!(guesses, 5, "five codes tried, no more: {answers:?}");
    refused(
        console.factor(Factor::Mail, &code).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SessionEnded,
    );
}

/// A page on another site cannot act in a staff member's name: a request with a foreign
/// `Origin`, or without the session's anti-forgery token, is refused and changes nothing.
#[tokio::test]
async fn forged_cross_site_requests_are_refused() {
    let dc = samba::shared();
    let mail = user(dc, "hd.direct4", "Henk Direct");
    user(dc, "hd.nested4", "Nel Nested");
    let group = staff_groups(dc, "D", "hd.direct4", "hd.nested4");
    let stack = stack_for(dc, &group, "").await;
    let mut console = Console::new(&stack);
    console.sign_in_by_mail("hd.direct4", &mail).await;

    // The browser sends the cookie along (SameSite aside), but the origin is the attacker's.
    let mut forged = Console::new(&stack);
    forged.cookie = console.cookie.clone();
    forged.csrf = console.csrf.clone();
    forged.origin = "https://evil.example".into();
    refused(
        forged.post::<_, ()>(SIGN_OUT_PATH, &()).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ForgedRequest,
    );
    // The right origin (a same-site page injected somewhere), but no token.
    forged.origin = console.origin.clone();
    forged.csrf = None;
    refused(
        forged.post::<_, ()>(SIGN_OUT_PATH, &()).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ForgedRequest,
    );
    forged.csrf = Some("not-the-token".into());
    refused(
        forged.post::<_, ()>(SIGN_OUT_PATH, &()).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ForgedRequest,
    );
    // A sign-in posted from another site (login CSRF).
    let mut elsewhere = Console::new(&stack);
    elsewhere.origin = "https://evil.example".into();
    refused(
        elsewhere.sign_in("hd.direct4", PASSWORD).await,
        StatusCode::FORBIDDEN,
        ErrorCode::ForgedRequest,
    );
    console
        .session()
        .await
        .expect("the real session is untouched");
}

/// A session unused for `session_idle_secs` is over.
#[tokio::test]
async fn an_idle_session_ends() {
    let dc = samba::shared();
    let mail = user(dc, "hd.direct5", "Hein Direct");
    user(dc, "hd.nested5", "Nienke Nested");
    let group = staff_groups(dc, "E", "hd.direct5", "hd.nested5");
    let stack = stack_for(dc, &group, "session_idle_secs = 2\n").await;
    let mut console = Console::new(&stack);
    let signed_in = console.sign_in_by_mail("hd.direct5", &mail).await;
    assert_eq!(signed_in.idle_secs, 2);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    refused(
        console.session().await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::SessionEnded,
    );
}
