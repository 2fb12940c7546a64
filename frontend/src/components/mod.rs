//! The portal's own parts of the pages; the generic ones (banners, password input, rules) are
//! `sspr_ui::components`.

use leptos::prelude::*;
use sspr_protocol::i18n::Text;
use sspr_ui::components::FieldError;
use sspr_ui::i18n::{use_i18n, I18n, Said};

/// "Step n of 3" with a bar: where the user is in the flow.
#[component]
pub fn Steps(current: Signal<usize>) -> impl IntoView {
    let i18n = use_i18n();
    let purpose = crate::app::use_purpose();
    let names = move || match purpose.get() {
        sspr_protocol::reset::Purpose::Unlock => vec![Text::StepAccount, Text::StepVerify],
        sspr_protocol::reset::Purpose::Reset => {
            vec![Text::StepAccount, Text::StepVerify, Text::StepNewPassword]
        }
        // A change and a registration are one page each: no steps to show.
        sspr_protocol::reset::Purpose::Change | sspr_protocol::reset::Purpose::Register => {
            vec![]
        }
    };
    // Without steps, no navigation region at all (not an empty one announced "Step 0 of 0").
    move || {
        (!names().is_empty()).then(|| view! {
            <nav class="steps" aria-label=move || i18n.tf(Text::StepOf, &[("n", &current.get().min(names().len()).to_string()), ("total", &names().len().to_string())])>
                <ol>
                    {move || names()
                        .into_iter()
                        .enumerate()
                        .map(move |(i, name)| {
                            let n = i + 1;
                            view! {
                                <li
                                    class:complete=move || { current.get() > n }
                                    class:current=move || current.get() == n
                                    aria-current=move || (current.get() == n).then_some("step")
                                >
                                    <span class="step-dot" aria-hidden="true">{n}</span>
                                    <span class="step-name">{i18n.say(name)}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </nav>
        })
    }
}

/// Leaves the flow and returns to the first step.
#[component]
pub fn StartOver(step: RwSignal<crate::app::Step>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <button id="start-over" type="button" class="link subtle" on:click=move |_| step.set(crate::app::Step::Account)>
            {i18n.say(Text::Cancel)}
        </button>
    }
}

/// Reset, unlock, change or register: the four things a user comes here for.
#[component]
pub fn ModeSwitch() -> impl IntoView {
    use sspr_protocol::reset::Purpose;
    let i18n = use_i18n();
    let purpose = crate::app::use_purpose();
    let modes = [
        (Purpose::Reset, Text::ModeReset, "mode-reset"),
        (Purpose::Unlock, Text::ModeUnlock, "mode-unlock"),
        (Purpose::Change, Text::ModeChange, "mode-change"),
        (Purpose::Register, Text::ModeRegister, "mode-register"),
    ];
    // A radio group as WAI-ARIA describes it: one tab stop (the chosen mode), the arrow keys
    // (and Home, End) choose the next, previous, first or last and move focus with the choice.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let now = modes
            .iter()
            .position(|(mode, _, _)| *mode == purpose.get_untracked())
            .unwrap_or(0);
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => (now + 1) % modes.len(),
            "ArrowLeft" | "ArrowUp" => (now + modes.len() - 1) % modes.len(),
            "Home" => 0,
            "End" => modes.len() - 1,
            _ => return,
        };
        ev.prevent_default();
        let (mode, _, id) = modes[next];
        // Passing over modes with the arrows is not a page visited each: the address follows
        // in place, and Back goes to where the person came from.
        crate::route::replace_path(crate::route::path_of(mode));
        purpose.set(mode);
        // A frame later than the new page, which puts focus in its first field on mount:
        // a keyboard user stays on the switch.
        request_animation_frame(move || sspr_ui::components::focus_on_mount(id));
    };
    view! {
        <div class="mode-switch" role="radiogroup" aria-label=i18n.say(Text::ModeLabel) on:keydown=on_key>
            {modes
                .into_iter()
                .map(move |(mode, label, id)| {
                    view! {
                        <button
                            type="button"
                            role="radio"
                            id=id
                            aria-checked=move || (purpose.get() == mode).to_string()
                            tabindex=move || if purpose.get() == mode { "0" } else { "-1" }
                            // The chosen mode again: nothing to do (setting it would start its page
                            // afresh and drop what was typed).
                            on:click=move |_| if purpose.get_untracked() != mode { purpose.set(mode) }
                        >
                            {i18n.say(label)}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// Shows a failed call in the page's error banner; "write-back unavailable" also flips the
/// page's notice, so the user stops trying.
pub fn show_failure(
    i18n: I18n,
    available: RwSignal<Option<bool>>,
    error: RwSignal<Option<Said>>,
    failure: &sspr_ui::api::Failure,
) {
    if failure.code() == Some(sspr_protocol::ErrorCode::WritebackUnavailable) {
        available.set(Some(false));
    }
    error.set(Some(i18n.failure(failure)));
}

/// Says, before anything is typed, that write-back is down.
#[component]
pub fn UnavailableNotice(available: RwSignal<Option<bool>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || available.get() == Some(false)>
            <div class="notice notice-warning" role="alert" id="unavailable">
                <strong>{i18n.say(Text::UnavailableTitle)}</strong>
                <p>{i18n.say(Text::UnavailableBody)}</p>
            </div>
        </Show>
    }
}

/// Under a step's heading: whose account the flow is for, as typed.
#[component]
pub fn ForUser() -> impl IntoView {
    let i18n = use_i18n();
    let typed = crate::app::use_typed_user();
    move || {
        let name = typed.get();
        (!name.is_empty()).then(|| {
            view! { <p class="for-user" id="for-user">{i18n.say(Text::UsernameLabel)}": "<strong>{name}</strong></p> }
        })
    }
}

/// The typed user ID, trimmed and made specific with the picked domain (when there is a
/// picker); None when empty — then the field says so and gets focus.
pub fn typed_username(
    directories: crate::app::Directories,
    username: RwSignal<String>,
    field_error: RwSignal<Option<Said>>,
) -> Option<String> {
    let name = username.get_untracked().trim().to_owned();
    if name.is_empty() {
        field_error.set(Some(Text::UsernameRequired.into()));
        sspr_ui::components::focus_on_mount("username");
        return None;
    }
    let picked = directories.picked.get_untracked();
    Some(sspr_protocol::directory::qualify(&name, &picked))
}

/// The user ID, with the forms it may take, and what is wrong with it (`error`) right under it.
#[component]
pub fn UsernameField(value: RwSignal<String>, error: RwSignal<Option<Said>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label for="username">{i18n.say(Text::UsernameLabel)}</label>
        <input
            id="username"
            name="username"
            type="text"
            autocomplete="username"
            autocapitalize="none"
            spellcheck="false"
            required
            aria-describedby=move || if error.with(Option::is_some) { "username-error username-hint" } else { "username-hint" }
            aria-invalid=move || error.with(Option::is_some).then_some("true")
            prop:value=move || value.get()
            on:input=move |ev| {
                value.set(event_target_value(&ev));
                error.set(None);
            }
        />
        <FieldError id="username-error".to_owned() message=error.into() />
        <p id="username-hint" class="hint">{i18n.say(Text::UsernameHint)}</p>
        <DomainPicker />
    }
}

/// With several directories: which domain a bare user ID is in. A user ID with `@domain` or
/// `DOMAIN\` says it itself, so "as in my user ID" is the default.
#[component]
fn DomainPicker() -> impl IntoView {
    let i18n = use_i18n();
    let directories = crate::app::use_directories();
    move || {
        let all = directories.all.get();
        (all.len() > 1).then(|| {
            view! {
                <label for="domain">{i18n.say(Text::DomainLabel)}</label>
                <select
                    id="domain"
                    name="domain"
                    on:change=move |ev| directories.picked.set(event_target_value(&ev))
                >
                    <option value="">{i18n.say(Text::DomainFromUserId)}</option>
                    {all
                        .into_iter()
                        .map(|d| {
                            let selected = directories.picked.get_untracked() == d.dns_name;
                            let label = d.dns_name.clone();
                            view! { <option value=d.dns_name selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            }
        })
    }
}
