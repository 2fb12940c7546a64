//! Key rollover: new RSA and package keys when the current ones are due or an operator asks,
//! the previous ones kept for a grace period so nothing in flight fails.

use std::path::PathBuf;

use super::Handler;
use crate::directory::Directory;
use crate::event;
use crate::events::Event;
use crate::state::AgentState;

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

impl<D: Directory> Handler<D> {
    /// Rolls the keys over when they are due or an operator asked (`sspr-agent rotate`), and
    /// forgets previous keys whose grace period is over. Called with every heartbeat.
    pub async fn roll_over_if_due(&self, now: i64) {
        // Another session is rolling over (or checking): it does the work for all of them.
        let Ok(_rolling) = self.rolling.try_lock() else {
            return;
        };
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sspr_protocol::package::{Operation, Outcome, Package, PackageKey};
    use sspr_protocol::relay::{AgentMessage, Reply, ServerMessage};
    use sspr_protocol::ErrorCode;

    use super::*;
    use crate::directory::fake::Counting;
    use crate::directory::DirectoryError;
    use crate::handler::tests::{outcome_of, package, test_state};

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
