use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sspr_agent::config::AgentConfig;
use sspr_agent::directory::ldap::LdapDirectory;
use sspr_agent::event;
use sspr_agent::events::Event;
use sspr_agent::handler::{Handler, KeyPolicy};
use sspr_agent::state::AgentState;

/// The SSPR agent: runs inside your network, opens an outbound connection to the SSPR server
/// and writes password resets into Active Directory over LDAPS.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Every key can also be set as SSPR_AGENT_<KEY>, nested keys
    /// joined with "__", e.g. SSPR_AGENT_DIRECTORY__BIND_PASSWORD.
    #[arg(long, short, env = "SSPR_AGENT_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register this agent with the server using a one-time token from `sspr-server token`.
    /// Generates the RSA key pair locally and stores identity and keys (mode 0600) in state_dir.
    Onboard {
        /// The server's address, e.g. https://sspr.example.com (http only to loopback).
        #[arg(long)]
        server: String,
        /// The one-time onboarding token.
        #[arg(long, env = "SSPR_AGENT_ONBOARD_TOKEN")]
        token: String,
        /// A name for this agent in the server's admin view (default: the host name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Connect to the server and serve password operations until stopped.
    Run,
    /// Roll the RSA key pair and the package key over now. The running agent does it at its
    /// next heartbeat and tells the server; the previous keys stay good for key_grace_secs, so
    /// requests in flight still complete.
    Rotate,
    /// Check the DCs (LDAPS, certificate, bind), the domain, the PDC emulator, the service
    /// account's rights on a test user and the relay, and say what to fix. Changes nothing.
    /// Exits 1 if a check failed.
    Doctor {
        /// A user in scope whose rights are checked: Reset Password, Change Password, write
        /// lockoutTime and write pwdLastSet (read from its ACL; the user is not touched).
        #[arg(long)]
        test_user: Option<String>,
    },
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "agent".into())
}

fn init_tracing(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SSPR_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match AgentConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sspr-agent: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_json);
    sspr_agent::tls::install_crypto_provider();
    match cli.command {
        Command::Onboard {
            server,
            token,
            name,
        } => {
            let name = name.unwrap_or_else(host_name);
            match sspr_agent::onboard::onboard(&config, &server, &token, &name).await {
                Ok(state) => {
                    event!(info, Event::Onboarded, agent_id = %state.identity.agent_id, rsa_key_id = %state.keys.public().key_id, "onboarded");
                    println!(
                        "Onboarded as agent {} (RSA-{} key {}). Identity stored in {}.",
                        state.identity.agent_id,
                        state.keys.bits(),
                        state.keys.public().key_id,
                        config.state_dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    event!(error, Event::OnboardingFailed, reason = %e, "onboarding failed");
                    eprintln!("sspr-agent: onboarding failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Rotate => {
            if let Err(e) = AgentState::load(&config.state_dir) {
                eprintln!("sspr-agent: {e}");
                return ExitCode::FAILURE;
            }
            let request = config
                .state_dir
                .join(sspr_agent::state::ROTATE_REQUEST_FILE);
            match sspr_agent::state::write_private(&request, b"requested\n") {
                Ok(()) => {
                    println!(
                        "Key rollover requested. The running agent rolls its keys over within one heartbeat ({} s) and logs event {}; the previous keys stay good for {} s.",
                        config.heartbeat_secs,
                        Event::KeysRolledOver.id(),
                        config.key_grace_secs
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("sspr-agent: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Doctor { test_user } => {
            let report = sspr_agent::doctor::run(&config, test_user.as_deref()).await;
            print!("{}", report.render());
            if report.failures() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Run => {
            if let Err(e) = config.check_directory() {
                eprintln!("sspr-agent: {e}");
                return ExitCode::from(2);
            }
            let state = match AgentState::load(&config.state_dir) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("sspr-agent: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let directory = match LdapDirectory::new(config.directory.clone()) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("sspr-agent: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let tls = match sspr_agent::tls::client_config(config.server_ca_file.as_deref(), true) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("sspr-agent: {e}");
                    return ExitCode::FAILURE;
                }
            };
            event!(info, Event::Started, version = sspr_agent::VERSION, agent_id = %state.identity.agent_id, "agent started");
            let replay_file = config.state_dir.join(sspr_agent::state::REPLAY_FILE);
            let handler = Arc::new(
                Handler::new(state, directory)
                    .with_replay_file(replay_file, sspr_agent::now())
                    .with_key_policy(KeyPolicy::of(&config, Some(config.state_dir.clone()))),
            );
            // SIGTERM (systemd's stop) or Ctrl-C: finish the requests in hand, then exit.
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                shutdown_signal().await;
                stop.send_replace(true);
            });
            let servers = config.relay_servers(&handler.state().identity.server_url);
            if let Some(e) = servers
                .iter()
                .find_map(|url| sspr_agent::relay::check_transport(url).err())
            {
                eprintln!("sspr-agent: servers: {e}");
                return ExitCode::from(2);
            }
            sspr_agent::relay::run_all(
                handler,
                servers,
                tls,
                Duration::from_secs(config.heartbeat_secs.max(1)),
                stopped,
            )
            .await;
            event!(info, Event::Stopped, "stopped");
            ExitCode::SUCCESS
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return ctrl_c.await.unwrap_or_default(),
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
