//! What an outside probe with a script tries (issue 10): racing a cooldown, flooding a name,
//! telling real accounts from unknown names by their offers, masks or timing, and what the
//! operator sees of it. Each runs against the real stack.

use reqwest::StatusCode;
use sspr_protocol::captcha::{Captcha, CaptchaSolution, PowSolution};
use sspr_protocol::gate::{
    Challenge, ChooseMethod, Delivery, DeliveryState, Method, DELIVERY_PATH, METHOD_PATH,
};
use sspr_protocol::relay::{CHECK_PATH, RELAY_PATH};
use sspr_protocol::reset::{
    CaptchaAnswer, FlowRef, Purpose, StartRequest, Started, CAPTCHA_PATH, START_PATH,
};
use sspr_protocol::{ApiError, ErrorCode};
use sspr_tests::api::{
    post, submit_code, submit_password, to_gate, to_mail_code, to_new_password, try_to_gate,
};
use sspr_tests::gateway::RecordingGateway;
use sspr_tests::samba;
use sspr_tests::stack::Stack;

/// 101 parallel picks of the mail method on one fresh flow send exactly one code.
async fn parallel_picks_send_one_code(database: Option<String>, name: &str, display: &str) {
    let dc = samba::shared();
    let mail = format!("{name}@corp.example.test");
    dc.create_user(name, "Old-Passw0rd!", Some(&mail), display)
        .expect("user");
    let stack = Stack::start(dc, |o| {
        o.database = database;
        // The send limits are not what this test is about: let every pick reach the flow.
        o.extra_toml =
            "[limits]\nsends_per_destination = 1000\nsends_per_destination_per_day = 1000\n".into();
    })
    .await;
    let (flow_id, gate) = to_gate(&stack, name, Purpose::Reset).await;
    let choice = gate
        .offers
        .iter()
        .find(|o| o.method == Method::Mail)
        .expect("mail offered")
        .choice;
    let picks = (0..101).map(|_| {
        let (stack, flow_id) = (&stack, flow_id.clone());
        async move {
            post::<_, Challenge>(
                stack,
                METHOD_PATH,
                &ChooseMethod {
                    lang: None,
                    flow_id,
                    choice,
                    phone: None,
                },
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(picks).await;
    let sent = answers.iter().filter(|a| a.is_ok()).count();
    let cooled = answers
        .iter()
        .filter(|a| matches!(a, Err((StatusCode::TOO_MANY_REQUESTS, e)) if e.code == ErrorCode::TooManyRequests))
        .count();
    assert_eq!(sent, 1, "one pick sends: {answers:?}");
    assert_eq!(cooled, 100, "the others hear the cooldown: {answers:?}");
    stack.smtp.wait_for_mail(&mail, 0);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(stack.smtp.mails_to(&mail).len(), 1, "exactly one mail left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_picks_send_one_code_on_sqlite() {
    parallel_picks_send_one_code(None, "racepick1", "Race Pick One").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_picks_send_one_code_on_postgresql() {
    let database = tokio::task::spawn_blocking(|| sspr_tests::postgres::shared().database())
        .await
        .expect("database");
    parallel_picks_send_one_code(Some(database), "racepick2", "Race Pick Two").await;
}

/// An HTTP client whose connections come from `address` (another loopback address is another
/// client to the server's per-address limits).
fn client_from(address: &str) -> reqwest::Client {
    sspr_agent::tls::install_crypto_provider();
    reqwest::Client::builder()
        .local_address(Some(address.parse().expect("an address")))
        .build()
        .expect("client")
}

async fn start_from(
    client: &reqwest::Client,
    stack: &Stack,
    username: &str,
) -> (StatusCode, serde_json::Value) {
    let response = client
        .post(stack.api(START_PATH))
        .json(&StartRequest {
            username: username.into(),
            lang: Default::default(),
            purpose: Purpose::Reset,
        })
        .send()
        .await
        .expect("start");
    let status = response.status();
    (status, response.json().await.expect("json body"))
}

fn audit_text(stack: &Stack) -> String {
    String::from_utf8_lossy(&stack.server.database_bytes()).into_owned()
}

/// Log lines (JSON) whose fields hold `event` = `name`.
fn log_events(stack: &Stack, name: &str) -> Vec<serde_json::Value> {
    stack
        .server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["event"] == name)
        .collect()
}

async fn metric(stack: &Stack, sample: &str) -> f64 {
    let text = stack
        .http
        .get(stack.api("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Someone floods a person's name with flow starts from several addresses, without solving a
/// CAPTCHA: the person still resets. The name's own limit counts only flows past the CAPTCHA,
/// and is still there: the eleventh such flow is refused, logged, audited and counted.
#[tokio::test]
async fn flooding_a_name_keeps_nobody_out_and_the_name_limit_holds_after_the_captcha() {
    let dc = samba::shared();
    let mail = "flood.target@corp.example.test";
    dc.create_user(
        "flood.target",
        "Old-Passw0rd!",
        Some(mail),
        "Flora Floodtarget",
    )
    .expect("user");
    let stack = Stack::start(dc, |_| {}).await;
    for octet in 20..24 {
        let attacker = client_from(&format!("127.0.0.{octet}"));
        for _ in 0..15 {
            let (status, body) = start_from(&attacker, &stack, "flood.target").await;
            assert_eq!(
                status,
                StatusCode::OK,
                "an address's own limit is 30: {body}"
            );
        }
    }
    let (flow_id, step) = to_new_password(&stack, "flood.target", mail, 0).await;
    submit_password(&stack, &flow_id, &step.agent_key, "Flooded-0ut-N0t!")
        .await
        .expect("the owner resets while their name is flooded");
    crate::agent_ad::bind_as(dc, "flood.target", "Flooded-0ut-N0t!")
        .await
        .expect("the new password binds");

    // Past the CAPTCHA the name's limit (10 per 15 minutes) still counts: one lookup above
    // was the owner's.
    for i in 1..10 {
        try_to_gate(&stack, "flood.target", Purpose::Reset)
            .await
            .unwrap_or_else(|e| panic!("lookup {i}: {e:?}"));
    }
    let refused = try_to_gate(&stack, "CORP\\flood.target", Purpose::Reset).await;
    assert!(
        matches!(&refused, Err((StatusCode::TOO_MANY_REQUESTS, e)) if e.code == ErrorCode::TooManyRequests),
        "{refused:?}"
    );
    let Err((_, error)) = refused else {
        unreachable!()
    };
    assert!(
        !error.message.contains('{') && error.message.contains("UTC"),
        "the message names a time: {}",
        error.message
    );
    assert!(audit_text(&stack).contains("rate_limited"));
    let logged = log_events(&stack, "rate_limited");
    assert!(
        logged
            .iter()
            .any(|l| l["fields"]["limit"] == "account_lookup"
                && l["fields"]["subject"] == "flood.target"),
        "a log line names the limit and the name: {logged:?}"
    );
    assert_eq!(
        metric(
            &stack,
            "sspr_limit_refusals_total{limit=\"account_lookup\"}"
        )
        .await,
        1.0
    );
}

/// Wrong codes, an exhausted code and a failed CAPTCHA each leave a log line, an audit record
/// and a count — and nowhere the code that was typed.
#[tokio::test]
async fn wrong_guesses_are_logged_audited_and_counted_without_what_was_typed() {
    let dc = samba::shared();
    let mail = "guess.watch@corp.example.test";
    dc.create_user("guess.watch", "Old-Passw0rd!", Some(mail), "Gus Guesswatch")
        .expect("user");
    let stack = Stack::start(dc, |_| {}).await;
    let (flow_id, _) = to_mail_code(&stack, "guess.watch", Purpose::Reset).await;
    let right = stack.smtp.wait_for_mail(mail, 0).code().expect("a code");
    let wrong = if right == "97531864" {
        "97531865"
    } else {
        "97531864"
    };
    for _ in 0..5 {
        submit_code(&stack, &flow_id, wrong)
            .await
            .expect_err("a wrong code");
    }
    let started: Started = post(
        &stack,
        START_PATH,
        &StartRequest {
            username: "guess.watch".into(),
            lang: Default::default(),
            purpose: Purpose::Reset,
        },
    )
    .await
    .expect("start");
    let Captcha::ProofOfWork(challenge) = &started.captcha else {
        panic!("proof of work")
    };
    let unsolved = (0..u64::MAX)
        .map(|nonce| PowSolution { nonce })
        .find(|s| !challenge.accepts(*s))
        .expect("a nonce that does not solve it");
    let failed = post::<_, sspr_protocol::gate::Gate>(
        &stack,
        CAPTCHA_PATH,
        &CaptchaAnswer {
            flow_id: started.flow_id,
            solution: CaptchaSolution::ProofOfWork(unsolved),
        },
    )
    .await;
    assert!(matches!(failed, Err((_, e)) if e.code == ErrorCode::CaptchaFailed));

    let reasons: Vec<String> = log_events(&stack, "guess_failed")
        .iter()
        .map(|l| {
            assert_eq!(l["fields"]["subject"], "guess.watch@corp.example.test");
            assert_eq!(l["fields"]["address"], "127.0.0.1");
            l["fields"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "WrongCode",
            "WrongCode",
            "WrongCode",
            "WrongCode",
            "CodeExhausted",
            "CaptchaFailed"
        ]
    );
    for (reason, count) in [
        ("wrong_code", 4.0),
        ("code_exhausted", 1.0),
        ("captcha_failed", 1.0),
    ] {
        let sample = format!("sspr_failed_guesses_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&stack, &sample).await, count, "{sample}");
    }
    let audit = audit_text(&stack);
    assert!(
        audit.matches("guess_failed").count() >= 6,
        "six audit records"
    );
    for place in [audit, stack.server.log()] {
        assert!(!place.contains(wrong), "the typed code is kept nowhere");
    }
}

/// The offers of a gate as a user sees them: method and mask, in order.
fn offers(gate: &sspr_protocol::gate::Gate) -> Vec<(Method, String)> {
    gate.offers
        .iter()
        .map(|o| (o.method, o.masked.clone()))
        .collect()
}

/// Every spelling of a real name shows that name's real offers, and every spelling of an
/// unknown name shows one decoy: comparing spellings tells nothing. What AD could never match
/// is refused alike for both, before any lookup.
#[tokio::test]
async fn every_spelling_of_a_name_gets_the_same_offers_real_or_not() {
    let dc = samba::shared();
    dc.create_user(
        "kees.kok",
        "Old-Passw0rd!",
        Some("kees.kok@corp.example.test"),
        "Kees Kok",
    )
    .expect("user");
    let stack = Stack::start(dc, |o| {
        o.extra_toml =
            "[limits]\nflow_starts_per_account = 100\nflow_starts_per_address = 100\n".into();
    })
    .await;
    for name in ["kees.kok", "kees.nope"] {
        let (_, plain) = to_gate(&stack, name, Purpose::Reset).await;
        let upper = name.to_uppercase();
        let kelvin = name.replacen('k', "\u{212A}", 1);
        for spelling in [
            format!("CORP\\{name}"),
            format!("{name}@CORP"),
            format!("{name}@corp.example.test."),
            format!("{upper}@Corp.Example.Test"),
            kelvin,
            format!("  {name} "),
        ] {
            let (_, gate) = to_gate(&stack, &spelling, Purpose::Reset).await;
            assert_eq!(offers(&gate), offers(&plain), "{spelling} of {name}");
        }
        for (spelling, code) in [
            (format!("{name}@gmail.com"), ErrorCode::UnknownDomain),
            (format!("OTHER\\{name}"), ErrorCode::UnknownDomain),
            (format!("{name}\u{200B}"), ErrorCode::InvalidUsername),
            (format!("\u{202E}{name}"), ErrorCode::InvalidUsername),
        ] {
            let refused = post::<_, Started>(
                &stack,
                START_PATH,
                &StartRequest {
                    username: spelling.clone(),
                    lang: Default::default(),
                    purpose: Purpose::Reset,
                },
            )
            .await;
            match refused {
                Err((StatusCode::BAD_REQUEST, e)) => {
                    assert_eq!(e.code, code, "{spelling}");
                }
                other => panic!("{spelling}: {other:?}"),
            }
        }
    }
}

/// Decoy mobiles are numbers of the region masked like real ones, and a decoy's mail mask
/// starts with a plain letter or digit whatever the typed name starts with.
#[tokio::test]
async fn decoy_masks_look_like_real_ones() {
    let dc = samba::shared();
    let gateway = RecordingGateway::start();
    let stack = Stack::start(dc, |o| {
        o.reset_extra = "decoy_phone_percent = 100\n".into();
        o.extra_toml = format!(
            "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\nwebhook_secret = \"s\"\n\n[limits]\nflow_starts_per_address = 100\n",
            gateway.url
        );
    })
    .await;
    // `+31 6 ••••••NN`, as a real Dutch mobile is masked.
    let mobile_mask = |mask: &str| {
        mask.strip_prefix("+31 6 ").is_some_and(|rest| {
            let chars: Vec<char> = rest.chars().collect();
            chars.len() == 8
                && chars[..6].iter().all(|&c| c == '•')
                && chars[6..].iter().all(char::is_ascii_digit)
        })
    };
    for i in 0..40 {
        let name = match i % 4 {
            0 => format!("(nobody{i}"),
            1 => format!("_nobody{i}"),
            2 => format!("Émile{i}"),
            _ => format!("nobody{i}"),
        };
        let (_, gate) = to_gate(&stack, &name, Purpose::Reset).await;
        for (method, mask) in offers(&gate) {
            match method {
                Method::MobileText | Method::MobileCall => {
                    assert!(mobile_mask(&mask), "{name}: {mask}")
                }
                Method::Mail => {
                    let first = mask.chars().next().expect("a mask");
                    assert!(
                        first.is_ascii_lowercase() || first.is_ascii_digit(),
                        "{name}: {mask}"
                    );
                }
                _ => {}
            }
        }
    }
}

/// How long after a mail pick's answer the flow's delivery stops reading "pending".
async fn time_to_delivered(stack: &Stack, username: &str) -> std::time::Duration {
    let (flow_id, _) = to_mail_code(stack, username, Purpose::Reset).await;
    let picked = std::time::Instant::now();
    loop {
        let state: DeliveryState = post(
            stack,
            DELIVERY_PATH,
            &FlowRef {
                flow_id: flow_id.clone(),
            },
        )
        .await
        .expect("delivery");
        match state.delivery {
            Delivery::Pending => tokio::time::sleep(std::time::Duration::from_millis(2)).await,
            Delivery::Sent => return picked.elapsed(),
            Delivery::Failed => panic!("{username}: the mail failed"),
        }
    }
}

/// The value at `q` (0..=1) of sorted durations.
fn quantile(sorted: &[std::time::Duration], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i].as_secs_f64()
}

/// A decoy's "sending…" lasts as long as a real send: measured over interleaved flows for a
/// real account and an unknown name, the two distributions' quartiles are alike (compared as
/// ratios in one run, never against a fixed time).
#[tokio::test]
async fn a_decoy_delivery_takes_as_long_as_a_real_one() {
    let dc = samba::shared();
    let mail = "timing.real@corp.example.test";
    dc.create_user("timing.real", "Old-Passw0rd!", Some(mail), "Tim Timingreal")
        .expect("user");
    let stack = Stack::start(dc, |o| {
        o.extra_toml = "[limits]\nflow_starts_per_address = 1000\nflow_starts_per_account = 1000\n\
                        sends_per_destination = 1000\nsends_per_destination_per_day = 1000\n"
            .into();
    })
    .await;
    const ROUNDS: usize = 25;
    let (mut real, mut decoy) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        real.push(time_to_delivered(&stack, "timing.real").await);
        decoy.push(time_to_delivered(&stack, "timing.nobody").await);
    }
    assert_eq!(
        stack.smtp.mails_to(mail).len(),
        ROUNDS,
        "every real pick sent a mail"
    );
    real.sort();
    decoy.sort();
    for q in [0.25, 0.5, 0.75] {
        let ratio = quantile(&decoy, q) / quantile(&real, q);
        assert!(
            (0.5..=2.0).contains(&ratio),
            "at the {q} quantile a decoy takes {ratio:.2}× a real send\nreal: {real:?}\ndecoy: {decoy:?}"
        );
    }
}

/// The agent holds a reset and a change to the rules the browser shows, whatever the DC
/// checks: Samba accepts a password holding a display-name token, the agent does not.
#[tokio::test]
async fn the_agent_refuses_what_the_browser_rules_refuse() {
    let dc = samba::shared();
    let mail = "ilse.vermeer@corp.example.test";
    dc.create_user("ilse.vermeer", "Old-Passw0rd!", Some(mail), "Ilse Vermeer")
        .expect("user");
    let stack = Stack::start(dc, |_| {}).await;
    let (flow_id, step) = to_new_password(&stack, "ilse.vermeer", mail, 0).await;
    let refused = submit_password(&stack, &flow_id, &step.agent_key, "Vermeer-Zomer-99x").await;
    assert!(
        matches!(&refused, Err((_, e)) if e.code == ErrorCode::PasswordContainsName),
        "a display-name token: {refused:?}"
    );
    crate::agent_ad::bind_as(dc, "ilse.vermeer", "Vermeer-Zomer-99x")
        .await
        .expect_err("the refused password was not written");
    crate::agent_ad::bind_as(dc, "ilse.vermeer", "Old-Passw0rd!")
        .await
        .expect("the old password still binds");
    submit_password(&stack, &flow_id, &step.agent_key, "Zomer-Tulp-99x")
        .await
        .expect("the same flow takes a password that meets the rules");
    crate::agent_ad::bind_as(dc, "ilse.vermeer", "Zomer-Tulp-99x")
        .await
        .expect("the new password binds");

    let changed =
        crate::api_change::change(&stack, "ilse.vermeer", "Zomer-Tulp-99x", "Tulp-ILSE-2027x")
            .await;
    assert!(
        matches!(changed, Err((_, ErrorCode::PasswordContainsName))),
        "{changed:?}"
    );
    crate::agent_ad::bind_as(dc, "ilse.vermeer", "Zomer-Tulp-99x")
        .await
        .expect("the change was refused before anything was written");
}

/// Refusals speak the API's error shape, name a time when they name one, and tell a stranger
/// nothing about the operator's tools or the server's domains.
#[tokio::test]
async fn refusals_read_right() {
    let server = tokio::task::spawn_blocking(|| {
        sspr_tests::processes::ServerProcess::start(&sspr_tests::processes::ServerOptions::new(
            sspr_tests::processes::free_port(),
        ))
    })
    .await
    .expect("server");
    sspr_agent::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.url);

    let plain = http.get(url(RELAY_PATH)).send().await.expect("relay");
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
    let error: ApiError = plain.json().await.expect("the API's error shape");
    assert_eq!(error.code, ErrorCode::BadRequest);

    let stranger = http
        .get(url(CHECK_PATH))
        .bearer_auth("agt_nobody.secret")
        .send()
        .await
        .expect("check");
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let error: ApiError = stranger.json().await.expect("the API's error shape");
    assert_eq!(error.code, ErrorCode::InvalidToken);
    assert!(!error.message.contains("sspr-server"), "{}", error.message);

    // One server, no agent yet: not "more than one domain".
    let started = http
        .post(url(START_PATH))
        .json(&StartRequest {
            username: "someone".into(),
            lang: Default::default(),
            purpose: Purpose::Reset,
        })
        .send()
        .await
        .expect("start");
    let error: ApiError = started.json().await.expect("the API's error shape");
    assert_eq!(
        error.code,
        ErrorCode::WritebackUnavailable,
        "{}",
        error.message
    );
}
