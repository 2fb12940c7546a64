//! Real processes: spawn with a watchdog, find the workspace's binaries, and the fixtures for
//! `sspr-server` and `sspr-agent`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Runs `command` under `sh` with stdout and stderr to `log`. Its stdin is a pipe from this
/// process: when we exit, even by a crash, the watchdog sees EOF and stops the command. The
/// command gets a session of its own and the whole process group is stopped, so whatever it
/// spawned (Samba's workers, chromedriver's browser) goes too.
pub fn spawn_watched(command: &str, log: &Path) -> Result<Child, String> {
    // Appended, so a restarted process keeps its earlier log for the leak checks.
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let script = format!(
        "setsid {command} </dev/null & p=$!; trap 'kill -- -$p 2>/dev/null' TERM; cat >/dev/null; \
         kill -- -$p 2>/dev/null; for i in $(seq 100); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; \
         kill -KILL -- -$p 2>/dev/null; wait $p"
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{command}: {e}"))
}

/// Closes the watchdog's stdin and waits for the command to end.
pub fn stop(child: &mut Child) {
    drop(child.stdin.take());
    // The watchdog gives the command 10 s to stop before it kills the group.
    for _ in 0..240 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// Path of a workspace binary, built on first use so `cargo test` alone suffices: a debug
/// build for the tests, a release build for the benchmarks (which are built optimised).
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let release = !cfg!(debug_assertions);
    BUILT.get_or_init(|| {
        let mut args = vec!["build", "--quiet", "-p", "sspr-server", "-p", "sspr-agent"];
        if release {
            args.push("--release");
        }
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .current_dir(crate::workspace_root())
            .status()
            .expect("cargo build runs");
        assert!(
            status.success(),
            "building sspr-server and sspr-agent failed"
        );
    });
    target_dir()
        .join(if release { "release" } else { "debug" })
        .join(name)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Settings the fixtures vary per test.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub smtp_port: u16,
    pub captcha_difficulty: u8,
    pub frontend_dir: Option<PathBuf>,
    pub heartbeat_secs: u64,
    /// Record every relay frame (diagnostics), for the leak check.
    pub capture_relay: bool,
    pub listen_port: Option<u16>,
    /// Terminate TLS in the server with a certificate from a test CA.
    pub tls: bool,
    /// More `key = value` lines for the `[reset]` table.
    pub reset_extra: String,
    /// More `key = value` lines for the `[relay]` table.
    pub relay_extra: String,
    /// More tables (`[phone]`, `[policy]`, `[limits]`), appended to the configuration.
    pub extra_toml: String,
    /// The `database` setting (default: a SQLite file in the server's directory), e.g. a
    /// PostgreSQL URL that replicas share.
    pub database: Option<String>,
    /// The server secret (default: a new random one); replicas must share it.
    pub secret: Option<[u8; 32]>,
    /// More top-level `key = value` lines (before the first table), e.g. the connection
    /// timeouts.
    pub top_extra: String,
}

impl ServerOptions {
    pub fn new(smtp_port: u16) -> Self {
        Self {
            smtp_port,
            captcha_difficulty: 8,
            frontend_dir: None,
            heartbeat_secs: 2,
            capture_relay: false,
            listen_port: None,
            tls: false,
            reset_extra: String::new(),
            relay_extra: String::new(),
            extra_toml: String::new(),
            database: None,
            secret: None,
            top_extra: String::new(),
        }
    }
}

impl ServerOptions {
    /// Settings for replicas of one server: the PostgreSQL `database` they share and one new
    /// secret for all of them.
    pub fn replicas(smtp_port: u16, database: String) -> Self {
        let mut options = Self::new(smtp_port);
        options.database = Some(database);
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).expect("system randomness");
        options.secret = Some(secret);
        options
    }
}

pub struct ServerProcess {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub config: PathBuf,
    /// The CA that issued the server's certificate, when it terminates TLS.
    pub ca_file: Option<PathBuf>,
    port: u16,
    child: Child,
}

impl ServerProcess {
    pub fn start(options: &ServerOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sspr-server-")
            .tempdir()
            .expect("temp dir");
        let port = options.listen_port.unwrap_or_else(free_port);
        let scheme = if options.tls { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{port}");
        let tls = if options.tls {
            crate::pki::issue(dir.path(), "127.0.0.1", "server").expect("server certificate");
            format!(
                "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
                dir.path().join("server.pem").display(),
                dir.path().join("server.key").display()
            )
        } else {
            String::new()
        };
        let frontend = options
            .frontend_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("no-frontend"));
        let config = dir.path().join("server.toml");
        let secret = options.secret.unwrap_or_else(|| {
            let mut secret = [0u8; 32];
            getrandom::getrandom(&mut secret).expect("system randomness");
            secret
        });
        let text = format!(
            r#"listen = "127.0.0.1:{port}"
public_url = "{url}"
database = "{db}"
frontend_dir = "{frontend}"
secret = "{secret}"
log_json = true
{tls}{top_extra}
[mail]
smtp_host = "127.0.0.1"
smtp_port = {smtp}
security = "none"
from = "SSPR <sspr@corp.example.test>"

[reset]
captcha_difficulty = {difficulty}
{reset_extra}

[relay]
heartbeat_secs = {heartbeat}
{capture}
{relay_extra}

{extra}
"#,
            top_extra = options.top_extra,
            reset_extra = options.reset_extra,
            relay_extra = options.relay_extra,
            extra = options.extra_toml,
            db = options.database.clone().unwrap_or_else(|| dir
                .path()
                .join("sspr.db")
                .display()
                .to_string()),
            frontend = frontend.display(),
            secret = sspr_protocol::b64::encode(&secret),
            smtp = options.smtp_port,
            difficulty = options.captcha_difficulty,
            heartbeat = options.heartbeat_secs,
            capture = if options.capture_relay {
                format!(
                    "capture_file = \"{}\"",
                    dir.path().join("relay-frames.log").display()
                )
            } else {
                String::new()
            },
        );
        std::fs::write(&config, text).expect("write server config");
        let ca_file = options.tls.then(|| dir.path().join("ca.pem"));
        let child = Self::spawn(dir.path(), &config);
        let server = Self {
            dir,
            url,
            config,
            ca_file,
            port,
            child,
        };
        server.wait_healthy();
        server
    }

    fn spawn(dir: &Path, config: &Path) -> Child {
        let command = format!(
            "{} --config {} serve",
            shell_quote(&binary("sspr-server").display().to_string()),
            shell_quote(&config.display().to_string())
        );
        spawn_watched(&command, &dir.join("server.log")).expect("start sspr-server")
    }

    fn wait_healthy(&self) {
        let health = format!("127.0.0.1:{}/healthz", self.port);
        crate::wait_for("sspr-server /healthz", Duration::from_secs(30), || {
            if self.ca_file.is_some() {
                // Speaking TLS: a listening socket is enough here; the clients verify the rest.
                std::net::TcpStream::connect(("127.0.0.1", self.port))
                    .ok()
                    .map(|_| ())
            } else {
                http_get_status(&health).filter(|s| *s == 200).map(|_| ())
            }
        });
    }

    /// Stops the server and starts it again on the same port, database and configuration.
    pub fn restart(&mut self) {
        stop(&mut self.child);
        self.child = Self::spawn(self.dir.path(), &self.config);
        self.wait_healthy();
    }

    /// Kills the server outright (SIGKILL), as a crashed host would: nothing is finished or
    /// answered. `start_again` brings it back on the same port and configuration.
    pub fn kill(&mut self) {
        let pattern = format!(
            "^{} --config {} serve$",
            binary("sspr-server").display(),
            self.config.display()
        );
        let status = Command::new("pkill")
            .args(["-KILL", "-f", &pattern])
            .status()
            .expect("pkill");
        assert!(status.success(), "no server process matched {pattern}");
        stop(&mut self.child);
    }

    pub fn start_again(&mut self) {
        self.child = Self::spawn(self.dir.path(), &self.config);
        self.wait_healthy();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Issues a one-time onboarding token through the CLI, as an operator would.
    pub fn onboarding_token(&self) -> String {
        let out = Command::new(binary("sspr-server"))
            .args([
                "--config",
                &self.config.display().to_string(),
                "token",
                "create",
                "--quiet",
            ])
            .output()
            .expect("sspr-server token create");
        assert!(
            out.status.success(),
            "token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn relay_frames(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("relay-frames.log")).unwrap_or_default()
    }

    pub fn database_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(bytes) = std::fs::read(self.dir.path().join(format!("sspr.db{suffix}"))) {
                all.extend(bytes);
            }
        }
        all
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// The status code of a plain `GET http://host:port/path`, or None while nothing answers.
pub fn http_get_status(host_port_path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let (host_port, path) = host_port_path
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((host_port_path, "/".into()));
    let mut stream = std::net::TcpStream::connect(host_port).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

pub struct AgentProcess {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    child: Option<Child>,
}

/// Settings the agent fixture varies per test.
#[derive(Clone, Debug, Default)]
pub struct AgentOptions {
    /// Where the agent reaches the server (default: the server's own address), e.g. a proxy.
    pub server_url: Option<String>,
    /// The DCs, in the configured order (default: the test DC).
    pub urls: Option<Vec<String>>,
    /// The service account's DN and password (default: the domain Administrator).
    pub bind: Option<(String, String)>,
    /// More `key = value` lines for the top of the configuration.
    pub extra: String,
    /// Seconds between heartbeats (default: 2).
    pub heartbeat_secs: Option<u64>,
}

impl AgentProcess {
    /// Writes the agent's configuration for `dc` and onboards it with `server`.
    pub fn onboard(server: &ServerProcess, dc: &crate::samba::SambaDc) -> Self {
        Self::onboard_with(server, dc, &AgentOptions::default())
    }

    pub fn onboard_with(
        server: &ServerProcess,
        dc: &crate::samba::SambaDc,
        options: &AgentOptions,
    ) -> Self {
        let url = options.server_url.as_deref().unwrap_or(&server.url);
        Self::onboard_at(
            url,
            &server.onboarding_token(),
            server.ca_file.as_deref(),
            dc,
            options,
        )
    }

    /// Onboards with the server at `server_url` using `token` (`server_ca`: its private CA).
    pub fn onboard_at(
        server_url: &str,
        token: &str,
        server_ca: Option<&Path>,
        dc: &crate::samba::SambaDc,
        options: &AgentOptions,
    ) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sspr-agent-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("agent.toml");
        let (bind_dn, bind_password) = options
            .bind
            .clone()
            .unwrap_or_else(|| (dc.admin_dn(), dc.admin_password.clone()));
        let text = format!(
            r#"state_dir = "{state}"
{server_ca}heartbeat_secs = {heartbeat}
rsa_bits = 3072
log_json = true
{extra}

[directory]
urls = [{urls}]
ca_file = "{ca}"
bind_dn = "{bind_dn}"
bind_password = "{password}"
# Samba cannot enforce history on a reset (no policy-hints control); the tests allow it.
allow_reset_without_history = true
"#,
            server_ca = server_ca
                .map(|ca| format!("server_ca_file = \"{}\"\n", ca.display()))
                .unwrap_or_default(),
            heartbeat = options.heartbeat_secs.unwrap_or(2),
            state = dir.path().join("state").display(),
            extra = options.extra,
            urls = options
                .urls
                .clone()
                .unwrap_or_else(|| vec![dc.ldaps_url()])
                .iter()
                .map(|u| format!("\"{u}\""))
                .collect::<Vec<_>>()
                .join(", "),
            ca = dc.ca_file().display(),
            bind_dn = bind_dn,
            password = bind_password,
        );
        std::fs::write(&config, text).expect("write agent config");
        let out = Command::new(binary("sspr-agent"))
            .args([
                "--config",
                &config.display().to_string(),
                "onboard",
                "--server",
                server_url,
                "--token",
                token,
            ])
            .output()
            .expect("sspr-agent onboard");
        assert!(
            out.status.success(),
            "onboarding failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir,
            config,
            child: None,
        }
    }

    pub fn start(&mut self) {
        let command = format!(
            "{} --config {} run",
            shell_quote(&binary("sspr-agent").display().to_string()),
            shell_quote(&self.config.display().to_string())
        );
        self.child = Some(
            spawn_watched(&command, &self.dir.path().join("agent.log")).expect("start sspr-agent"),
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// The id of the RSA key this agent holds now.
    pub fn rsa_key_id(&self) -> String {
        let der = std::fs::read(self.dir.path().join("state/rsa-key.pk8")).expect("RSA key");
        sspr_protocol::seal::opener::AgentKeyPair::from_pkcs8(&der)
            .expect("a PKCS#8 key")
            .public()
            .key_id
            .clone()
    }

    /// Freezes the agent (SIGSTOP): its connection stays open, but nothing comes from it — a
    /// hung host. `resume` (SIGCONT) lets it go on.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Kills the agent outright (SIGKILL): nothing in hand is finished or answered. `start`
    /// brings it back with its state directory as the kill left it.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }

    fn signal(&self, signal: &str) {
        // The agent's own command line, not its watchdog shell's (which mentions it too).
        let pattern = format!(
            "^{} --config {} run$",
            binary("sspr-agent").display(),
            self.config.display()
        );
        let status = Command::new("pkill")
            .args([signal, "-f", &pattern])
            .status()
            .expect("pkill");
        assert!(status.success(), "no agent process matched {pattern}");
    }

    /// Runs `sspr-agent doctor` with this agent's configuration and state, `env` overriding
    /// settings (`SSPR_AGENT_…`): whether it passed, and what it printed.
    pub fn doctor(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let mut all = vec!["doctor"];
        all.extend_from_slice(args);
        self.command(&all, env)
    }

    /// Runs an `sspr-agent` subcommand with this agent's configuration and state.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let out = Command::new(binary("sspr-agent"))
            .args(["--config", &self.config.display().to_string()])
            .args(args)
            .envs(env.iter().copied())
            .env("SSPR_LOG", "error")
            .output()
            .expect("sspr-agent runs");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
