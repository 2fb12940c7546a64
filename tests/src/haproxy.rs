//! A real load balancer in front of server replicas: HAProxy on a free loopback port, round
//! robin, health-checking each replica's `/healthz`, and retrying a request whose connection a
//! dead replica refused on another one. Runs under the watchdog, like every process here.

use std::process::Child;
use std::time::Duration;

pub struct Haproxy {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Haproxy {
    /// Balances over the replicas listening on `backends` (loopback ports).
    pub fn start(backends: &[u16]) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("sspr-haproxy-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let port = crate::processes::free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, p)| format!("    server replica{i} 127.0.0.1:{p} check\n"))
            .collect();
        let config = format!(
            "global\n    maxconn 2000\n\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 120s\n    timeout server 120s\n\
             \x20   retries 3\n    option redispatch 1\n    retry-on conn-failure\n\n\
             frontend portal\n    bind 127.0.0.1:{port}\n    default_backend replicas\n\n\
             backend replicas\n    balance roundrobin\n    option httpchk GET /healthz\n\
             \x20   default-server inter 300ms fall 1 rise 2\n{servers}"
        );
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).map_err(|e| e.to_string())?;
        let command = format!("haproxy -db -f {}", file.display());
        let child = crate::processes::spawn_watched(&command, &dir.path().join("haproxy.log"))?;
        let lb = Self { dir, port, child };
        crate::wait_for("HAProxy to balance", Duration::from_secs(20), || {
            crate::processes::http_get_status(&format!("127.0.0.1:{port}/healthz"))
                .filter(|s| *s == 200)
        });
        Ok(lb)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        crate::processes::stop(&mut self.child);
    }
}
