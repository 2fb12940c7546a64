//! Slow clients cannot hold the server's connections (issue 10): a header sent a line at a
//! time, a body that stops, an idle kept-alive connection and a TLS handshake that never comes
//! are all closed after their timeout, and one address cannot open more than
//! `connections_per_address` connections. An agent's relay WebSocket, quiet far longer than
//! the timeouts between two heartbeats, is not cut. All against the real server process, over
//! raw TCP.

use std::time::{Duration, Instant};

use sspr_protocol::reset::{Purpose, START_PATH};
use sspr_tests::processes::{free_port, AgentOptions, ServerOptions, ServerProcess};
use sspr_tests::samba;
use sspr_tests::stack::Stack;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The timeouts the servers here run with.
const TIMEOUT_SECS: u64 = 2;
const TIMEOUT: Duration = Duration::from_secs(TIMEOUT_SECS);
/// A connection expected to close after one timeout must be closed within three.
const BOUND: Duration = Duration::from_secs(3 * TIMEOUT_SECS);

/// The connection settings: both timeouts `TIMEOUT_SECS` unless `header_secs` says
/// otherwise, and at most `per_address` connections from one address.
fn connection_settings(header_secs: u64, per_address: usize) -> String {
    format!(
        "header_read_timeout_secs = {header_secs}\nbody_read_timeout_secs = {TIMEOUT_SECS}\nconnections_per_address = {per_address}\n"
    )
}

/// A server alone (no agent, no directory) with these connection settings.
fn options(header_secs: u64, per_address: usize) -> ServerOptions {
    // No mail is sent here: the SMTP port only has to be a number.
    let mut options = ServerOptions::new(free_port());
    options.top_extra = connection_settings(header_secs, per_address);
    options
}

async fn start(options: ServerOptions) -> ServerProcess {
    tokio::task::spawn_blocking(move || ServerProcess::start(&options))
        .await
        .expect("server fixture")
}

async fn connect(server: &ServerProcess) -> TcpStream {
    TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection (end of stream or reset): what it sent and
/// when it closed, or `None` if it is still open after `within`.
async fn read_until_closed(
    stream: &mut (impl AsyncRead + Unpin),
    within: Duration,
) -> Option<(String, Instant)> {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some((String::from_utf8_lossy(&got).into_owned(), closed))
}

/// Sends `GET path` on a kept-alive connection and reads the whole answer (the server sends a
/// Content-Length): its status and body.
async fn get(stream: &mut (impl AsyncRead + AsyncWrite + Unpin), path: &str) -> (u16, String) {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .expect("send the request");
    let answer = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.expect("read the answer");
            assert!(
                n > 0,
                "closed before the answer was complete: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or_else(|| panic!("no Content-Length in {head}"));
            if body.len() >= length {
                let status = head
                    .get(9..12)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("no status in {head}"));
                return (status, body.to_owned());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .unwrap_or_else(|_| panic!("no answer to GET {path}"))
}

#[tokio::test]
async fn a_header_sent_a_line_a_second_is_cut_off() {
    let server = start(options(TIMEOUT_SECS, 32)).await;
    let (mut read, mut write) = connect(&server).await.into_split();
    let started = Instant::now();
    let reader = tokio::spawn(async move { read_until_closed(&mut read, BOUND * 2).await });
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("request line");
    // Twenty more header lines, one a second: the header would be complete after 20 s.
    let mut sent = 0;
    while sent < 20 && !reader.is_finished() && started.elapsed() < BOUND * 2 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if write
            .write_all(format!("X-Slow-{sent}: {sent}\r\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    let (answer, closed) = reader
        .await
        .expect("reader")
        .expect("the connection is still open after twice the bound");
    let after = closed - started;
    assert!(
        after < BOUND,
        "closed only after {after:?} (header timeout {TIMEOUT:?})"
    );
    assert!(sent < 20, "the whole header went through");
    assert!(
        !answer.contains(" 200 "),
        "the slow request was answered: {answer}"
    );
}

#[tokio::test]
async fn a_body_that_stops_is_given_up() {
    let server = start(options(TIMEOUT_SECS, 32)).await;
    let mut stream = connect(&server).await;
    // 6 of the 100 bytes announced, then nothing.
    stream
        .write_all(
            format!(
                "POST {START_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                 Content-Length: 100\r\n\r\n{{\"a\":1"
            )
            .as_bytes(),
        )
        .await
        .expect("send");
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut stream, BOUND)
        .await
        .unwrap_or_else(|| panic!("still open {BOUND:?} after the body stopped"));
    let after = closed - started;
    // Not at once: the handler waited for the body, and the body timer ended the wait.
    assert!(
        after >= TIMEOUT / 2,
        "closed after {after:?}, before the body timeout: {answer}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = start(options(TIMEOUT_SECS, 32)).await;
    let mut stream = connect(&server).await;
    // Kept alive: a second request on the same connection is answered.
    assert_eq!(get(&mut stream, "/healthz").await.0, 200);
    assert_eq!(get(&mut stream, "/healthz").await.0, 200);
    let idle_since = Instant::now();
    let (_, closed) = read_until_closed(&mut stream, BOUND)
        .await
        .unwrap_or_else(|| panic!("an idle connection still open after {BOUND:?}"));
    let after = closed - idle_since;
    assert!(
        after >= TIMEOUT / 2,
        "closed after {after:?}, well before the idle timeout: not kept alive"
    );
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_connections() {
    // Long timeouts: the held connections must stay open while the test works.
    let server = start(options(30, 4)).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&server).await;
        assert_eq!(get(&mut stream, "/healthz").await.0, 200);
        held.push(stream);
    }

    let mut fifth = connect(&server).await;
    let (answer, _) = read_until_closed(&mut fifth, BOUND)
        .await
        .expect("a fifth connection from the same address is closed at once");
    assert!(answer.is_empty(), "the fifth got an answer: {answer}");

    for stream in &mut held {
        assert_eq!(
            get(stream, "/healthz").await.0,
            200,
            "the first four still work"
        );
    }
    let other = TcpSocket::new_v4().expect("socket");
    other
        .bind("127.0.0.9:0".parse().expect("address"))
        .expect("bind 127.0.0.9");
    let mut other = other
        .connect(
            format!("127.0.0.1:{}", server.port())
                .parse()
                .expect("address"),
        )
        .await
        .expect("connect from 127.0.0.9");
    assert_eq!(
        get(&mut other, "/healthz").await.0,
        200,
        "another address is not affected"
    );

    // A connection closed gives its place back.
    drop(held.pop());
    let metrics = sspr_tests::wait_for_async("a place given back", Duration::from_secs(10), || {
        let port = server.port();
        async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            // A refused connection is closed before any answer; a refused request is retried.
            let mut probe = [0u8; 1];
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(200), stream.read(&mut probe)).await
            {
                return None;
            }
            Some(get(&mut stream, "/metrics").await)
        }
    })
    .await;
    assert_eq!(metrics.0, 200);
    let refused: f64 = metrics
        .1
        .lines()
        .find_map(|l| l.strip_prefix("sspr_connections_refused_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no refusal counter in /metrics:\n{}", metrics.1));
    assert!(refused >= 1.0, "refusals counted: {refused}");
    let log = server.log();
    assert!(
        log.contains("connection closed at once") && log.contains("\"client\":\"127.0.0.1\""),
        "the refusal is logged with the address:\n{log}"
    );
}

#[tokio::test]
async fn over_tls_a_handshake_that_never_comes_is_cut_off_and_clients_are_served() {
    let mut options = options(TIMEOUT_SECS, 32);
    options.tls = true;
    let server = start(options).await;

    // Connected, and not a byte of TLS.
    let mut silent = connect(&server).await;
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, BOUND)
        .await
        .unwrap_or_else(|| panic!("a silent TLS connection still open after {BOUND:?}"));
    assert!(closed - started >= TIMEOUT / 2, "closed before the timeout");

    sspr_agent::tls::install_crypto_provider();
    let ca = server.ca_file.as_deref().expect("the test CA");
    let tls = sspr_agent::tls::client_config(Some(ca), false).expect("TLS config");
    let client = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .expect("client");
    let answer = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("a TLS client is served");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert_eq!(answer.version(), reqwest::Version::HTTP_11);
}

#[tokio::test]
async fn an_agent_quiet_between_heartbeats_stays_connected() {
    let dc = samba::shared();
    // Heartbeats every 30 s (the server expects them at that pace): the relay WebSocket is
    // quiet for far longer than the 2 s timeouts.
    let stack = Stack::start_with(
        dc,
        |o| {
            o.top_extra = connection_settings(TIMEOUT_SECS, 32);
            o.heartbeat_secs = 30;
        },
        |_| AgentOptions {
            heartbeat_secs: Some(30),
            ..AgentOptions::default()
        },
    )
    .await;
    // What is tested is time passing: four timeouts of silence on the relay (the first
    // heartbeat went at connecting, the next is due after 30 s).
    tokio::time::sleep(TIMEOUT * 4).await;
    stack.wait_writeback(true).await;
    // A lookup crosses the relay: the connection carries work after the quiet spell.
    sspr_tests::api::to_gate(&stack, "slow.nobody", Purpose::Reset).await;
    let log = stack.server.log();
    assert_eq!(
        log.matches("\"message\":\"agent connected\"").count(),
        1,
        "the agent connected once:\n{log}"
    );
    assert!(
        !log.contains("\"message\":\"agent disconnected\""),
        "the relay connection was cut:\n{log}"
    );
}
