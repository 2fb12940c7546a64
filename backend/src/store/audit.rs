//! The audit log's writes, taken together: lines that arrive while one is being written wait
//! for the next write and go in with it, as one statement. Under a flood of wrong guesses (each
//! audited) that is one round trip to the database for many requests instead of one each; a
//! request still answers only once its line is stored.

use tokio::sync::{mpsc, oneshot};

use super::db::{query, Db};
use super::StoreError;

/// Lines written in one statement, at most.
const LINES_PER_WRITE: usize = 64;
const COLUMNS: usize = 6;

/// An audit line as its table holds it.
pub(super) struct Line {
    pub at: i64,
    pub event: &'static str,
    pub actor: &'static str,
    pub actor_id: String,
    pub subject: String,
    pub detail: String,
}

struct Pending {
    line: Line,
    written: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Clone)]
pub(super) struct AuditWriter {
    lines: mpsc::UnboundedSender<Pending>,
}

impl AuditWriter {
    /// Starts the task that writes the lines; it ends when the last writer is dropped.
    pub(super) fn start(db: Db) -> Self {
        let (lines, queue) = mpsc::unbounded_channel();
        tokio::spawn(write(db, queue));
        Self { lines }
    }

    /// Stores `line`, with whatever other lines are waiting.
    pub(super) async fn append(&self, line: Line) -> Result<(), StoreError> {
        let (written, done) = oneshot::channel();
        self.lines
            .send(Pending { line, written })
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }
}

async fn write(db: Db, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut waiting = Vec::with_capacity(LINES_PER_WRITE);
    while queue.recv_many(&mut waiting, LINES_PER_WRITE).await > 0 {
        // In statements of 64, 32, …, 1 lines: seven statement texts to keep prepared, not one
        // per number of lines.
        let mut rest = waiting.as_slice();
        let mut results = Vec::with_capacity(waiting.len());
        while !rest.is_empty() {
            let lines = 1 << rest.len().ilog2();
            let (batch, after) = rest.split_at(lines);
            let result = insert(&db, batch).await.map(|_| ());
            results.extend(std::iter::repeat_with(|| shared(&result)).take(lines));
            rest = after;
        }
        for (pending, result) in waiting.drain(..).zip(results) {
            // A request that went away meanwhile: its line is written all the same.
            let _ = pending.written.send(result);
        }
    }
}

/// The outcome of a statement, for each line it held.
fn shared(result: &Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::Closed) => Err(StoreError::Closed),
        Err(e) => Err(StoreError::AuditNotWritten(e.to_string())),
    }
}

async fn insert(db: &Db, batch: &[Pending]) -> Result<u64, StoreError> {
    let rows = (0..batch.len())
        .map(|row| {
            let params = (1..=COLUMNS)
                .map(|column| format!("${}", row * COLUMNS + column))
                .collect::<Vec<_>>();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>();
    let sql = format!(
        "INSERT INTO audit (at, event, actor, actor_id, subject, detail) VALUES {}",
        rows.join(", ")
    );
    batch
        .iter()
        .fold(query(sql), |query, Pending { line, .. }| {
            query
                .bind(line.at)
                .bind(line.event)
                .bind(line.actor)
                .bind(&line.actor_id)
                .bind(&line.subject)
                .bind(&line.detail)
        })
        .execute(db)
        .await
}
