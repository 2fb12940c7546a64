//! The helpdesk staff console (issue 11) end to end in headless Chromium: the real WASM build
//! under /console/, the real server, agent and Samba, mail through SMTP. A staff member signs
//! in with their own second factor, finds the caller, verifies them with the code the caller
//! reads back, and resets (proven by AD answering `data 773` for "must change") or unlocks a
//! real lockout (proven by the old password binding again). Also: the console's own CSP, and a
//! public portal that never loads console code.
//!
//! With `CONSOLE_SCREENSHOTS=<dir>` each page is also saved as PNG: English and Dutch, at
//! 1280 px and at 375 px wide, each in the light and the dark colour scheme. (Not an `SSPR_` name: the server would read that as a setting.)

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use sspr_tests::browser::Browser;
use sspr_tests::samba::{self, SambaDc};
use sspr_tests::stack::Stack;

use crate::agent_ad::bind_as;
use crate::browser::{click, dist, find, focus_reaches, text, type_into};
use crate::staff::{staff_groups, user, PASSWORD};

const WAIT: Duration = Duration::from_secs(30);

/// The stack as `staff::stack_for` makes it, serving the real build (portal and console).
async fn console_stack(dc: &'static SambaDc, staff_group: &str, extra: &str) -> Stack {
    let toml = format!("[helpdesk]\nstaff_groups = [\"{staff_group}\"]\n{extra}");
    Stack::start(dc, move |o| {
        o.extra_toml = toml;
        o.frontend_dir = Some(dist());
    })
    .await
}

async fn open_console(stack: &Stack, lang: &str) -> Browser {
    assert!(
        dist().join("console/index.html").exists(),
        "the console is not built: run scripts/build-frontend.sh"
    );
    let browser = Browser::start(lang).await;
    browser
        .client
        .goto(&format!("{}/console/", stack.server.url))
        .await
        .expect("open the console");
    browser
}

/// Waits until the element's text contains `part`; returns the text.
async fn text_contains(c: &Client, css: &str, part: &str) -> String {
    sspr_tests::wait_for_async(&format!("{css} saying {part:?}"), WAIT, || async {
        let text = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        text.contains(part).then_some(text)
    })
    .await
}

async fn value_of(c: &Client, css: &str) -> String {
    find(c, css)
        .await
        .prop("value")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Saves the page as PNG in English and Dutch, at 1280 and 375 px wide, when
/// `CONSOLE_SCREENSHOTS` names a directory. `lang` is the language the page is in now.
async fn shots(c: &Client, name: &str, lang: &str) {
    let Some(dir) = std::env::var_os("CONSOLE_SCREENSHOTS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let other = if lang == "en" { "nl" } else { "en" };
    for (width, height) in [(1280, 3000), (375, 4600)] {
        c.set_window_size(width, height).await.expect("resize");
        for l in [lang, other] {
            click(c, &format!("#lang-{l}"), "language").await;
            for dark in [false, true] {
                sspr_tests::browser::prefer_dark(c, dark).await;
                // Let the page re-render in the new language before the picture.
                tokio::time::sleep(Duration::from_millis(300)).await;
                let png = c.screenshot().await.expect("screenshot");
                let scheme = if dark { "-dark" } else { "" };
                let file = format!("{name}-{l}-{width}{scheme}.png");
                std::fs::write(dir.join(file), png).expect("write png");
            }
        }
    }
    sspr_tests::browser::prefer_dark(c, false).await;
    click(c, &format!("#lang-{lang}"), "language back").await;
    c.set_window_size(1280, 900).await.expect("resize back");
}

/// Signs in as `staff` (password, then a code mailed to `staff_mail`) and waits for the desk.
async fn sign_in(c: &Client, stack: &Stack, staff: &str, staff_mail: &str, lang: &str) {
    focus_reaches(c, "username").await;
    shots(c, "01-sign-in", lang).await;
    type_into(c, "#username", staff).await;
    type_into(c, "#password", PASSWORD).await;
    click(c, "#sign-in", "sign in").await;

    // Only mail is offered (no app registered); keyboard users land on the choice.
    focus_reaches(c, "factor-mail").await;
    shots(c, "02-second-factor", lang).await;
    let already = stack.smtp.mails_to(staff_mail).len();
    click(c, "#send-code", "send the staff member's code").await;
    let code = stack
        .smtp
        .wait_for_mail(staff_mail, already)
        .code()
        .expect("a code");
    focus_reaches(c, "factor-code").await;
    shots(c, "03-second-factor-sent", lang).await;
    type_into(c, "#factor-code", &code).await;
    click(c, "#continue", "continue").await;
    focus_reaches(c, "search").await;
}

/// Searches (Enter in the search box), then opens the account whose name is `account`.
async fn open_account(c: &Client, query: &str, account: &str) {
    type_into(c, "#search", query).await;
    find(c, "#search")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("enter");
    click(
        c,
        &format!("button.hit[data-account='{account}']"),
        "open the account",
    )
    .await;
    focus_reaches(c, "account-title").await;
}

/// Sends the caller a code by mail and types in what they read back.
async fn verify_caller(c: &Client, stack: &Stack, mail: &str) {
    let selected = find(c, "#caller-mail")
        .await
        .prop("checked")
        .await
        .ok()
        .flatten();
    assert_eq!(
        selected.as_deref(),
        Some("true"),
        "mail is the first choice"
    );
    let already = stack.smtp.mails_to(mail).len();
    click(c, "#send-verify", "send the caller a code").await;
    let code = stack
        .smtp
        .wait_for_mail(mail, already)
        .code()
        .expect("a code");
    focus_reaches(c, "caller-code").await;
    let sent = text(c, "#caller-sent").await;
    assert!(sent.contains('•'), "masked: {sent}");
    type_into(c, "#caller-code", &code).await;
    click(c, "#verify-caller", "verify").await;
}

#[tokio::test]
async fn staff_sign_in_find_verify_and_reset_with_must_change_in_the_browser() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.webdesk1", "Hilde Webdesk");
    user(dc, "hd.webnest1", "Nico Webnest");
    let mail = user(dc, "caller.web1", "Carla Webcaller");
    let group = staff_groups(dc, "W1", "hd.webdesk1", "hd.webnest1");
    let stack = console_stack(dc, &group, "").await;
    let browser = open_console(&stack, "en-US").await;
    let c = &browser.client;

    sign_in(c, &stack, "hd.webdesk1", &staff_mail, "en").await;
    let who = text(c, "#staff-name").await;
    assert_eq!(who, "Signed in as Hilde Webdesk");
    shots(c, "04-desk", "en").await;

    // The empty states: too short, then nothing found.
    type_into(c, "#search", "c").await;
    click(c, "#search-button", "search").await;
    text_contains(c, "#hits-status", "Type at least 2 characters").await;
    type_into(c, "#search", "zzq-nobody").await;
    click(c, "#search-button", "search").await;
    text_contains(c, "#hits-status", "No account matches “zzq-nobody”").await;
    shots(c, "05-no-match", "en").await;

    open_account(c, "Carla Web", "caller.web1").await;
    assert_eq!(text(c, "#account-title").await, "Carla Webcaller");
    assert_eq!(text(c, "#state-locked").await, "Not locked");
    assert_eq!(text(c, "#state-enabled").await, "Enabled");
    assert_eq!(text(c, "#state-must-change").await, "No");
    let methods = text(c, "#methods").await;
    assert!(methods.contains("c•••••"), "masked methods: {methods}");
    shots(c, "06-account", "en").await;

    verify_caller(c, &stack, &mail).await;
    let verified = text(c, "#caller-verified").await;
    assert_eq!(verified, "Caller verified (mail).");
    // The actions are next: keyboard users land in their first field.
    focus_reaches(c, "ticket").await;

    click(c, "#generate", "generate").await;
    let generated = text(c, "#generated").await;
    assert_eq!(generated.chars().count(), 16, "{generated}");
    assert_eq!(value_of(c, "#new-password").await, generated);
    // The rules speak of the user's password, not the staff member's own.
    let heading = text(c, ".rules-heading").await;
    assert!(heading.contains("the account's rules"), "{heading}");
    // Samba cannot hold a reset to the password history: the console does not claim it may.
    assert!(
        c.find(Locator::Css(".rules + .hint")).await.is_err(),
        "no history line for a staff reset where the DC cannot enforce it"
    );
    assert_eq!(value_of(c, "#confirm-password").await, generated);
    let must_change = find(c, "#must-change")
        .await
        .prop("checked")
        .await
        .ok()
        .flatten();
    assert_eq!(
        must_change.as_deref(),
        Some("true"),
        "must change is the default"
    );
    // Copied with the clipboard API (the browser allows it on a loopback origin).
    click(c, "#copy", "copy").await;
    text_contains(c, "#copy", "Copied").await;
    type_into(c, "#ticket", "INC-0815").await;
    shots(c, "07-reset", "en").await;
    click(c, "#reset", "reset").await;

    let done = text_contains(c, "#action-done", "was reset").await;
    assert!(
        done.contains("must choose a new one") && done.contains("notified by mail"),
        "{done}"
    );
    assert!(
        c.find(Locator::Css("#generated")).await.is_err(),
        "the generated password is gone after the reset"
    );
    let answer = bind_as(dc, "caller.web1", &generated)
        .await
        .expect_err("must change first");
    assert!(answer.contains("773"), "AD answers data 773: {answer}");
    bind_as(dc, "caller.web1", PASSWORD)
        .await
        .expect_err("the old password is gone");
    // The account shows it: must change, and the reset among the recent events.
    text_contains(c, "#state-must-change", "Yes").await;
    let recent = text(c, "#recent").await;
    assert!(
        recent.contains("Password reset by the service desk") && recent.contains("hd.webdesk1"),
        "{recent}"
    );
    shots(c, "08-reset-done", "en").await;

    click(c, "#sign-out", "sign out").await;
    text_contains(c, "#session-ended", "You are signed out.").await;
    browser.close().await;
}

#[tokio::test]
async fn staff_unlock_a_real_lockout_in_the_browser_in_dutch() {
    let dc = samba::shared();
    let staff_mail = user(dc, "hd.webdesk2", "Hidde Webdesk");
    user(dc, "hd.webnest2", "Nadia Webnest");
    let mail = user(dc, "caller.web2", "Cees Webcaller");
    let group = staff_groups(dc, "W2", "hd.webdesk2", "hd.webnest2");
    for _ in 0..3 {
        assert!(bind_as(dc, "caller.web2", "Wrong-Passw0rd!").await.is_err());
    }
    let locked = bind_as(dc, "caller.web2", PASSWORD)
        .await
        .expect_err("locked out");
    assert!(locked.contains("775"), "AD says locked: {locked}");
    let stack = console_stack(dc, &group, "").await;
    let browser = open_console(&stack, "nl-NL").await;
    let c = &browser.client;
    c.set_window_size(375, 900).await.expect("a phone's width");

    assert_eq!(text(c, "h1").await, "Aanmelden bij de servicedesk");
    sign_in(c, &stack, "hd.webdesk2", &staff_mail, "nl").await;
    open_account(c, "caller.web", "caller.web2").await;
    let hit = text(c, "button.hit[data-account='caller.web2']").await;
    assert!(hit.contains("Geblokkeerd"), "the locked badge: {hit}");
    let state = text(c, "#state-locked").await;
    assert!(state.starts_with("Geblokkeerd sinds 20"), "{state}");

    verify_caller(c, &stack, &mail).await;
    assert_eq!(
        text(c, "#caller-verified").await,
        "Beller gecontroleerd (mail)."
    );
    // Locked: "also unlock" is offered with a reset, and unlock on its own.
    find(c, "#also-unlock").await;
    shots(c, "09-locked-verified", "nl").await;
    let notices = stack.smtp.mails_to(&mail).len();
    click(c, "#unlock", "unlock").await;
    let done = text_contains(c, "#action-done", "gedeblokkeerd").await;
    assert!(done.contains("per mail op de hoogte"), "{done}");
    text_contains(c, "#state-locked", "Niet geblokkeerd").await;
    // The list's badge follows.
    sspr_tests::wait_for_async("the hit without the locked badge", WAIT, || async {
        let hit = c
            .find(Locator::Css("button.hit[data-account='caller.web2']"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (!hit.contains("Geblokkeerd")).then_some(())
    })
    .await;
    bind_as(dc, "caller.web2", PASSWORD)
        .await
        .expect("the same password works again");
    let notice = stack.smtp.wait_for_mail(&mail, notices);
    assert!(
        notice.subject().is_some_and(|s| s.contains("service desk")),
        "the user is told: {}",
        notice.data
    );
    shots(c, "10-unlocked", "nl").await;

    // A session that ends (here: its cookie is gone) sends the staff member back to sign in,
    // saying why.
    c.delete_all_cookies().await.expect("drop the cookie");
    type_into(c, "#search", "caller.web").await;
    click(c, "#search-button", "search").await;
    text_contains(c, "#session-ended", "Je sessie is afgelopen").await;
    focus_reaches(c, "username").await;
    browser.close().await;
}

/// The console under /console/ has its own CSP (no CAPTCHA widget origins even where the
/// portal has one; nothing to connect to but this server) and is revalidated on every load;
/// every path under it is the console's page; the portal's page loads nothing of it.
#[tokio::test]
async fn the_console_has_its_own_csp_and_the_portal_never_loads_it() {
    let dc = samba::shared();
    let stack = console_stack(
        dc,
        "SSPR Helpdesk CSP",
        "[captcha]\nkind = \"turnstile\"\nsite_key = \"site-key-1\"\nsecret = \"captcha-secret\"\n",
    )
    .await;
    let get = |path: &str| {
        let url = format!("{}{path}", stack.server.url);
        let http = stack.http.clone();
        async move { http.get(url).send().await.expect("GET") }
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };

    for path in [
        "/console/",
        "/console",
        "/console/account/some-client-route",
    ] {
        let page = get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let csp = header(&page, "content-security-policy");
        assert!(
            csp.contains("connect-src 'self';")
                && csp.contains("script-src 'self' 'wasm-unsafe-eval';")
                && !csp.contains("cloudflare")
                && !csp.contains("frame-src")
                && !csp.contains("unsafe-inline")
                && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(header(&page, "cache-control"), "no-cache", "{path}");
        let body = page.text().await.expect("body");
        assert!(
            body.contains(r#"src="/console/boot-"#) && !body.contains("<script>"),
            "{path} is the console's page: {body}"
        );
    }
    let console_page = get("/console/").await.text().await.expect("body");
    let boot = sspr_tests::referenced(&console_page)
        .into_iter()
        .find(|path| path.starts_with("/console/boot-") && path.ends_with(".js"))
        .expect("the console's page loads its script");
    let script = get(&boot).await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(header(&script, "content-type").contains("javascript"));
    let script = script.text().await.expect("boot.js");
    assert!(
        script.contains("sspr-console_bg-") && !script.contains("sspr-frontend"),
        "{script}"
    );

    // The portal keeps its own policy (with the widget) and never names a console file.
    let portal = get("/").await;
    let csp = header(&portal, "content-security-policy");
    assert!(csp.contains("https://challenges.cloudflare.com"), "{csp}");
    let body = portal.text().await.expect("body");
    assert!(
        body.contains(r#"src="/boot-"#) && !body.contains("console"),
        "{body}"
    );
    let boot = sspr_tests::referenced(&body)
        .into_iter()
        .find(|path| path.starts_with("/boot-"))
        .expect("the portal's page loads boot.js");
    let boot = get(&boot).await.text().await.expect("boot.js");
    assert!(
        boot.contains("sspr-frontend_bg-") && !boot.contains("sspr-console"),
        "{boot}"
    );
    let reset_page = get("/some/portal/route").await.text().await.expect("body");
    assert!(!reset_page.contains("console"), "{reset_page}");
}

/// The one-time link, as the user meets it: a staff member (through the API) verifies the
/// caller and mails a link; the user opens it in a second browser session, lands on the
/// new-password step with the live rules, sets their own password — which then binds — and
/// the link, opened again, is spent and says so.
#[tokio::test]
async fn a_user_opens_a_one_time_link_and_sets_their_own_password() {
    use sspr_protocol::helpdesk::{CallerMethod, LinkSent, StaffLink, LINK_FRAGMENT, LINK_PATH};

    let dc = samba::shared();
    let staff_mail = user(dc, "hd.direct13", "Harm Dertien");
    user(dc, "hd.nested13", "Noor Dertien");
    let mail = user(dc, "caller.13", "Coby Linkuser");
    let group = staff_groups(dc, "M", "hd.direct13", "hd.nested13");
    let stack = console_stack(dc, &group, "").await;
    let mut console = crate::staff::Console::new(&stack);
    console.sign_in_by_mail("hd.direct13", &staff_mail).await;
    let account = crate::helpdesk::find(&mut console, "Coby", "caller.13").await;
    crate::helpdesk::verify_by_mail(&mut console, &account, &mail).await;
    let before = stack.smtp.mails_to(&mail).len();
    let _: LinkSent = console
        .post(
            LINK_PATH,
            &StaffLink {
                account,
                method: CallerMethod::Mail,
                note: Default::default(),
            },
        )
        .await
        .expect("link sent");
    let message = stack.smtp.wait_for_mail(&mail, before);
    let body = message.data.replace("=\r\n", "").replace("=3D", "=");
    let link: String = body
        .split_whitespace()
        .find(|w| w.contains(&format!("#{LINK_FRAGMENT}=")))
        .unwrap_or_else(|| panic!("a link in {body}"))
        .to_owned();
    assert!(link.starts_with(&stack.server.url), "{link}");

    let browser = Browser::start("en").await;
    let c = &browser.client;
    c.goto(&link).await.expect("open the link");
    find(c, "#new-password").await;
    sspr_tests::browser::assert_accessible(c, "a one-time link's new-password page").await;
    shots(c, "13-portal-reset-link", "en").await;
    let address = c.current_url().await.expect("url");
    assert!(
        !address.as_str().contains(LINK_FRAGMENT),
        "the token left the address bar: {address}"
    );
    let password = "Linked-Harbour-Lights-5";
    type_into(c, "#new-password", password).await;
    type_into(c, "#confirm-password", password).await;
    click(c, "#set-password", "submit").await;
    assert_eq!(text(c, "#done").await, "Your password has been reset");
    bind_as(dc, "caller.13", password)
        .await
        .expect("the user's own password binds");

    // A fresh load: on the same page, a new fragment alone would not load the app again.
    c.goto("about:blank").await.expect("leave the portal");
    c.goto(&link).await.expect("open the link again");
    let spent = text_contains(c, "#link-error", "already used").await;
    shots(c, "14-portal-link-spent", "en").await;
    assert!(spent.contains("service desk"), "{spent}");
    browser.close().await;
}

/// Registers an authenticator app for `account` through the registration API (as the user
/// would under "My verification methods"); returns its secret.
async fn register_app(stack: &Stack, account: &str) -> String {
    use sspr_protocol::register::{
        Confirm, Enrolment, Registered, SessionRef, AUTHENTICATOR_PATH, CONFIRM_PATH,
    };
    use sspr_tests::api::{oathtool, post};

    let registered = sspr_tests::api::sign_in(stack, account, PASSWORD)
        .await
        .expect("register sign-in");
    let session = SessionRef {
        session: registered.session,
    };
    let enrolment: Enrolment = post(stack, AUTHENTICATOR_PATH, &session)
        .await
        .expect("enrolment");
    let _: Registered = post(
        stack,
        CONFIRM_PATH,
        &Confirm {
            session: session.session.clone(),
            code: oathtool(&enrolment.secret, 0),
        },
    )
    .await
    .expect("enrolled");
    enrolment.secret
}

/// A staff member signs in with their own authenticator app, verifies the caller, mails them a
/// one-time link (the user sets their own password in a second browser session, proven by a
/// bind), then removes the caller's app with a confirming second click.
#[tokio::test]
async fn staff_send_a_one_time_link_and_remove_a_method_in_the_browser() {
    let dc = samba::shared();
    user(dc, "hd.webdesk3", "Hugo Webdesk");
    user(dc, "hd.webnest3", "Nora Webnest");
    let mail = user(dc, "caller.web3", "Chris Weblink");
    let group = staff_groups(dc, "W3", "hd.webdesk3", "hd.webnest3");
    let stack = console_stack(dc, &group, "").await;

    // The staff member's app; the caller's too, whose registration notice is awaited so it is
    // not taken for the verification code later.
    let secret = register_app(&stack, "hd.webnest3").await;
    let before = stack.smtp.mails_to(&mail).len();
    register_app(&stack, "caller.web3").await;
    stack.smtp.wait_for_mail(&mail, before);

    let browser = open_console(&stack, "en-US").await;
    let c = &browser.client;
    focus_reaches(c, "username").await;
    type_into(c, "#username", "hd.webnest3").await;
    type_into(c, "#password", PASSWORD).await;
    click(c, "#sign-in", "sign in").await;
    // The app comes first; its code field is there without sending anything. The current
    // step was spent on enrolment: the next one is accepted.
    focus_reaches(c, "factor-authenticator").await;
    type_into(c, "#factor-code", &sspr_tests::api::oathtool(&secret, 30)).await;
    click(c, "#continue", "continue").await;
    focus_reaches(c, "search").await;

    open_account(c, "Chris Web", "caller.web3").await;
    text_contains(
        c,
        "li[data-slot='authenticator'] .slot-state",
        "Registered by the user",
    )
    .await;
    // Nothing to remove before the caller is verified.
    assert!(c.find(Locator::Css("#remove-authenticator")).await.is_err());
    verify_caller(c, &stack, &mail).await;
    focus_reaches(c, "ticket").await;

    // The link: to the account's address (the only one it has).
    let hint = text(c, "#link-hint").await;
    assert!(hint.contains("never learn it"), "{hint}");
    type_into(c, "#ticket", "INC-4711").await;
    shots(c, "09-link", "en").await;
    let before = stack.smtp.mails_to(&mail).len();
    click(c, "#send-link", "send a one-time link").await;
    let done = text_contains(c, "#action-done", "Link sent to").await;
    assert!(
        done.contains('•') && done.contains("it works once, until"),
        "{done}"
    );
    focus_reaches(c, "action-done").await;
    text_contains(c, "#recent", "One-time reset link sent by the service desk").await;
    shots(c, "10-link-sent", "en").await;
    let message = stack.smtp.wait_for_mail(&mail, before);
    let body = message.data.replace("=\r\n", "").replace("=3D", "=");
    let link: String = body
        .split_whitespace()
        .find(|w| w.contains(&format!("#{}=", sspr_protocol::helpdesk::LINK_FRAGMENT)))
        .unwrap_or_else(|| panic!("a link in {body}"))
        .to_owned();

    let user_browser = Browser::start("en").await;
    let u = &user_browser.client;
    u.goto(&link).await.expect("open the link");
    let password = "Caller-Chose-This-9";
    type_into(u, "#new-password", password).await;
    type_into(u, "#confirm-password", password).await;
    click(u, "#set-password", "submit").await;
    assert_eq!(text(u, "#done").await, "Your password has been reset");
    bind_as(dc, "caller.web3", password)
        .await
        .expect("the caller's own password binds");
    user_browser.close().await;

    // Remove the caller's app: the first click asks, the second acts.
    click(c, "#remove-authenticator", "remove the app").await;
    focus_reaches(c, "confirm-removal").await;
    let question = text(c, "#confirm-question").await;
    assert!(question.contains("Authenticator app"), "{question}");
    shots(c, "11-confirm-removal", "en").await;
    click(c, "#confirm-removal", "confirm removal").await;
    let done = text_contains(c, "#action-done", "was removed").await;
    assert!(done.contains("Authenticator app"), "{done}");
    focus_reaches(c, "action-done").await;
    text_contains(c, "li[data-slot='authenticator'] .slot-state", "Not set up").await;
    assert!(c.find(Locator::Css("#remove-authenticator")).await.is_err());
    text_contains(
        c,
        "#recent",
        "Verification method removed by the service desk",
    )
    .await;
    shots(c, "12-method-removed", "en").await;
    browser.close().await;
}
