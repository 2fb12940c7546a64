//! The relay link: an outbound WebSocket to the server, authenticated with the relay secret,
//! with heartbeats and reconnection with capped exponential backoff. No inbound port is needed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use secrecy::ExposeSecret;
use sspr_protocol::relay::{AgentMessage, Reply, ServerMessage, AUTH_SEPARATOR, RELAY_PATH};
use sspr_protocol::ErrorCode;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

use crate::directory::Directory;
use crate::event;
use crate::events::Event;
use crate::handler::Handler;

const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the server address is invalid: {0}")]
    Address(String),
    #[error("the server refused this agent's credentials; onboard it again")]
    Unauthorized,
    #[error("connection: {0}")]
    Connect(String),
}

/// `http://host` → `ws://host/api/agent/relay`, `https://` → `wss://`.
pub fn relay_url(server_url: &str) -> Result<url::Url, RelayError> {
    let mut url = url::Url::parse(server_url).map_err(|e| RelayError::Address(e.to_string()))?;
    let scheme = match url.scheme() {
        "https" => "wss",
        "http" => "ws",
        other => return Err(RelayError::Address(format!("unsupported scheme {other}"))),
    };
    url.set_scheme(scheme)
        .map_err(|_| RelayError::Address(server_url.to_owned()))?;
    url.set_path(RELAY_PATH);
    Ok(url)
}

/// Plain http/ws is allowed only to a loopback server (a demo or a test); TLS otherwise.
pub fn check_transport(server_url: &str) -> Result<(), RelayError> {
    let url = url::Url::parse(server_url).map_err(|e| RelayError::Address(e.to_string()))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(RelayError::Address(format!(
                    "{server_url} is plain http: the agent only talks to a server over https (plain http is allowed to loopback only)"
                )))
            }
        }
        other => Err(RelayError::Address(format!(
            "unsupported scheme {other}: use https://"
        ))),
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect<D: Directory>(
    handler: &Handler<D>,
    server_url: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<Socket, RelayError> {
    let state = handler.state();
    let identity = &state.identity;
    check_transport(server_url)?;
    let url = relay_url(server_url)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| RelayError::Address(e.to_string()))?;
    let credentials = format!(
        "Bearer {}{AUTH_SEPARATOR}{}",
        identity.agent_id,
        identity.relay_secret.expose_secret()
    );
    request.headers_mut().insert(
        AUTHORIZATION,
        credentials
            .parse()
            .map_err(|_| RelayError::Address("bad credentials".into()))?,
    );
    match tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(Connector::Rustls(tls)),
    )
    .await
    {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response))
            if response.status().as_u16() == 401 =>
        {
            Err(RelayError::Unauthorized)
        }
        Err(e) => Err(RelayError::Connect(e.to_string())),
    }
}

/// How long a stopping agent waits for the requests in hand (each is bounded by the LDAP
/// timeouts anyway).
pub const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Keeps one relay connection to each of `servers` (the replicas of one server) until `stop`
/// turns true. All share the handler: a package that arrives through two replicas is acted on
/// once, and one key rollover is told to every replica.
pub async fn run_all<D: Directory + 'static>(
    handler: Arc<Handler<D>>,
    servers: Vec<String>,
    tls: Arc<rustls::ClientConfig>,
    heartbeat: Duration,
    stop: watch::Receiver<bool>,
) {
    let links: Vec<_> = servers
        .into_iter()
        .map(|server| {
            tokio::spawn(run(
                handler.clone(),
                server,
                tls.clone(),
                heartbeat,
                stop.clone(),
            ))
        })
        .collect();
    for link in links {
        let _ = link.await;
    }
}

/// Runs the relay to `server_url` until `stop` turns true; then finishes the requests in hand,
/// answers them, and returns.
pub async fn run<D: Directory + 'static>(
    handler: Arc<Handler<D>>,
    server_url: String,
    tls: Arc<rustls::ClientConfig>,
    heartbeat: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        if *stop.borrow() {
            return;
        }
        let connected = tokio::select! {
            connected = connect(&handler, &server_url, tls.clone()) => connected,
            _ = stop.changed() => return,
        };
        match connected {
            Ok(socket) => {
                event!(info, Event::Connected, server = %server_url, "relay connected");
                backoff = Duration::from_secs(1);
                match session(socket, handler.clone(), heartbeat, stop.clone()).await {
                    Ended::Stopped => return,
                    Ended::Lost(reason) => {
                        event!(warn, Event::ConnectionLost, server = %server_url, %reason, "relay connection lost; reconnecting")
                    }
                }
            }
            Err(err @ RelayError::Unauthorized) => {
                event!(error, Event::RelayRefused, reason = %err, "relay refused")
            }
            Err(err) => {
                event!(warn, Event::ConnectionLost, server = %server_url, reason = %err, retry_in_secs = backoff.as_secs(), "cannot reach the server")
            }
        }
        // Jitter spreads many agents' reconnects after a server restart.
        let jitter = {
            let mut b = [0u8; 2];
            let _ = getrandom::getrandom(&mut b);
            Duration::from_millis(u64::from(u16::from_le_bytes(b)) % 500)
        };
        tokio::select! {
            _ = tokio::time::sleep(backoff + jitter) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

enum Ended {
    Stopped,
    Lost(String),
}

async fn session<D: Directory + 'static>(
    socket: Socket,
    handler: Arc<Handler<D>>,
    heartbeat: Duration,
    mut stop: watch::Receiver<bool>,
) -> Ended {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<AgentMessage>(64);
    // Requests run detached: a broken connection must not cut one off halfway. Each holds a
    // clone of `in_hand` while it runs, so the count of clones is the count in hand.
    let in_hand = Arc::new(());
    let busy = |in_hand: &Arc<()>| Arc::strong_count(in_hand) - 1;
    let mut ticker = tokio::time::interval(heartbeat);
    let mut draining: Option<tokio::time::Instant> = None;
    let mut drain_tick = tokio::time::interval(Duration::from_millis(50));
    let send = |message: &AgentMessage| message.to_frame().map(|f| Message::Binary(f.into()));
    loop {
        if let Some(since) = draining {
            let left = busy(&in_hand);
            if (left == 0 && rx.is_empty()) || since.elapsed() > DRAIN_LIMIT {
                if left > 0 {
                    event!(
                        warn,
                        Event::Stopping,
                        unfinished = left,
                        "stopping without the answers to requests still in hand"
                    );
                }
                let _ = sink.send(Message::Close(None)).await;
                return Ended::Stopped;
            }
        }
        tokio::select! {
            _ = stop.changed(), if draining.is_none() => {
                draining = Some(tokio::time::Instant::now());
                event!(info, Event::Stopping, in_hand = busy(&in_hand), "stopping: finishing the requests in hand");
                if let Ok(frame) = send(&AgentMessage::Draining) {
                    if let Err(e) = sink.send(frame).await {
                        return Ended::Lost(e.to_string());
                    }
                }
            }
            _ = drain_tick.tick(), if draining.is_some() => {}
            _ = ticker.tick(), if draining.is_none() => {
                let (handler, tx) = (handler.clone(), tx.clone());
                tokio::spawn(async move {
                    let now = crate::now();
                    handler.roll_over_if_due(now).await;
                    match handler.heartbeat(now).await {
                        Ok(hb) => {
                            event!(debug, Event::HeartbeatSent, directory = %hb.directory, "heartbeat");
                            let _ = tx.send(AgentMessage::Heartbeat(hb)).await;
                        }
                        Err(err) => event!(error, Event::PolicyUnreadable, reason = %err, "cannot read the domain; no heartbeat sent"),
                    }
                    if let Some(wrapped) = handler.pending_rollover(now) {
                        let _ = tx.send(AgentMessage::KeyRollover(wrapped)).await;
                    }
                });
            }
            Some(out) = rx.recv() => {
                let Ok(frame) = send(&out) else { continue };
                if let Err(e) = sink.send(frame).await {
                    return Ended::Lost(e.to_string());
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(frame))) => match ServerMessage::from_frame(&frame) {
                    // Stopping: a new request is turned away at once, so the server can try
                    // another agent instead of waiting.
                    Ok(message) if draining.is_some() => {
                        let reply = AgentMessage::Reply {
                            id: message.id(),
                            reply: Reply::Failed(ErrorCode::WritebackUnavailable),
                        };
                        if let Ok(frame) = send(&reply) {
                            if let Err(e) = sink.send(frame).await {
                                return Ended::Lost(e.to_string());
                            }
                        }
                    }
                    Ok(message) => {
                        let (handler, tx, token) = (handler.clone(), tx.clone(), in_hand.clone());
                        tokio::spawn(async move {
                            let reply = handler.handle(message, crate::now()).await;
                            // Lost if the connection broke meanwhile: the server sends the
                            // request again and gets the stored result.
                            let _ = tx.send(reply).await;
                            drop(token);
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable message from the server"),
                },
                Some(Ok(Message::Text(_))) => {
                    return Ended::Lost("the server speaks another relay protocol (text frames): run the server's version of sspr-agent".into());
                }
                Some(Ok(Message::Close(_))) | None => return Ended::Lost("closed by the server".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ended::Lost(e.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::fake::Counting;
    use crate::handler::tests::{outcome_of, test_state, unlock_package};
    use sspr_protocol::package::{Outcome, PackageKey};
    use tokio::net::TcpListener;

    /// The agent is stopped while it has a request in hand: it finishes it and answers, tells
    /// the server it is draining, turns a new request away at once, and then closes.
    #[tokio::test]
    async fn a_stopping_agent_finishes_the_request_in_hand() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("port");
        let server_url = format!("http://{}", listener.local_addr().expect("address"));
        let key = PackageKey::generate().expect("key");
        let handler = Arc::new(Handler::new(
            test_state(&key, &server_url),
            Counting::new(Duration::from_millis(500)),
        ));
        let tls = crate::tls::client_config(None, true).expect("tls");
        let (stop, stopped) = watch::channel(false);
        let agent = tokio::spawn(run(
            handler.clone(),
            server_url.clone(),
            tls,
            Duration::from_secs(3600),
            stopped,
        ));

        let (tcp, _) = listener.accept().await.expect("the agent connects");
        let mut server = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
        let package = unlock_package(&key, "req-drain", crate::now());
        let apply = ServerMessage::Apply { id: 7, package };
        let frame = apply.to_frame().expect("frame");
        server
            .send(Message::Binary(frame.into()))
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send_replace(true);

        let mut frames = Vec::new();
        while let Some(Ok(frame)) = server.next().await {
            match frame {
                Message::Binary(frame) => {
                    let message = AgentMessage::from_frame(&frame).expect("an agent message");
                    if message == AgentMessage::Draining {
                        // A request arriving now is turned away, not started.
                        let lookup = ServerMessage::Lookup {
                            id: 8,
                            username: "x".into(),
                        };
                        let frame = lookup.to_frame().expect("frame");
                        server
                            .send(Message::Binary(frame.into()))
                            .await
                            .expect("send");
                    }
                    frames.push(message);
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        tokio::time::timeout(Duration::from_secs(5), agent)
            .await
            .expect("run returns after draining")
            .expect("no panic");

        let frames: Vec<&AgentMessage> = frames
            .iter()
            .filter(|m| !matches!(m, AgentMessage::Heartbeat(_)))
            .collect();
        assert_eq!(frames[0], &AgentMessage::Draining);
        let answer = |id| {
            frames
                .iter()
                .find(|m| matches!(m, AgentMessage::Reply { id: i, .. } if *i == id))
                .copied()
                .unwrap_or_else(|| panic!("an answer to {id}: {frames:?}"))
        };
        assert_eq!(
            outcome_of(answer(7), &key, "req-drain"),
            Outcome::Applied,
            "the request in hand was finished and answered"
        );
        assert_eq!(
            answer(8),
            &AgentMessage::Reply {
                id: 8,
                reply: Reply::Failed(ErrorCode::WritebackUnavailable)
            }
        );
        assert_eq!(handler.directory().unlocks(), 1);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_transport("https://sspr.example.com").is_ok());
        assert!(check_transport("http://127.0.0.1:8080").is_ok());
        assert!(check_transport("http://[::1]:8080").is_ok());
        assert!(check_transport("http://localhost:8080").is_ok());
        assert!(check_transport("http://sspr.example.com").is_err());
        assert!(check_transport("http://10.0.0.5").is_err());
        assert!(check_transport("ftp://sspr.example.com").is_err());
    }

    #[test]
    fn relay_url_follows_the_scheme() {
        assert_eq!(
            relay_url("https://sspr.example.com/")
                .map(|u| u.to_string())
                .ok(),
            Some("wss://sspr.example.com/api/agent/relay".into())
        );
        assert_eq!(
            relay_url("http://127.0.0.1:8080")
                .map(|u| u.to_string())
                .ok(),
            Some("ws://127.0.0.1:8080/api/agent/relay".into())
        );
    }
}
