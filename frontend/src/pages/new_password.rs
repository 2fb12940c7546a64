//! Step 3: the new password, checked live against the directory's rules, sealed here to the
//! agent's key before it leaves the browser.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::i18n::Text;
use sspr_protocol::reset::NewPasswordStep;
use sspr_protocol::ErrorCode;

use crate::api;
use crate::app::Step;
use crate::components::StartOver;
use sspr_ui::components::password_rules::{Field, PasswordCheck, PasswordRules};
use sspr_ui::components::{focus_on_mount, ErrorBanner, PasswordInput, Progress};
use sspr_ui::i18n::{use_i18n, Said};
use sspr_ui::seal::seal;

#[component]
pub fn NewPasswordPage(
    step: RwSignal<Step>,
    flow_id: String,
    data: NewPasswordStep,
) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("new-password");
    let flow = StoredValue::new(flow_id);
    let data = StoredValue::new(data);
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    let new_error = RwSignal::new(None::<Said>);
    let confirm_error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);

    let names = data.with_value(|d| d.names.clone());
    let check = PasswordCheck::new(
        data.with_value(|d| d.policy.clone()),
        Signal::stored(names),
        password,
        confirm,
    );
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        // Not a silently disabled button: say what is missing, next to its field, and go there.
        if let Some((missing, field)) = check.missing() {
            let field_error = match field {
                Field::New => new_error,
                Field::Confirm => confirm_error,
            };
            field_error.set(Some(missing.into()));
            focus_on_mount(field.id());
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let key = data.with_value(|d| d.agent_key.clone());
            let sealed = match seal(&key, &password.get_untracked()).await {
                Ok(sealed) => sealed,
                Err(e) => {
                    error.set(Some(e.text().into()));
                    busy.set(false);
                    return;
                }
            };
            match api::password(flow.get_value(), sealed, i18n.lang.get_untracked()).await {
                Ok(done) => {
                    password.set(String::new());
                    confirm.set(String::new());
                    step.set(Step::Done(done));
                }
                Err(failure) => {
                    match failure.code() {
                        Some(ErrorCode::UnknownFlow) => {
                            password.set(String::new());
                            confirm.set(String::new());
                        }
                        // Said at the field, which keeps what was typed and gets focus.
                        Some(code) if code.refuses_new_password() => {
                            new_error.set(Some(i18n.failure(&failure)));
                            busy.set(false);
                            focus_on_mount(Field::New.id());
                            return;
                        }
                        // Another agent serves the directory now: take its key, so pressing
                        // the button again seals the typed password to it.
                        Some(ErrorCode::AgentChanged) => {
                            if let Ok(fresh) = api::fresh_key(flow.get_value()).await {
                                data.set_value(fresh);
                            }
                        }
                        _ => {}
                    }
                    error.set(Some(i18n.failure(&failure)));
                    busy.set(false);
                }
            }
        });
    };

    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::Writing).to_owned()));

    view! {
        <h1>{i18n.say(Text::StepNewPassword)}</h1>
        <form on:submit=submit novalidate>
            <PasswordInput id="new-password" label=Text::NewPasswordLabel value=password described_by="rules" error=new_error />
            <PasswordRules check password />
            <PasswordInput id="confirm-password" label=Text::ConfirmPasswordLabel value=confirm error=confirm_error />
            <p class="seal-note"><span class="lock-icon" aria-hidden="true"></span>{i18n.say(Text::SealNote)}</p>
            <ErrorBanner error />
            <button id="set-password" type="submit" class="primary" disabled=move || busy.get()>
                {i18n.say(Text::SetPassword)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
