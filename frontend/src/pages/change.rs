//! Changing a known password: user ID, current password and a new one, all on one page. Both
//! passwords are sealed here to the agent's key; AD checks the current one and the history.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::change::{ChangeKey, ChangeRequest};
use sspr_protocol::directory::{directory_of, qualify};
use sspr_protocol::i18n::Text;
use sspr_protocol::policy::AccountNames;
use sspr_protocol::reset::account_part;
use sspr_protocol::seal::SealError;
use sspr_protocol::ErrorCode;

use crate::api;
use crate::app::Step;
use crate::components::{show_failure, typed_username, UnavailableNotice, UsernameField};
use sspr_ui::components::password_rules::{Field, PasswordCheck, PasswordRules};
use sspr_ui::components::{focus_on_mount, ErrorBanner, PasswordInput, Progress};
use sspr_ui::i18n::{use_i18n, Said};
use sspr_ui::seal::seal;

#[component]
pub fn ChangePage(step: RwSignal<Step>, available: RwSignal<Option<bool>>) -> impl IntoView {
    let i18n = use_i18n();
    let directories = crate::app::use_directories();
    focus_on_mount("username");
    let key = RwSignal::new(None::<ChangeKey>);
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);
    let username = RwSignal::new(crate::route::prefilled_user());
    let username_error = RwSignal::new(None::<Said>);
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let current_error = RwSignal::new(None::<Said>);
    let new_error = RwSignal::new(None::<Said>);
    let confirm_error = RwSignal::new(None::<Said>);
    // The live check of the directory's rules, once its key (and policy) is here.
    let rules_check = StoredValue::new(None::<PasswordCheck>);
    spawn_local(async move {
        match api::change_key(None).await {
            Ok(k) => key.set(Some(k)),
            Err(failure) => show_failure(i18n, available, error, &failure),
        }
    });
    let names = Signal::derive(move || AccountNames {
        account_name: account_part(&username.get()).to_owned(),
        display_name: String::new(),
    });

    // Several directories: the key (and the rules shown) of the directory the user ID is in.
    let wanted = move || {
        let all = directories.all.get();
        let name = qualify(&username.get(), &directories.picked.get());
        directory_of(&name, &all)
            .filter(|_| all.len() > 1)
            .map(|d| d.dns_name.clone())
    };
    Effect::new(move |_| {
        let Some(wanted) = wanted() else { return };
        if key.with_untracked(|k| k.as_ref().is_some_and(|k| k.directory == wanted)) {
            return;
        }
        spawn_local(async move {
            if let Ok(fresh) = api::change_key(Some(&wanted)).await {
                key.set(Some(fresh));
            }
        });
    });

    let wanted_untracked = move || untrack(wanted);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(k) = key.get_untracked() else { return };
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        // Not a silently disabled button: say what is missing, next to each field at once,
        // and go to the first.
        let name = typed_username(directories, username, username_error);
        let mut first = name.is_none().then_some("username");
        if current.get_untracked().is_empty() {
            current_error.set(Some(Text::MissingCurrent.into()));
            first.get_or_insert("current-password");
        }
        if let Some((text, field)) = rules_check.get_value().and_then(|c| c.missing()) {
            let field_error = match field {
                Field::New => new_error,
                Field::Confirm => confirm_error,
            };
            field_error.set(Some(text.into()));
            first.get_or_insert(field.id());
        }
        if let Some(id) = first {
            focus_on_mount(id);
            return;
        }
        let Some(name) = name else { return };
        busy.set(true);
        spawn_local(async move {
            let sealed = async {
                let sealed_current = seal(&k.agent_key, &current.get_untracked()).await?;
                let sealed_new = seal(&k.agent_key, &password.get_untracked()).await?;
                Ok::<_, SealError>((sealed_current, sealed_new))
            };
            let (sealed_current, sealed_new) = match sealed.await {
                Ok(both) => both,
                Err(e) => {
                    error.set(Some(e.text().into()));
                    busy.set(false);
                    return;
                }
            };
            let request = ChangeRequest {
                username: name,
                sealed_current,
                sealed_new,
                lang: i18n.lang.get_untracked(),
            };
            match api::change(request).await {
                Ok(done) => {
                    for field in [current, password, confirm] {
                        field.set(String::new());
                    }
                    step.set(Step::Done(done));
                }
                Err(failure) => {
                    match failure.code() {
                        // Said at the field, which keeps what was typed (to look at with
                        // Show) and gets focus.
                        Some(ErrorCode::CurrentPasswordWrong) => {
                            current_error.set(Some(i18n.failure(&failure)));
                            busy.set(false);
                            focus_on_mount("current-password");
                            return;
                        }
                        // The directory refused the new password (on a change, e.g. for a part
                        // of the full name, which the page cannot know before): at that field.
                        Some(code) if code.refuses_new_password() => {
                            if code == ErrorCode::PasswordContainsName {
                                if let Some(check) = rules_check.get_value() {
                                    check.refused_for_name(password.get_untracked());
                                }
                            }
                            new_error.set(Some(i18n.failure(&failure)));
                            busy.set(false);
                            focus_on_mount(Field::New.id());
                            return;
                        }
                        // Another agent serves the directory now: its key for the next press.
                        Some(ErrorCode::AgentChanged) => {
                            let directory = wanted_untracked();
                            if let Ok(fresh) = api::change_key(directory.as_deref()).await {
                                key.set(Some(fresh));
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

    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::Changing).to_owned()));
    view! {
        <h1>{i18n.say(Text::ChangeTitle)}</h1>
        <p class="lead">{i18n.say(Text::ChangeIntro)}</p>
        <UnavailableNotice available />
        <form on:submit=submit novalidate>
            <UsernameField value=username error=username_error />
            <PasswordInput id="current-password" label=Text::CurrentPasswordLabel value=current autocomplete="current-password" error=current_error />
            <PasswordInput id="new-password" label=Text::NewPasswordLabel value=password described_by="rules" error=new_error />
            {move || key.get().map(|k| {
                let check = PasswordCheck::new(k.policy, names, password, confirm);
                rules_check.set_value(Some(check));
                view! {
                    <PasswordRules check password />
                    <PasswordInput id="confirm-password" label=Text::ConfirmPasswordLabel value=confirm error=confirm_error />
                    <p class="seal-note"><span class="lock-icon" aria-hidden="true"></span>{i18n.say(Text::SealNote)}</p>
                    <ErrorBanner error />
                    <button
                        id="change-password"
                        type="submit"
                        class="primary"
                        disabled=move || busy.get()
                    >
                        {i18n.say(Text::ChangePassword)}
                    </button>
                }
            })}
            {move || key.get().is_none().then(|| view! { <ErrorBanner error /> })}
            <Progress message=progress />
        </form>
    }
}
