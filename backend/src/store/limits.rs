//! The rate-limit counters, in the store so that every replica counts against the same
//! numbers: a sliding window of hits per (limit, key). Keys (addresses, destinations, account
//! names) are kept only as keyed hashes.

use std::sync::Arc;

use super::db::query;
use super::{Backend, Store, StoreError};
use crate::config::LimitsConfig;
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::limits::{retry_after, Limited, Rule};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("limit reached; retry in {0} s")]
    Reached(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The limits of the configuration, counted in the store.
#[derive(Clone)]
pub struct Limiter {
    config: LimitsConfig,
    store: Store,
    metrics: Arc<Metrics>,
}

impl Limiter {
    pub fn new(config: LimitsConfig, store: Store, metrics: Arc<Metrics>) -> Self {
        Self {
            config,
            store,
            metrics,
        }
    }

    /// Counts a refusal (for `/metrics`), logs it and audits it: a flood shows in the log and
    /// in the audit, with what it counted (destinations masked).
    async fn refused(
        &self,
        action: Limited,
        key: &str,
        retry_after_secs: u32,
        now: i64,
    ) -> LimitError {
        let subject = action.shown_key(key);
        self.metrics.refused(action.name());
        tracing::warn!(
            event = "rate_limited",
            limit = action.name(),
            subject = %subject,
            retry_after_secs,
            "refused by a rate limit"
        );
        let record = AuditRecord {
            at: now,
            actor: Actor::System,
            subject,
            event: AuditEvent::RateLimited {
                limit: action.name().to_owned(),
            },
        };
        match self.store.audit(&record).await {
            Ok(()) => LimitError::Reached(retry_after_secs),
            Err(e) => LimitError::Store(e),
        }
    }

    /// Refuses, without counting, when the limit is already reached. For limits that count
    /// only failures: check first, `record` after a failure.
    pub async fn check(&self, action: Limited, key: &str, now: i64) -> Result<(), LimitError> {
        let rule = action.rule(&self.config);
        let (count, oldest) = self
            .store
            .limit_window(&self.bucket(action, key)?, now - rule.window_secs)
            .await?;
        match oldest {
            Some(oldest) if count >= i64::from(rule.max) => Err(self
                .refused(action, key, retry_after(rule, oldest, now), now)
                .await),
            _ => Ok(()),
        }
    }

    /// Counts a failure; whether the limit is now reached shows at the next `check`.
    pub async fn record(&self, action: Limited, key: &str, now: i64) -> Result<(), StoreError> {
        let rule = action.rule(&self.config);
        match self
            .store
            .limit_hit(&self.bucket(action, key)?, rule, now)
            .await
        {
            Err(LimitError::Store(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Counts one hit, or refuses with the seconds until the oldest hit leaves the window.
    pub async fn hit(&self, action: Limited, key: &str, now: i64) -> Result<(), LimitError> {
        let rule = action.rule(&self.config);
        match self
            .store
            .limit_hit(&self.bucket(action, key)?, rule, now)
            .await
        {
            Err(LimitError::Reached(retry)) => Err(self.refused(action, key, retry, now).await),
            other => other,
        }
    }

    fn bucket(&self, action: Limited, key: &str) -> Result<String, StoreError> {
        Ok(self
            .store
            .keys
            .mac(&[b"limit", action.name().as_bytes(), key.as_bytes()])?)
    }
}

impl Store {
    /// Hits in `bucket` after `since`, and the oldest of them.
    async fn limit_window(
        &self,
        bucket: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let row = query("SELECT COUNT(*), MIN(at) FROM limit_hits WHERE bucket = $1 AND at > $2")
            .bind(bucket)
            .bind(since)
            .fetch_one(&self.db)
            .await?;
        Ok((row.get(0)?, row.get(1)?))
    }

    /// Counts a hit in `bucket` unless the rule's limit is reached — atomically and in one
    /// round trip: on PostgreSQL by `sspr_limit_hit` under an advisory lock of the bucket
    /// (replicas take turns), on SQLite by one statement on the one writer connection. Hits
    /// older than the window are not counted; `prune` deletes them later.
    async fn limit_hit(&self, bucket: &str, rule: Rule, now: i64) -> Result<(), LimitError> {
        let since = now - rule.window_secs;
        let oldest: Option<i64> = match self.backend {
            Backend::Postgres => query("SELECT sspr_limit_hit($1, $2, $3, $4)")
                .bind(bucket)
                .bind(now)
                .bind(since)
                .bind(i64::from(rule.max))
                .fetch_one(&self.db)
                .await?
                .get(0)?,
            Backend::Sqlite => {
                let counted = query(
                    "INSERT INTO limit_hits (bucket, at) SELECT $1, $2 \
                     WHERE (SELECT COUNT(*) FROM limit_hits WHERE bucket = $1 AND at > $3) < $4",
                )
                .bind(bucket)
                .bind(now)
                .bind(since)
                .bind(i64::from(rule.max))
                .execute(&self.db)
                .await?;
                if counted == 1 {
                    None
                } else {
                    let (_, oldest) = self.limit_window(bucket, since).await?;
                    Some(oldest.unwrap_or(now))
                }
            }
        };
        match oldest {
            None => Ok(()),
            Some(oldest) => Err(LimitError::Reached(retry_after(rule, oldest, now))),
        }
    }
}
