//! Two agents for one directory: the server spreads the work over both, notices a hung one
//! within two heartbeats and routes new work to the other, and a flow whose password was sealed
//! to the hung one gets a clear "press again" with the live agent's key instead of a hang.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sspr_protocol::reset::{FlowRef, NewPasswordStep, Purpose, KEY_PATH};
use sspr_protocol::ErrorCode;
use sspr_tests::api::{change_key, post, submit_password, to_gate, to_new_password};
use sspr_tests::processes::AgentProcess;
use sspr_tests::samba;
use sspr_tests::stack::Stack;

use crate::agent_ad::bind_as;

/// The agent keys the server hands out over `calls` calls (it spreads over the live agents).
async fn keys_handed_out(stack: &Stack, calls: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    for _ in 0..calls {
        seen.insert(change_key(stack).await.agent_key.key_id);
    }
    seen
}

fn lookups(log: &str) -> usize {
    log.matches("\"event_id\":1200").count()
}

#[tokio::test]
async fn two_agents_share_the_work_and_a_hung_one_is_routed_around() {
    let dc = samba::shared();
    let (user, mail) = ("ha.user", "ha.user@corp.example.test");
    dc.create_user(user, "Old-Passw0rd!", Some(mail), "Ha User")
        .expect("user");
    let stack = Stack::start(dc, |_| {}).await;
    let mut second = AgentProcess::onboard(&stack.server, dc);
    second.start();
    let (first_key, second_key) = (stack.agent.rsa_key_id(), second.rsa_key_id());
    let both = HashSet::from([first_key.clone(), second_key.clone()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while keys_handed_out(&stack, 4).await != both {
        assert!(Instant::now() < deadline, "both agents never came up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The lookups of four flows go to both agents.
    for i in 0..4 {
        to_gate(&stack, &format!("ha.nobody{i}"), Purpose::Reset).await;
    }
    assert!(
        lookups(&stack.agent.log()) > 0 && lookups(&second.log()) > 0,
        "both agents did lookups"
    );

    // A user reaches the new-password step with one agent's key; that agent's host hangs.
    let (flow_id, step) = to_new_password(&stack, &dc.upn(user), mail, 0).await;
    let (hung, live_key) = if step.agent_key.key_id == first_key {
        (&stack.agent, second_key.clone())
    } else {
        (&second, first_key.clone())
    };
    hung.pause();
    let paused = Instant::now();

    // Within two heartbeats (2 s each here) the server hands out only the live agent's key.
    let only_live = HashSet::from([live_key.clone()]);
    while keys_handed_out(&stack, 4).await != only_live {
        assert!(
            paused.elapsed() < Duration::from_secs(8),
            "the hung agent is still used after {:?}",
            paused.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Two heartbeats, plus a second for the whole-second clocks the check compares.
    let noticed = paused.elapsed();
    assert!(
        noticed <= Duration::from_secs(5),
        "noticed after {noticed:?}"
    );

    // The password sealed to the hung agent's key: a clear answer at once, not a hang.
    let started = Instant::now();
    let moved = submit_password(&stack, &flow_id, &step.agent_key, "Ha-New-Pw-1!")
        .await
        .expect_err("the agent is gone");
    assert_eq!(
        (moved.0, moved.1.code),
        (StatusCode::CONFLICT, ErrorCode::AgentChanged)
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The browser takes the live agent's key for the same flow, and the reset goes through.
    let fresh: NewPasswordStep = post(
        &stack,
        KEY_PATH,
        &FlowRef {
            flow_id: flow_id.clone(),
        },
    )
    .await
    .expect("a fresh key");
    assert_eq!(fresh.agent_key.key_id, live_key);
    let done = submit_password(&stack, &flow_id, &fresh.agent_key, "Ha-New-Pw-1!")
        .await
        .expect("reset through the live agent");
    assert_eq!(done.account_name, user);
    bind_as(dc, user, "Ha-New-Pw-1!")
        .await
        .expect("AD has the new password");
    hung.resume();
}
