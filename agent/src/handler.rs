//! Turns the server's requests into directory operations. A package is checked completely —
//! key id, tag, request id, expiry, replay — before any RSA operation; then the seal is opened
//! and the directory written. Every outcome is logged as a numbered event and answered sealed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
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

/// When keys roll over and how long the previous ones stay good.
#[derive(Clone, Debug)]
pub struct KeyPolicy {
    /// Where the state lives; without it (tests) rollovers are not saved.
    pub state_dir: Option<PathBuf>,
    pub rsa_bits: usize,
    pub rotate_after_secs: i64,
    /// How long a retired key still opens packages and seals: longer than any flow or package
    /// lives, so nothing in flight during a rollover fails.
    pub grace_secs: i64,
}

impl KeyPolicy {
    /// The configured rollover; `state_dir` where rollovers are saved (None: not saved).
    pub fn of(config: &crate::config::AgentConfig, state_dir: Option<PathBuf>) -> Self {
        Self {
            state_dir,
            rsa_bits: config.rsa_bits,
            rotate_after_secs: i64::from(config.key_rotation_days) * 86_400,
            grace_secs: i64::from(config.key_grace_secs),
        }
    }
}

impl Default for KeyPolicy {
    /// The configuration's defaults, nothing saved.
    fn default() -> Self {
        Self::of(&crate::config::AgentConfig::default(), None)
    }
}

pub struct Handler<D> {
    state: RwLock<AgentState>,
    directory: D,
    replay: Mutex<ReplayCache>,
    keys: KeyPolicy,
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

    /// Rolls the keys over when they are due or an operator asked (`sspr-agent rotate`), and
    /// forgets previous keys whose grace period is over. Called with every heartbeat.
    pub async fn roll_over_if_due(&self, now: i64) {
        let requested = self
            .keys
            .state_dir
            .as_ref()
            .map(|d| d.join(crate::state::ROTATE_REQUEST_FILE))
            .filter(|f| f.exists());
        let current = self.state();
        let due = now - current.keys_created_at() >= self.keys.rotate_after_secs;
        if !due && requested.is_none() {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            if state.forget_expired(now, self.keys.grace_secs) {
                event!(
                    info,
                    Event::PreviousKeysForgotten,
                    "the keys before the last rollover are past their grace period and forgotten"
                );
                self.save(&state);
            }
            return;
        }
        let bits = self.keys.rsa_bits;
        let made = tokio::task::spawn_blocking(move || {
            Ok::<_, String>((
                sspr_protocol::seal::opener::AgentKeyPair::generate(bits)
                    .map_err(|e| e.to_string())?,
                sspr_protocol::package::PackageKey::generate().map_err(|e| e.to_string())?,
            ))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let (keys, package_key) = match made {
            Ok(made) => made,
            Err(reason) => {
                event!(error, Event::KeyRolloverFailed, %reason, "could not make new keys; the current ones stay");
                return;
            }
        };
        let rotated = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            *state = state.rotated(keys, package_key, now);
            self.save(&state);
            state.clone()
        };
        if let Some(file) = requested {
            let _ = std::fs::remove_file(file);
        }
        event!(info, Event::KeysRolledOver,
            rsa_key_id = %rotated.keys.public().key_id,
            package_key_id = %rotated.identity.package_key.key_id,
            previous_rsa_key_id = %current.keys.public().key_id,
            grace_secs = self.keys.grace_secs,
            reason = if due { "due" } else { "requested" },
            "keys rolled over; the previous ones stay good for the grace period");
    }

    fn save(&self, state: &AgentState) {
        if let Some(dir) = &self.keys.state_dir {
            if let Err(e) = state.save(dir) {
                event!(error, Event::KeyRolloverFailed, reason = %e, "the new keys could not be saved; they hold until the agent restarts");
            }
        }
    }

    /// The new package key for the server, sealed under the previous one, while the previous
    /// one is in its grace period (sent with every heartbeat until then).
    pub fn pending_rollover(&self, now: i64) -> Option<sspr_protocol::package::WrappedKey> {
        let state = self.state();
        let previous = state.previous(now, self.keys.grace_secs)?;
        previous
            .package_key
            .wrap(&state.identity.package_key, &state.identity.agent_id)
            .ok()
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
                self.directory.reset(&body.anchor, &new, options).await
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
            Operation::Unlock => self.directory.unlock(&body.anchor).await,
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

    /// A package for this test agent.
    pub(crate) fn package(
        key: &PackageKey,
        op: Operation,
        sealed: Option<SealedSecret>,
        request_id: &str,
        now: i64,
    ) -> Package {
        let body = PackageBody {
            op,
            anchor: "a".into(),
            actor: "self".into(),
            request_id: request_id.into(),
            issued_at: now,
            expires_at: now + 300,
            flags: Flags::default(),
            sealed,
            sealed_old: None,
        };
        Package::seal(key, "agt", &body).expect("seal")
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

    async fn send<D: Directory>(
        handler: &Handler<D>,
        id: u64,
        package: Package,
        now: i64,
    ) -> AgentMessage {
        handler
            .handle(ServerMessage::Apply { id, package }, now)
            .await
    }

    fn reset_package(
        key: &PackageKey,
        rsa: &sspr_protocol::seal::AgentPublicKey,
        request_id: &str,
        now: i64,
    ) -> Package {
        let sealed = sspr_protocol::seal::seal(rsa, "New-Passw0rd!").expect("seal");
        package(key, Operation::Reset, Some(sealed), request_id, now)
    }

    /// What a reset sealed just before a rollover finds: the reset goes through (the fake
    /// directory refuses resets with `Other`, so reaching it means both seals opened) during the
    /// grace period, and is refused as unopenable after it.
    #[tokio::test]
    async fn a_request_sealed_before_a_rollover_completes_within_the_grace_period_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let old_key = PackageKey::generate().expect("key");
        let state = test_state(&old_key, "http://127.0.0.1:1");
        state.save(dir.path()).expect("save");
        let old_rsa = state.keys.public().clone();
        let handler =
            Handler::new(state, Counting::new(Duration::ZERO)).with_key_policy(KeyPolicy {
                state_dir: Some(dir.path().to_owned()),
                rsa_bits: 2048,
                rotate_after_secs: 180 * 86_400,
                grace_secs: 3_600,
            });
        let now = crate::now();
        let reached_directory = |reply: &AgentMessage, key: &PackageKey, id: &str| {
            outcome_of(reply, key, id)
                == Outcome::Refused(DirectoryError::Other(String::new()).code())
        };

        // Not due, not asked: nothing happens.
        handler.roll_over_if_due(now).await;
        assert_eq!(handler.state().keys.public(), &old_rsa);
        assert!(handler.pending_rollover(now).is_none());

        // `sspr-agent rotate` leaves a request; the next heartbeat rolls over.
        std::fs::write(dir.path().join(crate::state::ROTATE_REQUEST_FILE), "x").expect("ask");
        let in_flight = reset_package(&old_key, &old_rsa, "req-before", now);
        handler.roll_over_if_due(now).await;
        let rotated = handler.state();
        assert_ne!(rotated.keys.public(), &old_rsa, "a new RSA key");
        assert_ne!(rotated.identity.package_key, old_key, "a new package key");
        assert!(!dir.path().join(crate::state::ROTATE_REQUEST_FILE).exists());
        let wrapped = handler
            .pending_rollover(now)
            .expect("the new key for the server");
        assert_eq!(
            old_key.unwrap(&wrapped, "agt").expect("unwrap"),
            rotated.identity.package_key
        );
        let heartbeat = handler.heartbeat(now).await.expect("heartbeat");
        assert_eq!(
            heartbeat.previous_rsa_key_id.as_ref(),
            Some(&old_rsa.key_id)
        );

        // Sealed under the old keys before the rollover, arriving after it: it completes, and
        // the answer comes under the package's (old) key, which the server still uses for it.
        let reply = send(&handler, 1, in_flight, now + 10).await;
        assert!(reached_directory(&reply, &old_key, "req-before"));
        // Saved: a restarted agent still holds both generations.
        let reloaded = AgentState::load(dir.path()).expect("load");
        assert!(reloaded.previous(now + 10, 3_600).is_some());

        // After the grace period the old keys are refused, then forgotten.
        let late = reset_package(&old_key, &old_rsa, "req-late", now + 3_600);
        let reply = send(&handler, 2, late, now + 3_601).await;
        assert_eq!(
            reply,
            AgentMessage::Reply {
                id: 2,
                reply: Reply::Failed(ErrorCode::SealRejected)
            }
        );
        let new_key = rotated.identity.package_key.clone();
        let stale_seal = reset_package(&new_key, &old_rsa, "req-stale-seal", now + 3_600);
        let reply = send(&handler, 3, stale_seal, now + 3_601).await;
        assert_eq!(
            outcome_of(&reply, &new_key, "req-stale-seal"),
            Outcome::Refused(ErrorCode::SealRejected),
            "a password sealed to the retired RSA key is refused"
        );
        handler.roll_over_if_due(now + 3_601).await;
        assert!(handler.state().previous_keys.is_none());
        assert!(handler.pending_rollover(now + 3_601).is_none());
    }

    #[tokio::test]
    async fn keys_roll_over_by_themselves_when_they_are_due() {
        let key = PackageKey::generate().expect("key");
        let mut state = test_state(&key, "http://127.0.0.1:1");
        let now = crate::now();
        state.identity.onboarded_at = now - 181 * 86_400;
        let old_rsa = state.keys.public().clone();
        let policy = KeyPolicy {
            rsa_bits: 2048,
            ..KeyPolicy::default()
        };
        let handler = Handler::new(state, Counting::new(Duration::ZERO)).with_key_policy(policy);
        handler.roll_over_if_due(now).await;
        let rolled = handler.state();
        assert_ne!(
            rolled.keys.public(),
            &old_rsa,
            "180 days passed: rolled over"
        );
        assert_eq!(rolled.keys_created_at(), now);
        // And not again until the next 180 days have passed.
        handler.roll_over_if_due(now + 86_400).await;
        assert_eq!(handler.state().keys.public(), rolled.keys.public());
    }
}
