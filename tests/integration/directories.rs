//! One server, two directories (two Samba domains, each with its own agent): user IDs route by
//! UPN suffix and `DOMAIN\user`; a bare name asks for the domain (the picker qualifies it); a
//! password sealed to the other directory's agent is sent back for the right key.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sspr_protocol::change::{ChangeRequest, CHANGE_PATH};
use sspr_protocol::reset::{
    Completed, Purpose, StartRequest, Started, Status, START_PATH, STATUS_PATH,
};
use sspr_protocol::seal::seal;
use sspr_protocol::ErrorCode;
use sspr_tests::api::{change_key_of, post, submit_password, to_new_password};
use sspr_tests::processes::AgentProcess;
use sspr_tests::samba::{self, SambaDc};
use sspr_tests::stack::Stack;

use crate::agent_ad::bind_as;

const ONE: &str = "corp.example.test";
const TWO: &str = "corp2.example.test";

async fn reset(stack: &Stack, typed: &str, mail: &str, already: usize, password: &str) {
    let (flow_id, step) = to_new_password(stack, typed, mail, already).await;
    submit_password(stack, &flow_id, &step.agent_key, password)
        .await
        .unwrap_or_else(|e| panic!("reset of {typed}: {e:?}"));
}

async fn dup_binds(dc: &SambaDc, password: &str) -> bool {
    bind_as(dc, "dup", password).await.is_ok()
}

#[tokio::test]
async fn two_domains_route_by_suffix_by_prefix_and_by_the_picked_domain() {
    let (one, two) = (samba::shared(), samba::second());
    // The same account name in both domains, each with its own mailbox.
    let (mail_one, mail_two) = ("dup.one@corp.example.test", "dup.two@corp2.example.test");
    one.create_user("dup", "Start-Passw0rd-1", Some(mail_one), "Dana Oost")
        .expect("user in one");
    two.create_user("dup", "Start-Passw0rd-2", Some(mail_two), "Dana West")
        .expect("user in two");
    let stack = Stack::start(one, |_| {}).await;
    let mut second = AgentProcess::onboard(&stack.server, two);
    second.start();

    // The status lists both, with their NetBIOS names: the pages show a domain picker.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status: Status = stack
            .http
            .get(stack.api(STATUS_PATH))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        if status.directories.len() == 2 {
            break status;
        }
        assert!(Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let names: Vec<(&str, &str)> = status
        .directories
        .iter()
        .map(|d| (d.dns_name.as_str(), d.netbios.as_str()))
        .collect();
    assert_eq!(names, [(ONE, "CORP"), (TWO, "CORP2")]);

    // A bare name could be in either: the user is asked, before anything is looked up.
    let bare = post::<_, Started>(
        &stack,
        START_PATH,
        &StartRequest {
            username: "dup".into(),
            lang: Default::default(),
            purpose: Purpose::Reset,
        },
    )
    .await
    .expect_err("which domain?");
    assert_eq!(
        (bare.0, bare.1.code),
        (StatusCode::BAD_REQUEST, ErrorCode::DirectoryNeeded)
    );

    // By UPN suffix: the code goes to the second domain's user, the reset lands there only.
    reset(
        &stack,
        "dup@corp2.example.test",
        mail_two,
        0,
        "Second-Domain-Pw-1",
    )
    .await;
    assert!(dup_binds(two, "Second-Domain-Pw-1").await);
    assert!(
        dup_binds(one, "Start-Passw0rd-1").await,
        "the other dup untouched"
    );

    // By DOMAIN\user: the first domain.
    reset(&stack, "CORP\\dup", mail_one, 0, "First-Domain-Pw-1").await;
    assert!(dup_binds(one, "First-Domain-Pw-1").await);
    assert!(
        dup_binds(two, "Second-Domain-Pw-1").await,
        "the other dup untouched"
    );

    // The picker makes a bare name `name@domain` (protocol::directory::qualify).
    let picked = sspr_protocol::directory::qualify("dup", TWO);
    stack.smtp.wait_for_mail(mail_two, 1);
    reset(&stack, &picked, mail_two, 2, "Second-Domain-Pw-2").await;
    assert!(dup_binds(two, "Second-Domain-Pw-2").await);

    // A change sealed to the first domain's agent for a user of the second: sent back for the
    // right key, nothing changed; sealed to the second's agent, it goes through.
    let change = |key: &sspr_protocol::seal::AgentPublicKey, new: &str| ChangeRequest {
        username: "CORP2\\dup".into(),
        sealed_current: seal(key, "Second-Domain-Pw-2").expect("seal"),
        sealed_new: seal(key, new).expect("seal"),
        lang: Default::default(),
    };
    let key_one = change_key_of(&stack, Some(ONE)).await;
    let key_two = change_key_of(&stack, Some(TWO)).await;
    assert_eq!(
        (key_one.directory.as_str(), key_two.directory.as_str()),
        (ONE, TWO)
    );
    let wrong = post::<_, Completed>(
        &stack,
        CHANGE_PATH,
        &change(&key_one.agent_key, "Changed-Two-Pw-3"),
    )
    .await
    .expect_err("sealed for the other directory");
    assert_eq!(wrong.1.code, ErrorCode::AgentChanged);
    let _: Completed = post(
        &stack,
        CHANGE_PATH,
        &change(&key_two.agent_key, "Changed-Two-Pw-3"),
    )
    .await
    .expect("change in the second domain");
    assert!(dup_binds(two, "Changed-Two-Pw-3").await);
}
