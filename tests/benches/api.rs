//! Benchmark: the API under load, against the real server process (release build) with a real
//! agent connected to a real Samba AD DC, on SQLite and on PostgreSQL.
//!
//! A load generator in this process (hyper, keep-alive, on one core of its own) keeps
//! `CONNECTIONS` requests in flight for `SECONDS` per step and reports requests per second,
//! median and p99 latency, and the server's memory (RSS) idle and at its peak; also the
//! agent's. The steps need no delivery and no agent round trip:
//! - `status`: is write-back available (the hub, no store);
//! - `start`: a reset flow begins (a rate-limit count and a new flow in the store);
//! - `captcha`: a wrong answer to a flow's CAPTCHA (the flow read — a wrong proof of work
//!   changes nothing in it, so nothing is written back — and the failure counted and audited),
//!   each flow once.
//!
//! Rate limits are raised in this server's configuration so that they do not answer instead,
//! and each request comes from an address of its own (`X-Forwarded-For` from a trusted proxy),
//! as the users of a busy portal do.
//! Run with `cargo bench -p sspr-tests --bench api` (do not run the integration tests at the
//! same time: both use the test DC's address).

use std::time::{Duration, Instant};

use http::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sspr_protocol::captcha::{CaptchaSolution, PowSolution};
use sspr_protocol::reset::{
    CaptchaAnswer, StartRequest, Started, CAPTCHA_PATH, START_PATH, STATUS_PATH,
};
use sspr_tests::memory::{self, Memory};
use sspr_tests::samba;
use sspr_tests::stack::Stack;

const CONNECTIONS: usize = 32;
const SECONDS: u64 = 5;
const TARGET_RATE: f64 = 5000.0;
const TARGET_P99_MS: f64 = 10.0;

type Body = http_body_util::Full<bytes::Bytes>;

struct Step {
    name: &'static str,
    rate: f64,
    p50: Duration,
    p99: Duration,
    failures: usize,
    /// What the unexpected answers were (each kind once).
    unexpected: std::collections::BTreeSet<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `CONNECTIONS` loops for `SECONDS`; request `i` is `make(i)`, and a step fails when its
/// answer is not `expected`. The bodies of `start` come back through `keep`.
async fn load(
    name: &'static str,
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
    make: impl Fn(usize) -> Option<Request<Body>> + Clone + Send + 'static,
    expected: StatusCode,
    keep: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
) -> Step {
    let started = Instant::now();
    let until = started + Duration::from_secs(SECONDS);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, make, next, keep) = (client.clone(), make.clone(), next.clone(), keep.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            let mut unexpected = std::collections::BTreeSet::new();
            while Instant::now() < until {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(request) = make(i) else { break };
                let sent = Instant::now();
                match client.request(request).await {
                    Ok(response) => {
                        let status = response.status();
                        let body = http_body_util::BodyExt::collect(response.into_body())
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        latencies.push(sent.elapsed());
                        if status != expected {
                            failures += 1;
                            unexpected.insert(format!(
                                "{status} {}",
                                String::from_utf8_lossy(&body)
                                    .chars()
                                    .take(120)
                                    .collect::<String>()
                            ));
                        } else if let Some(keep) = &keep {
                            if let Ok(started) = serde_json::from_slice::<Started>(&body) {
                                keep.lock().expect("flows").push(started.flow_id);
                            }
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        unexpected.insert(format!("no answer: {e:?}"));
                    }
                }
            }
            (latencies, failures, unexpected)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut unexpected = std::collections::BTreeSet::new();
    for task in tasks {
        let (l, f, u) = task.await.expect("load task");
        latencies.extend(l);
        failures += f;
        unexpected.extend(u);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Step {
        name,
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        failures,
        unexpected,
    }
}

/// Request `i` comes from its own client address, as many users behind the load balancer do
/// (the server trusts the loopback proxy's `X-Forwarded-For`): the per-address counts stay
/// those of real users, not of one address sending everything.
fn client(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
}

fn json_request(url: &str, i: usize, body: &impl serde::Serialize) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(url)
        .header("content-type", "application/json")
        .header("x-forwarded-for", client(i))
        .body(Body::new(serde_json::to_vec(body).expect("JSON").into()))
        .expect("request")
}

/// Every limit out of the way: the bench measures the work, not the refusals.
const NO_LIMITS: &str = "[limits]
flow_starts_per_address = 1000000000
flow_starts_per_account = 1000000000
gate_failures_per_account = 1000000000
sign_ins_per_address = 1000000000
sign_in_failures_per_account = 1000000000
";

async fn run(label: &str, database: Option<String>) {
    let stack = Stack::start(samba::shared(), |o| {
        o.database = database;
        // At the most work a challenge may ask, the nonce 0 passes once in 2^28 tries (at
        // 20 bits one run in a dozen had a lucky one): every answer is a wrong one.
        o.captcha_difficulty = sspr_protocol::captcha::MAX_DIFFICULTY;
        o.extra_toml = NO_LIMITS.into();
        o.top_extra = "trusted_proxies = [\"127.0.0.1/32\"]\n".into();
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let memory_of = |binary: &str, config: &std::path::Path| {
        memory::of_process(binary, config).expect("the process is running")
    };
    let idle = memory_of("sspr-server", &stack.server.config);

    let client: Client<_, Body> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build_http();
    let base = stack.server.url.clone();
    let mut steps = Vec::new();

    let status_url = format!("{base}{STATUS_PATH}");
    steps.push(
        load(
            "status",
            &client,
            move |_| {
                Some(
                    Request::get(&status_url)
                        .body(Body::default())
                        .expect("request"),
                )
            },
            StatusCode::OK,
            None,
        )
        .await,
    );

    let flows = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let start_url = format!("{base}{START_PATH}");
    steps.push(
        load(
            "start",
            &client,
            move |i| {
                Some(json_request(
                    &start_url,
                    i,
                    &StartRequest {
                        username: format!("load.user{}", i % 1000),
                        lang: Default::default(),
                        purpose: Default::default(),
                    },
                ))
            },
            StatusCode::OK,
            Some(flows.clone()),
        )
        .await,
    );

    let flows: std::sync::Arc<Vec<String>> =
        std::sync::Arc::new(std::mem::take(&mut *flows.lock().expect("flows")));
    let captcha_url = format!("{base}{CAPTCHA_PATH}");
    steps.push(
        load(
            "captcha",
            &client,
            move |i| {
                let flow_id = flows.get(i)?.clone();
                Some(json_request(
                    &captcha_url,
                    i,
                    &CaptchaAnswer {
                        flow_id,
                        solution: CaptchaSolution::ProofOfWork(PowSolution { nonce: 0 }),
                    },
                ))
            },
            StatusCode::BAD_REQUEST,
            None,
        )
        .await,
    );

    let loaded = memory_of("sspr-server", &stack.server.config);
    let agent = memory_of("sspr-agent", &stack.agent.config);
    println!("\n{label}: {CONNECTIONS} connections, {SECONDS} s a step");
    for step in &steps {
        let met = step.rate >= TARGET_RATE && ms(step.p99) <= TARGET_P99_MS && step.failures == 0;
        println!(
            "  {:8} {:8.0} req/s   median {:6.2} ms   p99 {:6.2} ms   unexpected answers {:5}   {}",
            step.name,
            step.rate,
            ms(step.p50),
            ms(step.p99),
            step.failures,
            if met { "target met" } else { "TARGET MISSED" }
        );
        for answer in &step.unexpected {
            println!("           unexpected: {answer}");
        }
    }
    report_memory("server", idle, loaded, 30.0, 80.0);
    println!(
        "  agent    RSS {:5.1} MiB, peak {:5.1} MiB (target ≤ 15 MiB)",
        Memory::mib(agent.rss_kib),
        Memory::mib(agent.peak_kib)
    );
}

fn report_memory(what: &str, idle: Memory, loaded: Memory, idle_target: f64, loaded_target: f64) {
    println!(
        "  {what:8} RSS idle {:5.1} MiB (target ≤ {idle_target} MiB), peak under load {:5.1} MiB (target ≤ {loaded_target} MiB)",
        Memory::mib(idle.rss_kib),
        Memory::mib(loaded.peak_kib)
    );
}

fn main() {
    // One core for the load generator; the other is the server's (and the agent's, idle).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        run("SQLite", None).await;
        let database = tokio::task::spawn_blocking(|| sspr_tests::postgres::shared().database())
            .await
            .expect("database");
        run("PostgreSQL", Some(database)).await;
    });
}
