//! `sspr-agent onboard`: generate the RSA key pair here, present the one-time token, and store
//! what the server hands back. The private key never leaves this host.

use sspr_protocol::relay::{OnboardRequest, Onboarded, ONBOARD_PATH};
use sspr_protocol::seal::opener::AgentKeyPair;
use sspr_protocol::{ApiError, ErrorCode};

use crate::config::AgentConfig;
use crate::state::{AgentState, Identity, StateError};

#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error(transparent)]
    Transport(#[from] crate::relay::RelayError),
    #[error("could not generate the RSA key pair")]
    KeyGeneration,
    #[error("TLS setup: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("could not reach the server: {0}")]
    Unreachable(String),
    #[error("the server refused onboarding: {0}")]
    Refused(String),
    #[error(transparent)]
    State(#[from] StateError),
}

pub async fn onboard(
    config: &AgentConfig,
    server_url: &str,
    token: &str,
    name: &str,
) -> Result<AgentState, OnboardError> {
    crate::relay::check_transport(server_url)?;
    let bits = config.rsa_bits;
    let keys = tokio::task::spawn_blocking(move || AgentKeyPair::generate(bits))
        .await
        .map_err(|_| OnboardError::KeyGeneration)?
        .map_err(|_| OnboardError::KeyGeneration)?;
    let tls = crate::tls::client_config(config.server_ca_file.as_deref(), true)?;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| OnboardError::Unreachable(e.to_string()))?;
    let url = format!("{}{ONBOARD_PATH}", server_url.trim_end_matches('/'));
    let request = OnboardRequest {
        token: token.to_owned(),
        name: name.to_owned(),
        version: crate::VERSION.to_owned(),
        rsa_key: keys.public().clone(),
    };
    let response = client
        .post(&url)
        .json(&request)
        .send()
        .await
        .map_err(|e| OnboardError::Unreachable(e.to_string()))?;
    if !response.status().is_success() {
        let status = response.status();
        let message = match response.json::<ApiError>().await {
            // The server tells a stranger nothing about its CLI; the operator hears it here.
            Ok(err) if err.code == ErrorCode::InvalidToken => format!(
                "{} Create a new one on the server with `sspr-server token create`.",
                err.message
            ),
            Ok(err) => err.message,
            Err(_) => status.to_string(),
        };
        return Err(OnboardError::Refused(message));
    }
    let onboarded: Onboarded = response
        .json()
        .await
        .map_err(|e| OnboardError::Refused(e.to_string()))?;
    let state = AgentState::new(
        Identity {
            server_url: server_url.trim_end_matches('/').to_owned(),
            agent_id: onboarded.agent_id,
            relay_secret: onboarded.relay_secret.into(),
            package_key: onboarded.package_key,
            onboarded_at: crate::now(),
            keys_created_at: 0,
            previous_package_key: None,
            retired_at: None,
        },
        keys,
    );
    state.save(&config.state_dir)?;
    Ok(state)
}
