//! Step 2a: how to prove it's you. The methods left for this gate, masked; a text or a call
//! first asks for the whole number, so nobody can make a stranger's phone ring.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::gate::{Gate, Method, MethodOffer};
use sspr_protocol::i18n::Text;
use sspr_protocol::ErrorCode;

use crate::api;
use crate::app::Step;
use crate::components::{ForUser, StartOver};
use sspr_ui::components::{focus_on_mount, ErrorBanner, FieldError, Progress};
use sspr_ui::i18n::{use_i18n, I18n, Said};

fn offer_label(i18n: I18n, offer: &MethodOffer) -> String {
    let text = match offer.method {
        Method::Mail => Text::MethodMail,
        Method::MobileText => Text::MethodMobileText,
        Method::MobileCall => Text::MethodMobileCall,
        Method::OfficeCall => Text::MethodOfficeCall,
        Method::Authenticator => Text::MethodAuthenticator,
        Method::Questions => Text::MethodQuestions,
    };
    // A masked number stays on one line ("+31 6 ••••••02" is one thing to read).
    i18n.tf(text, &[("dest", &offer.masked.replace(' ', "\u{a0}"))])
}

#[component]
pub fn GatePage(step: RwSignal<Step>, flow_id: String, gate: Gate) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("method-0");
    let flow = StoredValue::new(flow_id);
    let offers = StoredValue::new(gate.offers.clone());
    let chosen = RwSignal::new(gate.offers.first().map(|o| o.choice));
    let phone = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    // What is wrong with the typed number, at its field.
    let phone_error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);
    let chosen_offer = move || {
        offers.with_value(|all| all.iter().find(|o| Some(o.choice) == chosen.get()).cloned())
    };
    // The number typed for this masked one before, back at the gate after another method.
    let typed_phone = crate::app::use_typed_phone();
    Effect::new(move |_| {
        let Some(offer) = chosen_offer() else { return };
        if let Some((masked, typed)) = typed_phone.get_untracked() {
            if masked == offer.masked && phone.with_untracked(String::is_empty) {
                phone.set(typed);
            }
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(offer) = chosen_offer() else { return };
        if busy.get_untracked() {
            return;
        }
        let typed = phone.get_untracked().trim().to_owned();
        if offer.method.uses_phone() && typed.is_empty() {
            phone_error.set(Some(Text::PhoneRequired.into()));
            focus_on_mount("phone");
            return;
        }
        error.set(None);
        busy.set(true);
        let phone = offer.method.uses_phone().then_some(typed);
        spawn_local(async move {
            match api::choose(
                flow.get_value(),
                offer.choice,
                phone.clone(),
                i18n.lang.get_untracked(),
            )
            .await
            {
                Ok(challenge) => {
                    if let Some(typed) = phone {
                        typed_phone.set(Some((offer.masked, typed)));
                    }
                    step.set(Step::Code {
                        flow_id: flow.get_value(),
                        challenge,
                    });
                }
                Err(failure) => {
                    busy.set(false);
                    if failure.code() == Some(ErrorCode::PhoneMismatch) {
                        phone_error.set(Some(i18n.failure(&failure)));
                        focus_on_mount("phone");
                    } else {
                        error.set(Some(i18n.failure(&failure)));
                    }
                }
            }
        });
    };

    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::CodeSending).to_owned()));
    let (number, of) = (gate.number, gate.of);
    view! {
        <h1>{i18n.say(Text::GateTitle)}</h1>
        <ForUser />
        <p class="lead" id="gate-lead">
            // One check: nothing to count, and no "Step 1 of 1" under a bar at step 2 of 3.
            {move || if of > 1 {
                i18n.tf(Text::GateOfTwo, &[("n", &number.to_string()), ("of", &of.to_string())])
            } else {
                i18n.t(Text::GateOne).to_owned()
            }}
            {move || (number > 1).then(|| format!(" {}", i18n.t(Text::GateSecond)))}
        </p>
        <form on:submit=submit novalidate>
            {move || offers.with_value(|o| o.is_empty()).then(|| view! {
                <div class="notice notice-warning" role="alert">{i18n.t(Text::GateNoMethods)}</div>
            })}
            <fieldset class="methods" aria-describedby="gate-lead">
                <legend class="sr-only">{i18n.say(Text::GateTitle)}</legend>
                {offers.get_value().into_iter().enumerate().map(|(i, offer)| {
                    let choice = offer.choice;
                    let id = format!("method-{i}");
                    let label_for = id.clone();
                    let offer_for_label = offer.clone();
                    view! {
                        <label class="method" for=label_for>
                            <input
                                type="radio"
                                name="method"
                                id=id
                                data-method=offer.method.name()
                                prop:checked=move || chosen.get() == Some(choice)
                                on:change=move |_| { chosen.set(Some(choice)); error.set(None); }
                            />
                            <span>{move || offer_label(i18n, &offer_for_label)}</span>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            {move || chosen_offer().filter(|o| o.method.uses_phone()).map(|o| view! {
                <label for="phone">{move || i18n.tf(Text::PhoneConfirmLabel, &[("dest", &o.masked)])}</label>
                <input
                    id="phone"
                    name="phone"
                    type="tel"
                    autocomplete="tel"
                    aria-describedby=move || if phone_error.with(Option::is_some) { "phone-error phone-hint" } else { "phone-hint" }
                    aria-invalid=move || phone_error.with(Option::is_some).then_some("true")
                    prop:value=move || phone.get()
                    on:input=move |ev| {
                        phone.set(event_target_value(&ev));
                        phone_error.set(None);
                    }
                />
                <FieldError id="phone-error".to_owned() message=phone_error.into() />
                <p id="phone-hint" class="hint">{i18n.say(Text::PhoneConfirmHint)}</p>
            })}
            <ErrorBanner error />
            <button id="choose-method" type="submit" class="primary" disabled=move || busy.get() || chosen.get().is_none()>
                {i18n.say(Text::Continue)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
