//! Step 1: who are you? The username, then the proof-of-work CAPTCHA solved here in WASM.

use gloo_timers::future::TimeoutFuture;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::captcha::{Captcha, CaptchaSolution, PowChallenge, PowSolution};
use sspr_protocol::i18n::Text;

use crate::api;
use crate::app::{use_purpose, Step};
use crate::components::{show_failure, typed_username, UnavailableNotice, UsernameField};
use sspr_protocol::reset::Purpose;
use sspr_protocol::ErrorCode;
use sspr_ui::components::{focus_on_mount, ErrorBanner, FieldError, Progress};
use sspr_ui::i18n::{use_i18n, Said};

/// Hashes tried between two yields to the browser, so the page stays responsive.
const POW_SLICE: u64 = 16_384;

#[derive(Clone, Copy, PartialEq)]
enum Busy {
    Captcha(u32),
    /// Waiting for the person to complete a third-party widget.
    Widget,
    /// The CAPTCHA's answer checked and the account looked up: nothing is sent yet.
    FindingAccount,
}

/// Bytes as a `data:` URI (the CSP allows those for images and media).
fn data_uri(mime: &str, bytes: &[u8]) -> String {
    let binary: String = bytes.iter().map(|b| char::from(*b)).collect();
    format!(
        "data:{mime};base64,{}",
        window().btoa(&binary).unwrap_or_default()
    )
}

/// Shows the third-party widget (through `window.ssprWidget` in boot.js) and waits for its
/// token.
async fn widget_token(provider: &str, site_key: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    let helper = js_sys::Reflect::get(&window(), &"ssprWidget".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = helper
        .call3(
            &wasm_bindgen::JsValue::NULL,
            &provider.into(),
            &site_key.into(),
            &"captcha-widget".into(),
        )
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()?
        .as_string()
}

/// Solves the challenge in slices, reporting an estimated percentage as it goes.
async fn solve(challenge: &PowChallenge, progress: impl Fn(u32)) -> PowSolution {
    let expected = challenge.expected_work() as f64;
    let mut start = 0u64;
    loop {
        if let Some(solution) = challenge.solve_range(start, POW_SLICE) {
            return solution;
        }
        start += POW_SLICE;
        progress(((1.0 - (-(start as f64) / expected).exp()) * 100.0).min(99.0) as u32);
        TimeoutFuture::new(0).await;
    }
}

#[component]
pub fn AccountPage(step: RwSignal<Step>, available: RwSignal<Option<bool>>) -> impl IntoView {
    let i18n = use_i18n();
    let directories = crate::app::use_directories();
    focus_on_mount("username");
    let purpose = use_purpose();
    let username = RwSignal::new(crate::route::prefilled_user());
    let typed_user = crate::app::use_typed_user();
    let typed_phone = crate::app::use_typed_phone();
    let username_error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(None::<Busy>);
    let error = RwSignal::new(None::<Said>);
    // A picture CAPTCHA waiting for its answer: the flow, the picture and its audio.
    let picture = RwSignal::new(None::<(String, String, String)>);
    let picture_answer = RwSignal::new(String::new());
    let picture_error = RwSignal::new(None::<Said>);
    let computed_check = crate::app::use_computed_check();

    let fail = move |failure: api::Failure| {
        show_failure(i18n, available, error, &failure);
        busy.set(None);
    };

    // The flow starts: the CAPTCHA is solved here, or its picture shown, or its widget.
    let begin = move |name: String| {
        busy.set(Some(Busy::Captcha(0)));
        spawn_local(async move {
            let started =
                match api::start(name, i18n.lang.get_untracked(), purpose.get_untracked()).await {
                    Ok(started) => started,
                    Err(failure) => return fail(failure),
                };
            let solution = match &started.captcha {
                Captcha::ProofOfWork(challenge) => CaptchaSolution::ProofOfWork(
                    solve(challenge, |pct| busy.set(Some(Busy::Captcha(pct)))).await,
                ),
                Captcha::Image { png, wav } => {
                    picture_answer.set(String::new());
                    picture.set(Some((
                        started.flow_id.clone(),
                        data_uri("image/png", png),
                        data_uri("audio/wav", wav),
                    )));
                    busy.set(None);
                    focus_on_mount("captcha-answer");
                    return;
                }
                Captcha::Widget { provider, site_key } => {
                    busy.set(Some(Busy::Widget));
                    match widget_token(provider.name(), site_key).await {
                        Some(token) => CaptchaSolution::Widget { token },
                        None => return fail(api::Failure::Network),
                    }
                }
            };
            busy.set(Some(Busy::FindingAccount));
            match api::captcha(started.flow_id.clone(), solution).await {
                Ok(gate) => step.set(Step::Gate {
                    flow_id: started.flow_id,
                    gate,
                }),
                Err(failure) => fail(failure),
            }
        });
    };

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let Some(name) = typed_username(directories, username, username_error) else {
            return;
        };
        typed_user.set(name.clone());
        typed_phone.set(None);
        error.set(None);
        let Some((flow_id, _, _)) = picture.get_untracked() else {
            return begin(name);
        };
        let answer = picture_answer.get_untracked();
        if answer.trim().is_empty() {
            picture_error.set(Some(Text::CaptchaPictureLabel.into()));
            focus_on_mount("captcha-answer");
            return;
        }
        busy.set(Some(Busy::FindingAccount));
        spawn_local(async move {
            match api::captcha(flow_id.clone(), CaptchaSolution::Image { answer }).await {
                Ok(gate) => step.set(Step::Gate { flow_id, gate }),
                // One try per picture: a new one comes at once, the message at its field.
                Err(failure) if failure.code() == Some(ErrorCode::CaptchaFailed) => {
                    picture_error.set(Some(Text::ErrCaptchaPictureWrong.into()));
                    begin(name);
                }
                Err(failure) => {
                    picture.set(None);
                    fail(failure);
                }
            }
        });
    };

    let progress = Signal::derive(move || {
        busy.get().map(|b| match b {
            Busy::Captcha(pct) => i18n.tf(Text::CaptchaWorking, &[("pct", &pct.to_string())]),
            Busy::Widget => i18n.t(Text::CaptchaWidget).to_owned(),
            Busy::FindingAccount => i18n.t(Text::AccountFinding).to_owned(),
        })
    });

    view! {
        <h1>{move || i18n.t(if purpose.get() == Purpose::Unlock { Text::UnlockTitle } else { Text::ResetTitle })}</h1>
        <p class="lead">{move || i18n.t(if purpose.get() == Purpose::Unlock { Text::UnlockIntro } else { Text::ResetIntro })}</p>
        <UnavailableNotice available />
        <form on:submit=submit novalidate>
            <UsernameField value=username error=username_error />
            <div id="captcha-widget" class="captcha-widget"></div>
            {move || picture.get().map(|(_, png, wav)| view! {
                <div class="captcha-picture">
                    <img src=png alt=i18n.say(Text::CaptchaPictureAlt) width="240" height="100" />
                    <audio id="captcha-audio" controls src=wav aria-label=i18n.say(Text::CaptchaAudioLabel)></audio>
                    <label for="captcha-answer">{i18n.say(Text::CaptchaPictureLabel)}</label>
                    <input id="captcha-answer" type="text" inputmode="numeric" autocomplete="off"
                        aria-describedby=move || picture_error.with(Option::is_some).then_some("captcha-answer-error")
                        aria-invalid=move || picture_error.with(Option::is_some).then_some("true")
                        prop:value=move || picture_answer.get()
                        on:input=move |ev| {
                            picture_answer.set(event_target_value(&ev));
                            picture_error.set(None);
                        } />
                    <FieldError id="captcha-answer-error".to_owned() message=picture_error.into() />
                </div>
            })}
            <ErrorBanner error />
            <button id="continue" type="submit" class="primary" disabled=move || busy.get().is_some() || available.get() == Some(false)>
                {i18n.say(Text::Continue)}
            </button>
            <Progress message=progress />
            // Reassurance that there is nothing to solve, only where that is so.
            {move || computed_check.get().then(|| view! { <p class="fineprint">{i18n.say(Text::CaptchaNote)}</p> })}
        </form>
    }
}
