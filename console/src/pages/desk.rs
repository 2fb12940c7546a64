//! The desk: a search box always at the top, the matches as a list, and the account picked.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::helpdesk::{AccountRef, AccountView, SearchHit, SearchResults};
use sspr_protocol::i18n::ConsoleText;
use sspr_protocol::relay::MIN_SEARCH_CHARS;
use sspr_ui::components::{focus_on_mount, ErrorBanner, Progress};
use sspr_ui::i18n::{use_i18n, Said};

use crate::api;
use crate::app::use_desk;
use crate::pages::account::AccountPanel;

/// What the list shows under the search box.
#[derive(Clone)]
enum Found {
    Nothing,
    TooShort,
    Results {
        query: String,
        results: SearchResults,
    },
}

#[component]
pub fn DeskPage() -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    focus_on_mount("search");
    let query = RwSignal::new(String::new());
    let found = RwSignal::new(Found::Nothing);
    let selected = RwSignal::new(None::<AccountRef>);
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed = query.get_untracked().trim().to_owned();
        error.set(None);
        if typed.chars().count() < MIN_SEARCH_CHARS {
            found.set(Found::TooShort);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::search(typed.clone()).await {
                Ok(results) => found.set(Found::Results {
                    query: typed,
                    results,
                }),
                Err(failure) => desk.failed(i18n, &failure, error),
            }
            busy.set(false);
        });
    };

    // An account seen afresh (after an unlock, say) keeps its badges in the list right.
    let loaded = Callback::new(move |v: AccountView| {
        let state = (v.details.account.enabled, v.details.account.locked);
        let this = |h: &SearchHit| {
            h.directory == v.directory && h.account.anchor == v.details.account.anchor
        };
        let stale = found.with_untracked(|f| {
            matches!(f, Found::Results { results, .. }
                if results.hits.iter().any(|h| this(h) && (h.account.enabled, h.account.locked) != state))
        });
        if stale {
            found.update(|f| {
                if let Found::Results { results, .. } = f {
                    for hit in results.hits.iter_mut().filter(|h| this(h)) {
                        (hit.account.enabled, hit.account.locked) = state;
                    }
                }
            });
        }
    });
    let progress = Signal::derive(move || {
        busy.get()
            .then(|| i18n.t(ConsoleText::Searching).to_owned())
    });
    view! {
        <form class="card search" role="search" on:submit=submit novalidate>
            <label for="search">{i18n.say(ConsoleText::SearchLabel)}</label>
            <div class="search-row">
                <input
                    id="search"
                    name="search"
                    type="search"
                    autocomplete="off"
                    autocapitalize="none"
                    spellcheck="false"
                    aria-describedby="search-hint"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <button id="search-button" type="submit" class="primary compact" disabled=move || busy.get()>
                    {i18n.say(ConsoleText::SearchButton)}
                </button>
            </div>
            <p id="search-hint" class="hint">{i18n.say(ConsoleText::SearchHint)}</p>
            <ErrorBanner error id="search-error" />
            <Progress message=progress id="search-progress" />
        </form>
        <div class="desk-grid">
            <section class="card hits-card" aria-labelledby="hits-title">
                <h2 id="hits-title" class="sr-only">{i18n.say(ConsoleText::ResultsTitle)}</h2>
                <Hits found selected />
            </section>
            {move || match selected.get() {
                Some(account) => view! { <AccountPanel account loaded /> }.into_any(),
                None => view! {
                    <section class="card account-card empty-panel">
                        <p class="hint">{i18n.say(ConsoleText::PickAccount)}</p>
                    </section>
                }
                .into_any(),
            }}
        </div>
    }
}

/// The matches, each a button that opens the account.
#[component]
fn Hits(found: RwSignal<Found>, selected: RwSignal<Option<AccountRef>>) -> impl IntoView {
    let i18n = use_i18n();
    let hit = move |(i, hit): (usize, SearchHit)| {
        let account = AccountRef {
            directory: hit.directory.clone(),
            anchor: hit.account.anchor.clone(),
        };
        let this = account.clone();
        let is_selected = move || selected.with(|s| s.as_ref() == Some(&this));
        let summary = hit.account;
        let enabled = summary.enabled;
        let locked = summary.locked;
        view! {
            <li>
                <button
                    type="button"
                    class="hit"
                    id=format!("hit-{i}")
                    data-account=summary.account_name.clone()
                    aria-current=move || is_selected().then_some("true")
                    on:click=move |_| selected.set(Some(account.clone()))
                >
                    <strong class="hit-name">{summary.display_name.clone()}</strong>
                    <span class="hit-upn">{summary.upn.clone()}</span>
                    <span class="badges">
                        {(!enabled).then(|| view! { <span class="badge badge-bad">{i18n.say(ConsoleText::Disabled)}</span> })}
                        {enabled.then(|| view! { <span class="badge badge-ok">{i18n.say(ConsoleText::Enabled)}</span> })}
                        {locked.then(|| view! { <span class="badge badge-warn">{i18n.say(ConsoleText::Locked)}</span> })}
                    </span>
                </button>
            </li>
        }
    };
    view! {
        <div id="hits-status" class="hits-status" role="status" aria-live="polite">
            {move || match found.get() {
                Found::Nothing => None,
                Found::TooShort => Some(i18n.tf(ConsoleText::SearchTooShort, &[("n", &MIN_SEARCH_CHARS.to_string())])),
                Found::Results { query, results } if results.hits.is_empty() => {
                    Some(i18n.tf(ConsoleText::NoMatch, &[("query", &query)]))
                }
                Found::Results { results, .. } => Some(i18n.tf(ConsoleText::Matches, &[("n", &results.hits.len().to_string())])),
            }}
        </div>
        {move || match found.get() {
            Found::Results { results, .. } if !results.hits.is_empty() => {
                let more = results.more;
                Some(view! {
                    <ul class="hits" id="hits">
                        {results.hits.into_iter().enumerate().map(hit).collect_view()}
                    </ul>
                    {more.then(|| view! { <p class="hint" id="more">{i18n.say(ConsoleText::MoreMatches)}</p> })}
                })
            }
            _ => None,
        }}
    }
}
