//! Our own accept loop (in place of `axum::serve`), so that slow clients cannot hold the
//! server's connections: a request's header must arrive within `header_read_timeout_secs` (which
//! also ends idle kept-alive connections and bounds the TLS handshake), a request body that
//! goes quiet for `body_read_timeout_secs` is given up, and one address may hold at most
//! `connections_per_address` connections. Plain HTTP or TLS (rustls), HTTP/1.1 only.
//!
//! The timers watch only the moments the server waits for the client. A handler may take
//! minutes (a write-back waiting for a reconnecting agent): while it works, nothing times the
//! client out. An agent's relay WebSocket is outside both timers once set up: after the 101
//! answer hyper hands the socket to the WebSocket, and hyper's header timer and the body timer
//! end with the HTTP exchange. That is on purpose: an agent speaks once a heartbeat
//! (`relay.heartbeat_secs`, 60 s by default), far beyond these timeouts, and sending pings
//! instead would cut an agent whose heartbeat is late (its DC slow) only to have it reconnect.
//! Only an agent that passed authentication gets the upgrade, and the hub stops sending work
//! to one whose heartbeats stop (after two heartbeats).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// How long requests in flight get to finish once the server is told to stop.
const DRAIN: Duration = Duration::from_secs(10);
/// A failed accept (mostly: out of file descriptors) is tried again after this pause.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// IPv6 clients are counted by network: one host usually holds a whole /64.
const IPV6_PREFIX: u32 = 64;

/// What a connection may take: the configured timeouts and cap.
#[derive(Clone, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub connections_per_address: usize,
    /// Peers not counted per address: the trusted proxies, all clients come through them.
    pub exempt: Vec<ipnet::IpNet>,
}

impl Limits {
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(config.body_read_timeout_secs.max(1)),
            connections_per_address: config.connections_per_address.max(1),
            exempt: config.trusted_proxies.clone(),
        }
    }
}

/// The TLS setup for `tls_cert_file` (the chain, PEM) and `tls_key_file`. It offers only
/// HTTP/1.1 by ALPN, the one protocol served here.
pub fn tls_acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and gives the
/// requests in flight up to [`DRAIN`] to finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let occupancy = Occupancy::default();
    // Every connection holds a receiver: told to stop through it, and counted by it.
    let (stop, stopping) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        let address = peer.ip().to_canonical();
        let slot = if limits.exempt.iter().any(|net| net.contains(&address)) {
            None
        } else {
            match occupancy.admit(address, limits.connections_per_address) {
                Admission::Admitted(slot) => Some(slot),
                Admission::Refused { first } => {
                    metrics.connection_refused();
                    // One line per address until it holds no connection again; /metrics
                    // counts every refusal. A flood does not flood the log.
                    if first {
                        tracing::info!(
                            client = %address,
                            limit = limits.connections_per_address,
                            "connection closed at once: this address already holds connections_per_address connections"
                        );
                    }
                    drop(stream);
                    continue;
                }
            }
        };
        let connection = Connection {
            peer,
            app: app.clone(),
            limits: limits.clone(),
            stop: stopping.clone(),
            _slot: slot,
        };
        let tls = tls.clone();
        tokio::spawn(connection.run(stream, tls));
    }
    drop(listener);
    drop(stopping);
    // No receiver left (nothing open) is fine: there is nothing to stop.
    let _ = stop.send(());
    if tokio::time::timeout(DRAIN, stop.closed()).await.is_err() {
        tracing::warn!(
            open = stop.receiver_count(),
            "connections still busy after the drain time are cut"
        );
    }
}

/// One accepted connection, its place in the per-address count with it.
struct Connection {
    peer: SocketAddr,
    app: Router,
    limits: Arc<Limits>,
    stop: watch::Receiver<()>,
    _slot: Option<Slot>,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        // Each answer goes out when it is written, not held back (Nagle) until the client
        // acknowledges the one before: small answers on a kept-alive connection.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(client = %self.peer, error = %e, "cannot set TCP_NODELAY");
        }
        let Some(tls) = tls else {
            return self.http(stream).await;
        };
        match tokio::time::timeout(self.limits.header_read_timeout, tls.accept(stream)).await {
            Ok(Ok(stream)) => self.http(stream).await,
            Ok(Err(e)) => tracing::debug!(client = %self.peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(client = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn http<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // The slot is held until the connection ends (or is upgraded).
        let Self {
            peer,
            app,
            limits,
            mut stop,
            _slot,
        } = self;
        let body_timeout = limits.body_read_timeout;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // What `middleware::ClientAddress` reads, as `into_make_service_with_connect_info`
            // would set it.
            request.extensions_mut().insert(ConnectInfo(peer));
            // The body timer restarts with every piece of the body that arrives.
            app.clone()
                .oneshot(request.map(|body| TimeoutBody::new(body_timeout, body)))
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            _ = stop.changed() => {
                // Finishes the request in flight, if any, and closes.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            // Timeouts, resets and garbage from clients: routine, not the server's trouble.
            tracing::debug!(client = %peer, error = %e, "connection ended");
        }
    }
}

/// The open connections per client address.
#[derive(Clone, Default)]
struct Occupancy(Arc<Mutex<HashMap<IpAddr, Held>>>);

#[derive(Default)]
struct Held {
    open: usize,
    refusal_logged: bool,
}

enum Admission {
    Admitted(Slot),
    /// `first`: the first refusal since the address last held no connection.
    Refused {
        first: bool,
    },
}

/// A connection's place in its address's count, given back on drop.
struct Slot {
    occupancy: Occupancy,
    key: IpAddr,
}

/// The address a connection is counted under: the address itself, or its /64 for IPv6.
fn counted_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let mask = u128::MAX << (128 - IPV6_PREFIX);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

impl Occupancy {
    fn admit(&self, address: IpAddr, cap: usize) -> Admission {
        let key = counted_as(address);
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = held.entry(key).or_default();
        if entry.open >= cap {
            let first = !entry.refusal_logged;
            entry.refusal_logged = true;
            return Admission::Refused { first };
        }
        entry.open += 1;
        Admission::Admitted(Slot {
            occupancy: self.clone(),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.occupancy.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = held.get_mut(&self.key) {
            entry.open = entry.open.saturating_sub(1);
            if entry.open == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Occupancy {
        fn open(&self, address: IpAddr) -> usize {
            let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
            held.get(&counted_as(address)).map_or(0, |h| h.open)
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn an_address_holds_at_most_the_cap_and_gets_its_places_back() {
        let occupancy = Occupancy::default();
        let slots: Vec<Slot> = (0..3)
            .map(|_| match occupancy.admit(ip("192.0.2.1"), 3) {
                Admission::Admitted(slot) => slot,
                Admission::Refused { .. } => panic!("under the cap"),
            })
            .collect();
        assert!(matches!(
            occupancy.admit(ip("192.0.2.1"), 3),
            Admission::Refused { first: true }
        ));
        assert!(matches!(
            occupancy.admit(ip("192.0.2.1"), 3),
            Admission::Refused { first: false }
        ));
        assert!(matches!(
            occupancy.admit(ip("192.0.2.2"), 3),
            Admission::Admitted(_)
        ));
        drop(slots);
        assert_eq!(occupancy.open(ip("192.0.2.1")), 0, "every place given back");
        assert!(matches!(
            occupancy.admit(ip("192.0.2.1"), 3),
            Admission::Admitted(_)
        ));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let occupancy = Occupancy::default();
        let _first = occupancy.admit(ip("2001:db8:1:2::1"), 1);
        assert!(matches!(
            occupancy.admit(ip("2001:db8:1:2:ffff::9"), 1),
            Admission::Refused { .. }
        ));
        assert!(matches!(
            occupancy.admit(ip("2001:db8:1:3::1"), 1),
            Admission::Admitted(_)
        ));
    }
}
