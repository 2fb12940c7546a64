//! The directory's rules ticking green or red as the user types, a strength meter, and whether
//! both entries match. Used wherever a new password is chosen.

use leptos::prelude::*;
use sspr_protocol::i18n::Text;
use sspr_protocol::policy::{shown_strength, AccountNames, PasswordPolicy, Rule, RuleCheck};

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

/// The two fields of a new password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    New,
    Confirm,
}

impl Field {
    /// The field's element id, the same on every page.
    pub fn id(self) -> &'static str {
        match self {
            Field::New => "new-password",
            Field::Confirm => "confirm-password",
        }
    }
}

/// The live evaluation of a new password against the policy.
#[derive(Clone, Copy)]
pub struct PasswordCheck {
    checks: Memo<Vec<RuleCheck>>,
    matches: Memo<bool>,
    /// Nothing in the second field yet: its rule is not failed before the person gets there.
    confirm_empty: Memo<bool>,
    rules: StoredValue<Vec<Rule>>,
    history: u32,
    /// The full name is known here (a reset looked the account up); on a change only the typed
    /// account name is, and the full name is checked by the agent when the person submits.
    full_name_known: Memo<bool>,
    /// A password the directory refused for a name in it (which the page could not see):
    /// while it is the one typed, the name rule shows as failed.
    refused_for_name: RwSignal<Option<String>>,
    /// Submitted once: from then on an empty new-password field's rules show as failed, as
    /// the message beside it says (the second entry's rule still waits for something typed).
    tried: RwSignal<bool>,
}

impl PasswordCheck {
    pub fn new(
        policy: PasswordPolicy,
        names: Signal<AccountNames>,
        password: RwSignal<String>,
        confirm: RwSignal<String>,
    ) -> Self {
        let rules = StoredValue::new(policy.rules());
        let history = policy.history_length;
        let policy = StoredValue::new(policy);
        let refused_for_name = RwSignal::new(None::<String>);
        Self {
            checks: Memo::new(move |_| {
                let mut checks = policy.with_value(|p| p.evaluate(&password.get(), &names.get()));
                // Nothing typed meets no rule (not even "contains no name"); a password refused
                // for a name fails the name rule.
                let empty = password.with(String::is_empty);
                let refused = password.with(|p| refused_for_name.with(|r| r.as_ref() == Some(p)));
                for check in checks.iter_mut() {
                    if empty || (refused && check.rule == Rule::NotAccountName) {
                        check.met = false;
                    }
                }
                checks
            }),
            matches: Memo::new(move |_| {
                !confirm.get().is_empty() && password.get() == confirm.get()
            }),
            confirm_empty: Memo::new(move |_| confirm.with(String::is_empty)),
            rules,
            history,
            full_name_known: Memo::new(move |_| names.with(|n| !n.display_name.is_empty())),
            refused_for_name,
            tried: RwSignal::new(false),
        }
    }

    /// The directory refused `password` for a name in it.
    pub fn refused_for_name(&self, password: String) {
        self.refused_for_name.set(Some(password));
    }

    /// Every rule met and both entries equal: the password may be submitted.
    pub fn ready(&self) -> bool {
        self.checks.get().iter().all(|c| c.met) && self.matches.get()
    }

    /// What still keeps the new password from being submitted — first the rules, then the
    /// second entry — as the message and the field it belongs to; `None` when it may go.
    pub fn missing(&self) -> Option<(Text, Field)> {
        self.tried.set(true);
        if !self.checks.get_untracked().iter().all(|c| c.met) {
            Some((Text::MissingRules, Field::New))
        } else if !self.matches.get_untracked() {
            Some((Text::MissingConfirm, Field::Confirm))
        } else {
            None
        }
    }
}

/// `pending`: nothing typed yet, so the rule is neither met nor failed — it is only listed.
#[component]
fn RuleItem(
    id: &'static str,
    met: Signal<bool>,
    pending: Signal<bool>,
    text: Signal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <li
            data-rule=id
            class:pending=move || pending.get()
            class:met=move || !pending.get() && met.get()
            class:unmet=move || !pending.get() && !met.get()
        >
            <span class="rule-icon" aria-hidden="true">{move || match (pending.get(), met.get()) {
                (true, _) => "•",
                (false, true) => "✓",
                (false, false) => "✗",
            }}</span>
            <span>{move || text.get()}</span>
            {move || (!pending.get()).then(|| view! {
                <span class="sr-only">{move || format!(" ({})", i18n.t(if met.get() { Text::RuleMet } else { Text::RuleNotMet }))}</span>
            })}
        </li>
    }
}

/// `for_someone_else`: the rules of a password chosen for another person (the service desk's
/// reset), said in the third person ("the new password", "the user's last … passwords").
#[component]
pub fn PasswordRules(
    check: PasswordCheck,
    password: RwSignal<String>,
    #[prop(optional)] for_someone_else: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let (heading, history_note) = if for_someone_else {
        (Text::RulesHeadingOther, Text::RuleHistoryOther)
    } else {
        (Text::RulesHeading, Text::RuleHistory)
    };
    let score =
        Memo::new(move |_| password.with(|pw| check.checks.with(|c| shown_strength(pw, c))));
    let pending = Signal::derive(move || password.with(String::is_empty) && !check.tried.get());
    let confirm_pending = Signal::derive(move || pending.get() || check.confirm_empty.get());
    let history = check.history;
    view! {
        <div class="strength" aria-live="polite">
            <div class="meter" data-score=move || score.get().map_or_else(|| "none".to_owned(), |s| s.to_string())>
                <span style:width=move || format!("{}%", score.get().map_or(0, |s| (u32::from(s) + 1) * 20))></span>
            </div>
            <span class="strength-label">
                {move || score.get().map(|s| format!("{}: {}", i18n.t(Text::StrengthLabel), i18n.t(STRENGTHS[usize::from(s.min(4))])))}
            </span>
        </div>
        <p class="rules-heading">{i18n.say(heading)}</p>
        <ul class="rules" id="rules">
            {check
                .rules
                .get_value()
                .into_iter()
                .enumerate()
                .map(move |(i, rule)| {
                    let met = Signal::derive(move || check.checks.get().get(i).is_some_and(|c| c.met));
                    let text = Signal::derive(move || match rule {
                        Rule::MinLength(n) => i18n.tf(Text::RuleMinLength, &[("n", &n.to_string())]),
                        Rule::Complexity => i18n.t(Text::RuleComplexity).to_owned(),
                        Rule::NotAccountName if check.full_name_known.get() => {
                            i18n.t(Text::RuleNotAccountName).to_owned()
                        }
                        Rule::NotAccountName => i18n.t(Text::RuleNotAccountNameOnSubmit).to_owned(),
                    });
                    view! { <RuleItem id=rule_id(rule) met pending text /> }
                })
                .collect_view()}
            <RuleItem id="confirm" met=check.matches.into() pending=confirm_pending text=Signal::derive(move || i18n.t(Text::RuleConfirmMatches).to_owned()) />
        </ul>
        {(history > 0).then(|| view! { <p class="hint">{move || i18n.tf(history_note, &[("n", &history.to_string())])}</p> })}
    }
}
