//! Signing in with the current AD password, for "My verification methods" and for staff: the
//! password comes sealed to an agent, which checks it by binding as the account. Wrong guesses
//! are limited per account below AD's lockout threshold, so nobody can lock a person out from
//! here, and an unknown or unsuitable account is answered exactly like a wrong password.

use sspr_protocol::package::{Flags, Operation};
use sspr_protocol::relay::Account;
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::ErrorCode;

use crate::domain::audit::Actor;
use crate::domain::limits::Limited;
use crate::domain::package::{self, Order, Secrets};
use crate::domain::user_id::{account_key, canonical_user_id};
use crate::http::error::AppError;
use crate::http::routes::reset::check_sealed;
use crate::relay::writeback;
use crate::state::AppState;

/// Checks `typed` and its sealed password; the account when both are right and `admitted`
/// says the account may sign in here. `admitted` is asked only after the password was
/// checked, so an account it turns away takes as long as one with a wrong password.
pub async fn check_password(
    state: &AppState,
    client: &str,
    typed: &str,
    sealed: SealedSecret,
    now: i64,
    admitted: impl Fn(&Account) -> bool,
) -> Result<Account, AppError> {
    let username = canonical_user_id(typed, &state.hub.directories(now))?;
    check_sealed(&sealed)?;
    state.limiter.hit(Limited::SignIn, client, now).await?;
    let key = account_key(&username);
    state
        .limiter
        .check(Limited::SignInFailure, &key, now)
        .await?;
    let agent = writeback::holder_for(state, &username, &sealed.key_id, now)?;
    let failed = || async {
        match state
            .limiter
            .record(Limited::SignInFailure, &key, now)
            .await
        {
            Ok(()) => AppError::code(ErrorCode::SignInFailed),
            Err(e) => e.into(),
        }
    };
    // The agent binds only as an account self-service may touch (enabled, in scope, not
    // protected): any other is answered like a wrong password, before a bind.
    let Some(account) = writeback::lookup(state, &agent.id, username)
        .await?
        .filter(Account::eligible)
    else {
        return Err(failed().await);
    };
    let order = Order {
        op: Operation::Verify,
        anchor: &account.anchor,
        actor: &Actor::SelfService,
        request_id: package::request_id()?,
        off_limits: Vec::new(),
    };
    let secrets = Secrets {
        sealed: Some(sealed),
        sealed_old: None,
    };
    let ttl = state.config.relay.package_ttl_secs;
    let body = package::build(order, secrets, Flags::default(), now, ttl);
    let verified = writeback::apply(state, &agent.id, &body)
        .await
        .map_err(AppError::from);
    let outcome = verified.as_ref().map(|_| ()).map_err(AppError::error_code);
    state.metrics.writeback(Operation::Verify, outcome);
    match verified {
        Ok(()) if admitted(&account) => Ok(account),
        Ok(()) => Err(failed().await),
        Err(e)
            if matches!(
                e.error_code(),
                ErrorCode::CurrentPasswordWrong | ErrorCode::AccountLocked
            ) =>
        {
            Err(failed().await)
        }
        Err(e) => Err(e),
    }
}
