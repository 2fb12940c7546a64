//! The gates through the HTTP API against the real stack: texts and calls through both provider
//! flavours (to a recording gateway), authenticator codes checked against `oathtool`, two gates
//! for helpdesk members, phone-number confirmation, and the limits on codes and sends.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use sha2::Sha256;
use sspr_protocol::gate::{
    AfterGate, Challenge, Delivery, DeliveryState, Gate, Method, DELIVERY_PATH,
};
use sspr_protocol::reset::{FlowRef, Purpose};
use sspr_protocol::ErrorCode;
use sspr_tests::api::{choose, new_password, post, submit_code, to_gate, to_mail_code};
use sspr_tests::gateway::{ProviderCall, RecordingGateway};
use sspr_tests::samba::{self, SambaDc};
use sspr_tests::stack::Stack;

use crate::agent_ad::admin_replace;

const WEBHOOK_SECRET: &str = "webhook-test-secret";

#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    Webhook,
    Twilio,
}

fn phone_toml(flavour: Flavour, gateway: &RecordingGateway) -> String {
    match flavour {
        Flavour::Webhook => format!(
            "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n",
            gateway.url
        ),
        Flavour::Twilio => format!(
            "[phone]\nprovider = \"twilio\"\ntwilio_base_url = \"{}\"\ntwilio_account_sid = \"AC123\"\ntwilio_auth_token = \"tw-token\"\ntwilio_from = \"+3197010000000\"\n",
            gateway.url
        ),
    }
}

/// A user whose mobile and office numbers come from AD (pre-populated, nothing registered).
async fn user_with_phones(dc: &SambaDc, name: &str, display: &str, mobile: &str, office: &str) {
    dc.create_user(
        name,
        "Old-Passw0rd!",
        Some(&format!("{name}@corp.example.test")),
        display,
    )
    .expect("user");
    admin_replace(dc, name, "mobile", mobile).await;
    admin_replace(dc, name, "telephoneNumber", office).await;
}

/// Checks the request is what the provider flavour expects and returns whether it was a call.
fn check_provider_request(flavour: Flavour, call: &ProviderCall) -> bool {
    match flavour {
        Flavour::Webhook => {
            assert_eq!(call.path, "/send");
            let timestamp = call.header("x-sspr-timestamp").expect("timestamp header");
            let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("key");
            mac.update(format!("{timestamp}.{}", call.body).as_bytes());
            let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
            assert_eq!(call.header("x-sspr-signature"), Some(expected.as_str()));
            call.json()["channel"] == "voice"
        }
        Flavour::Twilio => {
            let auth = base64::engine::general_purpose::STANDARD.encode("AC123:tw-token");
            assert_eq!(
                call.header("authorization"),
                Some(format!("Basic {auth}").as_str())
            );
            assert_eq!(
                call.form().get("From").map(String::as_str),
                Some("+3197010000000")
            );
            let is_call = call.path.ends_with("/Calls.json");
            assert!(
                is_call || call.path == "/2010-04-01/Accounts/AC123/Messages.json",
                "{}",
                call.path
            );
            is_call
        }
    }
}

async fn delivery(stack: &Stack, flow_id: &str) -> Delivery {
    sspr_tests::wait_for_async(
        "the delivery outcome",
        std::time::Duration::from_secs(20),
        || async {
            let state: DeliveryState = post(
                stack,
                DELIVERY_PATH,
                &FlowRef {
                    flow_id: flow_id.into(),
                },
            )
            .await
            .expect("delivery");
            (state.delivery != Delivery::Pending).then_some(state.delivery)
        },
    )
    .await
}

/// Text, then call: each code arrives at the gateway in the flavour's format and passes its
/// gate; a mistyped number sends nothing; a refusing provider is reported.
/// Samba names the entry after the display name, so each user needs its own.
async fn texts_and_calls(flavour: Flavour, name: &str, display: &str, digits: &str) {
    let dc = samba::shared();
    let mobile = format!("+316123456{digits}");
    let office = format!("020 555 01{digits}");
    user_with_phones(dc, name, display, &mobile, &office).await;
    let gateway = RecordingGateway::start();
    let toml = phone_toml(flavour, &gateway);
    let stack = Stack::start(dc, |o| o.extra_toml = toml).await;

    let (flow_id, gate) = to_gate(&stack, name, Purpose::Reset).await;
    let offered: Vec<(Method, String)> = gate
        .offers
        .iter()
        .map(|o| (o.method, o.masked.clone()))
        .collect();
    assert_eq!(
        offered,
        [
            (
                Method::Mail,
                format!("{}•••••@c•••.example.test", &name[..1])
            ),
            (Method::MobileText, format!("+31 6 ••••••{digits}")),
            (Method::MobileCall, format!("+31 6 ••••••{digits}")),
            (Method::OfficeCall, format!("+31 2 ••••••{digits}")),
        ],
        "directory numbers count as registered, masked"
    );

    // A number that does not match sends nothing and costs a try.
    let err = choose(
        &stack,
        &flow_id,
        &gate,
        Method::MobileText,
        Some("+31 6 1111 1111"),
    )
    .await
    .expect_err("mismatch");
    assert_eq!(
        (err.0, err.1.code, err.1.attempts_left),
        (StatusCode::BAD_REQUEST, ErrorCode::PhoneMismatch, Some(2))
    );
    // The number as people write it at home.
    let typed = format!("06 123456{digits}");
    let Ok(Challenge::Code(sent)) =
        choose(&stack, &flow_id, &gate, Method::MobileText, Some(&typed)).await
    else {
        panic!("a texted code");
    };
    assert_eq!(sent.method, Method::MobileText);
    let text = gateway.wait_for(&mobile, 0);
    assert!(
        !check_provider_request(flavour, &text),
        "a text, not a call"
    );
    assert_eq!(delivery(&stack, &flow_id).await, Delivery::Sent);
    let code = text.code().expect("a code in the text");
    assert_eq!(code.len(), 8);
    new_password(
        submit_code(&stack, &flow_id, &code)
            .await
            .expect("texted code"),
    );
    assert_eq!(
        gateway.calls().len(),
        1,
        "the mismatched number got nothing"
    );

    // The office phone is called and the code read out twice.
    let office_e164 = format!("+312055501{digits}");
    let (flow_id, gate) = to_gate(&stack, name, Purpose::Reset).await;
    let Ok(Challenge::Code(_)) =
        choose(&stack, &flow_id, &gate, Method::OfficeCall, Some(&office)).await
    else {
        panic!("a call");
    };
    let call = gateway.wait_for(&office_e164, 0);
    assert!(check_provider_request(flavour, &call), "a call");
    let code = call.code().expect("a code read out");
    let spoken = code
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(call.text().matches(&spoken).count(), 2, "{}", call.text());
    new_password(
        submit_code(&stack, &flow_id, &code)
            .await
            .expect("spoken code"),
    );

    // A provider that refuses: the code page hears "failed", the audit log keeps the answer.
    gateway.refuse_with(400);
    let (flow_id, gate) = to_gate(&stack, name, Purpose::Reset).await;
    choose(&stack, &flow_id, &gate, Method::MobileCall, Some(&mobile))
        .await
        .expect("accepted for sending");
    assert_eq!(delivery(&stack, &flow_id).await, Delivery::Failed);
    let db = String::from_utf8_lossy(&stack.server.database_bytes()).into_owned();
    assert!(
        db.contains("code_send_failed") && db.contains("refused by the test gateway"),
        "the provider's answer is in the audit log"
    );
}

#[tokio::test]
async fn texts_and_calls_go_through_the_signed_webhook() {
    texts_and_calls(Flavour::Webhook, "gate.webhook", "Wendy Webhook", "41").await;
}

#[tokio::test]
async fn texts_and_calls_go_through_the_twilio_api() {
    texts_and_calls(Flavour::Twilio, "gate.twilio", "Tilly Twilio", "52").await;
}

#[tokio::test]
async fn helpdesk_members_always_pass_two_gates_of_different_families() {
    let dc = samba::shared();
    user_with_phones(
        dc,
        "gate.helpdesk",
        "Hilda Helpdesk",
        "+31612345663",
        "020 555 0163",
    )
    .await;
    // A member through a nested group: "Desk Team" is itself a member of "Helpdesk".
    dc.add_to_group("Desk Team", "gate.helpdesk")
        .expect("member");
    dc.add_to_group("Helpdesk", "Desk Team")
        .expect("nested group");
    let gateway = RecordingGateway::start();
    let toml = phone_toml(Flavour::Webhook, &gateway);
    let stack = Stack::start(dc, |o| o.extra_toml = toml).await;

    let (flow_id, gate) = to_gate(&stack, "gate.helpdesk", Purpose::Unlock).await;
    assert_eq!(
        (gate.number, gate.of),
        (1, 2),
        "policy says one; the group says two"
    );
    choose(
        &stack,
        &flow_id,
        &gate,
        Method::MobileText,
        Some("+31612345663"),
    )
    .await
    .expect("text");
    let code = gateway.wait_for("+31612345663", 0).code().expect("code");
    let second: Gate = match submit_code(&stack, &flow_id, &code).await.expect("gate 1") {
        AfterGate::Gate(gate) => gate,
        other => panic!("a second gate, not {other:?}"),
    };
    let left: Vec<Method> = second.offers.iter().map(|o| o.method).collect();
    assert_eq!(
        (second.number, left),
        (2, vec![Method::Mail, Method::OfficeCall]),
        "no second text or call to the same mobile"
    );
    let offer = &second.offers[0];
    // Picking an offer of the passed family is refused even when forged.
    let forged = post::<_, Challenge>(
        &stack,
        sspr_protocol::gate::METHOD_PATH,
        &sspr_protocol::gate::ChooseMethod {
            lang: None,
            flow_id: flow_id.clone(),
            choice: 2,
            phone: Some("+31612345663".into()),
        },
    )
    .await
    .expect_err("mobile again");
    assert_eq!(forged.1.code, ErrorCode::MethodUnavailable);
    assert_eq!(offer.method, Method::Mail);
    choose(&stack, &flow_id, &second, Method::Mail, None)
        .await
        .expect("mail");
    let code = stack
        .smtp
        .wait_for_mail("gate.helpdesk@corp.example.test", 0)
        .code()
        .expect("code");
    match submit_code(&stack, &flow_id, &code).await.expect("gate 2") {
        AfterGate::Completed(done) => assert_eq!(done.account_name, "gate.helpdesk"),
        other => panic!("unlocked, not {other:?}"),
    }
}

#[tokio::test]
async fn the_sixth_wrong_code_and_a_late_code_are_refused() {
    let dc = samba::shared();
    dc.create_user(
        "gate.codes",
        "Old-Passw0rd!",
        Some("gate.codes@corp.example.test"),
        "Cody Codes",
    )
    .expect("user");
    let stack = Stack::start(dc, |o| o.reset_extra = "code_ttl_secs = 3".into()).await;

    let (flow_id, _) = to_mail_code(&stack, "gate.codes", Purpose::Reset).await;
    let code = stack
        .smtp
        .wait_for_mail("gate.codes@corp.example.test", 0)
        .code()
        .expect("code");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let mut answers = Vec::new();
    for _ in 0..6 {
        let e = submit_code(&stack, &flow_id, wrong)
            .await
            .expect_err("wrong");
        answers.push((e.1.code, e.1.attempts_left));
    }
    assert_eq!(
        answers,
        [
            (ErrorCode::WrongCode, Some(4)),
            (ErrorCode::WrongCode, Some(3)),
            (ErrorCode::WrongCode, Some(2)),
            (ErrorCode::WrongCode, Some(1)),
            (ErrorCode::CodeExhausted, None),
            (ErrorCode::CodeExhausted, None),
        ]
    );
    let dead = submit_code(&stack, &flow_id, &code)
        .await
        .expect_err("dead code");
    assert_eq!(
        dead.1.code,
        ErrorCode::CodeExhausted,
        "the right code died with the fifth"
    );

    // Two parallel submissions of the right code: exactly one wins.
    let (flow_id, _) = to_mail_code(&stack, "gate.codes", Purpose::Reset).await;
    let code = stack
        .smtp
        .wait_for_mail("gate.codes@corp.example.test", 1)
        .code()
        .expect("code");
    let (a, b) = tokio::join!(
        submit_code(&stack, &flow_id, &code),
        submit_code(&stack, &flow_id, &code)
    );
    let (won, lost) = match (a, b) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        other => panic!("exactly one must win: {other:?}"),
    };
    new_password(won);
    assert_eq!(lost.1.code, ErrorCode::WrongStep);

    // A right code that comes too late.
    let (flow_id, _) = to_mail_code(&stack, "gate.codes", Purpose::Reset).await;
    let code = stack
        .smtp
        .wait_for_mail("gate.codes@corp.example.test", 2)
        .code()
        .expect("code");
    tokio::time::sleep(std::time::Duration::from_millis(3_200)).await;
    let late = submit_code(&stack, &flow_id, &code)
        .await
        .expect_err("late");
    assert_eq!(late.1.code, ErrorCode::CodeExpired);
}

#[tokio::test]
async fn a_burst_for_one_destination_sends_at_most_the_limit() {
    let dc = samba::shared();
    dc.create_user(
        "gate.burst",
        "Old-Passw0rd!",
        Some("gate.burst@corp.example.test"),
        "Bert Burst",
    )
    .expect("user");
    // Enough flows from one address to reach the destination's limit, not the address's.
    let stack = Stack::start(dc, |o| {
        o.extra_toml =
            "[limits]\nflow_starts_per_address = 100\nflow_starts_per_account = 100\n".into()
    })
    .await;
    let mut flows = Vec::new();
    for _ in 0..25 {
        flows.push(to_gate(&stack, "gate.burst", Purpose::Reset).await);
    }
    let mut sent = 0;
    let mut refused = 0;
    for batch in 0..20 {
        // Fifty at a time, spread over the flows.
        let answers = futures_util::future::join_all((0..50).map(|i| {
            let (flow_id, gate) = &flows[(batch * 50 + i) % flows.len()];
            choose(&stack, flow_id, gate, Method::Mail, None)
        }))
        .await;
        for answer in answers {
            match answer {
                Ok(Challenge::Code(_)) => sent += 1,
                Err((status, error)) => {
                    assert_eq!(
                        (status, error.code),
                        (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests)
                    );
                    assert!(error.retry_after_secs.is_some_and(|s| s > 0), "says when");
                    refused += 1;
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(
        (sent, refused),
        (3, 997),
        "three sends per destination per 15 minutes"
    );
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let mails = stack
        .smtp
        .mails()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.contains("gate.burst@")))
        .count();
    assert_eq!(mails, 3, "at most the limit went out");
}

/// A JSON value's shape: the same keys and kinds, strings by their length in characters.
fn shape(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::from(s.chars().count()),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Number(_) => Value::from("number"),
        other => other.clone(),
    }
}

#[tokio::test]
async fn real_and_unknown_accounts_answer_alike_in_shape_and_time() {
    use sspr_protocol::reset::{CaptchaAnswer, StartRequest, Started, CAPTCHA_PATH, START_PATH};
    let dc = samba::shared();
    dc.create_user(
        "gate.real",
        "Old-Passw0rd!",
        Some("gate.real@corp.example.test"),
        "Rita Real",
    )
    .expect("user");
    // No account here has a phone or an app, so neither do the decoys.
    let stack = Stack::start(dc, |o| {
        o.reset_extra = "decoy_phone_percent = 0\ndecoy_authenticator_percent = 0".into();
        o.extra_toml = "[limits]\nflow_starts_per_address = 1000\nflow_starts_per_account = 1000\nsends_per_destination = 1000\nsends_per_destination_per_day = 1000\n".into();
    })
    .await;
    let timed_post = |path: &'static str, body: serde_json::Value| {
        let request = stack.http.post(stack.api(path)).json(&body);
        async move {
            let begin = std::time::Instant::now();
            let response = request.send().await.expect("request");
            let status = response.status();
            let json: serde_json::Value = response.json().await.expect("json");
            (begin.elapsed(), status, json)
        }
    };
    let mut times: [[Vec<std::time::Duration>; 2]; 2] = Default::default();
    for round in 0..200 {
        let mut answers = Vec::new();
        // Alternate which goes first, so neither always meets a warmer cache.
        let names = if round % 2 == 0 {
            ["gate.real", "gate.nobody"]
        } else {
            ["gate.nobody", "gate.real"]
        };
        for name in names {
            let start = serde_json::to_value(StartRequest {
                username: name.into(),
                lang: Default::default(),
                purpose: Purpose::Reset,
            })
            .expect("json");
            let (t1, s1, started) = timed_post(START_PATH, start).await;
            let started: Started = serde_json::from_value(started.clone()).expect("started");
            let solution = sspr_tests::api::solve(&started);
            let answer = serde_json::to_value(CaptchaAnswer {
                flow_id: started.flow_id.clone(),
                solution,
            })
            .expect("json");
            let (t2, s2, gate) = timed_post(CAPTCHA_PATH, answer).await;
            let real = usize::from(name == "gate.nobody");
            times[0][real].push(t1);
            times[1][real].push(t2);
            answers.push((
                s1,
                s2,
                shape(&serde_json::to_value(&started).expect("json")),
                shape(&gate),
            ));
        }
        assert_eq!(
            answers[0], answers[1],
            "round {round}: status, shape and lengths match"
        );
    }
    for (step, [real, unknown]) in ["start", "captcha"].iter().zip(times.iter_mut()) {
        real.sort();
        unknown.sort();
        let (a, b) = (real[100].as_secs_f64(), unknown[100].as_secs_f64());
        let difference = (a - b).abs() / a.min(b);
        eprintln!(
            "{step}: medians {:.2} ms (real) and {:.2} ms (unknown)",
            a * 1e3,
            b * 1e3
        );
        assert!(
            difference < 0.10,
            "{step}: median {:.2} ms for the real account, {:.2} ms for the unknown one ({:.0} % apart)",
            a * 1e3,
            b * 1e3,
            difference * 100.0
        );
    }
}
