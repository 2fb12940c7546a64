//! Resets under faults. Users reset their passwords continuously — through a load balancer, to
//! two server replicas on PostgreSQL, with one agent connected to both (to one of them through a
//! proxy that can cut the relay) — while the suite kills the agent (SIGKILL) and restarts it,
//! kills a replica (SIGKILL) and restarts it, stops and starts the DC, and cuts the relay right
//! after a package went through.
//!
//! Every reset must end in success or a specific failure the user is told; AD must hold each
//! user's last reported new password (proven by a bind); no package may be applied twice (the
//! agent's own events prove it). One line sums it up:
//! `faults: N resets, S succeeded, F failed with a reason, L lost, D applied twice`.
//!
//! `FAULT_RESETS` sets N (200 by default; the documented longer run is 1,000). Not `SSPR_…`:
//! the server would read that as a setting of its own and refuse to start.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sspr_protocol::gate::{
    AfterGate, Challenge, ChooseMethod, Gate, METHOD_PATH, OTHER_METHOD_PATH,
};
use sspr_protocol::reset::*;
use sspr_protocol::{ApiError, ErrorCode};
use sspr_tests::haproxy::Haproxy;
use sspr_tests::postgres::Postgres;
use sspr_tests::processes::{AgentOptions, AgentProcess, ServerOptions, ServerProcess};
use sspr_tests::proxy::RelayProxy;
use sspr_tests::samba::SambaDc;
use sspr_tests::smtp::SmtpSink;
use tokio::sync::Mutex;

const USERS: usize = 4;
/// How long one step may go unanswered (transport errors, a dead replica) before the reset
/// counts as lost.
const STEP_PATIENCE: Duration = Duration::from_secs(45);
/// How long the new-password step may keep getting "no answer" before the reset counts as lost:
/// well inside the package's and the flow's lifetime.
const APPLY_PATIENCE: Duration = Duration::from_secs(90);

/// What one call through the balancer came to.
enum Answer<T> {
    Ok(T),
    /// The server answered with a specific error.
    Refused(ErrorCode),
    /// No answer from the product: a connection refused or reset, or the balancer's own error.
    Nothing(String),
}

async fn call<B: Serialize, T: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: &B,
) -> Answer<T> {
    let response = match http.post(format!("{base}{path}")).json(body).send().await {
        Ok(r) => r,
        Err(e) => return Answer::Nothing(e.to_string()),
    };
    let status = response.status();
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return Answer::Nothing(e.to_string()),
    };
    if status.is_success() {
        return match serde_json::from_slice(&bytes) {
            Ok(value) => Answer::Ok(value),
            Err(e) => Answer::Nothing(format!("unreadable answer: {e}")),
        };
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(error) => Answer::Refused(error.code),
        // HAProxy's own 502/503 page: the replica died under the request.
        Err(_) => Answer::Nothing(format!("HTTP {status} without an error body")),
    }
}

/// Calls until the product answers (or `STEP_PATIENCE` passes): what a user clicking again does.
async fn patiently<B: Serialize, T: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: &B,
) -> Result<Result<T, ErrorCode>, String> {
    let since = Instant::now();
    loop {
        match call(http, base, path, body).await {
            Answer::Ok(v) => return Ok(Ok(v)),
            Answer::Refused(code) => return Ok(Err(code)),
            Answer::Nothing(why) if since.elapsed() > STEP_PATIENCE => {
                return Err(format!("{path}: no answer for {STEP_PATIENCE:?}: {why}"))
            }
            Answer::Nothing(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

#[derive(Debug)]
enum Outcome {
    Succeeded(String),
    /// The step, and the reason the user was told.
    Failed(&'static str, ErrorCode),
    Lost(String),
}

struct World {
    http: reqwest::Client,
    base: String,
    smtp: SmtpSink,
}

/// The newest code mailed to `to` after the first `seen` mails, waited for up to `wait`.
async fn code_after(world: &World, to: &str, seen: usize, wait: Duration) -> Option<String> {
    let since = Instant::now();
    loop {
        let mails = world.smtp.mails_to(to);
        let code = mails
            .iter()
            .skip(seen)
            .filter_map(|m| {
                let subject = m.subject()?;
                subject
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| (6..=8).contains(&w.len()))
                    .map(str::to_owned)
            })
            .next_back();
        if code.is_some() || since.elapsed() > wait {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One user's reset, start to end, as a patient user would do it.
async fn reset(world: &World, upn: &str, mail: &str, password: &str) -> Outcome {
    match try_reset(world, upn, mail, password).await {
        Ok(outcome) => outcome,
        Err(lost) => Outcome::Lost(lost),
    }
}

async fn try_reset(
    world: &World,
    upn: &str,
    mail: &str,
    password: &str,
) -> Result<Outcome, String> {
    let (http, base) = (&world.http, world.base.as_str());
    let start = StartRequest {
        username: upn.into(),
        lang: Default::default(),
        purpose: Purpose::Reset,
    };
    let started: Started = match patiently(http, base, START_PATH, &start).await? {
        Ok(s) => s,
        Err(code) => return Ok(Outcome::Failed("start", code)),
    };
    let flow = FlowRef {
        flow_id: started.flow_id.clone(),
    };
    let answer = CaptchaAnswer {
        flow_id: started.flow_id.clone(),
        solution: sspr_tests::api::solve(&started),
    };
    let gate: Gate = match patiently(http, base, CAPTCHA_PATH, &answer).await? {
        Ok(g) => g,
        // Passed already; only the answer was lost with a replica.
        Err(ErrorCode::WrongStep) => match patiently(http, base, OTHER_METHOD_PATH, &flow).await? {
            Ok(g) => g,
            Err(code) => return Ok(Outcome::Failed("gate", code)),
        },
        Err(code) => return Ok(Outcome::Failed("captcha", code)),
    };
    let seen = world.smtp.mails_to(mail).len();
    let choose = ChooseMethod {
        lang: None,
        flow_id: started.flow_id.clone(),
        choice: gate.offers.first().map(|o| o.choice).unwrap_or_default(),
        phone: None,
    };
    match patiently::<_, Challenge>(http, base, METHOD_PATH, &choose).await? {
        // Sent; or sent already by the first try whose answer was lost (the cooldown).
        Ok(_) | Err(ErrorCode::TooManyRequests) => {}
        Err(code) => return Ok(Outcome::Failed("method", code)),
    }
    let mut code = code_after(world, mail, seen, Duration::from_secs(10)).await;
    for _ in 0..3 {
        if code.is_some() {
            break;
        }
        // The replica that was to send it died first: ask for a new one.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = patiently::<_, CodeSent>(http, base, RESEND_PATH, &flow).await?;
        code = code_after(world, mail, seen, Duration::from_secs(10)).await;
    }
    let Some(code) = code else {
        return Err("no code mail arrived".into());
    };
    let answer = CodeAnswer {
        lang: None,
        flow_id: started.flow_id.clone(),
        code,
    };
    let mut step: NewPasswordStep = match patiently(http, base, CODE_PATH, &answer).await? {
        Ok(AfterGate::NewPassword(step)) => step,
        Ok(other) => return Err(format!("after the code: {other:?}")),
        // Accepted already; only the answer was lost.
        Err(ErrorCode::WrongStep) => match patiently(http, base, KEY_PATH, &flow).await? {
            Ok(step) => step,
            Err(code) => return Ok(Outcome::Failed("key", code)),
        },
        Err(code) => return Ok(Outcome::Failed("code", code)),
    };
    let since = Instant::now();
    loop {
        let sealed =
            sspr_protocol::seal::seal(&step.agent_key, password).map_err(|e| e.to_string())?;
        let submit = PasswordSubmit {
            lang: None,
            flow_id: started.flow_id.clone(),
            sealed,
        };
        match call::<_, Completed>(http, base, PASSWORD_PATH, &submit).await {
            Answer::Ok(_) => return Ok(Outcome::Succeeded(password.to_owned())),
            Answer::Refused(
                ErrorCode::AgentChanged | ErrorCode::AgentTimeout | ErrorCode::WritebackUnavailable,
            )
            | Answer::Nothing(_) => {
                if since.elapsed() > APPLY_PATIENCE {
                    return Err("the new password got no definite answer".into());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                // The agent may have changed keys or gone: seal to whichever is live now.
                if let Answer::Ok(fresh) = call(http, base, KEY_PATH, &flow).await {
                    step = fresh;
                }
            }
            Answer::Refused(code) => return Ok(Outcome::Failed("password", code)),
        }
    }
}

/// Request ids the agent's log says were applied, and how often.
fn applied_requests(agent_log: &str) -> HashMap<String, usize> {
    let mut applied = HashMap::new();
    for line in agent_log.lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let fields = &entry["fields"];
        if fields["event_id"] == 2000 {
            if let Some(id) = fields["request_id"].as_str() {
                *applied.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    applied
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_hold_under_faults() {
    sspr_agent::tls::install_crypto_provider();
    let total: usize = std::env::var("FAULT_RESETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // A domain of its own: this test stops and starts its DC.
    let dc = tokio::task::spawn_blocking(|| {
        SambaDc::start("127.0.0.6", "FAULTS.EXAMPLE.TEST", "FAULTS")
    })
    .await
    .expect("task")
    .expect("Samba");
    let users: Vec<(String, String, String)> = (0..USERS)
        .map(|i| {
            let name = format!("fault.u{i}");
            let mail = format!("{name}@faults.example.test");
            dc.create_user(
                &name,
                "Old-Passw0rd!",
                Some(&mail),
                &format!("Frank Tester {i}"),
            )
            .expect("user");
            (dc.upn(&name), mail, name)
        })
        .collect();
    let smtp = SmtpSink::start();
    let postgres = tokio::task::spawn_blocking(Postgres::start)
        .await
        .expect("task")
        .expect("PostgreSQL");
    let mut options = ServerOptions::replicas(smtp.port, postgres.database());
    options.reset_extra = "resend_cooldown_secs = 2".into();
    options.relay_extra = "request_timeout_secs = 5".into();
    // The users reset again and again: the abuse limits are not under test here.
    options.extra_toml = "[limits]\nflow_starts_per_address = 100000\nflow_starts_per_account = 100000\nsends_per_destination = 100000\nsends_per_destination_per_day = 100000\n".into();
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            ServerProcess::start(&options),
            ServerProcess::start(&options),
        )
    })
    .await
    .expect("replicas");
    let lb = Haproxy::start(&[a.port(), b.port()]).expect("HAProxy");
    let proxy = RelayProxy::start(&a.url);
    let agent_options = AgentOptions {
        extra: format!("servers = [\"{}\", \"{}\"]", proxy.url, b.url),
        ..AgentOptions::default()
    };
    let mut agent =
        AgentProcess::onboard_at(&lb.url(), &a.onboarding_token(), None, &dc, &agent_options);
    agent.start();
    let world = Arc::new(World {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        base: lb.url(),
        smtp,
    });
    let stack_ready = world.base.clone();
    sspr_tests::wait_for_async(
        "write-back through the balancer",
        Duration::from_secs(60),
        || {
            let url = format!("{stack_ready}{STATUS_PATH}");
            let http = world.http.clone();
            async move {
                let status: Status = http.get(&url).send().await.ok()?.json().await.ok()?;
                status.writeback_available.then_some(())
            }
        },
    )
    .await;

    // The users, each resetting in turn until `total` resets have been made.
    let started = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::<(usize, Outcome)>::new()));
    let workers: Vec<_> = users
        .iter()
        .cloned()
        .enumerate()
        .map(|(u, (upn, mail, _))| {
            let (world, started, outcomes) = (world.clone(), started.clone(), outcomes.clone());
            tokio::spawn(async move {
                loop {
                    let n = started.fetch_add(1, Ordering::SeqCst);
                    if n >= total {
                        return;
                    }
                    let password = format!("Fault-{n}-Pw!x{u}");
                    let outcome = reset(&world, &upn, &mail, &password).await;
                    // Told it failed, a user waits a moment before trying again.
                    let pause = !matches!(outcome, Outcome::Succeeded(_));
                    outcomes.lock().await.push((u, outcome));
                    if pause {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            })
        })
        .collect();

    // Faults, one after another, while the users work.
    let done = Arc::new(AtomicBool::new(false));
    let injector = {
        let done = done.clone();
        tokio::spawn(async move {
            let (mut dc, mut a, mut b, mut agent) = (dc, a, b, agent);
            let mut faults = 0usize;
            while !done.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(2500)).await;
                if done.load(Ordering::SeqCst) {
                    break;
                }
                match faults % 5 {
                    0 => {
                        agent.kill();
                        tokio::time::sleep(Duration::from_millis(800)).await;
                        agent.start();
                    }
                    1 => {
                        a.kill();
                        tokio::time::sleep(Duration::from_millis(800)).await;
                        tokio::task::block_in_place(|| a.start_again());
                    }
                    2 => proxy.cut_after_next_apply(),
                    3 => {
                        tokio::task::block_in_place(|| dc.stop());
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        tokio::task::block_in_place(|| dc.start_again())
                            .expect("the DC starts again");
                    }
                    _ => {
                        b.kill();
                        tokio::time::sleep(Duration::from_millis(800)).await;
                        tokio::task::block_in_place(|| b.start_again());
                    }
                }
                faults += 1;
            }
            (dc, a, b, agent, faults, proxy)
        })
    };
    for worker in workers {
        worker.await.expect("a user's resets");
    }
    done.store(true, Ordering::SeqCst);
    let (dc, a, b, agent, faults, _proxy) = injector.await.expect("faults");
    for line in a.log().lines().chain(b.log().lines()) {
        if line.contains("internal error") || line.contains("WrongStep") {
            println!("server: {line}");
        }
    }
    for line in agent.log().lines() {
        if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
            println!("agent: {line}");
        }
    }

    // The tally.
    let outcomes = outcomes.lock().await;
    let mut last_success: BTreeMap<usize, String> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let (mut succeeded, mut failed, mut lost) = (0, 0, Vec::new());
    for (user, outcome) in outcomes.iter() {
        match outcome {
            Outcome::Succeeded(password) => {
                succeeded += 1;
                last_success.insert(*user, password.clone());
            }
            Outcome::Failed(step, code) => {
                failed += 1;
                *reasons.entry(format!("{step}: {code:?}")).or_default() += 1;
            }
            Outcome::Lost(why) => lost.push(why.clone()),
        }
    }
    let applied = applied_requests(&agent.log());
    let twice = applied.values().filter(|n| **n > 1).count();
    println!(
        "faults injected: {faults}; failure reasons: {reasons:?}; lost: {lost:?}; request ids applied: {}; repeats answered from the agent's store: {}",
        applied.len(),
        agent.log().matches("\"event_id\":3002").count()
    );
    println!(
        "faults: {} resets, {succeeded} succeeded, {failed} failed with a reason, {} lost, {twice} applied twice",
        outcomes.len(),
        lost.len()
    );
    assert_eq!(outcomes.len(), total);
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert_eq!(twice, 0, "a package was applied twice");
    assert!(
        !reasons.keys().any(|r| r.ends_with("Internal")),
        "every failure has a specific reason: {reasons:?}"
    );
    assert_eq!(
        applied.len(),
        succeeded,
        "every success was applied once, and nothing reported as failed was applied"
    );
    assert!(faults >= 5, "every kind of fault happened at least once");
    assert!(
        succeeded * 2 > total,
        "most resets succeed despite the faults"
    );
    // AD holds each user's last reported new password.
    for (user, (_, _, name)) in users.iter().enumerate() {
        let password = last_success
            .get(&user)
            .cloned()
            .unwrap_or_else(|| "Old-Passw0rd!".into());
        let mut ldap = dc.connect().await.expect("LDAPS");
        ldap.simple_bind(&dc.upn(name), &password)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("{name} binds with the last reported password: {e}"));
        let _ = ldap.unbind().await;
    }
}
