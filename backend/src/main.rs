use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sspr_server::config::ServerConfig;
use sspr_server::http::serve;
use sspr_server::AppState;

/// The SSPR server: serves the self-service password portal, runs the verification flows and
/// relays sealed password packages to the agents inside your network. It never sees a password
/// in clear.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Every key can also be set as SSPR_<KEY>, nested keys joined
    /// with "__", e.g. SSPR_MAIL__SMTP_HOST.
    #[arg(long, short, env = "SSPR_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal and the agent relay.
    Serve,
    /// Onboarding tokens for agents.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print a new random server secret for the `secret` setting.
    Secret,
    /// Show the effective configuration (secrets hidden).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a one-time token for `sspr-agent onboard --token`.
    Create {
        /// How long the token stays valid, in seconds (default: relay.onboarding_token_ttl_secs).
        #[arg(long)]
        ttl_secs: Option<i64>,
        /// Print only the token.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    Show,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("sspr-server: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Secret = cli.command {
        return match sspr_server::crypto::random_token() {
            Ok(secret) => {
                println!("{secret}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    let config = match ServerConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match cli.command {
        Command::Secret => ExitCode::SUCCESS,
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            print!("{}", config.redacted_toml());
            ExitCode::SUCCESS
        }
        Command::Token {
            command: TokenCommand::Create { ttl_secs, quiet },
        } => {
            let keys = match config.secret_bytes() {
                Ok(s) => match sspr_server::crypto::ServerKeys::new(&s) {
                    Ok(k) => std::sync::Arc::new(k),
                    Err(e) => return fail(e),
                },
                Err(e) => return fail(e),
            };
            let store = match sspr_server::store::Store::open(&config.database, keys).await {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            let ttl = ttl_secs.unwrap_or(config.relay.onboarding_token_ttl_secs);
            let created = store.create_onboarding_token(sspr_server::now(), ttl).await;
            store.close().await;
            match created {
                Ok(token) if quiet => {
                    println!("{token}");
                    ExitCode::SUCCESS
                }
                Ok(token) => {
                    println!(
                        "One-time onboarding token (valid {} minutes):\n\n  {token}\n",
                        ttl / 60
                    );
                    println!("On the agent host run:\n\n  sspr-agent onboard --server {} --token {token}", config.public_url);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Serve => serve(config).await,
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SSPR_LOG")
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: ServerConfig) -> ExitCode {
    init_tracing(config.log_json);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let listen = config.listen;
    let tls = match config
        .tls_cert_file
        .as_deref()
        .zip(config.tls_key_file.as_deref())
    {
        Some((cert, key)) => match serve::tls_acceptor(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => return fail(format!("TLS certificate or key: {e}")),
        },
        None => None,
    };
    let limits = serve::Limits::new(&config);
    let state = match AppState::new(config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let pruner = state.clone();
    let stopping = state.clone();
    let store = state.store.clone();
    let metrics = state.metrics.clone();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("stopping");
        stopping.begin_shutdown();
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let keep = sspr_server::domain::limits::longest_window(&pruner.config.limits);
            if let Err(e) = pruner.store.prune(sspr_server::now(), keep).await {
                tracing::warn!(error = %e, "could not prune expired flows");
            }
        }
    });
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
    };
    tracing::info!(%listen, tls = tls.is_some(), "serving");
    serve::serve(
        listener,
        tls,
        sspr_server::app(state),
        limits,
        metrics,
        shutdown,
    )
    .await;
    store.close().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
