//! The relay when it breaks: a package whose answer was lost is sent again and applied once,
//! a package held past its expiry is never applied, and what crosses stays small.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sspr_protocol::reset::Completed;
use sspr_protocol::ErrorCode;
use sspr_tests::api::{submit_password, to_new_password};
use sspr_tests::processes::AgentOptions;
use sspr_tests::proxy::RelayProxy;
use sspr_tests::samba;
use sspr_tests::stack::Stack;

use crate::agent_ad::bind_as;

/// A stack whose agent reaches the server through a proxy the test controls.
async fn behind_proxy(
    dc: &'static samba::SambaDc,
    configure: impl FnOnce(&mut sspr_tests::processes::ServerOptions),
) -> (Stack, RelayProxy) {
    let mut proxy = None;
    let stack = Stack::start_with(dc, configure, |server| {
        let started = RelayProxy::start(&server.url);
        let options = AgentOptions {
            server_url: Some(started.url.clone()),
            ..AgentOptions::default()
        };
        proxy = Some(started);
        options
    })
    .await;
    (stack, proxy.expect("the proxy started"))
}

fn count(log: &str, event: u16) -> usize {
    log.matches(&format!("\"event_id\":{event}")).count()
}

#[tokio::test]
async fn a_package_whose_answer_was_lost_is_sent_again_and_applied_once() {
    let dc = samba::shared();
    let (user, mail) = ("relay.resend", "relay.resend@corp.example.test");
    dc.create_user(user, "Old-Passw0rd!", Some(mail), "Relay Resend")
        .expect("user");
    let (stack, proxy) = behind_proxy(dc, |o| o.capture_relay = true).await;
    let (flow_id, step) = to_new_password(&stack, &dc.upn(user), mail, 0).await;

    // The package reaches the agent, which resets the password; its answer is lost with the
    // connection. The server sends the same package again when the agent is back.
    proxy.cut_after_next_apply();
    let password = "Resent-Once-Pw-93";
    let done: Completed = submit_password(&stack, &flow_id, &step.agent_key, password)
        .await
        .expect("the reset completes despite the broken connection");
    assert_eq!(done.account_name, user);
    assert_eq!(proxy.cuts(), 1, "the connection was cut once");
    assert!(proxy.connections() >= 2, "the agent reconnected");
    bind_as(dc, user, password)
        .await
        .expect("AD accepts the new password");

    let log = stack.agent.log();
    assert_eq!(count(&log, 2000), 1, "reset applied exactly once:\n{log}");
    assert_eq!(count(&log, 3002), 1, "the repeat got the stored result");
    let frames = stack.server.relay_frames();
    let applies: Vec<&str> = frames
        .lines()
        .filter(|l| l.starts_with('>') && l.contains("{\"apply\":"))
        .collect();
    assert_eq!(applies.len(), 2, "the same package went out twice");
    let package_of = |line: &str| line.split("\"package\":").nth(1).map(str::to_owned);
    assert_eq!(package_of(applies[0]), package_of(applies[1]));

    // What crosses the relay for a reset stays within 700 bytes each way on the wire (binary
    // frames, RSA-3072 seal included).
    let outcomes: Vec<&str> = frames
        .lines()
        .filter(|l| l.starts_with('<') && l.contains("\"outcome\""))
        .collect();
    assert!(!outcomes.is_empty(), "the outcome was captured");
    for frame in applies.iter().chain(&outcomes) {
        let fields: Vec<&str> = frame.splitn(4, ' ').collect();
        let [_, _, size, json] = fields[..] else {
            panic!("direction, agent, size, message: {frame}")
        };
        let size: usize = size.parse().expect("a size in bytes");
        println!("relay frame: {size} bytes on the wire: {json}");
        assert!(size <= 700, "{size} bytes: {json}");
    }

    // Stopped the way systemd stops it (SIGTERM), the agent says so and exits; its log is
    // JSON lines throughout (log_json = true).
    let mut stack = stack;
    stack.agent.stop();
    let log = stack.agent.log();
    assert_eq!(count(&log, 1004), 1, "stopped cleanly:\n{log}");
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
}

#[tokio::test]
async fn a_package_held_past_its_expiry_is_never_applied() {
    let dc = samba::shared();
    let (user, mail) = ("relay.expiry", "relay.expiry@corp.example.test");
    let old = "Old-Passw0rd!";
    dc.create_user(user, old, Some(mail), "Relay Expiry")
        .expect("user");
    let (stack, proxy) = behind_proxy(dc, |o| {
        o.relay_extra = "package_ttl_secs = 4\nrequest_timeout_secs = 60".into()
    })
    .await;
    let (flow_id, step) = to_new_password(&stack, &dc.upn(user), mail, 0).await;

    // The server's frames are held up on the way: the server stops waiting at the package's
    // expiry, not at its (longer) relay timeout.
    proxy.hold(true);
    let started = Instant::now();
    let late = submit_password(&stack, &flow_id, &step.agent_key, "Never-Applied-Pw-7")
        .await
        .expect_err("expired on the way");
    assert_eq!(late.1.code, ErrorCode::AgentTimeout);
    assert_eq!(late.0, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered at the expiry, not the relay timeout: {:?}",
        started.elapsed()
    );

    // Released, the package reaches the agent late, and the agent refuses it.
    proxy.hold(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stack.agent.log().contains("expired") {
        assert!(Instant::now() < deadline, "{}", stack.agent.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count(&stack.agent.log(), 2000), 0, "nothing was reset");
    bind_as(dc, user, old)
        .await
        .expect("the old password still works");
}
