//! Key rollover on the running agent: `sspr-agent rotate`, a reset sealed to the old key that
//! is in flight across the rollover, and the server sealing to the new keys afterwards.

use std::time::{Duration, Instant};

use sspr_protocol::reset::Completed;
use sspr_tests::api::{change_key, submit_password, to_new_password};
use sspr_tests::samba;
use sspr_tests::stack::Stack;

use crate::agent_ad::bind_as;

/// A field of every captured relay frame going `direction` ('>' to the agent, '<' from it)
/// of `kind`, in order.
fn frame_field(frames: &str, direction: char, kind: &str, pointer: &str) -> Vec<String> {
    frames
        .lines()
        .filter(|l| l.starts_with(direction))
        .filter_map(|l| {
            let json = l.splitn(4, ' ').nth(3)?;
            let message: serde_json::Value = serde_json::from_str(json).ok()?;
            Some(message.get(kind)?.pointer(pointer)?.as_str()?.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_rollover_keeps_requests_in_flight_and_moves_the_server_to_the_new_keys() {
    let dc = samba::shared();
    let (user, mail) = ("keys.rotate", "keys.rotate@corp.example.test");
    dc.create_user(user, "Old-Passw0rd!", Some(mail), "Keys Rotate")
        .expect("user");
    let stack = Stack::start(dc, |o| o.capture_relay = true).await;

    // The browser got the agent's current key, and the user is still typing…
    let (flow_id, step) = to_new_password(&stack, &dc.upn(user), mail, 0).await;
    let old_key = step.agent_key.clone();

    // …when the operator rolls the keys over.
    let (ok, said) = stack.agent.command(&["rotate"], &[]);
    assert!(ok, "{said}");
    assert!(said.contains("rollover requested"), "{said}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(stack.agent.log().contains("\"event_id\":1300")
        && stack.server.log().contains("agent keys rolled over"))
    {
        assert!(
            Instant::now() < deadline,
            "no rollover:\n{}\n{}",
            stack.agent.log(),
            stack.server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let new_key = change_key(&stack).await.agent_key;
    assert_ne!(
        new_key.key_id, old_key.key_id,
        "the server hands out the new key"
    );

    // The password sealed to the old key still goes through, during the grace period.
    let first = "Sealed-Before-Rollover-1";
    let done: Completed = submit_password(&stack, &flow_id, &old_key, first)
        .await
        .expect("a reset sealed to the previous key completes");
    assert_eq!(done.account_name, user);
    bind_as(dc, user, first).await.expect("AD has it");

    // A new flow gets the new key, and its package travels under the new package key.
    stack.smtp.wait_for_mail(mail, 1);
    let (flow_id, step) = to_new_password(&stack, &dc.upn(user), mail, 2).await;
    assert_eq!(step.agent_key.key_id, new_key.key_id);
    let second = "Sealed-After-Rollover-2";
    let _: Completed = submit_password(&stack, &flow_id, &step.agent_key, second)
        .await
        .expect("a reset under the new keys");
    bind_as(dc, user, second).await.expect("AD has it");
    // The package key the agent reported before and after, and the one the server sealed
    // both packages under once it had learnt of the rollover.
    let frames = stack.server.relay_frames();
    let reported = frame_field(&frames, '<', "heartbeat", "/package_key_id");
    let (before, after) = (
        reported.first().expect("heartbeats"),
        reported.last().expect("heartbeats"),
    );
    assert_ne!(before, after, "the agent reported a new package key");
    let used = frame_field(&frames, '>', "apply", "/package/key_id");
    assert_eq!(
        used,
        [after.clone(), after.clone()],
        "both packages under the new key"
    );
}
