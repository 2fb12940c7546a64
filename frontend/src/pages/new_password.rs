//! Step 3: the new password, checked live against the directory's rules, sealed here to the
//! agent's key before it leaves the browser.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::i18n::Text;
use sspr_protocol::policy::{strength, Rule};
use sspr_protocol::reset::NewPasswordStep;
use sspr_protocol::seal::seal;
use sspr_protocol::ErrorCode;

use crate::api;
use crate::app::Step;
use crate::components::{focus_on_mount, ErrorBanner, PasswordInput, Progress, StartOver};
use crate::i18n::use_i18n;

const STRENGTHS: [Text; 5] = [
    Text::Strength0,
    Text::Strength1,
    Text::Strength2,
    Text::Strength3,
    Text::Strength4,
];

fn rule_id(rule: Rule) -> &'static str {
    match rule {
        Rule::MinLength(_) => "min_length",
        Rule::Complexity => "complexity",
        Rule::NotAccountName => "not_account_name",
    }
}

#[component]
fn RuleItem(id: &'static str, met: Signal<bool>, text: Signal<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <li data-rule=id class:met=move || met.get() class:unmet=move || !met.get()>
            <span class="rule-icon" aria-hidden="true">{move || if met.get() { "✓" } else { "✗" }}</span>
            <span>{move || text.get()}</span>
            <span class="sr-only">{move || format!(" ({})", i18n.t(if met.get() { Text::RuleMet } else { Text::RuleNotMet }))}</span>
        </li>
    }
}

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
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let checks =
        Memo::new(move |_| data.with_value(|d| d.policy.evaluate(&password.get(), &d.names)));
    let matches = Memo::new(move |_| !confirm.get().is_empty() && password.get() == confirm.get());
    let ready = move || checks.get().iter().all(|c| c.met) && matches.get();
    let score = Memo::new(move |_| strength(&password.get()));

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || !ready() {
            return;
        }
        let sealed = match data.with_value(|d| seal(&d.agent_key, &password.get_untracked())) {
            Ok(sealed) => sealed,
            Err(_) => {
                error.set(Some(i18n.t(Text::ErrSealRejected).to_owned()));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            match api::password(flow.get_value(), sealed).await {
                Ok(done) => {
                    password.set(String::new());
                    confirm.set(String::new());
                    step.set(Step::Done {
                        account_name: done.account_name,
                    });
                }
                Err(failure) => {
                    if failure.code() == Some(ErrorCode::UnknownFlow) {
                        password.set(String::new());
                        confirm.set(String::new());
                    }
                    error.set(Some(i18n.failure(&failure)));
                    busy.set(false);
                }
            }
        });
    };

    let rules = data.with_value(|d| d.policy.rules());
    let history = data.with_value(|d| d.policy.history_length);
    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::Writing).to_owned()));

    view! {
        <h1>{move || i18n.t(Text::StepNewPassword)}</h1>
        <form on:submit=submit novalidate>
            <PasswordInput id="new-password" label=Text::NewPasswordLabel value=password described_by="rules" />
            <div class="strength" aria-live="polite">
                <div class="meter" data-score=move || score.get().to_string()>
                    <span style:width=move || format!("{}%", (u32::from(score.get()) + 1) * 20)></span>
                </div>
                <span class="strength-label">
                    {move || format!("{}: {}", i18n.t(Text::StrengthLabel), i18n.t(STRENGTHS[usize::from(score.get().min(4))]))}
                </span>
            </div>
            <p class="rules-heading">{move || i18n.t(Text::RulesHeading)}</p>
            <ul class="rules" id="rules">
                {rules
                    .into_iter()
                    .enumerate()
                    .map(move |(i, rule)| {
                        let met = Signal::derive(move || checks.get().get(i).is_some_and(|c| c.met));
                        let text = Signal::derive(move || match rule {
                            Rule::MinLength(n) => i18n.tf(Text::RuleMinLength, &[("n", &n.to_string())]),
                            Rule::Complexity => i18n.t(Text::RuleComplexity).to_owned(),
                            Rule::NotAccountName => i18n.t(Text::RuleNotAccountName).to_owned(),
                        });
                        view! { <RuleItem id=rule_id(rule) met text /> }
                    })
                    .collect_view()}
                <RuleItem id="confirm" met=matches.into() text=Signal::derive(move || i18n.t(Text::RuleConfirmMatches).to_owned()) />
            </ul>
            {(history > 0).then(|| view! { <p class="hint">{move || i18n.tf(Text::RuleHistory, &[("n", &history.to_string())])}</p> })}
            <PasswordInput id="confirm-password" label=Text::ConfirmPasswordLabel value=confirm />
            <p class="seal-note"><span class="lock-icon" aria-hidden="true"></span>{move || i18n.t(Text::SealNote)}</p>
            <ErrorBanner error />
            <button id="set-password" type="submit" class="primary" disabled=move || busy.get() || !ready()>
                {move || i18n.t(Text::SetPassword)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
