//! The replay cache: every request id is acted on at most once, and one the server sends again
//! (after a reconnect) gets the result it had, kept in `replay.json` across restarts.
//!
//! The file is a journal, one JSON line per event, appended: a request id taken (flushed to
//! the disk before the package is acted on — a crash after that cannot let it in again) and
//! its result (written, not waited for: lost only with the machine itself, and then the id
//! reads as interrupted). Loading it keeps what has not expired and writes it anew, compact;
//! so does a journal grown long.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sspr_protocol::package::{Outcome, ReplayGuard};

use super::Handler;
use crate::directory::Directory;

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

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
}

/// Lines appended since the journal was last written compact, before it is written anew.
const COMPACT_AFTER: usize = 1000;

/// Request ids seen, each with its result once there is one. A request id is acted on at most
/// once; presented again — the server re-sends after a reconnect — it gets the stored result.
/// With a file, this survives a restart of the agent.
#[derive(Default)]
pub struct ReplayCache {
    seen: HashMap<String, Seen>,
    file: Option<PathBuf>,
    journal: Option<std::fs::File>,
    appended: usize,
}

/// What a request id presented again finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Earlier {
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
        let mut seen: HashMap<String, Seen> = HashMap::new();
        for line in std::fs::read(&file)
            .unwrap_or_default()
            .split(|b| *b == b'\n')
        {
            let Ok(record) = serde_json::from_slice::<Record>(line) else {
                continue;
            };
            match (record.expires_at, record.outcome) {
                (Some(expires_at), outcome) => {
                    seen.insert(
                        record.id,
                        Seen {
                            expires_at,
                            outcome,
                            interrupted: false,
                        },
                    );
                }
                (None, Some(outcome)) => {
                    if let Some(entry) = seen.get_mut(&record.id) {
                        entry.outcome = Some(outcome);
                    }
                }
                (None, None) => {}
            }
        }
        for entry in seen.values_mut() {
            entry.interrupted = entry.outcome.is_none();
        }
        let mut cache = Self {
            seen,
            file: Some(file),
            journal: None,
            appended: 0,
        };
        cache.prune(now);
        cache.compact();
        cache
    }

    /// Writes what is known now as a new journal (replacing the old one at once) and appends
    /// to that from here on.
    fn compact(&mut self) {
        let Some(file) = &self.file else { return };
        let mut lines = Vec::new();
        for (id, seen) in &self.seen {
            let record = Record {
                id: id.clone(),
                expires_at: Some(seen.expires_at),
                outcome: seen.outcome,
            };
            if let Ok(line) = serde_json::to_vec(&record) {
                lines.extend(line);
                lines.push(b'\n');
            }
        }
        let opened = crate::state::write_private(file, &lines)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(file)
                    .map_err(|e| e.to_string())
            });
        match opened {
            Ok(journal) => self.journal = Some(journal),
            Err(reason) => {
                self.journal = None;
                tracing::error!(%reason, "the replay cache could not be saved; it still holds in memory");
            }
        }
        self.appended = 0;
    }

    /// Appends one event to the journal; `durable` waits until it is on the disk.
    fn append(&mut self, record: &Record, durable: bool) {
        if self.file.is_none() {
            return;
        }
        if self.journal.is_none() || self.appended >= COMPACT_AFTER {
            self.compact();
            // The compact journal already holds this event.
            return;
        }
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let written = serde_json::to_vec(record)
            .map_err(|e| e.to_string())
            .and_then(|mut line| {
                line.push(b'\n');
                journal.write_all(&line).map_err(|e| e.to_string())?;
                if durable {
                    journal.sync_data().map_err(|e| e.to_string())?;
                }
                Ok(())
            });
        self.appended += 1;
        if let Err(reason) = written {
            tracing::error!(%reason, "the replay cache could not be saved; it still holds in memory");
            // Written anew next time, whole.
            self.journal = None;
        }
    }

    pub(super) fn prune(&mut self, now: i64) {
        self.seen.retain(|_, seen| seen.expires_at > now);
    }

    pub(super) fn earlier(&self, request_id: &str, now: i64) -> Earlier {
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

    pub(super) fn finish(&mut self, request_id: &str, outcome: Outcome) {
        if let Some(seen) = self.seen.get_mut(request_id) {
            seen.outcome = Some(outcome);
            let record = Record {
                id: request_id.to_owned(),
                expires_at: None,
                outcome: Some(outcome),
            };
            self.append(&record, false);
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
        // On the disk before the package is acted on: a crash after this point cannot let it
        // in again.
        let record = Record {
            id: request_id.to_owned(),
            expires_at: Some(expires_at),
            outcome: None,
        };
        self.append(&record, true);
        true
    }
}

impl<D: Directory> Handler<D> {
    pub(super) fn replay(&self) -> std::sync::MutexGuard<'_, ReplayCache> {
        self.replay.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What became of a request presented again. One still in hand is waited for, so the
    /// re-sent request gets the result the first one will have.
    pub(super) async fn earlier(&self, request_id: &str) -> Earlier {
        loop {
            let earlier = self.replay().earlier(request_id, crate::now());
            if earlier != Earlier::InHand {
                return earlier;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sspr_protocol::package::{Flags, Operation, Package, PackageBody, PackageError};
    use sspr_protocol::relay::ServerMessage;

    use super::*;
    use crate::directory::fake::Counting;
    use crate::handler::tests::{outcome_of, test_state, unlock_package};
    use sspr_protocol::package::PackageKey;

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
            off_limits: Vec::new(),
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
