//! The portal's HTTP API as a test drives it: one JSON call, and the steps of a flow up to a
//! gate or a code.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::gate::{AfterGate, Challenge, ChooseMethod, Gate, Method, METHOD_PATH};
use sspr_protocol::reset::*;
use sspr_protocol::ApiError;

use crate::stack::Stack;

/// Posts JSON; the answer, or the status and error body.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    stack: &Stack,
    path: &str,
    body: &B,
) -> Result<T, (StatusCode, ApiError)> {
    let response = stack
        .http
        .post(stack.api(path))
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    if status.is_success() {
        Ok(response.json().await.expect("json body"))
    } else {
        Err((status, response.json().await.expect("error body")))
    }
}

/// Start → CAPTCHA solved → the first gate.
pub async fn to_gate(stack: &Stack, username: &str, purpose: Purpose) -> (String, Gate) {
    try_to_gate(stack, username, purpose)
        .await
        .unwrap_or_else(|e| panic!("start and CAPTCHA for {username}: {e:?}"))
}

/// Start → CAPTCHA solved, each answer as it came: the flow and its first gate, or the first
/// refusal.
pub async fn try_to_gate(
    stack: &Stack,
    username: &str,
    purpose: Purpose,
) -> Result<(String, Gate), (StatusCode, ApiError)> {
    let started: Started = post(
        stack,
        START_PATH,
        &StartRequest {
            username: username.into(),
            lang: Default::default(),
            purpose,
        },
    )
    .await?;
    let gate: Gate = post(
        stack,
        CAPTCHA_PATH,
        &CaptchaAnswer {
            flow_id: started.flow_id.clone(),
            solution: solve(&started),
        },
    )
    .await?;
    Ok((started.flow_id, gate))
}

/// Solves a flow's proof-of-work CAPTCHA, as the browser does.
pub fn solve(started: &Started) -> sspr_protocol::captcha::CaptchaSolution {
    use sspr_protocol::captcha::{Captcha, CaptchaSolution};
    let Captcha::ProofOfWork(challenge) = &started.captcha else {
        panic!("a proof-of-work CAPTCHA, not {:?}", started.captcha);
    };
    CaptchaSolution::ProofOfWork(challenge.solve_range(0, u64::MAX).expect("solvable"))
}

/// Picks the first offer of `method` at the current gate.
pub async fn choose(
    stack: &Stack,
    flow_id: &str,
    gate: &Gate,
    method: Method,
    phone: Option<&str>,
) -> Result<Challenge, (StatusCode, ApiError)> {
    let offer = gate
        .offers
        .iter()
        .find(|o| o.method == method)
        .unwrap_or_else(|| panic!("{method:?} is offered: {gate:?}"));
    post(
        stack,
        METHOD_PATH,
        &ChooseMethod {
            lang: None,
            flow_id: flow_id.into(),
            choice: offer.choice,
            phone: phone.map(str::to_owned),
        },
    )
    .await
}

/// Start → CAPTCHA → the mail method: the flow and where its code went.
pub async fn to_mail_code(stack: &Stack, username: &str, purpose: Purpose) -> (String, CodeSent) {
    let (flow_id, gate) = to_gate(stack, username, purpose).await;
    match choose(stack, &flow_id, &gate, Method::Mail, None).await {
        Ok(Challenge::Code(sent)) => (flow_id, sent),
        other => panic!("a mailed code: {other:?}"),
    }
}

/// Start → CAPTCHA → mail code → the new-password step, for a user with one gate and a mail
/// address (`already` mails to it were sent before this flow).
pub async fn to_new_password(
    stack: &Stack,
    username: &str,
    mail: &str,
    already: usize,
) -> (String, NewPasswordStep) {
    let (flow_id, _) = to_mail_code(stack, username, Purpose::Reset).await;
    let code = stack
        .smtp
        .wait_for_mail(mail, already)
        .code()
        .expect("a code in the mail");
    let after = submit_code(stack, &flow_id, &code)
        .await
        .expect("right code");
    (flow_id, new_password(after))
}

/// Submits a code for the open challenge.
pub async fn submit_code(
    stack: &Stack,
    flow_id: &str,
    code: &str,
) -> Result<AfterGate, (StatusCode, ApiError)> {
    post(
        stack,
        CODE_PATH,
        &CodeAnswer {
            lang: None,
            flow_id: flow_id.into(),
            code: code.into(),
        },
    )
    .await
}

/// The new-password step a passed last gate must lead to.
pub fn new_password(after: AfterGate) -> NewPasswordStep {
    match after {
        AfterGate::NewPassword(step) => step,
        other => panic!("the new-password step, not {other:?}"),
    }
}

/// Seals `password` to `key` as the browser does and submits it for the flow.
pub async fn submit_password(
    stack: &Stack,
    flow_id: &str,
    key: &sspr_protocol::seal::AgentPublicKey,
    password: &str,
) -> Result<Completed, (StatusCode, ApiError)> {
    let sealed = sspr_protocol::seal::seal(key, password).expect("seal");
    post(
        stack,
        PASSWORD_PATH,
        &PasswordSubmit {
            lang: None,
            flow_id: flow_id.into(),
            sealed,
        },
    )
    .await
}

/// The agent key passwords are sealed to outside a flow (change, registration sign-in).
pub async fn change_key(stack: &Stack) -> sspr_protocol::change::ChangeKey {
    change_key_of(stack, None).await
}

/// As `change_key`, of one directory's agents.
pub async fn change_key_of(
    stack: &Stack,
    directory: Option<&str>,
) -> sspr_protocol::change::ChangeKey {
    let mut request = stack
        .http
        .get(stack.api(sspr_protocol::change::CHANGE_KEY_PATH));
    if let Some(directory) = directory {
        request = request.query(&[("directory", directory)]);
    }
    request
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("key json")
}

/// Signs in to the register page with the current password, sealed like the browser does.
pub async fn sign_in(
    stack: &Stack,
    username: &str,
    password: &str,
) -> Result<sspr_protocol::register::Registered, (StatusCode, ApiError)> {
    let key = change_key(stack).await;
    let sealed_password = sspr_protocol::seal::seal(&key.agent_key, password).expect("seal");
    post(
        stack,
        sspr_protocol::register::SIGN_IN_PATH,
        &sspr_protocol::register::SignIn {
            username: username.into(),
            sealed_password,
            lang: Default::default(),
        },
    )
    .await
}

/// A TOTP code from Debian's `oathtool` (an implementation independent of ours), for the
/// moment `offset_secs` from now.
pub fn oathtool(secret_base32: &str, offset_secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + offset_secs;
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", &format!("--now=@{now}"), secret_base32])
        .output()
        .expect("oathtool (Debian package oathtool) runs");
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
