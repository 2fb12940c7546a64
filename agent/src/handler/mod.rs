//! Turns the server's requests into directory operations. A package is checked completely —
//! key id, tag, request id, expiry, replay — before any RSA operation; then the seal is opened
//! and the directory written. Every outcome is logged as a numbered event and answered sealed.
//!
//! Beside the request handling here: `replay` (each request id acted on once, its result kept
//! for a re-send) and `rollover` (new keys when due, the previous ones kept for a grace period).

mod replay;
mod rollover;

use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use sspr_protocol::package::{
    Operation, Outcome, Package, PackageBody, PackageError, SealedOutcome,
};
use sspr_protocol::relay::{AgentMessage, Heartbeat, Reply, ServerMessage};
use sspr_protocol::seal::{SealedSecret, Secret};
use sspr_protocol::ErrorCode;

use crate::directory::{Directory, DirectoryError, ResetOptions, Tier};
use crate::event;
use crate::events::Event;
use crate::state::AgentState;
use replay::Earlier;
pub use replay::ReplayCache;
pub use rollover::KeyPolicy;

pub struct Handler<D> {
    state: RwLock<AgentState>,
    directory: D,
    replay: Mutex<ReplayCache>,
    keys: KeyPolicy,
    /// Held while keys roll over: with one relay session per server replica, several
    /// heartbeats may find a rollover due at once, and only one may make new keys.
    rolling: tokio::sync::Mutex<()>,
}

fn package_error_code(err: &PackageError) -> ErrorCode {
    match err {
        PackageError::Expired => ErrorCode::AgentTimeout,
        PackageError::Replayed => ErrorCode::WrongStep,
        PackageError::UnknownKey
        | PackageError::WrongAgent
        | PackageError::BadTag
        | PackageError::Malformed => ErrorCode::SealRejected,
        PackageError::Random => ErrorCode::Internal,
    }
}

impl<D: Directory> Handler<D> {
    pub fn new(state: AgentState, directory: D) -> Self {
        Self {
            state: RwLock::new(state),
            directory,
            replay: Mutex::new(ReplayCache::default()),
            keys: KeyPolicy::default(),
            rolling: tokio::sync::Mutex::new(()),
        }
    }

    pub fn with_key_policy(self, keys: KeyPolicy) -> Self {
        Self { keys, ..self }
    }

    /// Keeps the replay cache in `file`, so replays stay refused across restarts.
    pub fn with_replay_file(self, file: PathBuf, now: i64) -> Self {
        Self {
            replay: Mutex::new(ReplayCache::persistent(file, now)),
            ..self
        }
    }

    /// The state as it is now (keys are shared, not copied).
    pub fn state(&self) -> AgentState {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    pub async fn heartbeat(&self, now: i64) -> Result<Heartbeat, DirectoryError> {
        let info = self.directory.domain().await?;
        let state = self.state();
        Ok(Heartbeat {
            version: crate::VERSION.to_owned(),
            directory: info.dns_name.clone(),
            netbios: info.netbios.clone(),
            upn_suffixes: info.upn_suffixes.clone(),
            rsa_key: state.keys.public().clone(),
            previous_rsa_key_id: state
                .previous(now, self.keys.grace_secs)
                .map(|p| p.keys.public().key_id.clone()),
            package_key_id: state.identity.package_key.key_id.clone(),
            reset_allowed: self.directory.reset_allowed(&info),
            reset_enforces_history: info.policy_hints_oid.is_some(),
            policy: info.policy,
        })
    }

    pub async fn handle(&self, message: ServerMessage, now: i64) -> AgentMessage {
        let (id, reply) = match message {
            ServerMessage::Lookup { id, username } => (id, self.lookup(&username).await),
            ServerMessage::Apply { id, package } => (id, self.apply(&package, now).await),
            ServerMessage::Search { id, query } => (id, self.search(&query).await),
            ServerMessage::Details { id, anchor } => (id, self.details(&anchor).await),
        };
        AgentMessage::Reply { id, reply }
    }

    /// The helpdesk's search. What was typed may be a person's name: the log gets its length.
    async fn search(&self, query: &str) -> Reply {
        let query_chars = query.trim().chars().count();
        match self.directory.search(query).await {
            Ok(found) => {
                event!(
                    info,
                    Event::SearchDone,
                    query_chars,
                    matches = found.accounts.len(),
                    more = found.more,
                    "helpdesk search"
                );
                Reply::Found {
                    accounts: found.accounts,
                    more: found.more,
                }
            }
            Err(err) => {
                if err == DirectoryError::BadQuery {
                    event!(info, Event::SearchDone, query_chars, reason = %err, "helpdesk search refused");
                } else {
                    self.log_directory_error(&err);
                }
                Reply::Failed(err.code())
            }
        }
    }

    async fn details(&self, anchor: &str) -> Reply {
        match self.directory.details(anchor).await {
            Ok(details) => {
                event!(info, Event::DetailsRead, %anchor, found = details.is_some(), "account details for the helpdesk");
                Reply::Details(details.map(Box::new))
            }
            Err(err) => {
                self.log_directory_error(&err);
                Reply::Failed(err.code())
            }
        }
    }

    async fn lookup(&self, username: &str) -> Reply {
        match self.directory.lookup(username).await {
            Ok(account) => {
                event!(info, Event::LookupDone, found = account.is_some(), "lookup");
                Reply::Lookup(account)
            }
            Err(err) => {
                self.log_directory_error(&err);
                Reply::Failed(err.code())
            }
        }
    }

    async fn apply(&self, package: &Package, now: i64) -> Reply {
        let state = self.state();
        let identity = &state.identity;
        // The current package key, and the previous one during its grace period: a package the
        // server sealed just before it learnt of a rollover still opens.
        let mut keys = vec![&identity.package_key];
        let previous = state.previous(now, self.keys.grace_secs);
        keys.extend(previous.as_ref().map(|p| p.package_key));
        let opened = {
            let mut replay = self.replay();
            replay.prune(now);
            package.open(&keys, &identity.agent_id, now, &mut *replay)
        };
        let outcome = match opened {
            Ok(body) => {
                let outcome = self.apply_body(&state, &body, now).await;
                self.replay().finish(&body.request_id, outcome);
                outcome
            }
            // The package opened (tag and all) and only its id was known: the server re-sent it.
            Err(PackageError::Replayed) => match self.earlier(&package.request_id).await {
                Earlier::Done(outcome) => {
                    event!(info, Event::RequestRepeated, request_id = %package.request_id, ?outcome, "request re-sent; the stored result is returned, nothing is applied twice");
                    outcome
                }
                Earlier::Interrupted => {
                    event!(warn, Event::PackageRefused, request_id = %package.request_id, "request re-sent, but the agent stopped while acting on it: its outcome is unknown, so it is not applied again");
                    return Reply::Failed(ErrorCode::AgentTimeout);
                }
                earlier => {
                    event!(warn, Event::PackageRefused, request_id = %package.request_id, ?earlier, "package refused: its request id was seen before");
                    return Reply::Failed(ErrorCode::WrongStep);
                }
            },
            Err(err) => {
                event!(warn, Event::PackageRefused, request_id = %package.request_id, reason = %err, "package refused");
                return Reply::Failed(package_error_code(&err));
            }
        };
        // Answered under the key the package came under: the server opens it with that one.
        let Some(key) = keys.into_iter().find(|k| k.key_id == package.key_id) else {
            return Reply::Failed(ErrorCode::SealRejected);
        };
        match SealedOutcome::seal(key, &identity.agent_id, &package.request_id, outcome) {
            Ok(sealed) => Reply::Outcome(sealed),
            Err(_) => Reply::Failed(ErrorCode::Internal),
        }
    }

    /// Opens a seal after checking it is addressed to this agent's key: never an RSA operation
    /// on a seal for another key.
    fn open_seal(
        &self,
        state: &AgentState,
        sealed: Option<&SealedSecret>,
        request_id: &str,
        now: i64,
    ) -> Result<Secret, Outcome> {
        let sealed = sealed.ok_or(Outcome::Refused(ErrorCode::SealRejected))?;
        let previous = state.previous(now, self.keys.grace_secs);
        let keys = std::iter::once(&*state.keys)
            .chain(previous.map(|p| p.keys))
            .find(|k| k.public().key_id == sealed.key_id);
        let Some(keys) = keys else {
            event!(warn, Event::PackageRefused, %request_id, "sealed to an RSA key this agent does not hold (or no longer: past its grace period)");
            return Err(Outcome::Refused(ErrorCode::SealRejected));
        };
        keys.open(sealed).map_err(|_| {
            event!(warn, Event::SealUnopenable, %request_id, "the sealed password could not be opened");
            Outcome::Refused(ErrorCode::SealRejected)
        })
    }

    async fn apply_body(&self, state: &AgentState, body: &PackageBody, now: i64) -> Outcome {
        let request_id = &body.request_id;
        // Only the helpdesk may force a change at next logon, and only with a reset.
        if body.flags.must_change_at_next_logon
            && (body.actor == "self" || body.op != Operation::Reset)
        {
            return Outcome::Refused(ErrorCode::OperationNotAllowed);
        }
        let result = match body.op {
            Operation::Reset => {
                let new = match self.open_seal(state, body.sealed.as_ref(), request_id, now) {
                    Ok(secret) => secret,
                    Err(outcome) => return outcome,
                };
                let options = ResetOptions {
                    must_change_at_next_logon: body.flags.must_change_at_next_logon,
                };
                self.directory
                    .reset(&body.anchor, &new, options, &Tier::of(body))
                    .await
            }
            Operation::Change => {
                let (new, old) = match (
                    self.open_seal(state, body.sealed.as_ref(), request_id, now),
                    self.open_seal(state, body.sealed_old.as_ref(), request_id, now),
                ) {
                    (Ok(new), Ok(old)) => (new, old),
                    (Err(outcome), _) | (_, Err(outcome)) => return outcome,
                };
                self.directory.change(&body.anchor, &old, &new).await
            }
            Operation::Unlock => self.directory.unlock(&body.anchor, &Tier::of(body)).await,
            Operation::Verify => {
                let password = match self.open_seal(state, body.sealed.as_ref(), request_id, now) {
                    Ok(secret) => secret,
                    Err(outcome) => return outcome,
                };
                self.directory.verify(&body.anchor, &password).await
            }
        };
        self.log_outcome(body, &result);
        match result {
            Ok(()) => Outcome::Applied,
            Err(err) => Outcome::Refused(err.code()),
        }
    }

    fn log_outcome(&self, body: &PackageBody, result: &Result<(), DirectoryError>) {
        let (request_id, anchor, actor, op) =
            (&body.request_id, &body.anchor, &body.actor, body.op);
        let err = match result {
            Ok(()) => {
                let done = match op {
                    Operation::Reset => Event::ResetSucceeded,
                    Operation::Change => Event::ChangeSucceeded,
                    Operation::Unlock => Event::UnlockSucceeded,
                    Operation::Verify => Event::SignInVerified,
                };
                event!(info, done, %request_id, %anchor, %actor, ?op, "applied");
                return;
            }
            Err(err) => err,
        };
        if err.is_policy() {
            let refused = if op == Operation::Change {
                Event::ChangeRejectedByPolicy
            } else {
                Event::ResetRejectedByPolicy
            };
            event!(info, refused, %request_id, %anchor, ?op, reason = %err, "refused by policy");
        } else if *err == DirectoryError::ResetWithoutHistory {
            event!(warn, Event::ResetRefusedNoHistory, %request_id, "{err}");
        } else if matches!(err, DirectoryError::WrongPassword | DirectoryError::Locked) {
            event!(info, Event::ChangeRefusedCredentials, %request_id, %anchor, reason = %err, "change refused");
        } else if *err == DirectoryError::OffLimits {
            event!(warn, Event::RefusedOffLimits, %request_id, %anchor, %actor, ?op, "refused: the account is off limits (protected, or in an off-limits group)");
        } else if err.code() == ErrorCode::AccountNotEligible {
            event!(warn, Event::ResetRefusedAccount, %request_id, %anchor, ?op, reason = %err, "refused for this account");
        } else {
            self.log_directory_error(err);
            event!(warn, Event::ResetFailed, %request_id, ?op, reason = %err, "operation failed");
        }
    }

    fn log_directory_error(&self, err: &DirectoryError) {
        match err {
            DirectoryError::Unreachable(_) | DirectoryError::Tls(_) => {
                event!(error, Event::DirectoryUnreachable, reason = %err, "domain controller unreachable")
            }
            DirectoryError::AccessDenied(_) => {
                event!(error, Event::DirectoryAccessDenied, reason = %err, "access denied")
            }
            _ => tracing::warn!(reason = %err, "directory error"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::Identity;
    use sspr_protocol::package::{Flags, PackageKey};
    use sspr_protocol::seal::opener::AgentKeyPair;

    /// An onboarded agent's state with a 2048-bit key (quick to make) and `key`.
    pub(crate) fn test_state(key: &PackageKey, server_url: &str) -> AgentState {
        AgentState::new(
            Identity {
                server_url: server_url.into(),
                agent_id: "agt".into(),
                relay_secret: "s".into(),
                package_key: key.clone(),
                onboarded_at: crate::now(),
                keys_created_at: 0,
                previous_package_key: None,
                retired_at: None,
            },
            AgentKeyPair::generate(2048).expect("rsa"),
        )
    }

    /// A self-service request's body for this test agent.
    pub(crate) fn body(
        op: Operation,
        sealed: Option<SealedSecret>,
        request_id: &str,
        now: i64,
    ) -> PackageBody {
        PackageBody {
            op,
            anchor: "a".into(),
            actor: "self".into(),
            request_id: request_id.into(),
            issued_at: now,
            expires_at: now + 300,
            flags: Flags::default(),
            sealed,
            sealed_old: None,
            off_limits: Vec::new(),
        }
    }

    /// A package for this test agent.
    pub(crate) fn package(
        key: &PackageKey,
        op: Operation,
        sealed: Option<SealedSecret>,
        request_id: &str,
        now: i64,
    ) -> Package {
        Package::seal(key, "agt", &body(op, sealed, request_id, now)).expect("seal")
    }

    pub(crate) fn unlock_package(key: &PackageKey, request_id: &str, now: i64) -> Package {
        package(key, Operation::Unlock, None, request_id, now)
    }

    pub(crate) fn outcome_of(reply: &AgentMessage, key: &PackageKey, request_id: &str) -> Outcome {
        match reply {
            AgentMessage::Reply {
                reply: Reply::Outcome(sealed),
                ..
            } => sealed.open(key, "agt", request_id).expect("outcome opens"),
            other => panic!("expected an outcome, got {other:?}"),
        }
    }

    mod tiering {
        use super::*;
        use crate::directory::fake::Known;

        const NOW: i64 = 1_900_000_000;

        /// Accounts whose groups are already resolved as the directory would (nested ones
        /// included): a Domain Admins member whose adminCount the DC has not set yet, a VIP, a
        /// protected account, and one anybody may help.
        fn handler() -> (Handler<Known>, PackageKey) {
            let key = PackageKey::generate().expect("key");
            let mut protected = Known::account("pia", &[]);
            protected.protected = true;
            let directory = Known::new(vec![
                Known::account("dana", &["Domain Users", "domain admins"]),
                Known::account("vic", &["Domain Users", "Board", "VIPs"]),
                Known::account("paul", &["Domain Users"]),
                protected,
            ]);
            (
                Handler::new(test_state(&key, "http://127.0.0.1:1"), directory),
                key,
            )
        }

        async fn send(handler: &Handler<Known>, key: &PackageKey, body: PackageBody) -> Outcome {
            let request_id = body.request_id.clone();
            let package = Package::seal(key, "agt", &body).expect("seal");
            let reply = handler
                .handle(ServerMessage::Apply { id: 1, package }, NOW)
                .await;
            outcome_of(&reply, key, &request_id)
        }

        fn helpdesk(op: Operation, anchor: &str, off_limits: &[&str], id: &str) -> PackageBody {
            PackageBody {
                anchor: anchor.into(),
                actor: "helpdesk:marie".into(),
                off_limits: off_limits.iter().map(|g| (*g).to_owned()).collect(),
                ..body(op, None, id, NOW)
            }
        }

        #[tokio::test]
        async fn the_helpdesk_is_refused_off_limits_targets_before_anything_is_written() {
            let (handler, key) = handler();
            let sealed =
                sspr_protocol::seal::seal(handler.state().keys.public(), "Helpdesk-Gave-42")
                    .expect("seal");
            let mut reset = helpdesk(Operation::Reset, "dana", &[], "r1");
            reset.sealed = Some(sealed);
            reset.flags.must_change_at_next_logon = true;
            assert_eq!(
                send(&handler, &key, reset).await,
                Outcome::Refused(ErrorCode::TargetOffLimits),
                "a built-in privileged group, though the server named none"
            );
            assert_eq!(
                send(
                    &handler,
                    &key,
                    helpdesk(Operation::Unlock, "vic", &["vips"], "r2")
                )
                .await,
                Outcome::Refused(ErrorCode::TargetOffLimits),
                "a group the server named, in another case"
            );
            assert_eq!(
                send(
                    &handler,
                    &key,
                    helpdesk(Operation::Unlock, "pia", &[], "r3")
                )
                .await,
                Outcome::Refused(ErrorCode::TargetOffLimits),
                "adminCount=1"
            );
            assert_eq!(handler.directory().written(), Vec::<String>::new());

            assert_eq!(
                send(
                    &handler,
                    &key,
                    helpdesk(Operation::Unlock, "paul", &["VIPs"], "r4")
                )
                .await,
                Outcome::Applied
            );
            assert_eq!(handler.directory().written(), vec!["paul".to_owned()]);
        }

        #[tokio::test]
        async fn self_service_is_not_held_to_the_helpdesk_s_tiering() {
            let (handler, key) = handler();
            let own = |anchor: &str, id: &str| PackageBody {
                anchor: anchor.into(),
                ..body(Operation::Unlock, None, id, NOW)
            };
            assert_eq!(
                send(&handler, &key, own("dana", "s1")).await,
                Outcome::Applied
            );
            assert_eq!(
                send(&handler, &key, own("vic", "s2")).await,
                Outcome::Applied
            );
            // Its own rules still hold.
            assert_eq!(
                send(&handler, &key, own("pia", "s3")).await,
                Outcome::Refused(ErrorCode::AccountNotEligible)
            );
            assert_eq!(
                handler.directory().written(),
                vec!["dana".to_owned(), "vic".to_owned()]
            );
        }

        #[tokio::test]
        async fn searches_and_details_are_answered_and_short_queries_refused() {
            let (handler, _) = handler();
            let reply = handler
                .handle(
                    ServerMessage::Search {
                        id: 5,
                        query: " Pa ".into(),
                    },
                    NOW,
                )
                .await;
            match reply {
                AgentMessage::Reply {
                    id: 5,
                    reply:
                        Reply::Found {
                            accounts,
                            more: false,
                        },
                } => assert_eq!(
                    accounts
                        .iter()
                        .map(|a| a.account_name.as_str())
                        .collect::<Vec<_>>(),
                    ["paul"]
                ),
                other => panic!("expected matches, got {other:?}"),
            }
            let reply = handler
                .handle(
                    ServerMessage::Search {
                        id: 6,
                        query: "p".into(),
                    },
                    NOW,
                )
                .await;
            assert!(
                matches!(
                    reply,
                    AgentMessage::Reply {
                        reply: Reply::Failed(ErrorCode::BadRequest),
                        ..
                    }
                ),
                "{reply:?}"
            );
            let reply = handler
                .handle(
                    ServerMessage::Details {
                        id: 7,
                        anchor: "vic".into(),
                    },
                    NOW,
                )
                .await;
            match reply {
                AgentMessage::Reply {
                    reply: Reply::Details(Some(details)),
                    ..
                } => assert!(details.account.groups.contains(&"VIPs".to_owned())),
                other => panic!("expected details, got {other:?}"),
            }
            let reply = handler
                .handle(
                    ServerMessage::Details {
                        id: 8,
                        anchor: "nobody".into(),
                    },
                    NOW,
                )
                .await;
            assert!(
                matches!(
                    reply,
                    AgentMessage::Reply {
                        reply: Reply::Details(None),
                        ..
                    }
                ),
                "{reply:?}"
            );
        }
    }
}
