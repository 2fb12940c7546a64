//! Step 2b for security questions: answer the ones asked.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::gate::Question;
use sspr_protocol::i18n::Text;

use crate::api;
use crate::app::Step;
use crate::components::{ForUser, StartOver};
use sspr_ui::components::{focus_on_mount, ErrorBanner, FieldError, Progress};
use sspr_ui::i18n::{use_i18n, Said};

#[component]
pub fn QuestionsPage(step: RwSignal<Step>, flow_id: String, asked: Vec<Question>) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("answer-0");
    let flow = StoredValue::new(flow_id);
    // Each answer with its own error, said under it.
    let answers: Vec<(RwSignal<String>, RwSignal<Option<Said>>)> = asked
        .iter()
        .map(|_| (RwSignal::new(String::new()), RwSignal::new(None)))
        .collect();
    let all = StoredValue::new(answers.clone());
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed: Vec<String> =
            all.with_value(|a| a.iter().map(|(s, _)| s.get_untracked()).collect());
        error.set(None);
        // Not sent with an answer missing: said at the first empty one, which gets focus.
        if let Some(i) = typed.iter().position(|a| a.trim().is_empty()) {
            all.with_value(|a| a[i].1.set(Some(Text::AnswerRequired.into())));
            focus_on_mount(format!("answer-{i}"));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let flow_id = flow.get_value();
            match api::answers(flow_id.clone(), typed, i18n.lang.get_untracked()).await {
                Ok(after) => step.set(Step::after_gate(flow_id, after)),
                // Which answer was wrong is not said (it would help a guesser): the message
                // above the button, and focus back at the first answer to try again.
                Err(failure) => {
                    error.set(Some(i18n.failure(&failure)));
                    busy.set(false);
                    focus_on_mount("answer-0");
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
        <h1>{i18n.say(Text::StepVerify)}</h1>
        <ForUser />
        <p class="lead">{i18n.say(Text::QuestionsPrompt)}</p>
        <form on:submit=submit novalidate>
            {asked.into_iter().zip(answers).enumerate().map(|(i, (question, (value, field_error)))| {
                let id = format!("answer-{i}");
                let error_id = format!("{id}-error");
                view! {
                    <label for=id.clone()>{i18n.say(question.text())}</label>
                    <input id=id type="text" autocomplete="off" spellcheck="false"
                        aria-describedby={let error_id = error_id.clone(); move || field_error.with(Option::is_some).then(|| error_id.clone())}
                        aria-invalid=move || field_error.with(Option::is_some).then_some("true")
                        prop:value=move || value.get()
                        on:input=move |ev| {
                            value.set(event_target_value(&ev));
                            field_error.set(None);
                        } />
                    <FieldError id=error_id message=field_error.into() />
                }
            }).collect_view()}
            <ErrorBanner error />
            <button id="verify" type="submit" class="primary" disabled=move || busy.get()>
                {i18n.say(Text::Verify)}
            </button>
            <button id="other-method" type="button" class="link" on:click=other>
                {i18n.say(Text::OtherMethod)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
