//! The reset flow through the HTTP API against the real stack: every step, the wrong turns a
//! user or attacker can take, and the proof by binding to AD.

use reqwest::StatusCode;
use sspr_protocol::gate::Gate;
use sspr_protocol::reset::*;
use sspr_protocol::seal::seal;
use sspr_protocol::{ApiError, ErrorCode};
use sspr_tests::api::{new_password, post, submit_code, to_mail_code};
use sspr_tests::samba;
use sspr_tests::stack::Stack;

/// A header of the status endpoint's answer (every answer carries the security headers).
async fn status_header(stack: &Stack, name: &str) -> String {
    stack
        .http
        .get(stack.api(STATUS_PATH))
        .send()
        .await
        .expect("status")
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn reset_through_the_api_lands_in_ad() {
    let dc = samba::shared();
    dc.create_user(
        "api.reset",
        "Old-Passw0rd!",
        Some("api.reset@corp.example.test"),
        "Api Reset",
    )
    .expect("user");
    let stack = Stack::start(dc, |o| o.capture_relay = true).await;

    let (flow_id, sent) = to_mail_code(&stack, &dc.upn("api.reset"), Purpose::Reset).await;
    assert_eq!(sent.destination, "a•••••@c•••.example.test");
    assert_eq!(sent.code_length, 8);
    let mail = stack.smtp.wait_for_mail("api.reset@corp.example.test", 0);
    let code = mail.code().expect("a code in the mail");
    assert_eq!(code.len(), 8);

    // A wrong code costs an attempt and says how many are left; the flow survives.
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let err = submit_code(&stack, &flow_id, wrong)
        .await
        .expect_err("wrong code");
    assert_eq!(
        (err.0, err.1.code, err.1.attempts_left),
        (StatusCode::BAD_REQUEST, ErrorCode::WrongCode, Some(4))
    );

    let step = new_password(
        submit_code(&stack, &flow_id, &code)
            .await
            .expect("right code"),
    );
    assert_eq!(step.names.account_name, "api.reset");
    assert!(step.policy.complexity);
    assert!(step.agent_key.spki_der.len() > 400, "an RSA-3072 key");
    // The code is single use.
    let again = submit_code(&stack, &flow_id, &code)
        .await
        .expect_err("replay");
    assert_eq!(
        (again.0, again.1.code),
        (StatusCode::CONFLICT, ErrorCode::WrongStep)
    );

    // AD's refusal comes back with its reason, and the user may try again in the same flow.
    let weak = seal(&step.agent_key, "Sh0rt!").expect("seal");
    let refused = post::<_, Completed>(
        &stack,
        PASSWORD_PATH,
        &PasswordSubmit {
            lang: None,
            flow_id: flow_id.clone(),
            sealed: weak,
        },
    )
    .await
    .expect_err("too short");
    assert_eq!(
        (refused.0, refused.1.code),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PasswordTooShort
        )
    );

    let password = "Sealed-Marker-Pw-4711";
    let strong = seal(&step.agent_key, password).expect("seal");
    let done: Completed = post(
        &stack,
        PASSWORD_PATH,
        &PasswordSubmit {
            lang: None,
            flow_id: flow_id.clone(),
            sealed: strong.clone(),
        },
    )
    .await
    .expect("reset");
    assert_eq!(done.account_name, "api.reset");
    crate::agent_ad::bind_as(dc, "api.reset", password)
        .await
        .expect("AD accepts the new password");

    // Submitting again (a double click, a lost answer) hears the same, and sends nothing.
    let frames = stack.server.relay_frames().lines().count();
    let replay = post::<_, Completed>(
        &stack,
        PASSWORD_PATH,
        &PasswordSubmit {
            lang: None,
            flow_id,
            sealed: strong,
        },
    )
    .await
    .expect("a finished flow answers again");
    assert_eq!(replay.account_name, "api.reset");
    assert_eq!(
        stack.server.relay_frames().lines().count(),
        frames,
        "no second package"
    );

    // The notification arrives after the code mail.
    let note = stack.smtp.wait_for_mail("api.reset@corp.example.test", 1);
    assert_eq!(note.subject().as_deref(), Some("Your password was reset"));

    // The server never held the password in clear: not in its log, its database, or any relay frame.
    for (what, bytes) in stack.server_artifacts() {
        assert!(
            !bytes.is_empty() || what == "relay frames",
            "{what} is empty: the check would prove nothing"
        );
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "the password appears in the {what}"
        );
    }
    assert!(
        stack.server.relay_frames().contains("{\"apply\":"),
        "the capture saw the package go out"
    );
}

#[tokio::test]
async fn unknown_users_get_the_same_answers_and_no_mail() {
    let dc = samba::shared();
    dc.create_user(
        "api.known",
        "Old-Passw0rd!",
        Some("api.known@corp.example.test"),
        "Api Known",
    )
    .expect("user");
    let stack = Stack::start(dc, |_| {}).await;
    // The decoy first: a mail it wrongly sent would be on its way before the real account's
    // mail that the end of this test waits for.
    let (flow_id, unknown) = to_mail_code(&stack, "api.nobody", Purpose::Reset).await;
    let (_, known) = to_mail_code(&stack, "api.known", Purpose::Reset).await;
    assert_eq!(
        known.destination.chars().count(),
        unknown.destination.chars().count()
    );
    assert_eq!(unknown.destination, "a•••••@c•••.example.test");
    assert_eq!(
        (known.code_length, known.code_ttl_secs),
        (unknown.code_length, unknown.code_ttl_secs)
    );
    // Any code is "wrong", exactly like a real account's wrong code.
    let err = submit_code(&stack, &flow_id, "12345678")
        .await
        .expect_err("decoy");
    assert_eq!(
        (err.0, err.1.code, err.1.attempts_left),
        (StatusCode::BAD_REQUEST, ErrorCode::WrongCode, Some(4))
    );
    stack.smtp.wait_for_mail("api.known@corp.example.test", 0);
    assert_eq!(
        stack.smtp.mails().len(),
        1,
        "only the real account got mail"
    );
}

#[tokio::test]
async fn bad_input_gets_clear_client_errors() {
    let dc = samba::shared();
    let stack = Stack::start(dc, |_| {}).await;
    let raw = |path: &'static str, body: &'static str| {
        let request = stack
            .http
            .post(stack.api(path))
            .header("content-type", "application/json")
            .body(body);
        async move {
            let r = request.send().await.expect("request");
            (
                r.status(),
                r.json::<ApiError>().await.expect("error body").code,
            )
        }
    };
    // An LDAP filter in the user ID: refused by its syntax, before the directory is asked.
    assert_eq!(
        raw(START_PATH, r#"{"username":"*)(objectClass=*"}"#).await,
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidUsername)
    );
    assert_eq!(
        raw(START_PATH, "{not json").await,
        (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
    );
    assert_eq!(
        raw(START_PATH, r#"{"username":["a"]}"#).await,
        (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
    );
    assert_eq!(
        raw(START_PATH, r#"{"username":"a","username":"b"}"#).await,
        (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
    );
    assert_eq!(
        raw(START_PATH, r#"{"username":"   "}"#).await,
        (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
    );
    assert_eq!(
        raw(CODE_PATH, r#"{"flow_id":"nope","code":"1"}"#).await,
        (StatusCode::NOT_FOUND, ErrorCode::UnknownFlow)
    );
    assert_eq!(
        raw("/api/nothing-here", "{}").await,
        (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
    );
    let huge = format!(r#"{{"username":"{}"}}"#, "a".repeat(1 << 20));
    // Its own connection: the server answers 413 without reading the body and closes the
    // connection, which a pooled client might otherwise reuse for the next request.
    let r = reqwest::Client::new()
        .post(stack.api(START_PATH))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<ApiError>().await.expect("body").code,
        ErrorCode::PayloadTooLarge
    );
    // A wrong CAPTCHA answer is refused and the flow may try again.
    let started: Started = post(
        &stack,
        START_PATH,
        &StartRequest {
            username: "x".into(),
            lang: Default::default(),
            purpose: Default::default(),
        },
    )
    .await
    .expect("start");
    let sspr_protocol::captcha::Captcha::ProofOfWork(challenge) = &started.captcha else {
        panic!("proof of work by default");
    };
    let bad = (0..)
        .map(|n| sspr_protocol::captcha::PowSolution { nonce: n })
        .find(|s| !challenge.accepts(*s))
        .map(sspr_protocol::captcha::CaptchaSolution::ProofOfWork)
        .expect("a wrong nonce");
    let err = post::<_, Gate>(
        &stack,
        CAPTCHA_PATH,
        &CaptchaAnswer {
            flow_id: started.flow_id.clone(),
            solution: bad,
        },
    )
    .await
    .expect_err("bad pow");
    assert_eq!(err.1.code, ErrorCode::CaptchaFailed);
    // Security headers are on every answer.
    let (csp, cache) = (
        status_header(&stack, "content-security-policy").await,
        status_header(&stack, "cache-control").await,
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(cache, "no-store");
}

#[tokio::test]
async fn without_an_agent_the_first_step_says_unavailable() {
    let dc = samba::shared();
    let mut stack = Stack::start(dc, |_| {}).await;
    stack.agent.stop();
    stack.wait_writeback(false).await;
    let err = post::<_, Started>(
        &stack,
        START_PATH,
        &StartRequest {
            username: "anyone".into(),
            lang: Default::default(),
            purpose: Default::default(),
        },
    )
    .await
    .expect_err("no agent");
    assert_eq!(
        (err.0, err.1.code),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::WritebackUnavailable
        )
    );
    assert!(stack.smtp.mails().is_empty());
}

#[tokio::test]
async fn over_tls_the_agent_reconnects_and_flows_survive_a_server_restart() {
    let dc = samba::shared();
    // The server terminates TLS with a certificate from a private CA; the agent onboards over
    // https and relays over wss, trusting that CA through server_ca_file.
    let mut stack = Stack::start(dc, |o| o.tls = true).await;
    assert!(stack.server.url.starts_with("https://"));
    let (flow_id, _) = to_mail_code(&stack, "tls.nobody", Purpose::Reset).await;

    // A resend inside the cooldown is refused with the time to wait.
    let response = stack
        .http
        .post(stack.api(RESEND_PATH))
        .json(&FlowRef {
            flow_id: flow_id.clone(),
        })
        .send()
        .await
        .expect("resend");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u32 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    stack.server.restart();
    stack.wait_writeback(true).await;
    let connects = stack.agent.log().matches("\"event_id\":1100").count();
    assert!(
        connects >= 2,
        "the agent reconnected after the restart ({connects} connects)"
    );
    // The flow lives in the database, not in the process: it is still at its code gate.
    let err = submit_code(&stack, &flow_id, "12345678")
        .await
        .expect_err("decoy code");
    assert_eq!(
        (err.1.code, err.1.attempts_left),
        (ErrorCode::WrongCode, Some(4))
    );
}

#[tokio::test]
async fn unlock_through_the_api_lifts_a_real_lockout() {
    let dc = samba::shared();
    dc.create_user(
        "api.locked",
        "Kept-Passw0rd!",
        Some("api.locked@corp.example.test"),
        "Ula Unlock",
    )
    .expect("user");
    for _ in 0..3 {
        let _ = crate::agent_ad::bind_as(dc, "api.locked", "Wrong-Passw0rd!").await;
    }
    assert!(
        crate::agent_ad::bind_as(dc, "api.locked", "Kept-Passw0rd!")
            .await
            .is_err(),
        "locked out"
    );
    let stack = Stack::start(dc, |_| {}).await;

    let (flow_id, _) = to_mail_code(&stack, "api.locked", Purpose::Unlock).await;
    let code = stack
        .smtp
        .wait_for_mail("api.locked@corp.example.test", 0)
        .code()
        .expect("code");
    // The unlock's last gate unlocks at once: no new-password step.
    let done = match submit_code(&stack, &flow_id, &code).await.expect("unlock") {
        sspr_protocol::gate::AfterGate::Completed(done) => done,
        other => panic!("completed, not {other:?}"),
    };
    assert_eq!(done.account_name, "api.locked");
    assert!(done.was_locked, "the directory had it locked");
    crate::agent_ad::bind_as(dc, "api.locked", "Kept-Passw0rd!")
        .await
        .expect("the unchanged password works again");
    let note = stack.smtp.wait_for_mail("api.locked@corp.example.test", 1);
    assert_eq!(note.subject().as_deref(), Some("Your account was unlocked"));
}

#[tokio::test]
async fn a_third_party_captcha_token_is_verified_with_the_provider() {
    use sspr_protocol::captcha::{Captcha, CaptchaSolution, WidgetProvider};
    let dc = samba::shared();
    let provider = sspr_tests::gateway::RecordingGateway::start();
    let toml = format!(
        "[captcha]\nkind = \"turnstile\"\nsite_key = \"site-key-1\"\nsecret = \"captcha-secret\"\nverify_url = \"{}/siteverify\"\n",
        provider.url
    );
    let stack = Stack::start(dc, |o| o.extra_toml = toml).await;
    let start = || async {
        post::<_, Started>(
            &stack,
            START_PATH,
            &StartRequest {
                username: "widget.nobody".into(),
                lang: Default::default(),
                purpose: Purpose::Reset,
            },
        )
        .await
        .expect("start")
    };
    let started = start().await;
    assert_eq!(
        started.captcha,
        Captcha::Widget {
            provider: WidgetProvider::Turnstile,
            site_key: "site-key-1".into()
        }
    );
    let answer = |flow_id: &str, solution: CaptchaSolution| {
        let body = CaptchaAnswer {
            flow_id: flow_id.into(),
            solution,
        };
        let stack = &stack;
        async move { post::<_, Gate>(stack, CAPTCHA_PATH, &body).await }
    };
    let widget = |token: &str| CaptchaSolution::Widget {
        token: token.into(),
    };

    // The provider says no: refused, and the provider saw our secret and the token.
    provider.answer_with(
        200,
        r#"{"success":false,"error-codes":["invalid-input-response"]}"#,
    );
    let err = answer(&started.flow_id, widget("forged-token"))
        .await
        .expect_err("refused");
    assert_eq!(err.1.code, ErrorCode::CaptchaFailed);
    let form = provider.calls().last().expect("asked the provider").form();
    assert_eq!(
        (
            form.get("secret").map(String::as_str),
            form.get("response").map(String::as_str)
        ),
        (Some("captcha-secret"), Some("forged-token"))
    );
    // A proof of work is no answer to a widget.
    let err = answer(
        &started.flow_id,
        CaptchaSolution::ProofOfWork(sspr_protocol::captcha::PowSolution { nonce: 1 }),
    )
    .await
    .expect_err("wrong kind");
    assert_eq!(err.1.code, ErrorCode::CaptchaFailed);
    // The provider says yes: on to the gates, once.
    provider.answer_with(200, r#"{"success":true}"#);
    answer(&started.flow_id, widget("good-token"))
        .await
        .expect("passed");
    let again = answer(&started.flow_id, widget("good-token"))
        .await
        .expect_err("single use");
    assert_eq!(again.1.code, ErrorCode::WrongStep);
    // A provider that cannot be understood fails closed.
    provider.answer_with(500, "not json");
    let started = start().await;
    let err = answer(&started.flow_id, widget("any"))
        .await
        .expect_err("closed");
    assert_eq!(err.1.code, ErrorCode::CaptchaFailed);
    // Its script and frame are allowed by the CSP, nothing else is added.
    let csp = status_header(&stack, "content-security-policy").await;
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' https://challenges.cloudflare.com")
            && csp.contains("frame-src https://challenges.cloudflare.com")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}

#[tokio::test]
async fn the_picture_captcha_comes_with_audio_and_gives_one_try() {
    use sspr_protocol::captcha::{Captcha, CaptchaSolution};
    let dc = samba::shared();
    let stack = Stack::start(dc, |o| {
        o.extra_toml = "[captcha]\nkind = \"image\"\n".into()
    })
    .await;
    let started: Started = post(
        &stack,
        START_PATH,
        &StartRequest {
            username: "picture.nobody".into(),
            lang: Default::default(),
            purpose: Purpose::Reset,
        },
    )
    .await
    .expect("start");
    let Captcha::Image { png, wav } = &started.captcha else {
        panic!("a picture, not {:?}", started.captcha);
    };
    assert!(png.starts_with(b"\x89PNG"), "a PNG picture");
    assert!(
        wav.starts_with(b"RIFF") && wav.len() > 50_000,
        "a WAV with the digits spoken"
    );
    let answer = |answer: &str| {
        let body = CaptchaAnswer {
            flow_id: started.flow_id.clone(),
            solution: CaptchaSolution::Image {
                answer: answer.into(),
            },
        };
        let stack = &stack;
        async move { post::<_, Gate>(stack, CAPTCHA_PATH, &body).await }
    };
    // The pictures use the digits 1 to 9: all zeros is always wrong, and spends the picture.
    let err = answer("000000").await.expect_err("wrong");
    assert_eq!(err.1.code, ErrorCode::CaptchaFailed);
    for guess in ["111111", "123456", "987654"] {
        let err = answer(guess).await.expect_err("spent");
        assert_eq!(err.1.code, ErrorCode::CaptchaFailed, "no second guess");
    }
    let csp = status_header(&stack, "content-security-policy").await;
    assert!(csp.contains("media-src data:"), "{csp}");
}

#[tokio::test]
async fn the_new_password_step_carries_the_users_fine_grained_policy() {
    let dc = samba::shared();
    let (user, mail) = ("api.pso", "api.pso@corp.example.test");
    dc.create_user(user, "Old-Passw0rd-Long!", Some(mail), "Api Pso")
        .expect("user");
    dc.apply_strict_pso(user).expect("PSO applied");
    let stack = Stack::start(dc, |_| {}).await;
    let (_, step) = sspr_tests::api::to_new_password(&stack, &dc.upn(user), mail, 0).await;
    // The browser's live feedback checks the rules AD will apply to this user's reset: the
    // PSO's length and complexity — but not its history of 5, which Samba cannot hold a reset
    // to (no policy-hints control), so the page does not promise it.
    assert_eq!(step.policy.min_length, 14);
    assert_eq!(step.policy.history_length, 0);
}

#[tokio::test]
async fn a_language_switched_during_the_flow_reaches_the_mails_sent_after_it() {
    use sspr_protocol::gate::{Challenge, ChooseMethod, Method};
    use sspr_protocol::Lang;
    let dc = samba::shared();
    let mail = "api.dutch@corp.example.test";
    dc.create_user("api.dutch", "Old-Passw0rd!", Some(mail), "Dirk Dutch")
        .expect("user");
    let stack = Stack::start(dc, |_| {}).await;
    // Begun in English; the page is switched to Dutch before a method is chosen.
    let (flow_id, gate) = sspr_tests::api::to_gate(&stack, "api.dutch", Purpose::Reset).await;
    let offer = gate
        .offers
        .iter()
        .find(|o| o.method == Method::Mail)
        .expect("mail offered");
    let challenge: Challenge = post(
        &stack,
        sspr_protocol::gate::METHOD_PATH,
        &ChooseMethod {
            flow_id: flow_id.clone(),
            choice: offer.choice,
            phone: None,
            lang: Some(Lang::Nl),
        },
    )
    .await
    .expect("choose");
    assert!(matches!(challenge, Challenge::Code(_)), "{challenge:?}");
    let code_mail = stack.smtp.wait_for_mail(mail, 0);
    assert!(
        code_mail
            .subject()
            .is_some_and(|s| s.starts_with("Je verificatiecode")),
        "{:?}",
        code_mail.subject()
    );
    let code = code_mail.code().expect("code");
    let step = new_password(submit_code(&stack, &flow_id, &code).await.expect("code"));
    // Back to English before the password goes: the closing notice follows.
    let done: Completed = post(
        &stack,
        PASSWORD_PATH,
        &PasswordSubmit {
            flow_id,
            sealed: seal(&step.agent_key, "Fresh-Meadow-Path-31").expect("seal"),
            lang: Some(Lang::En),
        },
    )
    .await
    .expect("reset");
    assert_eq!(done.account_name, "api.dutch");
    let notice = stack.smtp.wait_for_mail(mail, 1);
    assert_eq!(notice.subject().as_deref(), Some("Your password was reset"));
}

/// The portal and the console send and ask for postcard; API clients get JSON as before, and a
/// client gets what it asked for whatever it sent, errors included.
#[tokio::test]
async fn the_browser_apps_speak_postcard_and_api_clients_json() {
    use sspr_protocol::POSTCARD_MEDIA_TYPE;
    let dc = samba::shared();
    let stack = Stack::start(dc, |_| {}).await;
    let call = |body: Vec<u8>, content_type: &'static str, accept: &'static str| {
        let request = stack
            .http
            .post(stack.api(START_PATH))
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body);
        async move {
            let response = request.send().await.expect("request");
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (
                response.status(),
                kind,
                response.bytes().await.expect("body"),
            )
        }
    };
    let start = StartRequest {
        username: "jan.jansen".into(),
        lang: Default::default(),
        purpose: Default::default(),
    };
    let postcard_start = postcard::to_allocvec(&start).expect("postcard");

    let (status, kind, body) = call(
        postcard_start.clone(),
        POSTCARD_MEDIA_TYPE,
        POSTCARD_MEDIA_TYPE,
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, POSTCARD_MEDIA_TYPE)
    );
    let started: Started = postcard::from_bytes(&body).expect("a postcard answer");
    assert!(!started.flow_id.is_empty());

    // Postcard in, JSON out: what the client accepts decides.
    let (status, kind, body) = call(postcard_start, POSTCARD_MEDIA_TYPE, "application/json").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "application/json")
    );
    serde_json::from_slice::<Started>(&body).expect("a JSON answer");

    // A body that is not postcard: the error in postcard, for the browser to read.
    let (status, kind, body) = call(vec![0xff; 3], POSTCARD_MEDIA_TYPE, POSTCARD_MEDIA_TYPE).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::BAD_REQUEST, POSTCARD_MEDIA_TYPE)
    );
    let error: ApiError = postcard::from_bytes(&body).expect("a postcard error");
    assert_eq!(error.code, ErrorCode::BadRequest);

    // A refusal of the domain's, in postcard too.
    let filter = postcard::to_allocvec(&StartRequest {
        username: "*)(objectClass=*".into(),
        ..start
    })
    .expect("postcard");
    let (status, _, body) = call(filter, POSTCARD_MEDIA_TYPE, POSTCARD_MEDIA_TYPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error: ApiError = postcard::from_bytes(&body).expect("a postcard error");
    assert_eq!(error.code, ErrorCode::InvalidUsername);
}
