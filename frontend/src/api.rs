//! Every call to the server. Pages never build URLs or parse JSON themselves.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::captcha::CaptchaSolution;
use sspr_protocol::gate::*;
use sspr_protocol::register::*;
use sspr_protocol::reset::*;
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::Lang;
pub use sspr_ui::api::{change_key, status, Failure};

/// Every call here is a plain POST: the portal sends no header of its own.
fn post<'a, B: Serialize, T: DeserializeOwned + 'a>(
    path: &'a str,
    body: &'a B,
) -> impl std::future::Future<Output = Result<T, Failure>> + 'a {
    sspr_ui::api::post(path, body, &[])
}

pub async fn change(request: sspr_protocol::change::ChangeRequest) -> Result<Completed, Failure> {
    post(sspr_protocol::change::CHANGE_PATH, &request).await
}

pub async fn start(username: String, lang: Lang, purpose: Purpose) -> Result<Started, Failure> {
    post(
        START_PATH,
        &StartRequest {
            username,
            lang,
            purpose,
        },
    )
    .await
}

pub async fn captcha(flow_id: String, solution: CaptchaSolution) -> Result<Gate, Failure> {
    post(CAPTCHA_PATH, &CaptchaAnswer { flow_id, solution }).await
}

// The later steps carry the page's language: what is sent from then on follows a switch.

pub async fn choose(
    flow_id: String,
    choice: u8,
    phone: Option<String>,
    lang: Lang,
) -> Result<Challenge, Failure> {
    post(
        METHOD_PATH,
        &ChooseMethod {
            flow_id,
            choice,
            phone,
            lang: Some(lang),
        },
    )
    .await
}

pub async fn other_method(flow_id: String) -> Result<Gate, Failure> {
    post(OTHER_METHOD_PATH, &FlowRef { flow_id }).await
}

pub async fn delivery(flow_id: String) -> Result<DeliveryState, Failure> {
    post(DELIVERY_PATH, &FlowRef { flow_id }).await
}

pub async fn code(flow_id: String, code: String, lang: Lang) -> Result<AfterGate, Failure> {
    let lang = Some(lang);
    post(
        CODE_PATH,
        &CodeAnswer {
            flow_id,
            code,
            lang,
        },
    )
    .await
}

pub async fn answers(
    flow_id: String,
    answers: Vec<String>,
    lang: Lang,
) -> Result<AfterGate, Failure> {
    let lang = Some(lang);
    post(
        ANSWERS_PATH,
        &Answers {
            flow_id,
            answers,
            lang,
        },
    )
    .await
}

pub async fn set_questions(
    session: String,
    answers: Vec<(Question, String)>,
) -> Result<Registered, Failure> {
    post(QUESTIONS_PATH, &SetQuestions { session, answers }).await
}

pub async fn sign_in(
    username: String,
    sealed_password: SealedSecret,
    lang: Lang,
) -> Result<Registered, Failure> {
    post(
        SIGN_IN_PATH,
        &SignIn {
            username,
            sealed_password,
            lang,
        },
    )
    .await
}

pub async fn add_contact(session: String, slot: Slot, value: String) -> Result<CodeSent, Failure> {
    post(
        ADD_PATH,
        &AddContact {
            session,
            slot,
            value,
        },
    )
    .await
}

pub async fn confirm(session: String, code: String) -> Result<Registered, Failure> {
    post(CONFIRM_PATH, &Confirm { session, code }).await
}

pub async fn enrol_authenticator(session: String) -> Result<Enrolment, Failure> {
    post(AUTHENTICATOR_PATH, &SessionRef { session }).await
}

pub async fn sign_out(session: String) -> Result<(), Failure> {
    sspr_ui::api::post_no_content(SIGN_OUT_PATH, &SessionRef { session }, &[]).await
}

pub async fn remove(session: String, slot: Slot) -> Result<Registered, Failure> {
    post(REMOVE_PATH, &RemoveSlot { session, slot }).await
}

pub async fn resend(flow_id: String) -> Result<CodeSent, Failure> {
    post(RESEND_PATH, &FlowRef { flow_id }).await
}

pub async fn password(
    flow_id: String,
    sealed: SealedSecret,
    lang: Lang,
) -> Result<Completed, Failure> {
    let lang = Some(lang);
    post(
        PASSWORD_PATH,
        &PasswordSubmit {
            flow_id,
            sealed,
            lang,
        },
    )
    .await
}

/// The new-password step again, with the key of an agent that is live now.
pub async fn fresh_key(flow_id: String) -> Result<NewPasswordStep, Failure> {
    post(KEY_PATH, &FlowRef { flow_id }).await
}
