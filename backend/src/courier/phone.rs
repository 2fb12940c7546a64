//! Texts and calls. Numbers are kept in E.164; a send goes through one of two provider
//! flavours — a generic JSON webhook (optionally HMAC-signed) or a Twilio-compatible REST API
//! whose base URL is configurable — after the fraud rules: allowed country codes only, never a
//! premium-rate number, and a daily cap on paid sends that raises an alarm in the log.

use secrecy::ExposeSecret;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use sspr_protocol::i18n::{tf, Lang, Notice};

use crate::config::{PhoneConfig, ProviderKind};
use crate::domain::contact::Number;

#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone provider is configured")]
    NotConfigured,
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider refused: HTTP {status}: {answer}")]
    Refused { status: u16, answer: String },
}

/// What to send.
pub enum Message {
    Text { body: String },
    Call { speech: String, lang: Lang },
}

impl Message {
    pub fn code_text(code: &str, ttl_min: u32, lang: Lang) -> Self {
        Message::Text {
            body: tf(
                lang,
                Notice::SmsCodeBody,
                &[("code", code), ("min", &ttl_min.to_string())],
            ),
        }
    }

    /// The code read out digit by digit, twice: "4, 7, 1, …".
    pub fn code_call(code: &str, lang: Lang) -> Self {
        let digits = code
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(", ");
        Message::Call {
            speech: tf(lang, Notice::VoiceCodeSpeech, &[("digits", &digits)]),
            lang,
        }
    }

    fn channel(&self) -> &'static str {
        match self {
            Message::Text { .. } => "sms",
            Message::Call { .. } => "voice",
        }
    }
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    channel: &'a str,
    to: &'a str,
    text: &'a str,
    lang: &'a str,
}

pub struct PhoneGateway {
    config: PhoneConfig,
    client: reqwest::Client,
}

impl PhoneGateway {
    pub fn new(config: PhoneConfig) -> Result<Self, PhoneError> {
        // The server installs the provider at start; tests build gateways without a server.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .build()
            .map_err(|e| PhoneError::Unreachable(e.to_string()))?;
        Ok(Self { config, client })
    }

    /// Sends and returns the provider's answer (for the audit log).
    pub async fn send(&self, to: &Number, message: &Message) -> Result<String, PhoneError> {
        let request = match self.config.provider {
            ProviderKind::None => return Err(PhoneError::NotConfigured),
            ProviderKind::Webhook => self.webhook(to, message)?,
            ProviderKind::Twilio => self.twilio(to, message),
        };
        let response = request
            .send()
            .await
            .map_err(|e| PhoneError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let answer: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        if status.is_success() {
            Ok(answer)
        } else {
            Err(PhoneError::Refused {
                status: status.as_u16(),
                answer,
            })
        }
    }

    fn webhook(
        &self,
        to: &Number,
        message: &Message,
    ) -> Result<reqwest::RequestBuilder, PhoneError> {
        let url = self
            .config
            .webhook_url
            .as_deref()
            .ok_or(PhoneError::NotConfigured)?;
        let (text, lang) = match message {
            Message::Text { body } => (body.as_str(), Lang::En),
            Message::Call { speech, lang } => (speech.as_str(), *lang),
        };
        let body = serde_json::to_vec(&WebhookBody {
            channel: message.channel(),
            to: &to.e164,
            text,
            lang: lang.code(),
        })
        .map_err(|e| PhoneError::Unreachable(e.to_string()))?;
        let mut request = self
            .client
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.config.webhook_secret {
            let timestamp = crate::now().to_string();
            request = request.header("X-SSPR-Timestamp", &timestamp).header(
                "X-SSPR-Signature",
                webhook_signature(secret.expose_secret(), &timestamp, &body),
            );
        }
        Ok(request.body(body))
    }

    fn twilio(&self, to: &Number, message: &Message) -> reqwest::RequestBuilder {
        let c = &self.config;
        let base = c.twilio_base_url.trim_end_matches('/');
        let (resource, content_field, content) = match message {
            Message::Text { body } => ("Messages", "Body", body.clone()),
            Message::Call { speech, lang } => ("Calls", "Twiml", twiml(speech, *lang)),
        };
        let url = format!(
            "{base}/2010-04-01/Accounts/{}/{resource}.json",
            c.twilio_account_sid
        );
        self.client
            .post(url)
            .basic_auth(
                &c.twilio_account_sid,
                Some(c.twilio_auth_token.expose_secret()),
            )
            .form(&[
                ("To", to.e164.as_str()),
                ("From", c.twilio_from.as_str()),
                (content_field, content.as_str()),
            ])
    }
}

/// `v1=` and the hex HMAC-SHA256 of `<timestamp>.<body>`: the receiver checks both, so a
/// captured request cannot be replayed later or altered.
pub fn webhook_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A call's script: the speech said slowly, in the user's language.
fn twiml(speech: &str, lang: Lang) -> String {
    let voice_lang = match lang {
        Lang::En => "en-GB",
        Lang::Nl => "nl-NL",
    };
    let escaped = speech
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<Response><Pause length=\"1\"/><Say language=\"{voice_lang}\">{escaped}</Say></Response>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_reads_the_digits_out_twice() {
        let Message::Call { speech, .. } = Message::code_call("4711", Lang::En) else {
            panic!("a call");
        };
        assert_eq!(speech.matches("4, 7, 1, 1").count(), 2, "{speech}");
        assert!(twiml(&speech, Lang::Nl).contains("language=\"nl-NL\""));
    }

    #[test]
    fn webhook_signatures_cover_time_and_body() {
        let a = webhook_signature("s", "100", b"{}");
        assert!(a.starts_with("v1="));
        assert_ne!(a, webhook_signature("s", "101", b"{}"));
        assert_ne!(a, webhook_signature("s", "100", b"{ }"));
    }
}
