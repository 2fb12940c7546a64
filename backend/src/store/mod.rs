//! State behind one async interface: agents, onboarding tokens, flows, registration sessions,
//! registrations, the audit log and the rate-limit counters. SQLite (a file, no set-up) by
//! default; PostgreSQL (`database = "postgres://…"`) for several replicas, which then share
//! everything a decision is made from.
//!
//! Encryption at rest sits here, above the database: flows, sessions, registrations and package
//! keys are sealed with the server key before they are written, so either backend holds only
//! ciphertext. Tokens and rate-limit keys are kept as keyed hashes; the audit log is
//! append-only (the database refuses updates and deletes).
//!
//! Concurrency: no update is lost, and two requests for one flow, even on two replicas, take
//! turns. A flow or session is written only if it is still what was read (an optimistic
//! update, two round trips), and otherwise changed again; a request that keeps losing, and every
//! other read-modify-write, runs in one transaction that holds the row — on PostgreSQL with
//! `SELECT … FOR UPDATE` (and an advisory lock per rate-limit bucket), on SQLite by its single
//! writer connection.

mod append;
mod db;
mod limits;

use std::sync::Arc;
use std::time::Duration;

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sspr_protocol::package::PackageKey;

pub use limits::{LimitError, Limiter};

use db::{query, Db, Row};

use crate::crypto::{self, ServerKeys};
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::flow::ResetFlow;
use crate::domain::registration::{RegisterSession, Registration};
use crate::domain::staff::StaffSession;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A row written with others (`append`) was not stored, for this reason.
    #[error("the database did not store the row: {0}")]
    Unwritten(String),
    /// A transaction held past its limit was rolled back (`db::Db::begin`).
    #[error("a database transaction was held too long and rolled back")]
    RolledBack,
    #[error("cannot start the database's thread: {0}")]
    Thread(std::io::Error),
    /// The store was closed while the process went on (it is shutting down).
    #[error("the database connection has closed")]
    Closed,
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("`database` must be a file path, sqlite://… or postgres://…, not {0:?}")]
    Url(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// No such flow or session, or it has expired.
    #[error("unknown or expired flow")]
    UnknownFlow,
}

/// Which database a store speaks to; the SQL differs only where the two must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

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

/// The short-lived, encrypted states: reset and unlock flows, and registration sessions.
#[derive(Clone, Copy)]
enum Live {
    Flow,
    Session,
    StaffSession,
}

impl Live {
    fn table(self) -> &'static str {
        match self {
            Live::Flow => "flows",
            Live::Session => "sessions",
            Live::StaffSession => "staff_sessions",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Live::Flow => FLOW_LABEL,
            Live::Session => SESSION_LABEL,
            Live::StaffSession => STAFF_SESSION_LABEL,
        }
    }
}

#[derive(Clone)]
pub struct Store {
    db: Db,
    /// New rows, written together: the audit log's, and each live table's.
    audit: append::Appender,
    flows: append::Appender,
    sessions: append::Appender,
    staff_sessions: append::Appender,
    backend: Backend,
    keys: Arc<ServerKeys>,
}

pub const ONBOARDING_TOKEN_PREFIX: &str = "sspr-onboard-";
const FLOW_LABEL: &str = "flow";
const PACKAGE_KEY_LABEL: &str = "package-key";
const REGISTRATION_LABEL: &str = "registration";
const SESSION_LABEL: &str = "register-session";
const STAFF_SESSION_LABEL: &str = "staff-session";
/// Connections a replica keeps to PostgreSQL. SQLite has one writer anyway: one connection,
/// on a thread of its own (`db`).
const POSTGRES_CONNECTIONS: u32 = 16;
/// A request that cannot get a connection in this time fails rather than hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Optimistic writes of a flow or session before a request takes the row's lock instead.
const OPTIMISTIC_TRIES: usize = 2;
/// A PostgreSQL connection idle longer than this is pinged before it is used again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// `database` as configured — a file path, `sqlite://…` or `postgres://…` — as a URL and the
/// backend it names.
/// A SQLite database in memory is refused: the migrations run on a connection of their own,
/// which would not share it with the store's.
pub fn database_url(database: &str) -> Result<(String, Backend), StoreError> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        Ok((database.to_owned(), Backend::Postgres))
    } else if database.is_empty()
        || (database.contains("://") && !database.starts_with("sqlite:"))
        || database.contains(":memory:")
        || database.contains("mode=memory")
    {
        Err(StoreError::Url(database.to_owned()))
    } else if database.starts_with("sqlite:") {
        Ok((database.to_owned(), Backend::Sqlite))
    } else {
        // A plain path: the file is created on first use.
        Ok((format!("sqlite://{database}?mode=rwc"), Backend::Sqlite))
    }
}

impl Store {
    /// Connects, and brings the schema up to date with the versioned migrations.
    pub async fn open(database: &str, keys: Arc<ServerKeys>) -> Result<Self, StoreError> {
        let (url, backend) = database_url(database)?;
        let db = match backend {
            Backend::Postgres => {
                let pool = PoolOptions::new()
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // No reaping of idle or old connections: sqlx 0.8's maintenance task was
                    // seen spinning (a CLI that never exited, its worker at 100 %). A broken
                    // connection is found when it is taken (below) and replaced then.
                    .idle_timeout(None)
                    .max_lifetime(None)
                    // A connection in steady use has just proven itself; one that sat idle may
                    // have been cut (a restarted database, a firewall): only that one is pinged
                    // first, instead of a round trip before every statement.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > PING_AFTER_IDLE {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .max_connections(POSTGRES_CONNECTIONS)
                    .connect_with(
                        PgConnectOptions::from_str(&url)?
                            .statement_cache_capacity(db::STATEMENTS_KEPT),
                    )
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Db::Postgres(pool)
            }
            Backend::Sqlite => {
                // The migrations run on a connection of sqlx's (its migrator keeps the record
                // of what ran), which is closed before the store's own opens.
                let migrating = sqlx::SqlitePool::connect(&url).await?;
                // Kept in the file: readers (a second process, `token create`) do not wait for
                // the writer.
                sqlx::raw_sql("PRAGMA journal_mode = WAL")
                    .execute(&migrating)
                    .await?;
                SQLITE_MIGRATIONS.run(&migrating).await?;
                migrating.close().await;
                Db::Sqlite(db::Sqlite::open(&url)?)
            }
        };
        let audit = append::Appender::start(
            db.clone(),
            "audit",
            &["at", "event", "actor", "actor_id", "subject", "detail"],
        );
        let live = |live: Live| {
            append::Appender::start(
                db.clone(),
                live.table(),
                &["id_hash", "state", "expires_at"],
            )
        };
        Ok(Self {
            flows: live(Live::Flow),
            sessions: live(Live::Session),
            staff_sessions: live(Live::StaffSession),
            db,
            audit,
            backend,
            keys,
        })
    }

    /// Closes the connections: before a process exits, so nothing is left to wind down.
    pub async fn close(&self) {
        self.db.close().await;
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        query("SELECT 1").execute(&self.db).await?;
        Ok(())
    }

    /// Appended to a SELECT that is followed by an UPDATE of the same row in one transaction.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            // The one connection is the lock.
            Backend::Sqlite => "",
        }
    }

    /// A new one-time onboarding token; only its hash is kept.
    pub async fn create_onboarding_token(
        &self,
        now: i64,
        ttl_secs: i64,
    ) -> Result<String, StoreError> {
        // The prefix makes tokens recognisable (and greppable in leaked logs), and keeps a token
        // from starting with "-", which a command line would take for an option.
        let token = format!("{ONBOARDING_TOKEN_PREFIX}{}", crypto::random_token()?);
        query("INSERT INTO onboarding_tokens (hash, created_at, expires_at) VALUES ($1, $2, $3)")
            .bind(crypto::token_hash(&token))
            .bind(now)
            .bind(now + ttl_secs)
            .execute(&self.db)
            .await?;
        Ok(token)
    }

    /// Uses the token up; true only for the first use of a live token.
    pub async fn consume_onboarding_token(
        &self,
        token: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = query(
            "UPDATE onboarding_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(now)
        .bind(crypto::token_hash(token))
        .bind(now)
        .execute(&self.db)
        .await?;
        Ok(done == 1)
    }

    pub async fn add_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
        let sealed = self.seal_json(PACKAGE_KEY_LABEL, &agent.package_key)?;
        query(
            "INSERT INTO agents (id, name, version, secret_hash, package_key, rsa_key_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&agent.id)
        .bind(&agent.name)
        .bind(&agent.version)
        .bind(&agent.secret_hash)
        .bind(sealed)
        .bind(&agent.rsa_key_id)
        .bind(agent.created_at)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    pub async fn agent(&self, id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let row = query(
            "SELECT id, name, version, secret_hash, package_key, rsa_key_id, created_at, revoked_at FROM agents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: Vec<u8> = row.get(4)?;
        Ok(Some(AgentRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            version: row.get(2)?,
            secret_hash: row.get(3)?,
            package_key: self.open_json(PACKAGE_KEY_LABEL, &sealed)?,
            rsa_key_id: row.get(5)?,
            created_at: row.get(6)?,
            revoked: row.get::<Option<i64>>(7)?.is_some(),
        }))
    }

    /// The agent rolled its keys over: packages are sealed under `package_key` from now on.
    pub async fn roll_agent_keys(
        &self,
        id: &str,
        package_key: &PackageKey,
        rsa_key_id: &str,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_json(PACKAGE_KEY_LABEL, package_key)?;
        query("UPDATE agents SET package_key = $1, rsa_key_id = $2 WHERE id = $3")
            .bind(sealed)
            .bind(rsa_key_id)
            .bind(id)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    fn seal_json<T: Serialize>(&self, label: &str, value: &T) -> Result<Vec<u8>, StoreError> {
        Ok(self.keys.seal(label, &json(value)?)?)
    }

    fn open_json<T: DeserializeOwned>(&self, label: &str, sealed: &[u8]) -> Result<T, StoreError> {
        from_json(&self.keys.open(label, sealed)?)
    }

    pub async fn insert_flow(&self, id_hash: &str, flow: &ResetFlow) -> Result<(), StoreError> {
        self.insert_live(Live::Flow, id_hash, flow, flow.expires_at)
            .await
    }

    /// Loads a live flow, lets `change` act on it and saves it, so that two parallel requests
    /// for the same flow take turns, on any replica (`update_live`: `change` may run again for
    /// a request that lost the race). The flow is saved whatever `change` returns: a wrong code
    /// must cost its attempt.
    pub async fn update_flow<T: Send>(
        &self,
        id_hash: &str,
        now: i64,
        change: impl FnMut(&mut ResetFlow) -> T + Send,
    ) -> Result<T, StoreError> {
        self.update_live(Live::Flow, id_hash, now, change).await
    }

    /// A live flow as it is, for a request that only reads it (no re-sealing, no write).
    pub async fn flow(&self, id_hash: &str, now: i64) -> Result<ResetFlow, StoreError> {
        self.read_live(Live::Flow, id_hash, now).await
    }

    /// A live registration session as it is, for a request that only reads it.
    pub async fn session(&self, id_hash: &str, now: i64) -> Result<RegisterSession, StoreError> {
        self.read_live(Live::Session, id_hash, now).await
    }

    pub async fn insert_session(
        &self,
        id_hash: &str,
        session: &RegisterSession,
    ) -> Result<(), StoreError> {
        self.insert_live(Live::Session, id_hash, session, session.expires_at)
            .await
    }

    /// As `update_flow`, for a registration session.
    pub async fn update_session<T: Send>(
        &self,
        id_hash: &str,
        now: i64,
        change: impl FnMut(&mut RegisterSession) -> T + Send,
    ) -> Result<T, StoreError> {
        self.update_live(Live::Session, id_hash, now, change).await
    }

    pub async fn insert_staff_session(
        &self,
        id_hash: &str,
        session: &StaffSession,
    ) -> Result<(), StoreError> {
        self.insert_live(Live::StaffSession, id_hash, session, session.expires_at)
            .await
    }

    /// As `update_flow`, for a staff session.
    pub async fn update_staff_session<T: Send>(
        &self,
        id_hash: &str,
        now: i64,
        change: impl FnMut(&mut StaffSession) -> T + Send,
    ) -> Result<T, StoreError> {
        self.update_live(Live::StaffSession, id_hash, now, change)
            .await
    }

    /// Ends a staff session at once (sign-out, or its id replaced at sign-in).
    pub async fn end_staff_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.end_live(Live::StaffSession, id_hash).await
    }

    /// Ends a registration session at once (the user signed out).
    pub async fn end_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.end_live(Live::Session, id_hash).await
    }

    async fn end_live(&self, live: Live, id_hash: &str) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE id_hash = $1", live.table());
        query(&sql).bind(id_hash).execute(&self.db).await?;
        Ok(())
    }

    async fn insert_live<S: Serialize>(
        &self,
        live: Live,
        id_hash: &str,
        state: &S,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_json(live.label(), state)?;
        let table = match live {
            Live::Flow => &self.flows,
            Live::Session => &self.sessions,
            Live::StaffSession => &self.staff_sessions,
        };
        table
            .append(vec![id_hash.into(), sealed.into(), expires_at.into()])
            .await
    }

    fn select_live(&self, live: Live, lock: bool) -> String {
        format!(
            "SELECT state FROM {} WHERE id_hash = $1 AND expires_at > $2{}",
            live.table(),
            if lock { self.for_update() } else { "" }
        )
    }

    /// The sealed state of a live flow or session; unknown or expired is `UnknownFlow`.
    fn sealed_live(row: Option<Row>) -> Result<Vec<u8>, StoreError> {
        row.ok_or(StoreError::UnknownFlow)?.get(0)
    }

    async fn read_live<S: DeserializeOwned>(
        &self,
        live: Live,
        id_hash: &str,
        now: i64,
    ) -> Result<S, StoreError> {
        let sql = self.select_live(live, false);
        let row = query(&sql)
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.db)
            .await?;
        self.open_json(live.label(), &Self::sealed_live(row)?)
    }

    /// Optimistically first: the state is read without a lock, changed, and written back only
    /// if the row still holds what was read (every seal has a fresh nonce, so any write in
    /// between shows) — two round trips instead of a transaction's four. A request that lost
    /// the race changes the state afresh; after `OPTIMISTIC_TRIES` it takes the row's lock and
    /// waits its turn, so progress never depends on luck.
    async fn update_live<S: Serialize + DeserializeOwned + Send, T: Send>(
        &self,
        live: Live,
        id_hash: &str,
        now: i64,
        mut change: impl FnMut(&mut S) -> T + Send,
    ) -> Result<T, StoreError> {
        let select = self.select_live(live, false);
        let update = format!(
            "UPDATE {} SET state = $1 WHERE id_hash = $2 AND state = $3",
            live.table()
        );
        for _ in 0..OPTIMISTIC_TRIES {
            let row = query(&select)
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&self.db)
                .await?;
            let sealed = Self::sealed_live(row)?;
            let (result, resealed) = self.change_sealed(live, &sealed, &mut change)?;
            let Some(resealed) = resealed else {
                // Nothing changed: as if written the moment it was read.
                return Ok(result);
            };
            let written = query(&update)
                .bind(resealed)
                .bind(id_hash)
                .bind(sealed)
                .execute(&self.db)
                .await?;
            if written == 1 {
                return Ok(result);
            }
        }
        self.update_live_locked(live, id_hash, now, change).await
    }

    /// Opens a sealed state, lets `change` act on it and seals it again — or gives `None` when
    /// the change left it as it was (a wrong proof of work, say), which then costs no write.
    fn change_sealed<S: Serialize + DeserializeOwned, T>(
        &self,
        live: Live,
        sealed: &[u8],
        change: &mut impl FnMut(&mut S) -> T,
    ) -> Result<(T, Option<Vec<u8>>), StoreError> {
        let plain = self.keys.open(live.label(), sealed)?;
        let mut state: S = from_json(&plain)?;
        let result = change(&mut state);
        let changed = json(&state)?;
        if changed.as_slice() == plain.as_slice() {
            return Ok((result, None));
        }
        Ok((result, Some(self.keys.seal(live.label(), &changed)?)))
    }

    /// The read, change and write in one transaction that holds the row.
    async fn update_live_locked<S: Serialize + DeserializeOwned + Send, T: Send>(
        &self,
        live: Live,
        id_hash: &str,
        now: i64,
        mut change: impl FnMut(&mut S) -> T + Send,
    ) -> Result<T, StoreError> {
        let mut tx = self.db.begin().await?;
        let sql = self.select_live(live, true);
        let row = query(&sql)
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&mut tx)
            .await?;
        let (result, resealed) = self.change_sealed(live, &Self::sealed_live(row)?, &mut change)?;
        if let Some(resealed) = resealed {
            let sql = format!("UPDATE {} SET state = $1 WHERE id_hash = $2", live.table());
            query(&sql)
                .bind(resealed)
                .bind(id_hash)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(result)
    }

    /// The registration's row key: a MAC of the objectGUID, so rows do not name accounts.
    fn registration_subject(&self, anchor: &str) -> Result<String, StoreError> {
        Ok(self.keys.mac(&[b"registration", anchor.as_bytes()])?)
    }

    pub async fn registration(&self, anchor: &str) -> Result<Option<Registration>, StoreError> {
        let row = query("SELECT data FROM registrations WHERE subject = $1")
            .bind(self.registration_subject(anchor)?)
            .fetch_optional(&self.db)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: Vec<u8> = row.get(0)?;
        Ok(Some(self.open_json(REGISTRATION_LABEL, &sealed)?))
    }

    /// Loads (or starts) a registration, lets `change` act on it and saves it in one
    /// transaction that holds the row: two parallel uses of one authenticator code cannot both
    /// pass. A registration that does not exist yet is created empty first, so there is a row
    /// to hold.
    pub async fn update_registration<T: Send>(
        &self,
        anchor: &str,
        now: i64,
        change: impl FnOnce(&mut Registration) -> T + Send,
    ) -> Result<T, StoreError> {
        let subject = self.registration_subject(anchor)?;
        let empty = self.seal_json(REGISTRATION_LABEL, &Registration::default())?;
        let mut tx = self.db.begin().await?;
        query(
            "INSERT INTO registrations (subject, data, updated_at) VALUES ($1, $2, $3) ON CONFLICT (subject) DO NOTHING",
        )
        .bind(&subject)
        .bind(empty)
        .bind(now)
        .execute(&mut tx)
        .await?;
        let sql = format!(
            "SELECT data FROM registrations WHERE subject = $1{}",
            self.for_update()
        );
        let sealed: Vec<u8> = query(&sql)
            .bind(&subject)
            .fetch_one(&mut tx)
            .await?
            .get(0)?;
        let mut registration: Registration = self.open_json(REGISTRATION_LABEL, &sealed)?;
        let result = change(&mut registration);
        let sealed = self.seal_json(REGISTRATION_LABEL, &registration)?;
        query("UPDATE registrations SET data = $1, updated_at = $2 WHERE subject = $3")
            .bind(sealed)
            .bind(now)
            .bind(&subject)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(result)
    }

    /// Country calling codes of numbers seen registered: the default allow-list for sends.
    pub async fn note_phone_country(&self, code: u16) -> Result<(), StoreError> {
        query("INSERT INTO phone_countries (code) VALUES ($1) ON CONFLICT (code) DO NOTHING")
            .bind(i64::from(code))
            .execute(&self.db)
            .await?;
        Ok(())
    }

    pub async fn phone_country_known(&self, code: u16) -> Result<bool, StoreError> {
        Ok(query("SELECT 1 FROM phone_countries WHERE code = $1")
            .bind(i64::from(code))
            .fetch_optional(&self.db)
            .await?
            .is_some())
    }

    /// Drops expired flows and sessions, and rate-limit hits older than `keep_hits_secs`.
    pub async fn prune(&self, now: i64, keep_hits_secs: i64) -> Result<u64, StoreError> {
        let mut gone = 0;
        for sql in [
            "DELETE FROM sessions WHERE expires_at <= $1",
            "DELETE FROM staff_sessions WHERE expires_at <= $1",
            "DELETE FROM flows WHERE expires_at <= $1",
        ] {
            gone += query(sql).bind(now).execute(&self.db).await?;
        }
        query("DELETE FROM limit_hits WHERE at <= $1")
            .bind(now - keep_hits_secs)
            .execute(&self.db)
            .await?;
        Ok(gone)
    }

    /// Appends to the audit log; done when the line is stored (with others that came at
    /// the same time: `append`).
    pub async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let detail =
            serde_json::to_string(&record.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.audit
            .append(vec![
                record.at.into(),
                record.event.name().into(),
                record.actor.kind().into(),
                record.actor.id().into(),
                (&record.subject).into(),
                detail.into(),
            ])
            .await
    }

    /// The newest `limit` entries, newest first.
    pub async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = query(
            "SELECT at, actor, actor_id, subject, detail FROM audit ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await?;
        Self::audit_records(&rows)
    }

    /// The newest `limit` entries about an account, by either name it is recorded under (its
    /// logon name, or the canonical user ID a flow used), newest first.
    pub async fn audit_about(
        &self,
        names: [&str; 2],
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = query(
            "SELECT at, actor, actor_id, subject, detail FROM audit \
             WHERE subject = $1 OR subject = $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(names[0])
        .bind(names[1])
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await?;
        Self::audit_records(&rows)
    }

    fn audit_records(rows: &[Row]) -> Result<Vec<AuditRecord>, StoreError> {
        rows.iter()
            .map(|row| {
                let kind: String = row.get(1)?;
                let id: String = row.get(2)?;
                let detail: String = row.get(4)?;
                Ok(AuditRecord {
                    at: row.get(0)?,
                    actor: actor_of(&kind, id)?,
                    subject: row.get(3)?,
                    event: serde_json::from_str::<AuditEvent>(&detail)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

fn actor_of(kind: &str, id: String) -> Result<Actor, StoreError> {
    Ok(match kind {
        "self" => Actor::SelfService,
        "system" => Actor::System,
        "helpdesk" => Actor::Helpdesk(id),
        "admin" => Actor::Admin(id),
        "agent" => Actor::Agent(id),
        other => return Err(StoreError::Corrupt(format!("audit actor {other:?}"))),
    })
}

/// A state as the JSON that is sealed, wiped when dropped.
fn json<T: Serialize>(value: &T) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    serde_json::to_vec(value)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(plain: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(plain).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use sspr_protocol::i18n::Lang;

    use super::*;

    const STORE_FILE: &str = "store.db";

    /// A store in a SQLite file of a directory of its own (gone when the directory is dropped).
    async fn open_in_temp_dir() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(STORE_FILE);
        let keys = Arc::new(ServerKeys::new(&[7u8; 32]).expect("keys"));
        let store = Store::open(path.to_str().expect("path"), keys)
            .await
            .expect("store");
        (dir, store)
    }

    #[test]
    fn a_database_in_memory_is_refused() {
        assert!(matches!(
            database_url("sqlite::memory:"),
            Err(StoreError::Url(_))
        ));
    }

    /// Fifty parallel changes of one flow: the optimistic writes that lose the race change the
    /// flow afresh or wait for its lock, and not one change is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_changes_of_one_flow_are_all_kept() {
        let (_dir, store) = open_in_temp_dir().await;
        let now = 1_000;
        let flow = ResetFlow::new("j".into(), Lang::default(), Vec::new(), 0, now, 600);
        store.insert_flow("flow", &flow).await.expect("insert");
        let changes = (0..50).map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_flow("flow", now, |flow| flow.username.push('+'))
                    .await
            })
        });
        for change in futures_util::future::join_all(changes).await {
            change.expect("task").expect("update");
        }
        let flow = store.flow("flow", now).await.expect("flow");
        assert_eq!(flow.username, format!("j{}", "+".repeat(50)));
        store.close().await;
    }

    /// A change that leaves the flow as it was (a wrong proof of work) is not written: the row
    /// keeps the very bytes it had (a write would seal them afresh, with a new nonce). One
    /// that changes something is written, also when it comes through the row's lock.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_that_changes_nothing_is_not_written() {
        let (_dir, store) = open_in_temp_dir().await;
        let now = 1_000;
        let difficulty = sspr_protocol::captcha::MAX_DIFFICULTY;
        let flow = ResetFlow::new(
            "j".into(),
            Lang::default(),
            vec![7; 16],
            difficulty,
            now,
            600,
        );
        store.insert_flow("flow", &flow).await.expect("insert");
        let stored = || async {
            query("SELECT state FROM flows WHERE id_hash = $1")
                .bind("flow")
                .fetch_one(&store.db)
                .await
                .expect("row")
                .get::<Vec<u8>>(0)
                .expect("state")
        };
        let before = stored().await;
        let wrong = sspr_protocol::captcha::PowSolution { nonce: 0 };
        let kept = store
            .update_flow("flow", now, |flow| flow.pass_captcha(wrong).is_err())
            .await
            .expect("update");
        assert!(kept, "the proof of work was refused");
        assert_eq!(stored().await, before, "nothing changed, nothing written");
        store
            .update_live_locked(Live::Flow, "flow", now, |flow: &mut ResetFlow| {
                let _ = flow.pass_captcha(wrong);
            })
            .await
            .expect("locked update");
        assert_eq!(stored().await, before, "nor through the lock");
        store
            .update_flow("flow", now, |flow| flow.username.push('+'))
            .await
            .expect("update");
        assert_ne!(stored().await, before, "a change is written");
        assert_eq!(store.flow("flow", now).await.expect("flow").username, "j+");
        store.close().await;
    }

    /// The writer does not copy its log into the database file (that waits for the disk); the
    /// checkpoints beside it do, within a few seconds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_reaches_the_database_file_without_the_writer() {
        let (dir, store) = open_in_temp_dir().await;
        let path = dir.path().join(STORE_FILE);
        let size = || std::fs::metadata(&path).expect("file").len();
        let before = size();
        let flow = ResetFlow::new("j".into(), Lang::default(), Vec::new(), 0, 1_000, 600);
        for i in 0..500 {
            store
                .insert_flow(&format!("flow-{i}"), &flow)
                .await
                .expect("insert");
        }
        let mut waited = Duration::ZERO;
        while size() < before + 64 * 1024 && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        }
        assert!(
            size() >= before + 64 * 1024,
            "the database file is still {} bytes ({before} before 500 flows)",
            size()
        );
        store.close().await;
    }

    /// Closing waits for both connections: the log is in the file and gone, so a process that
    /// exits right after (a CLI command) leaves one complete database file behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_store_leaves_one_complete_file() {
        let (dir, store) = open_in_temp_dir().await;
        let flow = ResetFlow::new("j".into(), Lang::default(), Vec::new(), 0, 1_000, 600);
        store.insert_flow("flow", &flow).await.expect("insert");
        store.close().await;
        let wal = dir.path().join(format!("{STORE_FILE}-wal"));
        assert!(!wal.exists(), "{} is left behind", wal.display());
        assert!(matches!(
            store.flow("flow", 1_000).await,
            Err(StoreError::Closed)
        ));
        let path = dir.path().join(STORE_FILE);
        let keys = Arc::new(ServerKeys::new(&[7u8; 32]).expect("keys"));
        let again = Store::open(path.to_str().expect("path"), keys)
            .await
            .expect("store");
        assert_eq!(again.flow("flow", 1_000).await.expect("flow").username, "j");
        again.close().await;
    }
}
