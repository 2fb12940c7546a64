//! The one way a write-back package is made: what to do, to which account, on whose behalf,
//! with the sealed password(s) as the browser sent them, for a short time only.

use sspr_protocol::package::{Flags, Operation, PackageBody};
use sspr_protocol::seal::SealedSecret;

use crate::crypto::{self, CryptoError};
use crate::domain::audit::Actor;

/// Request ids are this long: unique enough, short enough for the agent's event log.
const REQUEST_ID_CHARS: usize = 22;

/// What a package carries besides the operation and the account.
#[derive(Default)]
pub struct Secrets {
    /// The new password (reset, change) or the current one (verify), sealed to the agent.
    pub sealed: Option<SealedSecret>,
    /// The current password of a change, sealed to the same key.
    pub sealed_old: Option<SealedSecret>,
}

/// A fresh request id. The agent acts on a request id once, so the id is the package's
/// identity across re-sends; a flow records it before the package leaves.
pub fn request_id() -> Result<String, CryptoError> {
    let mut id = crypto::random_token()?;
    id.truncate(REQUEST_ID_CHARS);
    Ok(id)
}

/// What is to be done, to which account, on whose behalf, under which request id.
pub struct Order<'a> {
    pub op: Operation,
    pub anchor: &'a str,
    pub actor: &'a Actor,
    pub request_id: String,
    /// The helpdesk's tiering: groups whose members the agent must refuse to touch.
    pub off_limits: Vec<String>,
}

/// The package for `order`, valid for `ttl_secs` from `now`.
pub fn build(
    order: Order<'_>,
    secrets: Secrets,
    flags: Flags,
    now: i64,
    ttl_secs: i64,
) -> PackageBody {
    PackageBody {
        op: order.op,
        anchor: order.anchor.to_owned(),
        actor: order.actor.package_name(),
        request_id: order.request_id,
        issued_at: now,
        expires_at: now + ttl_secs,
        flags,
        sealed: secrets.sealed,
        sealed_old: secrets.sealed_old,
        off_limits: order.off_limits,
    }
}
