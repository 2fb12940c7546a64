//! Staff sign-in for the helpdesk console: the AD password (checked by the agent binding as
//! the staff member), membership of a staff group (nested counts), then the staff member's own
//! second factor. The session lives in a cookie; what a session may do is decided by
//! [`StaffRequest`], in one place.

use crate::http::body::Api;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sspr_protocol::gate::Method;
use sspr_protocol::helpdesk::{
    Factor, FactorAnswer, FactorOffer, FactorSend, SecondFactorNeeded, StaffSession as Shown,
    StaffSignIn, CSRF_HEADER,
};
use sspr_protocol::ErrorCode;

use crate::courier::{self, Parcel};
use crate::crypto::{self, token_hash};
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::codes::{code_hash, CodeRules, CodeScope, PendingCode};
use crate::domain::contact::mask_mail;
use crate::domain::registration::TotpCheck;
use crate::domain::staff::{self, is_staff, SessionTimes, StaffSession, Stage};
use crate::http::error::AppError;
use crate::http::middleware::ClientAddress;
use crate::http::routes::gate::check_totp;
use crate::http::routes::sign_in::check_password;
use crate::state::AppState;

/// The session cookie. With TLS it carries the `__Host-` prefix: the browser then holds it to
/// this exact host, `Path=/` and `Secure`, so no sibling host can plant or read it.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-sspr-staff"
    } else {
        "sspr-staff"
    }
}

fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

fn times(state: &AppState) -> SessionTimes {
    SessionTimes {
        idle_secs: state.config.helpdesk.session_idle_secs.max(1),
        max_secs: state.config.helpdesk.session_max_secs.max(1),
    }
}

fn set_cookie(state: &AppState, id: &str, max_age: i64) -> Result<HeaderValue, AppError> {
    let secure = secure(state);
    let cookie = cookie::Cookie::build((cookie_name(secure), id.to_owned()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(|e| AppError::Internal(e.to_string()))
}

fn with_cookie(cookie: HeaderValue, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The session id the request's cookie carries.
fn session_id(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A state change must come from this portal's own pages: its `Origin` is the public URL's.
/// Browsers send `Origin` with every POST; a request without one is refused too.
fn same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let public = state.config.public_url.trim_end_matches('/');
    let expected = url_origin(public);
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) if Some(origin) == expected => Ok(()),
        _ => Err(ErrorCode::ForgedRequest.into()),
    }
}

/// `scheme://host[:port]` of a URL.
fn url_origin(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

/// A staff session, found by its cookie, live (its idle time restarted), and — for a state
/// change — asked for by this portal's own page with the session's anti-forgery token. What
/// stage it must be at is the handler's to check.
pub struct StaffRequest {
    pub id_hash: String,
    pub session: StaffSession,
}

impl StaffRequest {
    async fn from_parts(parts: &Parts, state: &AppState) -> Result<Self, AppError> {
        if state.config.helpdesk.staff_groups.is_empty() {
            return Err(ErrorCode::OperationNotAllowed.into());
        }
        let changes = parts.method != axum::http::Method::GET;
        if changes {
            same_origin(state, &parts.headers)?;
        }
        let id = session_id(&parts.headers, secure(state)).ok_or(ErrorCode::SessionEnded)?;
        let id_hash = token_hash(&id);
        let now = crate::now();
        let times = times(state);
        let session = state
            .store
            .update_staff_session(&id_hash, now, |s| s.touch(times, now).map(|()| s.clone()))
            .await
            .map_err(|e| match e {
                crate::store::StoreError::UnknownFlow => AppError::code(ErrorCode::SessionEnded),
                e => e.into(),
            })??;
        if changes {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !crypto::equal(sent, &session.csrf_token) {
                return Err(ErrorCode::ForgedRequest.into());
            }
        }
        Ok(Self { id_hash, session })
    }
}

impl FromRequestParts<AppState> for StaffRequest {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Self::from_parts(parts, state).await
    }
}

fn offers(session: &StaffSession) -> Vec<FactorOffer> {
    let mut offers = Vec::new();
    if let Stage::SecondFactor {
        mail,
        authenticator,
        ..
    } = &session.stage
    {
        if *authenticator {
            offers.push(FactorOffer {
                factor: Factor::Authenticator,
                masked: String::new(),
            });
        }
        if let Some(mail) = mail {
            offers.push(FactorOffer {
                factor: Factor::Mail,
                masked: mask_mail(mail),
            });
        }
    }
    offers
}

async fn audit(
    state: &AppState,
    session: &StaffSession,
    event: AuditEvent,
) -> Result<(), AppError> {
    state
        .store
        .audit(&AuditRecord {
            at: crate::now(),
            actor: Actor::Helpdesk(session.account_name.clone()),
            subject: session.account_name.clone(),
            event,
        })
        .await?;
    Ok(())
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Api(request): Api<StaffSignIn>,
) -> Result<Response, AppError> {
    let staff_groups = &state.config.helpdesk.staff_groups;
    if staff_groups.is_empty() {
        return Err(ErrorCode::OperationNotAllowed.into());
    }
    // A forged sign-in would put the victim's browser in the forger's session.
    same_origin(&state, &headers)?;
    let now = crate::now();
    let account = check_password(
        &state,
        &client,
        &request.username,
        request.sealed_password,
        now,
        |a| is_staff(&a.groups, staff_groups),
    )
    .await?;
    let registration = state.store.registration(&account.anchor).await?;
    let mail = registration
        .as_ref()
        .and_then(|r| r.alt_mail.clone())
        .or_else(|| account.mail.first().cloned());
    let times = times(&state);
    let session = StaffSession {
        stage: Stage::SecondFactor {
            mail,
            code: None,
            attempts_left: state.config.reset.code_attempts.max(1),
            authenticator: registration.is_some_and(|r| r.authenticator.is_some()),
        },
        anchor: account.anchor,
        account_name: account.account_name,
        display_name: account.display_name,
        lang: request.lang,
        csrf_token: crypto::random_token()?,
        idle_until: now + times.idle_secs,
        expires_at: now + times.max_secs,
        caller: None,
    };
    let offers = offers(&session);
    if offers.is_empty() {
        // Staff without a second factor of their own cannot sign in: said plainly, since the
        // password and the group were right.
        return Err(ErrorCode::StaffFactorMissing.into());
    }
    let id = crypto::random_token()?;
    state
        .store
        .insert_staff_session(&token_hash(&id), &session)
        .await?;
    let cookie = set_cookie(&state, &id, times.max_secs)?;
    Ok(with_cookie(
        cookie,
        Api(SecondFactorNeeded {
            offers,
            csrf_token: session.csrf_token,
        }),
    ))
}

/// Mails a code to the staff member's own address.
pub async fn send_code(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<FactorSend>,
) -> Result<Api<FactorOffer>, AppError> {
    let session = staff.session;
    if request.factor != Factor::Mail || !session.offers(Factor::Mail) {
        return Err(ErrorCode::MethodUnavailable.into());
    }
    let Stage::SecondFactor {
        mail: Some(mail), ..
    } = &session.stage
    else {
        return Err(ErrorCode::WrongStep.into());
    };
    let now = crate::now();
    courier::count_send(&state, mail, now).await?;
    let rules = CodeRules::of(&state.config.reset);
    let code = crypto::random_code(state.config.reset.code_length)?;
    let hash = code_hash(&state.keys, CodeScope::Staff, &staff.id_hash, &code)?;
    state
        .store
        .update_staff_session(&staff.id_hash, now, |s| {
            if let Stage::SecondFactor { code, .. } = &mut s.stage {
                *code = Some(PendingCode {
                    hash: hash.clone(),
                    expires_at: now + rules.ttl_secs,
                    attempts_left: rules.attempts,
                });
            }
        })
        .await?;
    let parcel = Parcel {
        method: Method::Mail,
        to: Some(mail.clone()),
        code,
        lang: session.lang,
    };
    courier::send(&state, mail, &parcel)
        .await
        .map_err(|_| AppError::code(ErrorCode::SendFailed))?;
    Ok(Api(FactorOffer {
        factor: Factor::Mail,
        masked: mask_mail(mail),
    }))
}

/// The second factor's code: right, the session is signed in — under a new id and token, so
/// an id planted or seen before sign-in is worth nothing after.
pub async fn second_factor(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    staff: StaffRequest,
    Api(answer): Api<FactorAnswer>,
) -> Result<Response, AppError> {
    let now = crate::now();
    let session = staff.session;
    if !session.offers(answer.factor) {
        return Err(ErrorCode::MethodUnavailable.into());
    }
    let left = state
        .store
        .update_staff_session(&staff.id_hash, now, StaffSession::take_attempt)
        .await??;
    let right = match answer.factor {
        Factor::Authenticator => matches!(
            check_totp(&state, &session.anchor, &answer.code, now).await?,
            TotpCheck::Accepted(_)
        ),
        Factor::Mail => {
            let typed = code_hash(&state.keys, CodeScope::Staff, &staff.id_hash, &answer.code)?;
            matches!(&session.stage, Stage::SecondFactor { code: Some(c), .. }
                if c.expires_at > now && crypto::equal(&c.hash, &typed))
        }
    };
    if !right {
        let refused = staff::wrong_code(left);
        if left == 0 {
            state.store.end_staff_session(&staff.id_hash).await?;
        }
        state
            .failed_guess(&session.account_name, &client, refused)
            .await?;
        return Err(refused.into());
    }
    state.store.end_staff_session(&staff.id_hash).await?;
    let times = times(&state);
    let signed_in = StaffSession {
        stage: Stage::SignedIn,
        csrf_token: crypto::random_token()?,
        idle_until: now + times.idle_secs,
        ..session
    };
    let id = crypto::random_token()?;
    state
        .store
        .insert_staff_session(&token_hash(&id), &signed_in)
        .await?;
    audit(
        &state,
        &signed_in,
        AuditEvent::StaffSignedIn {
            factor: answer.factor,
        },
    )
    .await?;
    let cookie = set_cookie(&state, &id, signed_in.expires_at - now)?;
    Ok(with_cookie(cookie, Api(shown(&state, &signed_in))))
}

fn shown(state: &AppState, session: &StaffSession) -> Shown {
    Shown {
        account_name: session.account_name.clone(),
        display_name: session.display_name.clone(),
        csrf_token: session.csrf_token.clone(),
        idle_secs: times(state).idle_secs,
        expires_at: session.expires_at,
    }
}

/// The signed-in session, for a console that was reloaded.
pub async fn current(
    State(state): State<AppState>,
    staff: StaffRequest,
) -> Result<Api<Shown>, AppError> {
    staff.session.signed_in()?;
    Ok(Api(shown(&state, &staff.session)))
}

pub async fn sign_out(
    State(state): State<AppState>,
    staff: StaffRequest,
) -> Result<Response, AppError> {
    state.store.end_staff_session(&staff.id_hash).await?;
    audit(&state, &staff.session, AuditEvent::StaffSignedOut).await?;
    let cookie = set_cookie(&state, "", 0)?;
    Ok(with_cookie(cookie, axum::http::StatusCode::NO_CONTENT))
}
