//! Getting a code to a person: by mail, text or call. The limits are counted before anything
//! leaves; the send itself runs in the background, so a request takes as long for a decoy as
//! for a real account, and its outcome is recorded for the one question the code page asks.

pub mod mail;
pub mod phone;
pub mod timing;

use sspr_protocol::gate::{Delivery, Method};
use sspr_protocol::i18n::{tf, Lang, Notice};
use sspr_protocol::ErrorCode;

use crate::courier::phone::Message;
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::contact::mask_mail;
use crate::domain::contact::Number;
use crate::domain::limits::Limited;
use crate::http::error::AppError;
use crate::state::AppState;
use crate::store::LimitError;

/// Counts a send against the destination's limits (15 minutes and a day). `key` is the
/// destination, or for a decoy the typed name, so both run into the limit alike.
pub async fn count_send(state: &AppState, key: &str, now: i64) -> Result<(), AppError> {
    let key = key.to_lowercase();
    // Check both before counting either: a refusal must not eat into the other window.
    for limit in [Limited::CodeSend, Limited::CodeSendDaily] {
        state.limiter.check(limit, &key, now).await?;
    }
    for limit in [Limited::CodeSend, Limited::CodeSendDaily] {
        state.limiter.hit(limit, &key, now).await?;
    }
    Ok(())
}

/// The fraud rules for a text or a call, before it is counted or sent: an allowed country,
/// never a premium-rate number, and the portal's daily cap on paid sends. A refusal is audited.
pub async fn check_paid_send(state: &AppState, to: &str, now: i64) -> Result<Number, AppError> {
    match paid_send_verdict(state, to, now).await? {
        Ok(number) => Ok(number),
        Err(reason) => {
            state
                .store
                .audit(&AuditRecord {
                    at: now,
                    actor: Actor::System,
                    subject: mask_phone(to),
                    event: AuditEvent::SendRefused { reason },
                })
                .await?;
            Err(ErrorCode::SendFailed.into())
        }
    }
}

/// The number, or why a text or call to it is refused.
async fn paid_send_verdict(
    state: &AppState,
    to: &str,
    now: i64,
) -> Result<Result<Number, String>, AppError> {
    let phone = &state.config.phone;
    let Some(number) = Number::parse(to, phone.region()) else {
        return Ok(Err("not a valid phone number".into()));
    };
    if number.is_premium() {
        return Ok(Err("premium-rate number".into()));
    }
    let allowed = if phone.allowed_country_codes.is_empty() {
        number.country_code == phone.country_code()
            || state.store.phone_country_known(number.country_code).await?
    } else {
        phone.allowed_country_codes.contains(&number.country_code)
    };
    if !allowed {
        return Ok(Err(format!(
            "country code +{} is not allowed",
            number.country_code
        )));
    }
    match state.limiter.hit(Limited::PaidSend, "portal", now).await {
        Ok(()) => Ok(Ok(number)),
        Err(LimitError::Reached(_)) => {
            tracing::error!(
                alarm = "paid_send_cap",
                cap = state.config.limits.paid_sends_per_day,
                "ALARM: the daily cap on paid texts and calls is reached; phone codes stop until it frees up"
            );
            Ok(Err("daily cap on paid sends reached".into()))
        }
        Err(LimitError::Store(e)) => Err(e.into()),
    }
}

/// A provider's answer as the audit log keeps it: a provider may echo the message (the code
/// in it) or the number, so every run of six or more digits is hidden.
fn scrub(answer: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 6 {
            out.push_str("••••");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in answer.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn mask_phone(to: &str) -> String {
    Number::parse(to, None)
        .map(|n| n.masked())
        .unwrap_or_else(|| "••••".into())
}

/// What goes where: the code, its method and destination.
pub struct Parcel {
    pub method: Method,
    /// None for a decoy: nothing leaves, but the delivery still reads "sent".
    pub to: Option<String>,
    pub code: String,
    pub lang: Lang,
}

/// Sends in the background and records the outcome in the flow (by the flow's id hash and the
/// moment the code was made, so an outcome never lands on a newer code).
pub fn dispatch(state: &AppState, id_hash: String, sent_at: i64, parcel: Parcel) {
    let state = state.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let outcome = match &parcel.to {
            None => {
                // A decoy "sends" for as long as a real send takes.
                let random = crate::crypto::random_bytes(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or_default();
                tokio::time::sleep(state.send_times.draw(parcel.method, random)).await;
                Delivery::Sent
            }
            Some(to) => match send(&state, to, &parcel).await {
                Ok(()) => {
                    state.send_times.record(parcel.method, started.elapsed());
                    state.metrics.code(parcel.method, true);
                    Delivery::Sent
                }
                Err(answer) => {
                    state.metrics.code(parcel.method, false);
                    tracing::warn!(method = ?parcel.method, "could not send a verification code");
                    let shown = if parcel.method == Method::Mail {
                        mask_mail(to)
                    } else {
                        mask_phone(to)
                    };
                    let _ = state
                        .store
                        .audit(&AuditRecord {
                            at: crate::now(),
                            actor: Actor::System,
                            subject: shown,
                            event: AuditEvent::CodeSendFailed {
                                method: parcel.method,
                                provider_answer: scrub(&answer),
                            },
                        })
                        .await;
                    Delivery::Failed
                }
            },
        };
        let recorded = state
            .store
            .update_flow(&id_hash, crate::now(), |flow| {
                flow.record_delivery(sent_at, outcome)
            })
            .await;
        if let Err(e) = recorded {
            // The flow may have ended meanwhile; the page then has nothing to ask.
            tracing::debug!(error = %e, "a code's delivery could not be recorded");
        }
    });
}

/// One send; the error is the provider's or mail server's answer, for the audit log.
pub async fn send(state: &AppState, to: &str, parcel: &Parcel) -> Result<(), String> {
    let (code, lang) = (parcel.code.as_str(), parcel.lang);
    let minutes = state.config.reset.code_ttl_secs / 60;
    let message = match parcel.method {
        Method::Mail => {
            let subject = tf(lang, Notice::MailCodeSubject, &[("code", code)]);
            let body = tf(
                lang,
                Notice::MailCodeBody,
                &[("code", code), ("min", &minutes.to_string())],
            );
            return state
                .mailer
                .send(to, &subject, body)
                .await
                .map_err(|e| e.to_string());
        }
        Method::MobileText => Message::code_text(code, minutes, lang),
        Method::MobileCall | Method::OfficeCall => Message::code_call(code, lang),
        Method::Authenticator | Method::Questions => return Ok(()),
    };
    let number = Number::parse(to, state.config.phone.region())
        .ok_or_else(|| "not a valid phone number".to_owned())?;
    let answer = state
        .phone
        .send(&number, &message)
        .await
        .map_err(|e| e.to_string())?;
    let _ = state
        .store
        .audit(&AuditRecord {
            at: crate::now(),
            actor: Actor::System,
            subject: number.masked(),
            event: AuditEvent::CodeSent {
                method: parcel.method,
                provider_answer: scrub(&answer),
            },
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn provider_answers_keep_no_code_and_no_number() {
        assert_eq!(
            super::scrub(
                r#"{"sid":"SMab12","body":"Your code is 48213907","to":"+31612345678","n":42}"#
            ),
            r#"{"sid":"SMab12","body":"Your code is ••••","to":"+••••","n":42}"#
        );
    }
}
