//! Turns the server's requests into directory operations. A package is checked completely —
//! key id, tag, request id, expiry, replay — before any RSA operation; then the seal is opened
//! and the directory written. Every outcome is logged as a numbered event and answered sealed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sspr_protocol::package::{
    Operation, Outcome, Package, PackageBody, PackageError, ReplayGuard, SealedOutcome,
};
use sspr_protocol::relay::{AgentMessage, Heartbeat, Reply, ServerMessage};
use sspr_protocol::seal::{SealedSecret, Secret};
use sspr_protocol::ErrorCode;

use crate::directory::{Directory, DirectoryError, ResetOptions};
use crate::event;
use crate::events::Event;
use crate::state::AgentState;

/// What the agent remembers of a request id until its package would have expired anyway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    expires_at: i64,
    /// The result, once the request was acted on: a re-sent request gets it again.
    outcome: Option<Outcome>,
    /// Loaded from the file without a result: the agent stopped while acting on it, so
    /// nobody knows whether the directory was written.
    #[serde(skip)]
    interrupted: bool,
}

/// Request ids seen, each with its result once there is one. A request id is acted on at most
/// once; presented again — the server re-sends after a reconnect — it gets the stored result.
/// With a file, this survives a restart of the agent.
#[derive(Default)]
pub struct ReplayCache {
    seen: HashMap<String, Seen>,
    file: Option<PathBuf>,
}

/// What a request id presented again finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Earlier {
    Done(Outcome),
    /// Still being acted on in this process.
    InHand,
    /// Started before a restart, result unknown.
    Interrupted,
    /// Not known (anymore): expired and dropped.
    Unknown,
}

impl ReplayCache {
    /// A cache kept in `file` (mode 0600), loaded now. A damaged file is started afresh: it
    /// only ever holds ids of packages that expire within minutes.
    pub fn persistent(file: PathBuf, now: i64) -> Self {
        let mut seen = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<HashMap<String, Seen>>(&bytes).ok())
            .unwrap_or_default();
        for entry in seen.values_mut() {
            entry.interrupted = entry.outcome.is_none();
        }
        let mut cache = Self {
            seen,
            file: Some(file),
        };
        cache.prune(now);
        cache
    }

    fn prune(&mut self, now: i64) {
        self.seen.retain(|_, seen| seen.expires_at > now);
    }

    fn earlier(&self, request_id: &str, now: i64) -> Earlier {
        match self.seen.get(request_id).filter(|s| s.expires_at > now) {
            Some(Seen {
                outcome: Some(outcome),
                ..
            }) => Earlier::Done(*outcome),
            Some(Seen {
                interrupted: true, ..
            }) => Earlier::Interrupted,
            Some(_) => Earlier::InHand,
            None => Earlier::Unknown,
        }
    }

    fn finish(&mut self, request_id: &str, outcome: Outcome) {
        if let Some(seen) = self.seen.get_mut(request_id) {
            seen.outcome = Some(outcome);
            self.save();
        }
    }

    fn save(&self) {
        let Some(file) = &self.file else { return };
        let written = serde_json::to_vec(&self.seen)
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::state::write_private(file, &bytes).map_err(|e| e.to_string()));
        if let Err(reason) = written {
            tracing::error!(%reason, "the replay cache could not be saved; it still holds in memory");
        }
    }
}

impl ReplayGuard for ReplayCache {
    fn first_use(&mut self, request_id: &str, expires_at: i64) -> bool {
        if self.seen.contains_key(request_id) {
            return false;
        }
        self.seen.insert(
            request_id.to_owned(),
            Seen {
                expires_at,
                outcome: None,
                interrupted: false,
            },
        );
        // Saved before the package is acted on: a crash after this point cannot let it in again.
        self.save();
        true
    }
}

pub struct Handler<D> {
    state: AgentState,
    directory: D,
    replay: Mutex<ReplayCache>,
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
            state,
            directory,
            replay: Mutex::new(ReplayCache::default()),
        }
    }

    /// Keeps the replay cache in `file`, so replays stay refused across restarts.
    pub fn with_replay_file(self, file: PathBuf, now: i64) -> Self {
        Self {
            replay: Mutex::new(ReplayCache::persistent(file, now)),
            ..self
        }
    }

    pub fn state(&self) -> &AgentState {
        &self.state
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    pub async fn heartbeat(&self) -> Result<Heartbeat, DirectoryError> {
        let info = self.directory.domain().await?;
        Ok(Heartbeat {
            version: crate::VERSION.to_owned(),
            directory: info.dns_name.clone(),
            rsa_key: self.state.keys.public().clone(),
            package_key_id: self.state.identity.package_key.key_id.clone(),
            reset_allowed: self.directory.reset_allowed(&info),
            policy: info.policy,
        })
    }

    pub async fn handle(&self, message: ServerMessage, now: i64) -> AgentMessage {
        let (id, reply) = match message {
            ServerMessage::Lookup { id, username } => (id, self.lookup(&username).await),
            ServerMessage::Apply { id, package } => (id, self.apply(&package, now).await),
        };
        AgentMessage::Reply { id, reply }
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

    fn replay(&self) -> std::sync::MutexGuard<'_, ReplayCache> {
        self.replay.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn apply(&self, package: &Package, now: i64) -> Reply {
        let identity = &self.state.identity;
        let opened = {
            let mut replay = self.replay();
            replay.prune(now);
            package.open(
                &[&identity.package_key],
                &identity.agent_id,
                now,
                &mut *replay,
            )
        };
        let outcome = match opened {
            Ok(body) => {
                let outcome = self.apply_body(&body).await;
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
        match SealedOutcome::seal(
            &identity.package_key,
            &identity.agent_id,
            &package.request_id,
            outcome,
        ) {
            Ok(sealed) => Reply::Outcome(sealed),
            Err(_) => Reply::Failed(ErrorCode::Internal),
        }
    }

    /// What became of a request presented again. One still in hand is waited for, so the
    /// re-sent request gets the result the first one will have.
    async fn earlier(&self, request_id: &str) -> Earlier {
        loop {
            let earlier = self.replay().earlier(request_id, crate::now());
            if earlier != Earlier::InHand {
                return earlier;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a seal after checking it is addressed to this agent's key: never an RSA operation
    /// on a seal for another key.
    fn open_seal(
        &self,
        sealed: Option<&SealedSecret>,
        request_id: &str,
    ) -> Result<Secret, Outcome> {
        let sealed = sealed.ok_or(Outcome::Refused(ErrorCode::SealRejected))?;
        if sealed.key_id != self.state.keys.public().key_id {
            event!(warn, Event::PackageRefused, %request_id, "sealed to an RSA key this agent does not hold");
            return Err(Outcome::Refused(ErrorCode::SealRejected));
        }
        self.state.keys.open(sealed).map_err(|_| {
            event!(warn, Event::SealUnopenable, %request_id, "the sealed password could not be opened");
            Outcome::Refused(ErrorCode::SealRejected)
        })
    }

    async fn apply_body(&self, body: &PackageBody) -> Outcome {
        let request_id = &body.request_id;
        // Only the helpdesk may force a change at next logon, and only with a reset.
        if body.flags.must_change_at_next_logon
            && (body.actor == "self" || body.op != Operation::Reset)
        {
            return Outcome::Refused(ErrorCode::OperationNotAllowed);
        }
        let result = match body.op {
            Operation::Reset => {
                let new = match self.open_seal(body.sealed.as_ref(), request_id) {
                    Ok(secret) => secret,
                    Err(outcome) => return outcome,
                };
                let options = ResetOptions {
                    must_change_at_next_logon: body.flags.must_change_at_next_logon,
                };
                self.directory.reset(&body.anchor, &new, options).await
            }
            Operation::Change => {
                let (new, old) = match (
                    self.open_seal(body.sealed.as_ref(), request_id),
                    self.open_seal(body.sealed_old.as_ref(), request_id),
                ) {
                    (Ok(new), Ok(old)) => (new, old),
                    (Err(outcome), _) | (_, Err(outcome)) => return outcome,
                };
                self.directory.change(&body.anchor, &old, &new).await
            }
            Operation::Unlock => self.directory.unlock(&body.anchor).await,
            Operation::Verify => {
                let password = match self.open_seal(body.sealed.as_ref(), request_id) {
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
    use std::sync::Arc;

    use super::*;
    use crate::directory::fake::Counting;
    use crate::state::Identity;
    use sspr_protocol::package::{Flags, PackageKey};
    use sspr_protocol::seal::opener::AgentKeyPair;

    /// An onboarded agent's state with a 2048-bit key (quick to make) and `key`.
    pub(crate) fn test_state(key: &PackageKey, server_url: &str) -> AgentState {
        AgentState {
            identity: Identity {
                server_url: server_url.into(),
                agent_id: "agt".into(),
                relay_secret: "s".into(),
                package_key: key.clone(),
                onboarded_at: 0,
            },
            keys: AgentKeyPair::generate(2048).expect("rsa"),
        }
    }

    pub(crate) fn unlock_package(key: &PackageKey, request_id: &str, now: i64) -> Package {
        let body = PackageBody {
            op: Operation::Unlock,
            anchor: "a".into(),
            actor: "self".into(),
            request_id: request_id.into(),
            issued_at: now,
            expires_at: now + 300,
            flags: Flags::default(),
            sealed: None,
            sealed_old: None,
        };
        Package::seal(key, "agt", &body).expect("seal")
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

    #[tokio::test]
    async fn a_resent_request_gets_the_stored_result_and_is_applied_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("replay.json");
        let key = PackageKey::generate().expect("key");
        let state = test_state(&key, "http://127.0.0.1:1");
        let now = crate::now();
        let directory = Counting::new(Duration::from_millis(300));
        let handler = Arc::new(Handler::new(state, directory).with_replay_file(file.clone(), now));
        let package = unlock_package(&key, "req-1", now);
        let apply = |id| ServerMessage::Apply {
            id,
            package: package.clone(),
        };

        // Sent, and sent again while the first is still in hand (the relay reconnected).
        let first = tokio::spawn({
            let (handler, message) = (handler.clone(), apply(1));
            async move { handler.handle(message, now).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = handler.handle(apply(2), now).await;
        let first = first.await.expect("first reply");
        assert_eq!(outcome_of(&first, &key, "req-1"), Outcome::Applied);
        assert_eq!(outcome_of(&second, &key, "req-1"), Outcome::Applied);
        // And once more after it finished.
        let third = handler.handle(apply(3), now + 5).await;
        assert_eq!(outcome_of(&third, &key, "req-1"), Outcome::Applied);
        assert_eq!(handler.directory.unlocks(), 1);

        // The result survives a restart: a new cache from the same file still knows it.
        let reloaded = ReplayCache::persistent(file.clone(), now + 10);
        assert_eq!(
            reloaded.earlier("req-1", now + 10),
            Earlier::Done(Outcome::Applied)
        );
        // A request the agent stopped in the middle of is not guessed at.
        let mut interrupted = ReplayCache::persistent(file.clone(), now);
        assert!(interrupted.first_use("req-2", now + 300));
        let after_crash = ReplayCache::persistent(file, now + 10);
        assert_eq!(after_crash.earlier("req-2", now + 10), Earlier::Interrupted);
    }

    #[test]
    fn a_replay_is_refused_after_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("replay.json");
        let key = PackageKey::generate().expect("key");
        let now = 1_000_000;
        let body = PackageBody {
            op: Operation::Unlock,
            anchor: "a".into(),
            actor: "self".into(),
            request_id: "req-1".into(),
            issued_at: now,
            expires_at: now + 300,
            flags: Flags::default(),
            sealed: None,
            sealed_old: None,
        };
        let package = Package::seal(&key, "agt", &body).expect("seal");
        let mut before = ReplayCache::persistent(file.clone(), now);
        assert!(package.open(&[&key], "agt", now, &mut before).is_ok());
        // The agent restarts: a new cache from the same file.
        let mut after = ReplayCache::persistent(file.clone(), now + 10);
        assert_eq!(
            package.open(&[&key], "agt", now + 10, &mut after),
            Err(PackageError::Replayed)
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Ids of expired packages are dropped when the cache is loaded.
        assert!(ReplayCache::persistent(file, now + 301).seen.is_empty());
    }
}
