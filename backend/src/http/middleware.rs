//! What every request passes through besides its handler: the security headers (set as
//! tower-http layers in the router, from the policy here) and the client's real address.

use crate::state::AppState;

/// No inline script, WebAssembly compilation only; a CAPTCHA widget's origins may add script,
/// frame and connect sources (and nothing else).
pub fn content_security_policy(widget_origins: &str) -> String {
    let extra = if widget_origins.is_empty() {
        String::new()
    } else {
        format!(" {widget_origins}")
    };
    let frames = if widget_origins.is_empty() {
        String::new()
    } else {
        format!(" frame-src {widget_origins};")
    };
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{extra}; style-src 'self'; img-src 'self' data:; media-src data:; \
         font-src 'self'; connect-src 'self'{extra};{frames} manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The staff console's policy: its own files and this server only. No CAPTCHA widget (the
/// console has none), no `data:` pictures or audio, no fonts, frames or manifest.
pub const CONSOLE_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The client's address for rate limits: the TCP peer, or — when the peer is one of the
/// configured trusted proxies — the nearest address in `X-Forwarded-For` that is not itself a
/// trusted proxy. A client cannot pick its own address by sending the header directly.
pub struct ClientAddress(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(Self("unknown".into()));
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let client = client_address(peer, &forwarded, &state.config.trusted_proxies);
        Ok(Self(client.to_string()))
    }
}

/// Walks `X-Forwarded-For` from the right (the hop nearest to us) while the hop is a trusted
/// proxy; the first untrusted address is the client.
pub fn client_address(
    peer: std::net::IpAddr,
    forwarded: &[&str],
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.iter().flat_map(|v| v.split(',')).collect();
    // From the right: each hop was written by the proxy after it. A hop that is not an address
    // ends the walk there (what lies left of it is the client's own writing), so junk a client
    // sends cannot push its address out of the header.
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Ok(hop) = hop.trim().parse::<std::net::IpAddr>() else {
            break;
        };
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::client_address;

    #[test]
    fn forwarding_headers_count_only_behind_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        // Straight from the internet: the header is the client's own invention.
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // Behind the proxy: the nearest untrusted hop, not a spoofed one further left.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["198.51.100.7, 10.0.0.5"], &trusted),
            ip("198.51.100.7"),
            "proxies in a chain are skipped"
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &[], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["junk, 198.51.100.7"], &trusted),
            ip("198.51.100.7"),
            "junk on the left does not hide the client"
        );
    }
}
