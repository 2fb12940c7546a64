//! The shell (brand, language switch, steps) and the flow's current step. The server keeps the
//! flow's state; the browser only renders the step it is at.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::directory::DirectoryName;
use sspr_protocol::gate::{Challenge, Gate};
use sspr_protocol::i18n::Text;
use sspr_protocol::reset::{Completed, HelpContact, NewPasswordStep, Purpose};

use crate::components::{ModeSwitch, Steps};
use crate::pages::account::AccountPage;
use crate::pages::change::ChangePage;
use crate::pages::code::CodePage;
use crate::pages::done::DonePage;
use crate::pages::gate::GatePage;
use crate::pages::new_password::NewPasswordPage;
use crate::pages::questions::QuestionsPage;
use crate::pages::register::RegisterPage;
use sspr_ui::components::{ErrorBanner, LanguageSwitch};
use sspr_ui::i18n::{use_i18n, Said};

/// What the user came for: reset or unlock. Chosen on the first page, read by every step.
#[derive(Clone, Copy)]
pub struct FlowPurpose(pub RwSignal<Purpose>);

pub fn use_purpose() -> RwSignal<Purpose> {
    expect_context::<FlowPurpose>().0
}

/// The directories served (from the status) and the one the user picked; with more than one,
/// the user ID field offers a domain picker.
#[derive(Clone, Copy)]
pub struct Directories {
    pub all: RwSignal<Vec<DirectoryName>>,
    pub picked: RwSignal<String>,
}

pub fn use_directories() -> Directories {
    expect_context::<Directories>()
}

/// The user ID as typed when the flow began: the steps after it name it, so a typo shows
/// before codes go to nobody (it is what was typed, not what the directory found).
#[derive(Clone, Copy)]
pub struct TypedUser(pub RwSignal<String>);

pub fn use_typed_user() -> RwSignal<String> {
    expect_context::<TypedUser>().0
}

/// The whole number last typed at a gate, with the masked one it confirmed: back at the gate
/// ("Use another method"), that number is not asked for again. Forgotten when a flow begins.
#[derive(Clone, Copy)]
pub struct TypedPhone(pub RwSignal<Option<(String, String)>>);

pub fn use_typed_phone() -> RwSignal<Option<(String, String)>> {
    expect_context::<TypedPhone>().0
}

/// Whether the human check is a computation in the browser (the status says).
#[derive(Clone, Copy)]
struct ComputedCheck(RwSignal<bool>);

pub fn use_computed_check() -> RwSignal<bool> {
    expect_context::<ComputedCheck>().0
}

#[derive(Clone)]
pub enum Step {
    Account,
    Gate {
        flow_id: String,
        gate: Gate,
    },
    Code {
        flow_id: String,
        challenge: Challenge,
    },
    NewPassword {
        flow_id: String,
        step: NewPasswordStep,
    },
    Done(Completed),
}

impl Step {
    /// Where a passed gate leads.
    pub fn after_gate(flow_id: String, after: sspr_protocol::gate::AfterGate) -> Step {
        use sspr_protocol::gate::AfterGate;
        match after {
            AfterGate::Gate(gate) => Step::Gate { flow_id, gate },
            AfterGate::NewPassword(step) => Step::NewPassword { flow_id, step },
            AfterGate::Completed(done) => Step::Done(done),
        }
    }

    fn number(&self) -> usize {
        match self {
            Step::Account => 1,
            Step::Gate { .. } | Step::Code { .. } => 2,
            Step::NewPassword { .. } => 3,
            Step::Done(_) => 4,
        }
    }
}

#[component]
pub fn App(link: crate::route::DeepLink) -> impl IntoView {
    let i18n = use_i18n();
    crate::route::clear_query();
    if link.lang.is_some() {
        // As if the switch had been clicked: it holds after a reload too.
        i18n.remember();
    }
    let purpose = RwSignal::new(link.purpose);
    provide_context(FlowPurpose(purpose));
    provide_context(link);
    let directories = Directories {
        all: RwSignal::new(Vec::new()),
        picked: RwSignal::new(String::new()),
    };
    provide_context(directories);
    let step = RwSignal::new(Step::Account);
    let available = RwSignal::new(None::<bool>);
    let contact = RwSignal::new(HelpContact::default());
    let computed_check = RwSignal::new(false);
    provide_context(ComputedCheck(computed_check));
    provide_context(TypedUser(RwSignal::new(String::new())));
    provide_context(TypedPhone(RwSignal::new(None)));
    crate::route::follow(purpose, step);

    // A one-time link from the service desk: its token is the id of a flow waiting at its
    // new-password step. Taken out of the address bar at once (it is a credential until used).
    let link_error = RwSignal::new(None::<Said>);
    let link_spent = RwSignal::new(false);
    // Said in the language chosen now, also after a switch, and only until the user goes on
    // with a reset of their own.
    Effect::new(move |_| {
        let on_first_page = step.with(|s| matches!(s, Step::Account));
        if link_spent.get() && !on_first_page {
            link_spent.set(false);
        }
        let shown = link_spent.get() && on_first_page;
        link_error.set(shown.then(|| Text::ErrLinkSpent.into()));
    });
    if let Some(token) = link_token() {
        spawn_local(async move {
            match crate::api::fresh_key(token.clone()).await {
                Ok(data) => step.set(Step::NewPassword {
                    flow_id: token,
                    step: data,
                }),
                Err(_) => link_spent.set(true),
            }
        });
    }

    // Ask at once whether write-back is up, so nobody types a name in vain.
    spawn_local(async move {
        if let Ok(status) = crate::api::status().await {
            available.set(Some(status.writeback_available));
            directories.all.set(status.directories);
            contact.set(status.contact);
            computed_check.set(status.captcha_computed);
        }
    });
    Effect::new(move |_| {
        let lang = i18n.lang.get();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.code());
        }
        // A bookmark says which page it is.
        document().set_title(i18n.t(match purpose.get() {
            Purpose::Reset => Text::ResetTitle,
            Purpose::Unlock => Text::UnlockTitle,
            Purpose::Change => Text::ChangeTitle,
            Purpose::Register => Text::RegisterTitle,
        }));
    });

    let current = Signal::derive(move || step.with(Step::number));
    view! {
        <div class="shell">
            <header class="topbar">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    <span>{i18n.say(Text::ProductName)}</span>
                </div>
                <LanguageSwitch />
            </header>
            <main class="card" id="main">
                // Above the step bar, which only some modes have: choosing a mode by keyboard
                // does not move the switch under the focus.
                {move || step.with(|s| matches!(s, Step::Account)).then(|| view! { <ModeSwitch /> })}
                <Steps current />
                <ErrorBanner error=link_error id="link-error" />
                {move || match step.get() {
                    Step::Account => {
                        let purpose = use_purpose();
                        view! {
                            {move || match purpose.get() {
                                Purpose::Change => view! { <ChangePage step available /> }.into_any(),
                                Purpose::Register => view! { <RegisterPage available /> }.into_any(),
                                _ => view! { <AccountPage step available /> }.into_any(),
                            }}
                        }
                        .into_any()
                    }
                    Step::Gate { flow_id, gate } => view! { <GatePage step flow_id gate /> }.into_any(),
                    Step::Code { flow_id, challenge: Challenge::Questions { asked } } => view! { <QuestionsPage step flow_id asked /> }.into_any(),
                    Step::Code { flow_id, challenge } => view! { <CodePage step flow_id challenge /> }.into_any(),
                    Step::NewPassword { flow_id, step: data } => view! { <NewPasswordPage step flow_id data /> }.into_any(),
                    Step::Done(done) => view! { <DonePage step done /> }.into_any(),
                }}
            </main>
            <HelpFooter contact />
        </div>
    }
}

/// How to reach the helpdesk, as the operator configured it (`[contact]`); without it, a
/// plain line.
#[component]
fn HelpFooter(contact: RwSignal<HelpContact>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <footer class="footer" id="help">
            {move || {
                let c = contact.get();
                if c.is_empty() {
                    return view! { <p>{i18n.t(Text::HelpFooter)}</p> }.into_any();
                }
                let dial = format!("tel:{}", c.dial());
                view! {
                    <p>
                        {i18n.t(Text::HelpFooterLead)}" "
                        {(!c.text.is_empty()).then(|| view! { <span class="help-text">{c.text.clone()}</span> })}
                        {(!c.phone.is_empty()).then(|| view! { <a class="help-phone" href=dial>{c.phone.clone()}</a> })}
                        {(!c.url.is_empty()).then(|| view! { <a class="help-url" href=c.url.clone()>{i18n.t(Text::HelpWebsite)}</a> })}
                    </p>
                }
                .into_any()
            }}
        </footer>
    }
}

/// The token of a one-time link (`/#reset-link=<token>`), removed from the address bar.
fn link_token() -> Option<String> {
    let location = window().location();
    let hash = location.hash().ok()?;
    let token = hash
        .strip_prefix('#')?
        .strip_prefix(sspr_protocol::helpdesk::LINK_FRAGMENT)?
        .strip_prefix('=')?
        .to_owned();
    if let Ok(history) = window().history() {
        let path = location.pathname().unwrap_or_else(|_| "/".into());
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    (!token.is_empty()).then_some(token)
}
