//! The change flow through the HTTP API against the real stack.

use reqwest::StatusCode;
use sspr_protocol::change::{ChangeRequest, CHANGE_PATH};
use sspr_protocol::reset::Completed;
use sspr_protocol::seal::seal;
use sspr_protocol::{ApiError, ErrorCode};
use sspr_tests::samba;
use sspr_tests::stack::Stack;

use crate::agent_ad::bind_as;

pub(crate) async fn change(
    stack: &Stack,
    username: &str,
    current: &str,
    new: &str,
) -> Result<Completed, (StatusCode, ErrorCode)> {
    let key = sspr_tests::api::change_key(stack).await;
    let request = ChangeRequest {
        username: username.into(),
        sealed_current: seal(&key.agent_key, current).expect("seal"),
        sealed_new: seal(&key.agent_key, new).expect("seal"),
        lang: Default::default(),
    };
    let response = stack
        .http
        .post(stack.api(CHANGE_PATH))
        .json(&request)
        .send()
        .await
        .expect("change");
    let status = response.status();
    if status.is_success() {
        Ok(response.json().await.expect("completed"))
    } else {
        Err((
            status,
            response.json::<ApiError>().await.expect("error body").code,
        ))
    }
}

#[tokio::test]
async fn change_is_enforced_by_ad_and_never_locks_anyone_out() {
    let dc = samba::shared();
    dc.create_user(
        "api.change",
        "First-Passw0rd!",
        Some("api.change@corp.example.test"),
        "Cato Change",
    )
    .expect("user");
    let stack = Stack::start(dc, |_| {}).await;

    let done = change(&stack, "api.change", "First-Passw0rd!", "Second-Passw0rd!")
        .await
        .expect("change");
    assert_eq!(done.account_name, "api.change");
    bind_as(dc, "api.change", "Second-Passw0rd!")
        .await
        .expect("bind with the changed password");
    let note = stack.smtp.wait_for_mail("api.change@corp.example.test", 0);
    assert_eq!(note.subject().as_deref(), Some("Your password was changed"));

    // Reusing a password from AD's history is refused with the history reason.
    assert_eq!(
        change(&stack, "api.change", "Second-Passw0rd!", "First-Passw0rd!")
            .await
            .map(|_| ()),
        Err((StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::PasswordHistory))
    );

    // Wrong current passwords: two reach AD (its threshold is three), the third is stopped here.
    for _ in 0..2 {
        assert_eq!(
            change(
                &stack,
                "CORP\\api.change",
                "Guess-Passw0rd!",
                "Third-Passw0rd!"
            )
            .await
            .map(|_| ()),
            Err((StatusCode::BAD_REQUEST, ErrorCode::CurrentPasswordWrong))
        );
    }
    assert_eq!(
        change(&stack, "api.change", "Guess-Passw0rd!", "Third-Passw0rd!")
            .await
            .map(|_| ()),
        Err((StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests))
    );
    bind_as(dc, "api.change", "Second-Passw0rd!")
        .await
        .expect("the account was never locked");

    // An unknown user is answered exactly like a wrong password.
    assert_eq!(
        change(
            &stack,
            "api.nobody.here",
            "Any-Passw0rd!1",
            "Other-Passw0rd!2"
        )
        .await
        .map(|_| ()),
        Err((StatusCode::BAD_REQUEST, ErrorCode::CurrentPasswordWrong))
    );
}
