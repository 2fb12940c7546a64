//! Server-side verification of a third-party CAPTCHA widget's token. Turnstile, hCaptcha and
//! reCAPTCHA all take the same form (`secret`, `response`, `remoteip`) and answer
//! `{"success": true|false, …}`. Anything but a clear "success" fails closed.

use serde::Deserialize;

use crate::state::AppState;

#[derive(Deserialize)]
struct Verdict {
    success: bool,
}

/// Tokens longer than this are not tokens (the providers' are about 2 KB at most).
const MAX_TOKEN_LEN: usize = 4096;

pub async fn verify_widget(state: &AppState, token: &str, client: &str) -> bool {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return false;
    }
    let config = &state.config.captcha;
    let answer = state
        .http
        .post(config.verify_url())
        .form(&[
            ("secret", config.secret.as_str()),
            ("response", token),
            ("remoteip", client),
        ])
        .send()
        .await;
    match answer {
        Ok(response) => match response.json::<Verdict>().await {
            Ok(verdict) => verdict.success,
            Err(e) => {
                tracing::warn!(error = %e, "the CAPTCHA provider's answer was not understood");
                false
            }
        },
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "the CAPTCHA provider could not be reached");
            false
        }
    }
}
