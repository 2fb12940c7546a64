//! Registration through the HTTP API: sign-in checked by the agent binding as the user, a new
//! number or address verified by its code, an authenticator enrolled and then used in a reset
//! with codes from `oathtool` (each accepted once), notices to the other addresses, removal.

use reqwest::StatusCode;
use sspr_protocol::gate::{Challenge, Method};
use sspr_protocol::register::*;
use sspr_protocol::reset::{CodeSent, Purpose};
use sspr_protocol::ErrorCode;
use sspr_tests::api::{choose, new_password, oathtool, post, sign_in, submit_code, to_gate};
use sspr_tests::gateway::RecordingGateway;
use sspr_tests::samba;
use sspr_tests::stack::Stack;

use crate::agent_ad::admin_replace;

fn slot(r: &Registered, slot: Slot) -> SlotState {
    r.slots
        .iter()
        .find(|s| s.slot == slot)
        .cloned()
        .expect("every slot is listed")
}

#[tokio::test]
async fn a_user_registers_methods_and_an_authenticator_code_passes_once() {
    let dc = samba::shared();
    dc.create_user(
        "reg.user",
        "Reg-Passw0rd!",
        Some("reg.user@corp.example.test"),
        "Regina Register",
    )
    .expect("user");
    admin_replace(dc, "reg.user", "mobile", "+31612340071").await;
    let gateway = RecordingGateway::start();
    let toml = format!(
        "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\n",
        gateway.url
    );
    let stack = Stack::start(dc, |o| o.extra_toml = toml).await;

    // A wrong password, an unknown name and a right password: only the last gets in, and the
    // first two get the same answer.
    for (name, password) in [
        ("reg.user", "Wrong-Passw0rd!"),
        ("reg.nobody", "Reg-Passw0rd!"),
    ] {
        let err = sign_in(&stack, name, password).await.expect_err("refused");
        assert_eq!(
            (err.0, err.1.code),
            (StatusCode::BAD_REQUEST, ErrorCode::SignInFailed)
        );
    }
    let registered = sign_in(&stack, "reg.user", "Reg-Passw0rd!")
        .await
        .expect("signed in");
    assert_eq!(registered.account_name, "reg.user");
    let mobile = slot(&registered, Slot::Mobile);
    assert_eq!(
        (mobile.masked.as_str(), mobile.source),
        ("+31 6 ••••••71", Some(Source::Directory)),
        "the directory's number counts without any action"
    );
    assert_eq!(slot(&registered, Slot::Authenticator).source, None);
    let session = registered.session.clone();

    // A number of the user's own replaces the directory's, once its code comes back.
    let sent: CodeSent = post(
        &stack,
        ADD_PATH,
        &AddContact {
            session: session.clone(),
            slot: Slot::Mobile,
            value: "06 1234 0072".into(),
        },
    )
    .await
    .expect("code sent");
    assert_eq!(sent.destination, "+31 6 ••••••72");
    let code = gateway.wait_for("+31612340072", 0).code().expect("code");
    let wrong = post::<_, Registered>(
        &stack,
        CONFIRM_PATH,
        &Confirm {
            session: session.clone(),
            code: "00000000".into(),
        },
    )
    .await
    .expect_err("wrong");
    assert_eq!(wrong.1.code, ErrorCode::WrongCode);
    let registered: Registered = post(
        &stack,
        CONFIRM_PATH,
        &Confirm {
            session: session.clone(),
            code,
        },
    )
    .await
    .expect("confirmed");
    let mobile = slot(&registered, Slot::Mobile);
    assert_eq!(
        (mobile.masked.as_str(), mobile.source),
        ("+31 6 ••••••72", Some(Source::User))
    );
    let notice = stack.smtp.wait_for_mail("reg.user@corp.example.test", 0);
    assert_eq!(
        notice.subject().as_deref(),
        Some("Your verification methods changed")
    );
    assert!(
        notice.data.contains("Mobile phone added"),
        "{}",
        notice.data
    );

    // Junk is refused before anything is sent.
    for (slot, value) in [
        (Slot::Mobile, "not a number"),
        (Slot::AltMail, "no-at-sign"),
    ] {
        let err = post::<_, CodeSent>(
            &stack,
            ADD_PATH,
            &AddContact {
                session: session.clone(),
                slot,
                value: value.into(),
            },
        )
        .await
        .expect_err("junk");
        assert_eq!(err.1.code, ErrorCode::InvalidContact);
    }

    // An authenticator app: the secret as text (and a QR code), confirmed by a first code
    // computed by oathtool.
    let enrolment: Enrolment = post(
        &stack,
        AUTHENTICATOR_PATH,
        &SessionRef {
            session: session.clone(),
        },
    )
    .await
    .expect("enrolment");
    assert!(enrolment.qr_svg.starts_with("<?xml") || enrolment.qr_svg.contains("<svg"));
    assert!(
        enrolment.otpauth_uri.starts_with("otpauth://totp/")
            && enrolment.otpauth_uri.contains(&enrolment.secret)
    );
    let registered: Registered = post(
        &stack,
        CONFIRM_PATH,
        &Confirm {
            session: session.clone(),
            code: oathtool(&enrolment.secret, 0),
        },
    )
    .await
    .expect("enrolled");
    assert_eq!(
        slot(&registered, Slot::Authenticator).source,
        Some(Source::User)
    );

    // A reset with the app: the next time step's code passes (the current one was spent on
    // the enrolment), and the same code is refused the second time.
    let code = oathtool(&enrolment.secret, 30);
    let (flow_id, gate) = to_gate(&stack, "reg.user", Purpose::Reset).await;
    let methods: Vec<Method> = gate.offers.iter().map(|o| o.method).collect();
    assert_eq!(
        methods,
        [
            Method::Mail,
            Method::MobileText,
            Method::MobileCall,
            Method::Authenticator
        ]
    );
    assert_eq!(
        choose(&stack, &flow_id, &gate, Method::Authenticator, None)
            .await
            .expect("app"),
        Challenge::Authenticator { digits: 6 }
    );
    let step = new_password(
        submit_code(&stack, &flow_id, &code)
            .await
            .expect("app code"),
    );
    assert_eq!(step.names.account_name, "reg.user");
    let (flow_id, gate) = to_gate(&stack, "reg.user", Purpose::Reset).await;
    choose(&stack, &flow_id, &gate, Method::Authenticator, None)
        .await
        .expect("app");
    let replay = submit_code(&stack, &flow_id, &code)
        .await
        .expect_err("replayed");
    assert_eq!(replay.1.code, ErrorCode::CodeReused);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = submit_code(&stack, &flow_id, wrong)
        .await
        .expect_err("wrong");
    assert_eq!(
        (err.1.code, err.1.attempts_left),
        (ErrorCode::WrongCode, Some(4))
    );

    // Removing the user's own number brings the directory's back; the directory's own data
    // cannot be removed here.
    let registered: Registered = post(
        &stack,
        REMOVE_PATH,
        &RemoveSlot {
            session: session.clone(),
            slot: Slot::Mobile,
        },
    )
    .await
    .expect("removed");
    assert_eq!(
        slot(&registered, Slot::Mobile).source,
        Some(Source::Directory)
    );
    let err = post::<_, Registered>(
        &stack,
        REMOVE_PATH,
        &RemoveSlot {
            session,
            slot: Slot::Mobile,
        },
    )
    .await
    .expect_err("directory data stays");
    assert_eq!(err.1.code, ErrorCode::MethodUnavailable);

    // Registrations are sealed at rest: neither the number nor the TOTP secret is readable.
    let db = stack.server.database_bytes();
    for secret in ["+31612340072", enrolment.secret.as_str()] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is stored in clear"
        );
    }

    // Signing out ends the session on the server: it no longer reads or changes anything, and
    // a second sign-out is no error.
    let session = registered.session.clone();
    for _ in 0..2 {
        let answer = stack
            .http
            .post(stack.api(SIGN_OUT_PATH))
            .json(&SessionRef {
                session: session.clone(),
            })
            .send()
            .await
            .expect("sign out");
        assert_eq!(answer.status(), reqwest::StatusCode::NO_CONTENT);
    }
    let err = post::<_, Registered>(&stack, STATE_PATH, &SessionRef { session })
        .await
        .expect_err("ended");
    assert_eq!(err.1.code, ErrorCode::UnknownFlow);
}

#[tokio::test]
async fn security_questions_are_set_up_hashed_and_answered_at_a_gate() {
    use sspr_protocol::gate::{AfterGate, Answers, Question, ANSWERS_PATH};
    let dc = samba::shared();
    dc.create_user(
        "reg.questions",
        "Reg-Passw0rd!",
        Some("reg.questions@corp.example.test"),
        "Quinn Questions",
    )
    .expect("user");
    let stack = Stack::start(dc, |o| {
        o.extra_toml = "[policy]\nmethods = [\"mail\", \"questions\"]\nquestions_to_register = 3\nquestions_to_answer = 2\n".into()
    })
    .await;
    let registered = sign_in(&stack, "reg.questions", "Reg-Passw0rd!")
        .await
        .expect("signed in");
    assert_eq!(registered.questions_to_register, 3);
    let session = registered.session;
    let set = |answers: Vec<(Question, &str)>| SetQuestions {
        session: session.clone(),
        answers: answers
            .into_iter()
            .map(|(q, a)| (q, a.to_owned()))
            .collect(),
    };
    // The same question twice, a too-short answer, too few questions: each refused.
    for bad in [
        vec![
            (Question::FirstPet, "Whiskers"),
            (Question::FirstPet, "Felix"),
            (Question::BirthCity, "Utrecht"),
        ],
        vec![
            (Question::FirstPet, "Whiskers"),
            (Question::FirstSchool, "ab"),
            (Question::BirthCity, "Utrecht"),
        ],
        vec![
            (Question::FirstPet, "Whiskers"),
            (Question::BirthCity, "Utrecht"),
        ],
    ] {
        let err = post::<_, Registered>(&stack, QUESTIONS_PATH, &set(bad))
            .await
            .expect_err("invalid");
        assert_eq!(err.1.code, ErrorCode::QuestionsInvalid);
    }
    let answers = [
        (Question::FirstPet, "Mr. Whiskers"),
        (Question::BirthCity, "Utrecht"),
        (Question::FirstSchool, "De Regenboog"),
    ];
    let registered: Registered = post(&stack, QUESTIONS_PATH, &set(answers.to_vec()))
        .await
        .expect("set up");
    assert_eq!(
        slot(&registered, Slot::Questions).source,
        Some(Source::User)
    );
    let db = stack.server.database_bytes();
    assert!(
        !db.windows(8).any(|w| w == b"Whiskers" || w == b"whiskers"),
        "answers are never stored in clear"
    );

    let (flow_id, gate) = to_gate(&stack, "reg.questions", Purpose::Reset).await;
    let Ok(Challenge::Questions { asked }) =
        choose(&stack, &flow_id, &gate, Method::Questions, None).await
    else {
        panic!("questions");
    };
    assert_eq!(asked.len(), 2);
    let answer_of = |q: &Question| {
        answers
            .iter()
            .find(|(a, _)| a == q)
            .map(|(_, a)| *a)
            .expect("asked only registered questions")
    };
    let submit = |answers: Vec<String>| {
        let body = Answers {
            lang: None,
            flow_id: flow_id.clone(),
            answers,
        };
        let stack = &stack;
        async move { post::<_, AfterGate>(stack, ANSWERS_PATH, &body).await }
    };
    let err = submit(vec![answer_of(&asked[0]).into(), "wrong answer".into()])
        .await
        .expect_err("one wrong");
    assert_eq!(
        (err.1.code, err.1.attempts_left),
        (ErrorCode::AnswersWrong, Some(4))
    );
    // Case, spacing and punctuation do not matter.
    let loose: Vec<String> = asked
        .iter()
        .map(|q| format!("  {}!", answer_of(q).to_uppercase().replace('.', "")))
        .collect();
    let step = new_password(submit(loose).await.expect("right answers"));
    assert_eq!(step.names.account_name, "reg.questions");
}

#[tokio::test]
async fn texts_never_go_to_premium_or_foreign_numbers_and_stop_at_the_daily_cap() {
    let dc = samba::shared();
    dc.create_user(
        "reg.fraud",
        "Reg-Passw0rd!",
        Some("reg.fraud@corp.example.test"),
        "Fred Fraud",
    )
    .expect("user");
    let gateway = RecordingGateway::start();
    let toml = format!(
        "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\n\n[limits]\npaid_sends_per_day = 1\n",
        gateway.url
    );
    let stack = Stack::start(dc, |o| o.extra_toml = toml).await;
    let session = sign_in(&stack, "reg.fraud", "Reg-Passw0rd!")
        .await
        .expect("signed in")
        .session;
    let add = |value: &str| {
        let body = AddContact {
            session: session.clone(),
            slot: Slot::Mobile,
            value: value.into(),
        };
        let stack = &stack;
        async move { post::<_, CodeSent>(stack, ADD_PATH, &body).await }
    };
    // A premium-rate number, and a Belgian mobile where only Dutch numbers are known: nothing
    // is sent, and the user hears "we could not send the code".
    for number in ["0900 1234567", "+32 470 12 34 56"] {
        let err = add(number).await.expect_err(number);
        assert_eq!(
            (err.0, err.1.code),
            (StatusCode::BAD_GATEWAY, ErrorCode::SendFailed),
            "{number}"
        );
    }
    // The one paid send of the day goes out; the next is stopped, with an alarm in the log.
    add("06 1234 0091").await.expect("a Dutch mobile");
    gateway.wait_for("+31612340091", 0);
    let err = add("06 1234 0092").await.expect_err("over the cap");
    assert_eq!(err.1.code, ErrorCode::SendFailed);
    assert_eq!(gateway.calls().len(), 1, "one paid send in all");
    assert!(
        stack.server.log().contains("ALARM"),
        "the cap raises an alarm in the log"
    );
    let db = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(db.contains("premium-rate number") && db.contains("country code +32 is not allowed"));
}
