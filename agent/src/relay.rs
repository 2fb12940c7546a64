//! The relay link: an outbound WebSocket to the server, authenticated with the relay secret,
//! with heartbeats and reconnection with capped exponential backoff. No inbound port is needed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sspr_protocol::relay::{AgentMessage, ServerMessage, AUTH_SEPARATOR, RELAY_PATH};
use tokio::sync::mpsc;
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
    tls: Arc<rustls::ClientConfig>,
) -> Result<Socket, RelayError> {
    let identity = &handler.state().identity;
    check_transport(&identity.server_url)?;
    let url = relay_url(&identity.server_url)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| RelayError::Address(e.to_string()))?;
    let credentials = format!(
        "Bearer {}{AUTH_SEPARATOR}{}",
        identity.agent_id, identity.relay_secret
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

/// Runs the relay until the process is stopped.
pub async fn run<D: Directory + 'static>(
    handler: Arc<Handler<D>>,
    tls: Arc<rustls::ClientConfig>,
    heartbeat: Duration,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match connect(&handler, tls.clone()).await {
            Ok(socket) => {
                event!(info, Event::Connected, server = %handler.state().identity.server_url, "relay connected");
                backoff = Duration::from_secs(1);
                let reason = session(socket, handler.clone(), heartbeat).await;
                event!(warn, Event::ConnectionLost, %reason, "relay connection lost; reconnecting");
            }
            Err(err @ RelayError::Unauthorized) => {
                event!(error, Event::RelayRefused, reason = %err, "relay refused")
            }
            Err(err) => {
                event!(warn, Event::ConnectionLost, reason = %err, retry_in_secs = backoff.as_secs(), "cannot reach the server")
            }
        }
        // Jitter spreads many agents' reconnects after a server restart.
        let jitter = {
            let mut b = [0u8; 2];
            let _ = getrandom::getrandom(&mut b);
            Duration::from_millis(u64::from(u16::from_le_bytes(b)) % 500)
        };
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn session<D: Directory + 'static>(
    socket: Socket,
    handler: Arc<Handler<D>>,
    heartbeat: Duration,
) -> String {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<AgentMessage>(64);
    let mut ticker = tokio::time::interval(heartbeat);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let (handler, tx) = (handler.clone(), tx.clone());
                tokio::spawn(async move {
                    match handler.heartbeat().await {
                        Ok(hb) => {
                            event!(debug, Event::HeartbeatSent, directory = %hb.directory, "heartbeat");
                            let _ = tx.send(AgentMessage::Heartbeat(hb)).await;
                        }
                        Err(err) => event!(error, Event::PolicyUnreadable, reason = %err, "cannot read the domain; no heartbeat sent"),
                    }
                });
            }
            Some(out) = rx.recv() => {
                let Ok(text) = serde_json::to_string(&out) else { continue };
                if let Err(e) = sink.send(Message::text(text)).await {
                    return e.to_string();
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(message) => {
                        let (handler, tx) = (handler.clone(), tx.clone());
                        tokio::spawn(async move {
                            let reply = handler.handle(message, crate::now()).await;
                            let _ = tx.send(reply).await;
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable message from the server"),
                },
                Some(Ok(Message::Close(_))) | None => return "closed by the server".into(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
