//! End to end in headless Chromium: the real WASM build served by the real server, a real
//! agent, Samba, and mail through SMTP. The new password is proven by binding to AD.

use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use sspr_tests::browser::Browser;
use sspr_tests::samba;
use sspr_tests::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn dist() -> std::path::PathBuf {
    let dist = sspr_tests::workspace_root().join("dist");
    assert!(
        dist.join("index.html").exists(),
        "the frontend is not built: run scripts/build-frontend.sh (scripts/test.sh does)"
    );
    dist
}

/// The whole stack serving the real frontend, and a browser of `lang` on its first page.
async fn open_portal(lang: &str) -> (Stack, Browser) {
    open_portal_with(lang, |_| {}).await
}

async fn open_portal_with(
    lang: &str,
    configure: impl FnOnce(&mut sspr_tests::processes::ServerOptions),
) -> (Stack, Browser) {
    let stack = Stack::start(samba::shared(), |o| {
        o.frontend_dir = Some(dist());
        o.captcha_difficulty = 12;
        configure(o);
    })
    .await;
    let browser = Browser::start(lang).await;
    browser
        .client
        .goto(&stack.server.url)
        .await
        .expect("open the portal");
    (stack, browser)
}

pub(crate) async fn find(c: &Client, css: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

pub(crate) async fn click(c: &Client, css: &str, what: &str) {
    find(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// The element's text, found and read together: one re-rendered between the two is looked up
/// again instead of read as empty.
pub(crate) async fn text(c: &Client, css: &str) -> String {
    sspr_tests::wait_for_async(&format!("the text of {css}"), WAIT, || async {
        c.find(Locator::Css(css)).await.ok()?.text().await.ok()
    })
    .await
}

/// Waits until the element's text contains `part` (a text that follows a change of language,
/// which waits for that language's texts).
async fn text_comes_to_contain(c: &Client, css: &str, part: &str) {
    sspr_tests::wait_for_async(&format!("{css} to say {part:?}"), WAIT, || async {
        let said = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        said.contains(part).then_some(())
    })
    .await;
}

/// Waits until the rule's item has the class `met` (or `unmet`, or `pending` before anything is
/// typed).
async fn rule_is(c: &Client, rule: &str, state: &str) {
    let css = format!("li[data-rule='{rule}']");
    sspr_tests::wait_for_async(&format!("{rule} {state}"), WAIT, || {
        let css = css.clone();
        async move {
            let class = c
                .find(Locator::Css(&css))
                .await
                .ok()?
                .attr("class")
                .await
                .ok()??;
            class.split_whitespace().any(|c| c == state).then_some(())
        }
    })
    .await;
}

/// The id of the element that has keyboard focus, once it is `id`.
pub(crate) async fn focus_reaches(c: &Client, id: &str) {
    sspr_tests::wait_for_async(&format!("focus on #{id}"), WAIT, || async {
        let active = c.active_element().await.ok()?.attr("id").await.ok()??;
        (active == id).then_some(())
    })
    .await;
}

/// Waits until the field's own error (`#<field>-error`, an alert) says `says`, with focus moved
/// to the field and the field marked invalid; returns the field.
async fn field_error_is(c: &Client, field: &str, says: &str) -> Element {
    let said = text(c, &format!("#{field}-error[role='alert']")).await;
    assert!(said.contains(says), "#{field}: {said}");
    focus_reaches(c, field).await;
    let element = find(c, &format!("#{field}")).await;
    assert_eq!(
        element.attr("aria-invalid").await.ok().flatten().as_deref(),
        Some("true"),
        "#{field} is marked invalid"
    );
    element
}

async fn button_enabled(c: &Client, css: &str) -> bool {
    find(c, css)
        .await
        .prop("disabled")
        .await
        .ok()
        .flatten()
        .as_deref()
        != Some("true")
}

pub(crate) async fn type_into(c: &Client, css: &str, value: &str) {
    let input = find(c, css).await;
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

#[tokio::test]
async fn a_user_resets_their_password_in_the_browser() {
    let dc = samba::shared();
    dc.create_user(
        "web.reset",
        "Old-Passw0rd!",
        Some("web.reset@corp.example.test"),
        "Wendy Reset",
    )
    .expect("user");
    let (stack, browser) = open_portal("en-US").await;
    let c = &browser.client;

    sspr_tests::browser::assert_accessible(c, "the first page").await;
    // The human check is a computation here, and the page says there is nothing to solve.
    let note = text(c, ".fineprint").await;
    assert!(note.contains("short computation"), "{note}");
    type_into(c, "#username", &dc.upn("web.reset")).await;
    click(c, "#continue", "continue").await;

    // The CAPTCHA is solved in WASM; the gate offers the one method this account has, and
    // keyboard users land on it.
    focus_reaches(c, "method-0").await;
    // One check to pass: no "Step 1 of 1" under the bar that says step 2 of 3.
    assert_eq!(
        text(c, "#gate-lead").await,
        "Choose how to verify that it is you."
    );
    let offer = text(c, "label.method").await;
    assert!(offer.contains("w•••••@c•••.example.test"), "{offer}");
    // The steps name the user ID as typed, so a typo shows before a code goes anywhere.
    assert_eq!(
        text(c, "#for-user").await,
        format!("User ID: {}", dc.upn("web.reset"))
    );
    sspr_tests::browser::assert_accessible(c, "the gate").await;
    // What the page waits for (sending the code) is announced politely where it shows.
    find(c, ".progress[role='status'][aria-live='polite']").await;
    click(c, "#choose-method", "choose").await;
    // The code goes out over SMTP.
    let sent = text(c, "#code-sent").await;
    assert!(sent.contains("w•••••@c•••.example.test"), "{sent}");
    // Keyboard users land in the code field, and can leave the flow.
    focus_reaches(c, "code").await;
    assert!(text(c, "#for-user").await.ends_with(&dc.upn("web.reset")));
    find(c, "#start-over").await;
    sspr_tests::browser::assert_accessible(c, "the code step").await;
    let code = stack
        .smtp
        .wait_for_mail("web.reset@corp.example.test", 0)
        .code()
        .expect("code");
    // Nothing typed, then a wrong code: each said at the field, which keeps what was typed.
    click(c, "#verify", "verify without a code").await;
    field_error_is(c, "code", "Enter the code from the message.").await;
    // Too few digits: caught here, at no cost of an attempt.
    type_into(c, "#code", "1234").await;
    click(c, "#verify", "verify a short code").await;
    field_error_is(c, "code", &format!("The code has {} digits.", code.len())).await;
    // A new code asked for at once: the wait is said as a wait, not as "too many attempts".
    click(c, "#resend", "ask for a new code at once").await;
    let said = text(c, "#error").await;
    assert!(said.contains("A new code can be sent from "), "{said}");
    let last = if code.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &code[..code.len() - 1]);
    type_into(c, "#code", &wrong).await;
    click(c, "#verify", "verify a wrong code").await;
    let field = field_error_is(c, "code", "That code is not correct.").await;
    assert_eq!(
        field.prop("value").await.ok().flatten().as_deref(),
        Some(wrong.as_str())
    );
    sspr_tests::browser::assert_accessible(c, "the code step with a wrong code").await;
    type_into(c, "#code", &code).await;
    click(c, "#verify", "verify").await;

    focus_reaches(c, "new-password").await;
    // Nothing typed: the rules are listed, neither ticked nor crossed, and no strength shows.
    for rule in ["min_length", "complexity", "not_account_name", "confirm"] {
        rule_is(c, rule, "pending").await;
    }
    find(c, ".meter[data-score='none']").await;
    assert_eq!(text(c, ".strength-label").await, "");
    sspr_tests::browser::assert_accessible(c, "the new-password step").await;
    // Samba cannot hold a reset to the password history: the page does not promise it.
    assert!(
        c.find(Locator::Css(".rules + .hint")).await.is_err(),
        "no history line on a reset where the DC cannot enforce it"
    );
    // Submitted empty: the message says the rules are not met, and so do the rules (no
    // tick for "contains no name" on nothing); the second entry's rule still waits.
    click(c, "#set-password", "submit nothing").await;
    field_error_is(
        c,
        "new-password",
        "Your new password does not meet all the rules yet.",
    )
    .await;
    for rule in ["min_length", "complexity", "not_account_name"] {
        rule_is(c, rule, "unmet").await;
    }
    rule_is(c, "confirm", "pending").await;
    // The rules tick as the user types: a weak password first…
    type_into(c, "#new-password", "wendy").await;
    rule_is(c, "min_length", "unmet").await;
    rule_is(c, "complexity", "unmet").await;
    // Submitting it says what is missing, at the field, which is marked and gets focus.
    click(c, "#set-password", "submit a weak password").await;
    let field = field_error_is(
        c,
        "new-password",
        "Your new password does not meet all the rules yet.",
    )
    .await;
    let described = field.attr("aria-describedby").await.ok().flatten();
    assert_eq!(described.as_deref(), Some("rules new-password-error"));
    sspr_tests::browser::assert_accessible(c, "the new-password step with a field error").await;
    // …one that contains part of the display name…
    type_into(c, "#new-password", "Wendy-Sunshine-7").await;
    rule_is(c, "min_length", "met").await;
    rule_is(c, "complexity", "met").await;
    rule_is(c, "not_account_name", "unmet").await;
    // Long and varied, but refused: the meter never looks better than the rules allow.
    let strength = text(c, ".strength-label").await;
    assert!(
        strength.ends_with("Weak") || strength.ends_with("Very weak"),
        "{strength}"
    );
    // …then a strong one, confirmed.
    let password = "Blue-Harbour-Lights-93";
    type_into(c, "#new-password", password).await;
    rule_is(c, "not_account_name", "met").await;
    // The second entry's rule waits until something is typed there, then says if they differ.
    rule_is(c, "confirm", "pending").await;
    type_into(c, "#confirm-password", "Blue-Harbour").await;
    rule_is(c, "confirm", "unmet").await;
    type_into(c, "#confirm-password", password).await;
    rule_is(c, "confirm", "met").await;
    let strength = text(c, ".strength-label").await;
    assert!(
        strength.ends_with("Strong") || strength.ends_with("Good"),
        "{strength}"
    );
    assert!(button_enabled(c, "#set-password").await);
    click(c, "#set-password", "submit").await;

    let done = text(c, "#done").await;
    assert_eq!(done, "Your password has been reset");
    // Focus lands on the outcome, not back at the top of the page, which is announced.
    focus_reaches(c, "done").await;
    find(c, ".done[role='status']").await;
    sspr_tests::browser::assert_accessible(c, "the done page").await;
    crate::agent_ad::bind_as(dc, "web.reset", password)
        .await
        .expect("AD accepts the password typed in the browser");
    assert!(crate::agent_ad::bind_as(dc, "web.reset", "Old-Passw0rd!")
        .await
        .is_err());
    browser.close().await;
}

#[tokio::test]
async fn with_the_agent_stopped_the_first_page_says_reset_is_unavailable() {
    let dc = samba::shared();
    let mut stack = Stack::start(dc, |o| o.frontend_dir = Some(dist())).await;
    stack.agent.stop();
    stack.wait_writeback(false).await;
    let browser = Browser::start("en-US").await;
    let c = &browser.client;
    c.goto(&stack.server.url).await.expect("open the portal");
    let notice = text(c, "#unavailable").await;
    assert!(
        notice.contains("Password reset is unavailable right now"),
        "{notice}"
    );
    assert!(
        !button_enabled(c, "#continue").await,
        "nothing can be started"
    );
    sspr_tests::browser::assert_accessible(c, "the first page with write-back unavailable").await;
    assert!(stack.smtp.mails().is_empty());
    browser.close().await;
}

#[tokio::test]
async fn the_browser_language_picks_dutch_and_the_switch_overrides_it() {
    let (_stack, browser) = open_portal("nl-NL").await;
    let c = &browser.client;
    assert_eq!(text(c, "h1").await, "Stel je wachtwoord opnieuw in");
    let lang = find(c, "html").await.attr("lang").await.ok().flatten();
    assert_eq!(lang.as_deref(), Some("nl"));
    // A visitor downloads the texts of the language they read, and another's only on a switch.
    assert_eq!(texts_loaded(c).await, ["nl"]);
    click(c, "#lang-en", "switch").await;
    sspr_tests::wait_for_async("English heading", WAIT, || async {
        (c.find(Locator::Css("h1")).await.ok()?.text().await.ok()? == "Reset your password")
            .then_some(())
    })
    .await;
    assert_eq!(texts_loaded(c).await, ["en", "nl"]);
    // Without a configured contact line, the plain one.
    assert_eq!(text(c, "#help").await, "Trouble? Contact your helpdesk.");
    // An empty submit says what is missing, in the chosen language.
    click(c, "#continue", "continue").await;
    // At the field, which is marked and gets focus, and announced at once.
    field_error_is(c, "username", "Enter your user ID.").await;
    sspr_tests::browser::assert_accessible(c, "the first page in Dutch with a missing user ID")
        .await;
    browser.close().await;
}

/// The languages whose texts the page has fetched, in alphabetical order.
async fn texts_loaded(c: &Client) -> Vec<String> {
    let names = c
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .expect("resource timings");
    let mut langs: Vec<String> = names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            n.as_str()?
                .split("/texts-")
                .nth(1)?
                .split('-')
                .next()
                .map(String::from)
        })
        .collect();
    langs.sort();
    langs
}

/// The real build with some of its texts files gone (as if lost on the way): the files whose
/// names start with `missing`.
fn dist_without(missing: &str) -> tempfile::TempDir {
    let without = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(dist()).expect("dist") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_file() && !name.starts_with(missing) {
            std::fs::copy(&path, without.path().join(&name)).expect("copy");
        }
    }
    without
}

#[tokio::test]
async fn without_its_texts_the_page_says_it_could_not_load_in_every_language() {
    // Tried twice, then the page's own words for it, in each language, rather than a page of
    // empty labels.
    let without = dist_without("texts-");
    let stack = Stack::start(samba::shared(), |o| {
        o.frontend_dir = Some(without.path().into())
    })
    .await;
    let browser = Browser::start("nl-NL").await;
    let c = &browser.client;
    c.goto(&stack.server.url).await.expect("open the portal");
    sspr_tests::wait_for_async("the page to say it could not load", WAIT, || async {
        let said = c.find(Locator::Css("main")).await.ok()?.text().await.ok()?;
        (said.contains("This page could not be loaded.")
            && said.contains("Deze pagina kon niet worden geladen.")
            && said.contains("reload the page"))
        .then_some(())
    })
    .await;
    // Nothing else was shown: no form to type a user ID into.
    assert!(c.find(Locator::Css("#username")).await.is_err());
    sspr_tests::browser::assert_accessible(c, "the page without its texts").await;
    browser.close().await;
}

#[tokio::test]
async fn a_language_that_cannot_be_loaded_is_said_at_the_switch_and_the_page_stays() {
    let without = dist_without("texts-nl");
    let (_stack, browser) = open_portal_with("en-US", |o| {
        o.frontend_dir = Some(without.path().into());
    })
    .await;
    let c = &browser.client;
    assert_eq!(text(c, "h1").await, "Reset your password");
    click(c, "#lang-nl", "switch").await;
    assert_eq!(
        text(c, "#lang-error .notice-text").await,
        "That language could not be loaded. Reload the page to try again."
    );
    assert_eq!(text(c, "h1").await, "Reset your password");
    let pressed = find(c, "#lang-en")
        .await
        .attr("aria-pressed")
        .await
        .ok()
        .flatten();
    assert_eq!(pressed.as_deref(), Some("true"));
    sspr_tests::browser::assert_accessible(c, "the first page after a failed switch").await;
    browser.close().await;
}

#[tokio::test]
async fn each_mode_has_its_own_address_and_a_link_prefills_without_staying_in_the_address_bar() {
    let (stack, browser) = open_portal("en-US").await;
    let c = &browser.client;
    let path = || async {
        let url = c.current_url().await.expect("url");
        format!(
            "{}{}",
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        )
    };
    let heading = |want: &'static str| async move {
        sspr_tests::wait_for_async(&format!("heading {want}"), WAIT, || async {
            (c.find(Locator::Css("h1")).await.ok()?.text().await.ok()? == want).then_some(())
        })
        .await;
    };
    // A link to the unlock page, in Dutch, for a named user: the page opens there, the name is
    // typed in, and the address bar keeps only the page's own address.
    c.goto(&format!(
        "{}/unlock?user=web.deep&lang=nl",
        stack.server.url
    ))
    .await
    .expect("open the link");
    heading("Deblokkeer je account").await;
    let typed = find(c, "#username").await.prop("value").await;
    assert_eq!(typed.ok().flatten().as_deref(), Some("web.deep"));
    assert_eq!(path().await, "/unlock");
    assert_eq!(c.title().await.expect("title"), "Deblokkeer je account");
    // Choosing a mode moves to its address; Back returns to the mode before.
    click(c, "#mode-change", "change").await;
    heading("Wijzig je wachtwoord").await;
    assert_eq!(path().await, "/change");
    click(c, "#mode-register", "my methods").await;
    heading("Je verificatiemethoden").await;
    assert_eq!(path().await, "/methods");
    c.back().await.expect("back");
    heading("Wijzig je wachtwoord").await;
    c.back().await.expect("back");
    heading("Deblokkeer je account").await;
    c.forward().await.expect("forward");
    heading("Wijzig je wachtwoord").await;
    // A name too long for any account is not taken; an unknown language is ignored, and the
    // link's Dutch holds as a click on the switch would (a reload keeps it).
    let long = "x".repeat(300);
    c.goto(&format!("{}/reset?user={long}&lang=xx", stack.server.url))
        .await
        .expect("open the link");
    heading("Stel je wachtwoord opnieuw in").await;
    let typed = find(c, "#username").await.prop("value").await;
    assert_eq!(typed.ok().flatten().as_deref(), Some(""));
    assert_eq!(path().await, "/reset");
    browser.close().await;
}

#[tokio::test]
async fn the_helpdesk_contact_line_is_the_operators_with_a_number_to_call_and_a_page_to_open() {
    let toml = "[contact]\ntext = \"IT Service Desk, weekdays 8:00–18:00\"\n\
                phone = \"+31 (0)20 123 4567\"\nurl = \"https://help.corp.example.test/sspr\"\n";
    let (_stack, browser) = open_portal_with("en-US", |o| o.extra_toml = toml.into()).await;
    let c = &browser.client;
    let attr = |css: &'static str, name: &'static str| async move {
        find(c, css)
            .await
            .attr(name)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    assert_eq!(
        text(c, "#help .help-text").await,
        "IT Service Desk, weekdays 8:00–18:00"
    );
    assert_eq!(text(c, "#help .help-phone").await, "+31 (0)20 123 4567");
    assert_eq!(attr("#help .help-phone", "href").await, "tel:+31201234567");
    assert_eq!(text(c, "#help .help-url").await, "Helpdesk website");
    assert_eq!(
        attr("#help .help-url", "href").await,
        "https://help.corp.example.test/sspr"
    );
    let line = text(c, "#help").await;
    assert!(
        line.starts_with("Trouble? Contact your helpdesk:"),
        "{line}"
    );
    sspr_tests::browser::assert_accessible(c, "the page with a contact line").await;
    browser.close().await;
}

#[tokio::test]
async fn the_mode_switch_is_one_tab_stop_and_the_arrow_keys_choose() {
    let (_stack, browser) = open_portal("en-US").await;
    let c = &browser.client;
    let modes = ["mode-reset", "mode-unlock", "mode-change", "mode-register"];
    let tab_stops = || async {
        let mut stops = Vec::new();
        for id in modes {
            let tabindex = find(c, &format!("#{id}")).await.attr("tabindex").await;
            if tabindex.ok().flatten().as_deref() == Some("0") {
                stops.push(id);
            }
        }
        stops
    };
    assert_eq!(tab_stops().await, ["mode-reset"]);
    let press = |key: Key| async move {
        let focused = c.active_element().await.expect("focused element");
        focused.send_keys(&key.to_string()).await.expect("key");
    };
    // The page puts focus in the user-ID field first; then the switch is clicked.
    focus_reaches(c, "username").await;
    click(c, "#mode-reset", "focus the switch").await;
    focus_reaches(c, "mode-reset").await;
    // Where the switch is, and how long the history: neither changes as the arrows choose.
    let where_and_history = || async {
        c.execute(
            "return [Math.round(document.querySelector('.mode-switch').getBoundingClientRect().top), history.length];",
            vec![],
        )
        .await
        .expect("measure")
    };
    let before = where_and_history().await;
    press(Key::Right).await;
    focus_reaches(c, "mode-unlock").await;
    assert_eq!(text(c, "h1").await, "Unlock your account");
    assert_eq!(
        find(c, "#mode-unlock")
            .await
            .attr("aria-checked")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("true")
    );
    assert_eq!(tab_stops().await, ["mode-unlock"]);
    press(Key::End).await;
    focus_reaches(c, "mode-register").await;
    assert_eq!(text(c, "h1").await, "Your verification methods");
    assert_eq!(
        where_and_history().await,
        before,
        "the switch stays put (no step bar above it) and the arrows add no history"
    );
    press(Key::Right).await;
    focus_reaches(c, "mode-reset").await;
    press(Key::Left).await;
    focus_reaches(c, "mode-register").await;
    press(Key::Home).await;
    focus_reaches(c, "mode-reset").await;
    assert_eq!(text(c, "h1").await, "Reset your password");
    browser.close().await;
}

/// Types the user ID, takes the one gate offered (a mail to `mail`) and types the code of the
/// `nth` mail there.
async fn verify_by_mail(c: &Client, stack: &Stack, typed: &str, mail: &str, nth: usize) {
    type_into(c, "#username", typed).await;
    click(c, "#continue", "continue").await;
    click(c, "#choose-method", "choose").await;
    focus_reaches(c, "code").await;
    let code = stack.smtp.wait_for_mail(mail, nth).code().expect("code");
    type_into(c, "#code", &code).await;
    click(c, "#verify", "verify").await;
}

#[tokio::test]
async fn a_locked_out_user_unlocks_their_account_in_the_browser() {
    const MAIL: &str = "web.locked@corp.example.test";
    let dc = samba::shared();
    dc.create_user(
        "web.locked",
        "Same-Passw0rd!",
        Some("web.locked@corp.example.test"),
        "Lotte Locked",
    )
    .expect("user");
    for _ in 0..3 {
        let _ = crate::agent_ad::bind_as(dc, "web.locked", "Wrong-Passw0rd!").await;
    }
    let answer = crate::agent_ad::bind_as(dc, "web.locked", "Same-Passw0rd!")
        .await
        .expect_err("locked out");
    assert!(answer.contains("775"), "{answer}");
    let (stack, browser) = open_portal("en-US").await;
    let c = &browser.client;

    click(c, "#mode-unlock", "choose unlock").await;
    assert_eq!(text(c, "h1").await, "Unlock your account");
    sspr_tests::browser::assert_accessible(c, "the unlock page").await;
    verify_by_mail(c, &stack, "CORP\\web.locked", MAIL, 0).await;
    assert_eq!(text(c, "#done").await, "Your account is unlocked");
    sspr_tests::browser::assert_accessible(c, "the unlocked page").await;
    // Two steps only: no new password was asked for.
    assert_eq!(
        c.find_all(Locator::Css(".steps li"))
            .await
            .expect("steps")
            .len(),
        2
    );
    crate::agent_ad::bind_as(dc, "web.locked", "Same-Passw0rd!")
        .await
        .expect("the same password works again");

    // Unlocked again, though nothing is locked now: the page says so and offers a reset, since
    // the trouble must then be the password.
    click(c, "#done ~ button.secondary", "back to the start").await;
    click(c, "#mode-unlock", "choose unlock").await;
    verify_by_mail(c, &stack, "web.locked", MAIL, 2).await;
    assert_eq!(text(c, "#done").await, "Your account was not locked");
    focus_reaches(c, "done").await;
    sspr_tests::browser::assert_accessible(c, "an unlock of an account not locked").await;
    click(c, "#reset-instead", "reset instead").await;
    assert_eq!(text(c, "h1").await, "Reset your password");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/reset"),
        "the reset page's own address"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_user_changes_a_known_password_in_the_browser() {
    let dc = samba::shared();
    dc.create_user(
        "web.change",
        "Known-Passw0rd!",
        Some("web.change@corp.example.test"),
        "Wim Change",
    )
    .expect("user");
    let (_stack, browser) = open_portal("en-US").await;
    let c = &browser.client;

    click(c, "#mode-change", "choose change").await;
    assert_eq!(text(c, "h1").await, "Change your password");
    // One page, no steps: no navigation region at all (it was an empty one, "Step 0 of 0").
    assert!(
        c.find(Locator::Css("nav.steps")).await.is_err(),
        "no steps on the change page"
    );
    // Nothing typed: every field says what it misses at once, and focus goes to the first.
    click(c, "#change-password", "change with nothing typed").await;
    field_error_is(c, "username", "Enter your user ID.").await;
    let said = text(c, "#current-password-error").await;
    assert!(said.contains("Type your current password."), "{said}");
    let said = text(c, "#new-password-error").await;
    assert!(said.contains("does not meet all the rules yet"), "{said}");
    type_into(c, "#username", "web.change").await;
    // Nothing typed but the name: the button says what is missing, at its field, and only that.
    click(c, "#change-password", "change too early").await;
    field_error_is(c, "current-password", "Type your current password.").await;
    for gone in ["#username-error", "#error"] {
        assert!(
            c.find(Locator::Css(gone)).await.is_err(),
            "{gone} is no longer shown"
        );
    }
    // A wrong current password: said at that field, which keeps what was typed and gets focus.
    type_into(c, "#current-password", "Wrong-Passw0rd!").await;
    type_into(c, "#new-password", "Quiet-Meadow-Stream-58").await;
    type_into(c, "#confirm-password", "Quiet-Meadow-Stream-58").await;
    click(c, "#change-password", "change with a wrong password").await;
    let field = field_error_is(
        c,
        "current-password",
        "The user ID or current password is not correct",
    )
    .await;
    assert_eq!(
        field.prop("value").await.ok().flatten().as_deref(),
        Some("Wrong-Passw0rd!")
    );
    sspr_tests::browser::assert_accessible(c, "the change page with a wrong current password")
        .await;
    // The server's answer follows a change of language while it is on screen (once the
    // language's texts are in).
    click(c, "#lang-nl", "to Dutch").await;
    text_comes_to_contain(
        c,
        "#current-password-error",
        "het huidige wachtwoord klopt niet",
    )
    .await;
    click(c, "#lang-en", "back to English").await;
    text_comes_to_contain(
        c,
        "#current-password-error",
        "current password is not correct",
    )
    .await;
    type_into(c, "#current-password", "Known-Passw0rd!").await;
    assert!(
        c.find(Locator::Css("#current-password-error"))
            .await
            .is_err(),
        "typing clears the field's error"
    );
    // A change is held to the history by AD itself: the page says so.
    let history = text(c, ".rules + .hint").await;
    assert!(history.contains("Is not one of your last"), "{history}");
    // The page knows only the typed account name, and says the full name is checked on submit…
    let rule = text(c, "li[data-rule='not_account_name']").await;
    assert!(
        rule.contains("your full name is checked when you submit"),
        "{rule}"
    );
    // …where the agent holds a change to it as Windows does: "Change" of "Wim Change" is
    // refused, said at the new-password field, and the password stays as it was.
    let with_full_name = "Quiet-Change-Stream-58";
    type_into(c, "#new-password", with_full_name).await;
    rule_is(c, "not_account_name", "met").await;
    type_into(c, "#confirm-password", with_full_name).await;
    click(c, "#change-password", "change to a part of the full name").await;
    field_error_is(
        c,
        "new-password",
        "it contains your account name or a part of your full name",
    )
    .await;
    // …and the name rule now says so for this password, with no "Strong" beside it.
    rule_is(c, "not_account_name", "unmet").await;
    let strength = text(c, ".strength-label").await;
    assert!(!strength.ends_with("Strong"), "{strength}");
    crate::agent_ad::bind_as(dc, "web.change", "Known-Passw0rd!")
        .await
        .expect("the refused change left the password as it was");
    // The typed account name counts for AD's complexity rule, live.
    type_into(c, "#new-password", "Web.Change-2026").await;
    rule_is(c, "not_account_name", "unmet").await;
    let password = "Quiet-Meadow-Stream-58";
    type_into(c, "#new-password", password).await;
    rule_is(c, "not_account_name", "met").await;
    type_into(c, "#confirm-password", password).await;
    rule_is(c, "confirm", "met").await;
    assert!(button_enabled(c, "#change-password").await);
    click(c, "#change-password", "change").await;

    assert_eq!(text(c, "#done").await, "Your password has been changed");
    // Not "Reset another password" after a change.
    assert_eq!(text(c, ".done button").await, "Back to the start");
    crate::agent_ad::bind_as(dc, "web.change", password)
        .await
        .expect("AD accepts the changed password");
    browser.close().await;
}

/// The rules live in the browser follow Unicode, not ASCII (the browser's own tables answer
/// there): a name matches in another case beyond A–Z, and letters of other scripts count as
/// AD counts them.
#[tokio::test]
async fn the_password_rules_in_the_browser_know_letters_beyond_ascii() {
    let (_stack, browser) = open_portal("en-US").await;
    let c = &browser.client;
    click(c, "#mode-change", "choose change").await;
    type_into(c, "#username", "élodie").await;
    // "ÉLODIE" is "élodie" in upper case: the typed account name is found.
    type_into(c, "#new-password", "Zon-ÉLODIE-2026").await;
    rule_is(c, "min_length", "met").await;
    rule_is(c, "not_account_name", "unmet").await;
    // No Latin letter and no digit, yet three of AD's categories: upper case (Å, Ø), letters
    // that have no case (Japanese) and symbols.
    type_into(c, "#new-password", "日本語-かな-ÅØ-ÉÈ").await;
    rule_is(c, "not_account_name", "met").await;
    rule_is(c, "complexity", "met").await;
    // Lower case and symbols alone are two.
    type_into(c, "#new-password", "ångström-éèê-øœ").await;
    rule_is(c, "complexity", "unmet").await;
    // A number is any of Unicode's, not only 0–9: "½" makes the third (as `char::is_numeric`
    // says on the agent's side; a decimal digit alone, `\p{Nd}`, would not count it).
    type_into(c, "#new-password", "ångström-½-éèê").await;
    rule_is(c, "complexity", "met").await;
    browser.close().await;
}

#[tokio::test]
async fn over_plain_http_on_a_host_name_the_page_says_to_use_https_and_changes_nothing() {
    let dc = samba::shared();
    let old = "Known-Passw0rd!";
    dc.create_user("web.plain", old, None, "Wim Plain")
        .expect("user");
    let stack = Stack::start(dc, |o| o.frontend_dir = Some(dist())).await;
    // A name that is not loopback to the browser: no secure context, so no WebCrypto.
    let port = stack
        .server
        .url
        .rsplit(':')
        .next()
        .expect("a port")
        .trim_end_matches('/')
        .to_owned();
    let rules = "--host-resolver-rules=MAP portal.corp.example.test 127.0.0.1".to_owned();
    let browser = Browser::start_with("en-US", &[rules]).await;
    let c = &browser.client;
    c.goto(&format!("http://portal.corp.example.test:{port}/"))
        .await
        .expect("open the portal by name");

    click(c, "#mode-change", "choose change").await;
    type_into(c, "#username", "web.plain").await;
    type_into(c, "#current-password", old).await;
    let password = "Quiet-Meadow-Stream-59";
    type_into(c, "#new-password", password).await;
    type_into(c, "#confirm-password", password).await;
    click(c, "#change-password", "change").await;

    let banner = text(c, "#error").await;
    assert!(
        banner.contains("https://"),
        "the page names the way out: {banner}"
    );
    sspr_tests::browser::assert_accessible(c, "the change page over plain http").await;
    crate::agent_ad::bind_as(dc, "web.plain", old)
        .await
        .expect("the old password still holds: nothing was sent");
    browser.close().await;
}

#[tokio::test]
async fn a_user_registers_an_app_and_a_mobile_then_resets_through_two_gates() {
    let dc = samba::shared();
    dc.create_user(
        "web.twogate",
        "Two-Gate-Passw0rd!",
        Some("web.twogate@corp.example.test"),
        "Tomas Twogate",
    )
    .expect("user");
    // The directory has a mobile too; the one the user registers takes precedence.
    crate::agent_ad::admin_replace(dc, "web.twogate", "mobile", "+31612340082").await;
    let gateway = sspr_tests::gateway::RecordingGateway::start();
    let toml = format!(
        "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\n\n[policy]\ngates = 2\n",
        gateway.url
    );
    let (stack, browser) = open_portal_with("en-US", |o| o.extra_toml = toml).await;
    let c = &browser.client;

    // Register: sign in with the current password, verified by the agent against AD.
    click(c, "#mode-register", "register").await;
    type_into(c, "#username", "web.twogate").await;
    // No silently disabled button: signing in without a password says so at the field.
    click(c, "#sign-in", "sign in too early").await;
    field_error_is(c, "password", "Type your current password.").await;
    sspr_tests::browser::assert_accessible(c, "the methods' sign-in with a field error").await;
    type_into(c, "#password", "Two-Gate-Passw0rd!").await;
    click(c, "#sign-in", "sign in").await;
    focus_reaches(c, "methods-title").await;

    // A set-up names its method and can be left: Cancel closes the form and returns focus to
    // the button that opened it.
    click(c, "#mobile-edit", "add mobile").await;
    find(c, "#method-value").await;
    assert_eq!(text(c, "#editing").await, "Mobile phone");
    click(c, "#cancel-method", "cancel").await;
    focus_reaches(c, "mobile-edit").await;
    assert!(c.find(Locator::Css("#method-value")).await.is_err());

    // A mobile number, verified by the code the gateway received; sending before typing one
    // says what is missing.
    click(c, "#mobile-edit", "add mobile").await;
    click(c, "#send-code", "send too early").await;
    field_error_is(c, "method-value", "Type the phone number first.").await;
    // Not a number: the server's answer is said at the field too.
    type_into(c, "#method-value", "not a number").await;
    click(c, "#send-code", "send a non-number").await;
    field_error_is(c, "method-value", "That is not a phone number").await;
    type_into(c, "#method-value", "06 1234 0081").await;
    click(c, "#send-code", "send").await;
    focus_reaches(c, "method-code").await;
    click(c, "#confirm-code", "confirm without a code").await;
    field_error_is(c, "method-code", "Enter the code from the message.").await;
    sspr_tests::browser::assert_accessible(c, "a mobile's code step").await;
    let code = gateway.wait_for("+31612340081", 0).code().expect("code");
    type_into(c, "#method-code", &code).await;
    click(c, "#confirm-code", "confirm").await;
    find(c, "#slot-mobile .slot-state[data-source='user']").await;
    // Saved: focus is back at the method's button, which is named with its method.
    focus_reaches(c, "mobile-edit").await;
    let labelled_by = find(c, "#mobile-edit").await.attr("aria-labelledby").await;
    assert_eq!(
        labelled_by.ok().flatten().as_deref(),
        Some("mobile-edit slot-mobile-name")
    );
    assert_eq!(text(c, "#slot-mobile-name").await, "Mobile phone");

    sspr_tests::browser::assert_accessible(c, "the verification methods").await;
    // An authenticator app, from the secret the page shows as text next to the QR code.
    click(c, "#authenticator-edit", "set up app").await;
    find(c, "img.qr").await;
    // Focus at the set-up's heading, before the instructions and the key.
    focus_reaches(c, "editing").await;
    sspr_tests::browser::assert_accessible(c, "an authenticator's set-up").await;
    // The key in groups of four, as people copy it by hand; apps ignore the spaces.
    let shown = text(c, "#totp-secret").await;
    assert!(
        shown.split(' ').all(|group| (1..=4).contains(&group.len())) && shown.contains(' '),
        "{shown}"
    );
    let secret = shown.replace(' ', "");
    type_into(c, "#method-code", &sspr_tests::api::oathtool(&secret, 0)).await;
    click(c, "#confirm-code", "confirm").await;
    find(c, "#slot-authenticator .slot-state[data-source='user']").await;

    // Signing out ends the session on the server: the page says so and asks to sign in again.
    click(c, "#sign-out", "sign out").await;
    assert_eq!(text(c, "#signed-out").await, "You are signed out.");
    focus_reaches(c, "username").await;
    sspr_tests::browser::assert_accessible(c, "the page after signing out").await;

    // Reset: two gates, a text first, then the app.
    click(c, "#mode-reset", "reset").await;
    type_into(c, "#username", "web.twogate").await;
    click(c, "#continue", "continue").await;
    let lead = text(c, "#gate-lead").await;
    assert!(lead.contains("Check 1 of 2"), "{lead}");
    click(c, "input[data-method='MobileText']", "text").await;
    find(c, "#phone").await;
    // No number typed: said at its field.
    click(c, "#choose-method", "choose without the number").await;
    field_error_is(c, "phone", "Type the whole phone number.").await;
    sspr_tests::browser::assert_accessible(c, "a gate that asks for the number").await;
    type_into(c, "#phone", "+31 6 1234 0081").await;
    click(c, "#choose-method", "choose").await;
    focus_reaches(c, "code").await;
    let code = gateway.wait_for("+31612340081", 1).code().expect("code");
    type_into(c, "#code", &code).await;
    click(c, "#verify", "verify").await;

    let lead = text(c, "#gate-lead").await;
    assert!(lead.contains("Check 2 of 2"), "{lead}");
    assert!(
        c.find(Locator::Css("input[data-method='MobileCall']"))
            .await
            .is_err(),
        "the mobile is not offered twice"
    );
    click(c, "input[data-method='Authenticator']", "app").await;
    click(c, "#choose-method", "choose").await;
    focus_reaches(c, "code").await;
    // The enrolment spent the current time step; the app's next code passes.
    type_into(c, "#code", &sspr_tests::api::oathtool(&secret, 30)).await;
    click(c, "#verify", "verify").await;

    focus_reaches(c, "new-password").await;
    let password = "Quiet-River-Stones-48";
    type_into(c, "#new-password", password).await;
    type_into(c, "#confirm-password", password).await;
    rule_is(c, "confirm", "met").await;
    click(c, "#set-password", "submit").await;
    assert_eq!(text(c, "#done").await, "Your password has been reset");
    crate::agent_ad::bind_as(dc, "web.twogate", password)
        .await
        .expect("AD accepts the password set after two gates");

    // Removing the registered mobile brings the directory's back, and the page says so.
    click(c, "#done ~ button.secondary", "back to the start").await;
    click(c, "#mode-register", "register").await;
    type_into(c, "#username", "web.twogate").await;
    type_into(c, "#password", password).await;
    click(c, "#sign-in", "sign in").await;
    click(c, "#mobile-remove", "remove the mobile").await;
    find(c, "#slot-mobile .slot-state[data-source='directory']").await;
    let said = text(c, "#saved").await;
    assert!(
        said.contains("is used again") && said.contains("82"),
        "{said}"
    );
    drop(stack);
    browser.close().await;
}

#[tokio::test]
async fn with_two_domains_the_picker_routes_a_bare_user_id() {
    let two = samba::second();
    two.create_user(
        "web.picker",
        "Old-Passw0rd!",
        Some("web.picker@corp2.example.test"),
        "Wes Picker",
    )
    .expect("user in the second domain");
    let (stack, browser) = open_portal("en-US").await;
    let mut second = sspr_tests::processes::AgentProcess::onboard(&stack.server, two);
    second.start();
    let status_url = stack.api(sspr_protocol::reset::STATUS_PATH);
    sspr_tests::wait_for_async("both directories served", WAIT, || async {
        let status: sspr_protocol::reset::Status = stack
            .http
            .get(&status_url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (status.directories.len() == 2).then_some(())
    })
    .await;
    let c = &browser.client;
    c.goto(&stack.server.url).await.expect("reload");

    // The picker is there (with two domains only), labelled, and reachable by keyboard.
    let picker = find(c, "select#domain").await;
    sspr_tests::browser::assert_accessible(c, "the first page with a domain picker").await;
    assert_eq!(text(c, "label[for='domain']").await, "Domain");
    picker
        .select_by_value("corp2.example.test")
        .await
        .expect("pick the second domain");
    type_into(c, "#username", "web.picker").await;
    click(c, "#continue", "continue").await;
    click(c, "#choose-method", "choose").await;
    // Only the second domain has this user: the code reaching its mailbox proves the route.
    let mail = stack.smtp.wait_for_mail("web.picker@corp2.example.test", 0);
    assert!(mail.code().is_some());
}

#[tokio::test]
async fn a_picture_captcha_is_answered_at_its_field_and_a_wrong_answer_brings_a_new_picture() {
    let (_stack, browser) = open_portal_with("en-US", |o| {
        o.extra_toml = "[captcha]\nkind = \"image\"\n".into()
    })
    .await;
    let c = &browser.client;
    // No promise of "nothing to click" where there is a picture to read.
    find(c, "#username").await;
    assert!(
        c.find(Locator::Css(".fineprint")).await.is_err(),
        "no computation note with a picture CAPTCHA"
    );
    type_into(c, "#username", "picture.person").await;
    click(c, "#continue", "continue").await;
    // The picture, its spoken digits, and focus in the answer field.
    focus_reaches(c, "captcha-answer").await;
    find(c, "#captcha-audio[src^='data:audio/wav;base64,']").await;
    let picture = |c: &Client| {
        let c = c.clone();
        async move {
            find(&c, ".captcha-picture img")
                .await
                .attr("src")
                .await
                .ok()
                .flatten()
                .unwrap_or_default()
        }
    };
    let first = picture(c).await;
    assert!(first.starts_with("data:image/png;base64,"), "{first}");
    sspr_tests::browser::assert_accessible(c, "the picture CAPTCHA").await;
    // Nothing typed: said at the field, nothing sent.
    click(c, "#continue", "continue without an answer").await;
    field_error_is(c, "captcha-answer", "Type the six digits you see or hear").await;
    assert_eq!(picture(c).await, first, "the same picture still stands");
    // A wrong answer (the pictures use 1 to 9 only) spends the picture: a new one comes at
    // once, the message at the field, focus there, and the field empty for the new digits.
    type_into(c, "#captcha-answer", "000000").await;
    click(c, "#continue", "a wrong answer").await;
    let field = field_error_is(c, "captcha-answer", "Those were not the digits").await;
    sspr_tests::wait_for_async("a new picture", WAIT, || async {
        (picture(c).await != first).then_some(())
    })
    .await;
    assert_eq!(
        field.prop("value").await.ok().flatten().as_deref(),
        Some("")
    );
    sspr_tests::browser::assert_accessible(c, "the picture CAPTCHA after a wrong answer").await;
    // Typing clears the message.
    type_into(c, "#captcha-answer", "1").await;
    assert!(
        c.find(Locator::Css("#captcha-answer-error")).await.is_err(),
        "typing clears the field's error"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_user_sets_up_security_questions_and_answers_them_at_the_gate() {
    use sspr_protocol::gate::Question;
    use sspr_protocol::i18n::{t, Lang};
    let dc = samba::shared();
    dc.create_user(
        "web.questions",
        "Questions-Passw0rd!",
        Some("web.questions@corp.example.test"),
        "Quirine Vragen",
    )
    .expect("user");
    let toml = "[policy]\nmethods = [\"mail\", \"questions\"]\nquestions_to_register = 3\nquestions_to_answer = 2\n";
    let (_stack, browser) = open_portal_with("en-US", |o| o.extra_toml = toml.into()).await;
    let c = &browser.client;
    // The first three questions, as the set-up offers them, each with its answer.
    let answers: Vec<(&str, &str)> = Question::ALL
        .iter()
        .map(|q| t(Lang::En, q.text()))
        .zip(["Mr. Whiskers", "Utrecht", "De Regenboog"])
        .collect();

    click(c, "#mode-register", "register").await;
    type_into(c, "#username", "web.questions").await;
    type_into(c, "#password", "Questions-Passw0rd!").await;
    click(c, "#sign-in", "sign in").await;
    focus_reaches(c, "methods-title").await;
    click(c, "#questions-edit", "set up questions").await;
    focus_reaches(c, "question-0").await;
    sspr_tests::browser::assert_accessible(c, "the security questions' set-up").await;
    for (i, (_, answer)) in answers.iter().enumerate() {
        type_into(c, &format!("#answer-{i}"), answer).await;
    }
    click(c, "#save-questions", "save").await;
    find(c, "#slot-questions .slot-state[data-source='user']").await;
    click(c, "#sign-out", "sign out").await;
    find(c, "#signed-out").await;

    click(c, "#mode-reset", "reset").await;
    type_into(c, "#username", "web.questions").await;
    click(c, "#continue", "continue").await;
    click(c, "input[data-method='Questions']", "questions").await;
    click(c, "#choose-method", "choose").await;
    focus_reaches(c, "answer-0").await;
    sspr_tests::browser::assert_accessible(c, "the security questions step").await;
    // Two of the three are asked; which, the labels say.
    let mut asked = Vec::new();
    for i in 0..2 {
        let label = text(c, &format!("label[for='answer-{i}']")).await;
        let answer = answers
            .iter()
            .find(|(q, _)| *q == label)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("asked a question that was not set up: {label}"));
        asked.push(answer);
    }
    assert!(
        c.find(Locator::Css("#answer-2")).await.is_err(),
        "only two asked"
    );
    // An answer missing: said at that field, nothing sent.
    type_into(c, "#answer-0", asked[0]).await;
    click(c, "#verify", "verify with an answer missing").await;
    field_error_is(c, "answer-1", "Type your answer to this question.").await;
    sspr_tests::browser::assert_accessible(c, "the security questions with an answer missing")
        .await;
    // A wrong answer: which one is not said; focus returns to the first to try again.
    type_into(c, "#answer-1", "Not the answer").await;
    click(c, "#verify", "verify wrongly").await;
    let said = text(c, "#error").await;
    assert!(
        said.contains("One or more answers are not correct"),
        "{said}"
    );
    focus_reaches(c, "answer-0").await;
    // Answers are compared without case and punctuation, as the set-up promised.
    type_into(c, "#answer-0", &asked[0].to_uppercase().replace('.', "")).await;
    type_into(c, "#answer-1", asked[1]).await;
    click(c, "#verify", "verify").await;

    focus_reaches(c, "new-password").await;
    let password = "Amber-Window-Garden-61";
    type_into(c, "#new-password", password).await;
    type_into(c, "#confirm-password", password).await;
    rule_is(c, "confirm", "met").await;
    click(c, "#set-password", "submit").await;
    find(c, "#done").await;
    crate::agent_ad::bind_as(dc, "web.questions", password)
        .await
        .expect("AD accepts the password set after the questions");
    browser.close().await;
}

#[tokio::test]
async fn back_at_the_gate_a_number_once_typed_is_not_asked_again() {
    let dc = samba::shared();
    dc.create_user(
        "web.phone",
        "Phone-Passw0rd!",
        Some("web.phone@corp.example.test"),
        "Pim Phone",
    )
    .expect("user");
    crate::agent_ad::admin_replace(dc, "web.phone", "mobile", "+31612340091").await;
    let gateway = sspr_tests::gateway::RecordingGateway::start();
    let toml = format!(
        "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\n",
        gateway.url
    );
    let (_stack, browser) = open_portal_with("en-US", |o| o.extra_toml = toml).await;
    let c = &browser.client;

    type_into(c, "#username", "web.phone").await;
    click(c, "#continue", "continue").await;
    click(c, "input[data-method='MobileText']", "text").await;
    type_into(c, "#phone", "06 1234 0091").await;
    click(c, "#choose-method", "choose").await;
    focus_reaches(c, "code").await;
    gateway.wait_for("+31612340091", 0);
    click(c, "#other-method", "another method").await;
    focus_reaches(c, "method-0").await;
    // The same number by another way (a call): the field holds what was typed.
    click(c, "input[data-method='MobileCall']", "call").await;
    let field = find(c, "#phone").await;
    assert_eq!(
        field.prop("value").await.ok().flatten().as_deref(),
        Some("06 1234 0091")
    );
    browser.close().await;
}
