//! State behind one interface, SQLite by default: agents, onboarding tokens, flows and the
//! audit log. Flow state (it carries contact data) and package keys are encrypted at rest;
//! tokens and secrets are stored as hashes only; the audit log is append-only.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};
use sspr_protocol::package::PackageKey;

use crate::crypto::{self, ServerKeys};
use crate::domain::audit::AuditRecord;
use crate::domain::flow::ResetFlow;
use crate::domain::registration::{RegisterSession, Registration};
use crate::http::error::AppError;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
}

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS onboarding_tokens (
    hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    package_key BLOB NOT NULL,
    rsa_key_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS flows (
    id_hash TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS registrations (
    subject TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS phone_countries (
    code INTEGER PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

#[derive(Clone, Debug)]
pub struct AgentRecord {
    pub id: String,
    pub name: String,
    pub version: String,
    pub secret_hash: String,
    pub package_key: PackageKey,
    pub rsa_key_id: String,
    pub created_at: i64,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub event: String,
    pub actor: String,
    pub subject: String,
    pub detail: String,
}

/// The short-lived, encrypted states: reset and unlock flows, and registration sessions.
#[derive(Clone, Copy)]
enum Live {
    Flow,
    Session,
}

impl Live {
    fn table(self) -> &'static str {
        match self {
            Live::Flow => "flows",
            Live::Session => "sessions",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Live::Flow => FLOW_LABEL,
            Live::Session => SESSION_LABEL,
        }
    }
}

pub struct Store {
    conn: Mutex<Connection>,
    keys: Arc<ServerKeys>,
}

pub const ONBOARDING_TOKEN_PREFIX: &str = "sspr-onboard-";
const FLOW_LABEL: &str = "flow";
const PACKAGE_KEY_LABEL: &str = "package-key";
const REGISTRATION_LABEL: &str = "registration";
const SESSION_LABEL: &str = "register-session";

impl Store {
    pub fn open(path: &Path, keys: Arc<ServerKeys>) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            keys,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new one-time onboarding token; only its hash is kept.
    pub fn create_onboarding_token(&self, now: i64, ttl_secs: i64) -> Result<String, StoreError> {
        // The prefix makes tokens recognisable (and greppable in leaked logs), and keeps a token
        // from starting with "-", which a command line would take for an option.
        let token = format!("{ONBOARDING_TOKEN_PREFIX}{}", crypto::random_token()?);
        self.conn().execute(
            "INSERT INTO onboarding_tokens (hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
            params![crypto::token_hash(&token), now, now + ttl_secs],
        )?;
        Ok(token)
    }

    /// Uses the token up; true only for the first use of a live token.
    pub fn consume_onboarding_token(&self, token: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE onboarding_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2",
            params![crypto::token_hash(token), now],
        )?;
        Ok(changed == 1)
    }

    pub fn add_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
        let key = serde_json::to_vec(&agent.package_key)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = self
            .keys
            .seal(PACKAGE_KEY_LABEL, &zeroize::Zeroizing::new(key))?;
        self.conn().execute(
            "INSERT INTO agents (id, name, version, secret_hash, package_key, rsa_key_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![agent.id, agent.name, agent.version, agent.secret_hash, sealed, agent.rsa_key_id, agent.created_at],
        )?;
        Ok(())
    }

    pub fn agent(&self, id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, name, version, secret_hash, package_key, rsa_key_id, created_at, revoked_at FROM agents WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, name, version, secret_hash, sealed, rsa_key_id, created_at, revoked_at)) =
            row
        else {
            return Ok(None);
        };
        let plain = self.keys.open(PACKAGE_KEY_LABEL, &sealed)?;
        let package_key =
            serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(AgentRecord {
            id,
            name,
            version,
            secret_hash,
            package_key,
            rsa_key_id,
            created_at,
            revoked: revoked_at.is_some(),
        }))
    }

    /// The agent rolled its keys over: packages are sealed under `package_key` from now on.
    pub fn roll_agent_keys(
        &self,
        id: &str,
        package_key: &PackageKey,
        rsa_key_id: &str,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_json(PACKAGE_KEY_LABEL, package_key)?;
        self.conn().execute(
            "UPDATE agents SET package_key = ?2, rsa_key_id = ?3 WHERE id = ?1",
            params![id, sealed, rsa_key_id],
        )?;
        Ok(())
    }

    fn seal_json<T: Serialize>(&self, label: &str, value: &T) -> Result<Vec<u8>, StoreError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        Ok(self.keys.seal(label, &plain)?)
    }

    fn open_json<T: DeserializeOwned>(&self, label: &str, sealed: &[u8]) -> Result<T, StoreError> {
        let plain = self.keys.open(label, sealed)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub fn insert_flow(&self, id_hash: &str, flow: &ResetFlow) -> Result<(), StoreError> {
        self.insert_live(Live::Flow, id_hash, flow, flow.expires_at)
    }

    /// Loads a live flow, lets `change` act on it and saves it — all under one lock, so two
    /// parallel requests for the same flow take turns. The flow is saved whatever `change`
    /// returns: a wrong code must cost its attempt.
    pub fn update_flow<T>(
        &self,
        id_hash: &str,
        now: i64,
        change: impl FnOnce(&mut ResetFlow) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.update_live(Live::Flow, id_hash, now, change)
    }

    /// A live flow as it is, for a request that only reads it (no re-sealing, no write).
    pub fn flow(&self, id_hash: &str, now: i64) -> Result<ResetFlow, AppError> {
        self.read_live(Live::Flow, id_hash, now)
    }

    /// A live registration session as it is, for a request that only reads it.
    pub fn session(&self, id_hash: &str, now: i64) -> Result<RegisterSession, AppError> {
        self.read_live(Live::Session, id_hash, now)
    }

    pub fn insert_session(
        &self,
        id_hash: &str,
        session: &RegisterSession,
    ) -> Result<(), StoreError> {
        self.insert_live(Live::Session, id_hash, session, session.expires_at)
    }

    /// As `update_flow`, for a registration session.
    pub fn update_session<T>(
        &self,
        id_hash: &str,
        now: i64,
        change: impl FnOnce(&mut RegisterSession) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.update_live(Live::Session, id_hash, now, change)
    }

    fn insert_live<S: Serialize>(
        &self,
        live: Live,
        id_hash: &str,
        state: &S,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_json(live.label(), state)?;
        self.conn().execute(
            &format!(
                "INSERT INTO {} (id_hash, state, expires_at) VALUES (?1, ?2, ?3)",
                live.table()
            ),
            params![id_hash, sealed, expires_at],
        )?;
        Ok(())
    }

    /// The sealed state of a live flow or session; unknown or expired is `UnknownFlow`.
    fn sealed_live(
        conn: &Connection,
        live: Live,
        id_hash: &str,
        now: i64,
    ) -> Result<Vec<u8>, AppError> {
        let sealed: Option<Vec<u8>> = conn
            .query_row(
                &format!(
                    "SELECT state FROM {} WHERE id_hash = ?1 AND expires_at > ?2",
                    live.table()
                ),
                params![id_hash, now],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::from)?;
        sealed.ok_or_else(|| AppError::code(sspr_protocol::ErrorCode::UnknownFlow))
    }

    fn read_live<S: DeserializeOwned>(
        &self,
        live: Live,
        id_hash: &str,
        now: i64,
    ) -> Result<S, AppError> {
        let sealed = Self::sealed_live(&self.conn(), live, id_hash, now)?;
        Ok(self.open_json(live.label(), &sealed)?)
    }

    fn update_live<S: Serialize + DeserializeOwned, T>(
        &self,
        live: Live,
        id_hash: &str,
        now: i64,
        change: impl FnOnce(&mut S) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let conn = self.conn();
        let sealed = Self::sealed_live(&conn, live, id_hash, now)?;
        let mut state: S = self.open_json(live.label(), &sealed)?;
        let result = change(&mut state);
        let resealed = self.seal_json(live.label(), &state)?;
        conn.execute(
            &format!("UPDATE {} SET state = ?2 WHERE id_hash = ?1", live.table()),
            params![id_hash, resealed],
        )
        .map_err(StoreError::from)?;
        result
    }

    /// The registration's row key: a MAC of the objectGUID, so rows do not name accounts.
    fn registration_subject(&self, anchor: &str) -> Result<String, StoreError> {
        Ok(self.keys.mac(&[b"registration", anchor.as_bytes()])?)
    }

    pub fn registration(&self, anchor: &str) -> Result<Option<Registration>, StoreError> {
        let subject = self.registration_subject(anchor)?;
        let sealed: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT data FROM registrations WHERE subject = ?1",
                params![subject],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        Ok(Some(self.open_json(REGISTRATION_LABEL, &sealed)?))
    }

    /// Loads (or starts) a registration, lets `change` act on it and saves it under one lock:
    /// two parallel uses of one authenticator code cannot both pass.
    pub fn update_registration<T>(
        &self,
        anchor: &str,
        now: i64,
        change: impl FnOnce(&mut Registration) -> T,
    ) -> Result<T, StoreError> {
        let subject = self.registration_subject(anchor)?;
        let conn = self.conn();
        let sealed: Option<Vec<u8>> = conn
            .query_row(
                "SELECT data FROM registrations WHERE subject = ?1",
                params![subject],
                |r| r.get(0),
            )
            .optional()?;
        let mut registration: Registration = match sealed {
            Some(sealed) => self.open_json(REGISTRATION_LABEL, &sealed)?,
            None => Registration::default(),
        };
        let result = change(&mut registration);
        let sealed = self.seal_json(REGISTRATION_LABEL, &registration)?;
        conn.execute(
            "INSERT INTO registrations (subject, data, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(subject) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            params![subject, sealed, now],
        )?;
        Ok(result)
    }

    /// Country calling codes of numbers seen registered: the default allow-list for sends.
    pub fn note_phone_country(&self, code: u16) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO phone_countries (code) VALUES (?1)",
            params![code],
        )?;
        Ok(())
    }

    pub fn phone_country_known(&self, code: u16) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM phone_countries WHERE code = ?1",
                params![code],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn prune_flows(&self, now: i64) -> Result<usize, StoreError> {
        let conn = self.conn();
        let sessions = conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
        Ok(sessions + conn.execute("DELETE FROM flows WHERE expires_at <= ?1", params![now])?)
    }

    pub fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let detail =
            serde_json::to_string(&record.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO audit (at, event, actor, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                record.at,
                record.event.name(),
                record.actor.package_name(),
                record.subject,
                detail
            ],
        )?;
        Ok(())
    }

    pub fn audit_entries(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at, event, actor, subject, detail FROM audit ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                event: r.get(1)?,
                actor: r.get(2)?,
                subject: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    #[cfg(test)]
    fn try_erase_audit(&self) -> Result<usize, StoreError> {
        Ok(self.conn().execute("DELETE FROM audit", [])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(
            &dir.path().join("t.db"),
            Arc::new(ServerKeys::new(&[3u8; 32]).expect("keys")),
        )
        .expect("open");
        (dir, store)
    }

    #[test]
    fn onboarding_tokens_are_single_use_and_expire() {
        let (_d, store) = store();
        let token = store.create_onboarding_token(100, 60).expect("token");
        assert!(token.starts_with(ONBOARDING_TOKEN_PREFIX));
        assert!(!store
            .consume_onboarding_token("not-a-token", 101)
            .expect("query"));
        assert!(store.consume_onboarding_token(&token, 101).expect("query"));
        assert!(
            !store.consume_onboarding_token(&token, 102).expect("query"),
            "second use"
        );
        let late = store.create_onboarding_token(100, 60).expect("token");
        assert!(
            !store.consume_onboarding_token(&late, 160).expect("query"),
            "expired"
        );
    }

    #[test]
    fn the_audit_log_is_append_only() {
        let (_d, store) = store();
        store
            .audit(&AuditRecord {
                at: 1,
                actor: crate::domain::audit::Actor::SelfService,
                subject: "jan".into(),
                event: crate::domain::audit::AuditEvent::RegisterSignIn,
            })
            .expect("append");
        assert!(store.try_erase_audit().is_err());
        assert_eq!(store.audit_entries(10).expect("read").len(), 1);
    }

    #[test]
    fn registrations_are_encrypted_at_rest() {
        let (dir, store) = store();
        store
            .update_registration("guid-1", 5, |r| {
                r.alt_mail = Some("marker-mail@example.test".into())
            })
            .expect("save");
        let bytes: Vec<u8> = ["t.db", "t.db-wal"]
            .iter()
            .flat_map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default())
            .collect();
        assert!(!bytes.windows(11).any(|w| w == b"marker-mail"));
        assert!(!bytes.windows(6).any(|w| w == b"guid-1"));
        let read = store.registration("guid-1").expect("read").expect("there");
        assert_eq!(read.alt_mail.as_deref(), Some("marker-mail@example.test"));
        assert_eq!(store.registration("guid-2").expect("read"), None);
    }

    #[test]
    fn flows_are_encrypted_at_rest_and_expire() {
        let (dir, store) = store();
        let flow = ResetFlow::new(
            "marker-user@corp.example.test".into(),
            sspr_protocol::Lang::En,
            vec![1],
            1,
            100,
            60,
        );
        store.insert_flow("h", &flow).expect("insert");
        let bytes: Vec<u8> = ["t.db", "t.db-wal"]
            .iter()
            .flat_map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default())
            .collect();
        assert!(
            !bytes.windows(11).any(|w| w == b"marker-user"),
            "the username is not stored in clear"
        );
        assert_eq!(
            store
                .update_flow("h", 120, |f| Ok(f.username.clone()))
                .expect("live"),
            "marker-user@corp.example.test"
        );
        assert!(store.update_flow("h", 160, |_| Ok(())).is_err(), "expired");
    }
}
