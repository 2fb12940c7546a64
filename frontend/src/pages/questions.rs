//! Step 2b for security questions: answer the ones asked.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::gate::Question;
use sspr_protocol::i18n::Text;

use crate::api;
use crate::app::Step;
use crate::components::StartOver;
use sspr_ui::components::{focus_on_mount, ErrorBanner, Progress};
use sspr_ui::i18n::use_i18n;

#[component]
pub fn QuestionsPage(step: RwSignal<Step>, flow_id: String, asked: Vec<Question>) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("answer-0");
    let flow = StoredValue::new(flow_id);
    let answers: Vec<RwSignal<String>> =
        asked.iter().map(|_| RwSignal::new(String::new())).collect();
    let all = StoredValue::new(answers.clone());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed: Vec<String> = all.with_value(|a| a.iter().map(|s| s.get_untracked()).collect());
        if typed.iter().any(|a| a.trim().is_empty()) {
            error.set(Some(i18n.t(Text::QuestionsPrompt).to_owned()));
            return;
        }
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let flow_id = flow.get_value();
            match api::answers(flow_id.clone(), typed).await {
                Ok(after) => step.set(Step::after_gate(flow_id, after)),
                Err(failure) => {
                    error.set(Some(i18n.failure(&failure)));
                    busy.set(false);
                }
            }
        });
    };
    let other = move |_| {
        spawn_local(async move {
            let flow_id = flow.get_value();
            if let Ok(gate) = api::other_method(flow_id.clone()).await {
                step.set(Step::Gate { flow_id, gate });
            }
        });
    };
    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::Verifying).to_owned()));

    view! {
        <h1>{move || i18n.t(Text::StepVerify)}</h1>
        <p class="lead">{move || i18n.t(Text::QuestionsPrompt)}</p>
        <form on:submit=submit novalidate>
            {asked.into_iter().zip(answers).enumerate().map(|(i, (question, value))| {
                let id = format!("answer-{i}");
                view! {
                    <label for=id.clone()>{move || i18n.t(question.text())}</label>
                    <input id=id type="text" autocomplete="off" spellcheck="false"
                        prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
                }
            }).collect_view()}
            <ErrorBanner error />
            <button id="verify" type="submit" class="primary" disabled=move || busy.get()>
                {move || i18n.t(Text::Verify)}
            </button>
            <button id="other-method" type="button" class="link" on:click=other>
                {move || i18n.t(Text::OtherMethod)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
