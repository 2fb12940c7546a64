//! Two server replicas on one PostgreSQL behind a real load balancer (HAProxy, round robin),
//! with one agent connected to both. A flow moves between replicas step by step, survives one
//! replica killed with SIGKILL, and the browser resets a password through the balancer.

use sspr_protocol::gate::Method;
use sspr_protocol::reset::{Completed, PasswordSubmit, Purpose, PASSWORD_PATH};
use sspr_tests::api::{choose, new_password, submit_code, submit_password, to_gate};
use sspr_tests::haproxy::Haproxy;
use sspr_tests::postgres::Postgres;
use sspr_tests::processes::{
    http_get_status, AgentOptions, AgentProcess, ServerOptions, ServerProcess,
};
use sspr_tests::samba;
use sspr_tests::smtp::SmtpSink;
use sspr_tests::stack::Stack;

/// The replicas, the balancer in front, and the stack whose API helpers go through it.
struct Replicated {
    stack: Stack,
    other: ServerProcess,
    lb: Haproxy,
    postgres: Postgres,
}

impl Replicated {
    async fn start(frontend: bool) -> Self {
        sspr_agent::tls::install_crypto_provider();
        let dc = samba::shared();
        let smtp = SmtpSink::start();
        // A PostgreSQL of its own: the test stops it at the end.
        let postgres = tokio::task::spawn_blocking(Postgres::start)
            .await
            .expect("task")
            .expect("PostgreSQL");
        let mut options = ServerOptions::replicas(smtp.port, postgres.database());
        if frontend {
            options.frontend_dir = Some(crate::browser::dist());
            options.captcha_difficulty = 12;
        }
        let (a, b) = tokio::task::spawn_blocking(move || {
            (
                ServerProcess::start(&options),
                ServerProcess::start(&options),
            )
        })
        .await
        .expect("replicas");
        let lb = Haproxy::start(&[a.port(), b.port()]).expect("HAProxy");
        // Onboarded through the balancer (either replica takes it: the token is shared); then
        // one relay connection to each replica.
        let agent_options = AgentOptions {
            extra: format!("servers = [\"{}\", \"{}\"]", a.url, b.url),
            ..AgentOptions::default()
        };
        let mut agent =
            AgentProcess::onboard_at(&lb.url(), &a.onboarding_token(), None, dc, &agent_options);
        agent.start();
        let replicated = Self {
            stack: Stack::assemble(dc, smtp, a, agent, lb.url()).await,
            other: b,
            lb,
            postgres,
        };
        for url in [
            replicated.stack.server.url.clone(),
            replicated.other.url.clone(),
        ] {
            replicated.wait_ready(&url, 200).await;
        }
        replicated
    }

    /// Waits until `/readyz` of the server at `url` answers `status`.
    async fn wait_ready(&self, url: &str, status: u16) {
        let host = url.trim_start_matches("http://").to_owned();
        sspr_tests::wait_for_async(
            &format!("{url}/readyz to answer {status}"),
            std::time::Duration::from_secs(30),
            || {
                let host = host.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        http_get_status(&format!("{host}/readyz")).filter(|s| *s == status)
                    })
                    .await
                    .ok()
                    .flatten()
                }
            },
        )
        .await;
    }
}

#[tokio::test]
async fn a_flow_moves_between_replicas_and_survives_one_killed() {
    let mut r = Replicated::start(false).await;
    let dc = r.stack.dc;
    dc.create_user(
        "rep.moving",
        "Old-Passw0rd!",
        Some("rep.moving@corp.example.test"),
        "Roos Mover",
    )
    .expect("user");
    let (a_url, b_url) = (r.stack.server.url.clone(), r.other.url.clone());

    // Started on one replica, the gate picked on the other.
    r.stack.base_url = a_url.clone();
    let (flow_id, gate) = to_gate(&r.stack, &dc.upn("rep.moving"), Purpose::Reset).await;
    r.stack.base_url = b_url.clone();
    choose(&r.stack, &flow_id, &gate, Method::Mail, None)
        .await
        .expect("mail on the other replica");
    let code = r
        .stack
        .smtp
        .wait_for_mail("rep.moving@corp.example.test", 0)
        .code()
        .expect("code");

    // One replica dies mid-flow; the user's next steps go through the balancer.
    r.stack.server.kill();
    r.stack.base_url = r.lb.url();
    let step = new_password(
        submit_code(&r.stack, &flow_id, &code)
            .await
            .expect("the code, through the surviving replica"),
    );
    submit_password(&r.stack, &flow_id, &step.agent_key, "Replicated-Passw0rd!")
        .await
        .expect("the reset, through the surviving replica");
    crate::agent_ad::bind_as(dc, "rep.moving", "Replicated-Passw0rd!")
        .await
        .expect("AD holds the new password");

    // The killed replica comes back, the agent reconnects to it, and it serves again.
    r.stack.server.start_again();
    r.wait_ready(&a_url, 200).await;
    r.stack.base_url = a_url.clone();
    let (flow_id, gate) = to_gate(&r.stack, &dc.upn("rep.moving"), Purpose::Reset).await;
    choose(&r.stack, &flow_id, &gate, Method::Mail, None)
        .await
        .expect("a code from the restarted replica");
    let code = r
        .stack
        .smtp
        .wait_for_mail("rep.moving@corp.example.test", 2)
        .code()
        .expect("code");
    let step = new_password(submit_code(&r.stack, &flow_id, &code).await.expect("code"));

    // The same password submitted to both replicas at once (a double click through the
    // balancer): both hear it is done, and the agent applies it once.
    let applied = |log: &str| log.matches("\"event_id\":2000").count();
    let before = applied(&r.stack.agent.log());
    let via_b = async {
        let submit = PasswordSubmit {
            lang: None,
            flow_id: flow_id.clone(),
            sealed: sspr_protocol::seal::seal(&step.agent_key, "Twice-Sent-Passw0rd!")
                .expect("seal"),
        };
        r.stack
            .http
            .post(format!("{b_url}{PASSWORD_PATH}"))
            .json(&submit)
            .send()
            .await
            .expect("request")
            .json::<Completed>()
            .await
    };
    let (one, two) = tokio::join!(
        submit_password(&r.stack, &flow_id, &step.agent_key, "Twice-Sent-Passw0rd!"),
        via_b,
    );
    one.expect("through one replica");
    two.expect("through the other");
    assert_eq!(
        applied(&r.stack.agent.log()) - before,
        1,
        "applied once: {}",
        r.stack.agent.log()
    );
    crate::agent_ad::bind_as(dc, "rep.moving", "Twice-Sent-Passw0rd!")
        .await
        .expect("AD holds it");

    // Without its database a replica is not ready, and says why.
    r.postgres.stop();
    for url in [a_url.as_str(), b_url.as_str()] {
        r.wait_ready(url, 503).await;
    }
    let body = reqwest::get(format!("{b_url}/readyz"))
        .await
        .expect("readyz")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "the store does not answer");
}

#[tokio::test]
async fn a_user_resets_in_the_browser_through_the_load_balancer() {
    let r = Replicated::start(true).await;
    let dc = r.stack.dc;
    dc.create_user(
        "rep.browser",
        "Old-Passw0rd!",
        Some("rep.browser@corp.example.test"),
        "Rita Browser",
    )
    .expect("user");
    let browser = sspr_tests::browser::Browser::start("en-US").await;
    let c = &browser.client;
    c.goto(&r.lb.url()).await.expect("open the portal");
    use crate::browser::{click, focus_reaches, text, type_into};
    type_into(c, "#username", &dc.upn("rep.browser")).await;
    click(c, "#continue", "continue").await;
    focus_reaches(c, "method-0").await;
    click(c, "#choose-method", "choose").await;
    focus_reaches(c, "code").await;
    let code = r
        .stack
        .smtp
        .wait_for_mail("rep.browser@corp.example.test", 0)
        .code()
        .expect("code");
    type_into(c, "#code", &code).await;
    click(c, "#verify", "verify").await;
    focus_reaches(c, "new-password").await;
    let password = "Balanced-Harbour-58";
    type_into(c, "#new-password", password).await;
    type_into(c, "#confirm-password", password).await;
    click(c, "#set-password", "submit").await;
    assert_eq!(text(c, "#done").await, "Your password has been reset");
    crate::agent_ad::bind_as(dc, "rep.browser", password)
        .await
        .expect("AD accepts the password typed in the browser");
    browser.close().await;
}
