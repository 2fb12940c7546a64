//! The database under the store, one interface over two engines, so that each query is written
//! once: PostgreSQL through a pool of sqlx connections, SQLite through one connection on a
//! thread of its own.
//!
//! Why SQLite has a thread: it has one writer, so every statement waits for the one before it.
//! Behind a one-connection pool each of those turns went through the async runtime (a task
//! woken to take the connection, a hand-off to the driver's thread, a task woken with the
//! answer), and at a few thousand requests a second those wake-ups, not SQLite, were the
//! limit. Here statements queue for the thread, which runs them back to back; a task is woken
//! once, with its answer. A transaction has the thread to itself until it ends, as it had the
//! connection before.

use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Postgres, Row as _};
use tokio::sync::oneshot;

use super::StoreError;

/// Statements kept prepared per connection, on either database: more than the store has —
/// about 35, and the inserts of one to `ROWS_PER_WRITE` rows for each of four tables — so that
/// none in steady use is thrown out.
pub(super) const STATEMENTS_KEPT: usize = 35 + 4 * super::append::ROWS_PER_WRITE + 64;
/// How long SQLite waits for another process's write (`token create`, say) before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a transaction may hold the SQLite thread between its statements before it is
/// rolled back: what a request waiting for its turn would otherwise wait for without end.
const TRANSACTION_LIMIT: Duration = Duration::from_secs(10);
/// How often the write-ahead log is copied into the database file, off the writer's thread.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Frames (pages) the log may hold before a checkpoint makes the writer wait for it: only a
/// write load that never pauses gets there (about 64 MB).
const WAL_FRAMES_BEFORE_WAITING: i64 = 16_000;
/// The size the log file is cut back to once it has been copied.
const WAL_KEPT_BYTES: i64 = 16 << 20;

#[derive(Clone)]
pub(super) enum Db {
    Postgres(PgPool),
    Sqlite(Sqlite),
}

impl Db {
    /// Begins a transaction. Its holder must not use the store otherwise until it commits or
    /// drops it: on SQLite that statement would queue behind the transaction, which is rolled
    /// back after `TRANSACTION_LIMIT`.
    pub(super) async fn begin(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
            Db::Sqlite(sqlite) => sqlite.begin().await,
        }
    }

    pub(super) async fn close(&self) {
        match self {
            Db::Postgres(pool) => pool.close().await,
            Db::Sqlite(sqlite) => sqlite.close().await,
        }
    }
}

/// A value bound to a statement's `$n`.
#[derive(Debug)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(value.clone())
    }
}

impl From<Vec<u8>> for Arg {
    fn from(value: Vec<u8>) -> Self {
        Arg::Blob(value)
    }
}

/// A statement with its arguments, built as with sqlx: `query(sql).bind(a).bind(b)`.
pub(super) struct Query {
    sql: String,
    args: Vec<Arg>,
}

pub(super) fn query(sql: impl Into<String>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

/// Where a statement runs: on the database, or inside a transaction.
pub(super) enum On<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> Self {
        On::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        On::Tx(tx)
    }
}

impl Query {
    pub(super) fn bind(mut self, arg: impl Into<Arg>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Runs a statement that returns no rows; the rows it changed.
    pub(super) async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<u64, StoreError> {
        match on.into() {
            On::Db(Db::Postgres(pool)) => Ok(self.postgres().execute(pool).await?.rows_affected()),
            On::Tx(Tx::Postgres(tx)) => {
                Ok(self.postgres().execute(&mut **tx).await?.rows_affected())
            }
            On::Db(Db::Sqlite(sqlite)) => Ok(sqlite.run(self).await?.changed),
            On::Tx(Tx::Sqlite(tx)) => Ok(tx.run(self).await?.changed),
        }
    }

    pub(super) async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<Row>, StoreError> {
        match on.into() {
            On::Db(Db::Postgres(pool)) => Ok(rows(self.postgres().fetch_all(pool).await?)),
            On::Tx(Tx::Postgres(tx)) => Ok(rows(self.postgres().fetch_all(&mut **tx).await?)),
            On::Db(Db::Sqlite(sqlite)) => Ok(sqlite.run(self).await?.rows),
            On::Tx(Tx::Sqlite(tx)) => Ok(tx.run(self).await?.rows),
        }
    }

    pub(super) async fn fetch_optional<'a>(
        self,
        on: impl Into<On<'a>>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch_all(on).await?.into_iter().next())
    }

    pub(super) async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<Row, StoreError> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| StoreError::Sql(sqlx::Error::RowNotFound))
    }

    fn postgres(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        self.args
            .iter()
            .fold(sqlx::query(&self.sql), |query, arg| match arg {
                Arg::Int(value) => query.bind(*value),
                Arg::Text(value) => query.bind(value.as_str()),
                Arg::Blob(value) => query.bind(value.as_slice()),
            })
    }
}

fn rows(rows: Vec<PgRow>) -> Vec<Row> {
    rows.into_iter().map(Row::Postgres).collect()
}

/// A row of either engine; its columns are read by position and type.
pub(super) enum Row {
    Postgres(PgRow),
    Sqlite(Vec<rusqlite::types::Value>),
}

impl Row {
    pub(super) fn get<T: Column>(&self, i: usize) -> Result<T, StoreError> {
        match self {
            Row::Postgres(row) => Ok(row.try_get(i)?),
            Row::Sqlite(values) => values
                .get(i)
                .and_then(T::from_sqlite)
                .ok_or_else(|| StoreError::Corrupt(format!("column {i} of a row"))),
        }
    }
}

/// A type a column is read as.
pub(super) trait Column:
    Sized + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self>;
}

impl Column for i64 {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Integer(value) => Some(*value),
            _ => None,
        }
    }
}

impl Column for Option<i64> {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Null => Some(None),
            value => i64::from_sqlite(value).map(Some),
        }
    }
}

impl Column for String {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Text(value) => Some(value.clone()),
            _ => None,
        }
    }
}

impl Column for Vec<u8> {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Blob(value) => Some(value.clone()),
            _ => None,
        }
    }
}

pub(super) enum Tx {
    Postgres(sqlx::Transaction<'static, Postgres>),
    Sqlite(SqliteTx),
}

impl Tx {
    pub(super) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Postgres(tx) => Ok(tx.commit().await?),
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }
}

/// What a SQLite statement gave: its rows, and the rows it changed (none for a read).
struct Outcome {
    rows: Vec<Row>,
    changed: u64,
}

type Reply<T> = oneshot::Sender<Result<T, rusqlite::Error>>;

struct Statement {
    query: Query,
    reply: Reply<Outcome>,
}

enum Job {
    Statement(Statement),
    /// The thread begins a transaction, answers `began`, and then runs only the statements that
    /// arrive through `steps` until the commit (or, if the sender is dropped, a rollback).
    Transaction {
        began: Reply<()>,
        steps: mpsc::Receiver<TxStep>,
    },
    Close(oneshot::Sender<()>),
}

enum TxStep {
    Statement(Statement),
    Commit(Reply<()>),
}

/// The SQLite connection's thread, as seen from the async side.
#[derive(Clone)]
pub(super) struct Sqlite {
    jobs: mpsc::Sender<Job>,
}

impl Sqlite {
    /// Opens the file `url` names (`sqlite://path?mode=rwc`) on a thread of its own.
    pub(super) fn open(url: &str) -> Result<Self, StoreError> {
        let path = SqliteConnectOptions::from_str(url)?
            .get_filename()
            .to_owned();
        let conn = rusqlite::Connection::open(&path)?;
        // In WAL mode, NORMAL waits for the disk at checkpoints, not at every commit: a power
        // cut can lose the last moments' writes (flows, counters, audit lines), never the
        // file's consistency.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "journal_size_limit", WAL_KEPT_BYTES)?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
        // Checkpoints wait for the disk; in the writer's commit they held up every request
        // queued behind it (p99 13 ms instead of 6 in the API bench). They run beside it.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        let checkpoints = rusqlite::Connection::open(&path)?;
        checkpoints.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
        let (jobs, queue) = mpsc::channel();
        let (writer_alive, writer_gone) = mpsc::channel::<()>();
        let checkpointer = spawn("sspr-sqlite-checkpoint", move || {
            checkpoint(&checkpoints, &writer_gone);
        })?;
        spawn("sspr-sqlite", move || {
            let closed = serve(&conn, &queue);
            // Both connections closed before `close` returns: the last one to close copies
            // what is left of the log into the file and removes it.
            drop(conn);
            drop(writer_alive);
            let _ = checkpointer.join();
            if let Some(closed) = closed {
                let _ = closed.send(());
            }
        })?;
        Ok(Self { jobs })
    }

    async fn run(&self, query: Query) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Statement(Statement { query, reply }))
            .map_err(|_| StoreError::Closed)?;
        Ok(answer.await.map_err(|_| StoreError::Closed)??)
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        let (began, answer) = oneshot::channel();
        let (steps, queue) = mpsc::channel();
        self.jobs
            .send(Job::Transaction {
                began,
                steps: queue,
            })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)??;
        Ok(Tx::Sqlite(SqliteTx { steps }))
    }

    /// Waits for the statements queued before, then closes the connection (a clean WAL).
    async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

pub(super) struct SqliteTx {
    steps: mpsc::Sender<TxStep>,
}

impl SqliteTx {
    // The thread stops listening to a transaction only when it rolled it back (past
    // `TRANSACTION_LIMIT`) or the store closed.
    async fn run(&self, query: Query) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.steps
            .send(TxStep::Statement(Statement { query, reply }))
            .map_err(|_| StoreError::RolledBack)?;
        Ok(answer.await.map_err(|_| StoreError::RolledBack)??)
    }

    async fn commit(self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.steps
            .send(TxStep::Commit(reply))
            .map_err(|_| StoreError::RolledBack)?;
        Ok(answer.await.map_err(|_| StoreError::RolledBack)??)
    }
}

fn spawn(
    name: &str,
    run: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map_err(StoreError::Thread)
}

/// Copies the log into the database file every `CHECKPOINT_EVERY` without holding up the
/// writer (PASSIVE), until the writer's thread ends. Only a log grown past
/// `WAL_FRAMES_BEFORE_WAITING` is checkpointed whole, which the writer waits for.
fn checkpoint(conn: &rusqlite::Connection, writer_gone: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = writer_gone.recv_timeout(CHECKPOINT_EVERY) {
        let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(1)
        });
        match passive {
            Ok(frames) if frames > WAL_FRAMES_BEFORE_WAITING => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "database checkpoint failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "database checkpoint failed"),
        }
    }
}

/// The connection's thread: runs the jobs in the order they came, until the store closes.
/// Returns whom to tell once the connection is closed, when that was asked for.
fn serve(conn: &rusqlite::Connection, queue: &mpsc::Receiver<Job>) -> Option<oneshot::Sender<()>> {
    while let Ok(job) = queue.recv() {
        match job {
            Job::Statement(statement) => statement.run(conn),
            Job::Transaction { began, steps } => {
                let begin = conn.execute_batch("BEGIN IMMEDIATE");
                let ok = begin.is_ok();
                if began.send(begin).is_err() || !ok {
                    // Began, but whoever asked is gone: nothing to keep.
                    if ok {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    continue;
                }
                transaction(conn, &steps);
            }
            Job::Close(done) => return Some(done),
        }
    }
    None
}

/// Runs a transaction's statements until its commit; a transaction dropped before it committed
/// (an error, a cancelled request) is rolled back.
fn transaction(conn: &rusqlite::Connection, steps: &mpsc::Receiver<TxStep>) {
    loop {
        let step = match steps.recv_timeout(TRANSACTION_LIMIT) {
            Ok(step) => step,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::error!(
                    limit_secs = TRANSACTION_LIMIT.as_secs(),
                    "a database transaction was idle past its limit and is rolled back"
                );
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match step {
            TxStep::Statement(statement) => statement.run(conn),
            TxStep::Commit(reply) => {
                let commit = conn.execute_batch("COMMIT");
                if commit.is_err() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                let _ = reply.send(commit);
                return;
            }
        }
    }
    let _ = conn.execute_batch("ROLLBACK");
}

impl Statement {
    fn run(self, conn: &rusqlite::Connection) {
        // Whoever asked may have gone (a cancelled request); the statement ran all the same.
        let _ = self.reply.send(execute(conn, &self.query));
    }
}

fn execute(conn: &rusqlite::Connection, query: &Query) -> Result<Outcome, rusqlite::Error> {
    let mut statement = conn.prepare_cached(&query.sql)?;
    // A `$n` left unbound would be NULL without a word.
    if statement.parameter_count() != query.args.len() {
        return Err(rusqlite::Error::InvalidParameterCount(
            query.args.len(),
            statement.parameter_count(),
        ));
    }
    let readonly = statement.readonly();
    // Each parameter by its name, as PostgreSQL numbers them: `$1` may come after `$2`, or
    // twice (SQLite gives a name used again the index it had).
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index).unwrap_or_default();
        let arg = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| query.args.get(n.checked_sub(1)?))
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?;
        match arg {
            Arg::Int(value) => statement.raw_bind_parameter(index, value)?,
            Arg::Text(value) => statement.raw_bind_parameter(index, value)?,
            Arg::Blob(value) => statement.raw_bind_parameter(index, value)?,
        }
    }
    let columns = statement.column_count();
    let mut found = Vec::new();
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        found.push(Row::Sqlite(
            (0..columns)
                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                .collect::<Result<_, _>>()?,
        ));
    }
    Ok(Outcome {
        rows: found,
        // `changes` is the last write's: a read changed nothing.
        changed: if readonly { 0 } else { conn.changes() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_counts_only_writes_and_refuses_a_parameter_left_unbound() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::Sqlite(Sqlite::open(&url).expect("open"));
        query("CREATE TABLE t (a INTEGER)")
            .execute(&db)
            .await
            .expect("create");
        let inserted = query("INSERT INTO t (a) VALUES ($1), ($2)")
            .bind(1)
            .bind(2)
            .execute(&db)
            .await
            .expect("insert");
        assert_eq!(inserted, 2);
        // A read right after a write changed nothing, whatever the write did.
        let read = query("SELECT a FROM t").execute(&db).await.expect("read");
        assert_eq!(read, 0);
        let unbound = query("SELECT a FROM t WHERE a = $1 OR a = $2")
            .bind(1)
            .fetch_all(&db)
            .await;
        assert!(
            matches!(unbound, Err(StoreError::Sqlite(_))),
            "a $2 without a value is refused"
        );
        // `$2` before `$1`, and `$1` twice: bound by name.
        let rows = query("SELECT $2, $1, $1")
            .bind(1)
            .bind("two")
            .fetch_one(&db)
            .await
            .expect("row");
        assert_eq!(rows.get::<String>(0).expect("text"), "two");
        assert_eq!(rows.get::<i64>(2).expect("int"), 1);
        db.close().await;
    }
}
