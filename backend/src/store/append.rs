//! Inserts taken together: rows for one table that arrive while a write is under way wait for
//! the next and go in with it, as one statement. Under load — a flood of wrong guesses (each
//! audited), many flows beginning — that is one round trip to the database for many requests
//! instead of one each; a request still answers only once its row is stored.
//!
//! Only for rows that are new and independent (audit lines, new flows and sessions): rows of
//! one statement share its fate.

use tokio::sync::{mpsc, oneshot};

use super::db::{query, Arg, Db};
use super::StoreError;

/// Rows written in one statement, at most. Each number of rows is a statement text of its own,
/// kept prepared (`db::STATEMENTS_KEPT`).
pub(super) const ROWS_PER_WRITE: usize = 64;

struct Pending {
    row: Vec<Arg>,
    written: oneshot::Sender<Result<(), StoreError>>,
}

/// The rows of one table, in its `columns`.
#[derive(Clone)]
pub(super) struct Appender {
    rows: mpsc::UnboundedSender<Pending>,
}

impl Appender {
    /// Starts the task that writes the rows; it ends when the last appender is dropped.
    pub(super) fn start(db: Db, table: &'static str, columns: &'static [&'static str]) -> Self {
        let (rows, queue) = mpsc::unbounded_channel();
        tokio::spawn(write(
            db,
            Table {
                name: table,
                columns,
            },
            queue,
        ));
        Self { rows }
    }

    /// Stores `row` (a value per column, in order), with whatever other rows are waiting.
    pub(super) async fn append(&self, row: Vec<Arg>) -> Result<(), StoreError> {
        let (written, done) = oneshot::channel();
        self.rows
            .send(Pending { row, written })
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }
}

struct Table {
    name: &'static str,
    columns: &'static [&'static str],
}

async fn write(db: Db, table: Table, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut waiting = Vec::with_capacity(ROWS_PER_WRITE);
    while queue.recv_many(&mut waiting, ROWS_PER_WRITE).await > 0 {
        let result = insert(&db, &table, &mut waiting).await.map(|_| ());
        for pending in waiting.drain(..) {
            // A request that went away meanwhile: its row is written all the same.
            let _ = pending.written.send(shared(&result));
        }
    }
}

/// The outcome of a statement, for each row it held.
fn shared(result: &Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::Closed) => Err(StoreError::Closed),
        Err(e) => Err(StoreError::Unwritten(e.to_string())),
    }
}

async fn insert(db: &Db, table: &Table, batch: &mut [Pending]) -> Result<u64, StoreError> {
    let width = table.columns.len();
    let rows = (0..batch.len())
        .map(|row| {
            let params = (1..=width)
                .map(|column| format!("${}", row * width + column))
                .collect::<Vec<_>>();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        table.columns.join(", "),
        rows.join(", ")
    );
    batch
        .iter_mut()
        .flat_map(|pending| pending.row.drain(..))
        .fold(query(sql), |query, arg| query.bind(arg))
        .execute(db)
        .await
}
