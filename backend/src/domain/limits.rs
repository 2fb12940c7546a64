//! Rate limits, keyed by the action that is limited. A refusal says when to try again.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::LimitsConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limited {
    /// Flows started from one client address.
    FlowStart,
    /// Codes sent to one destination (or, for a decoy, one typed username).
    CodeSend,
    /// Password sign-ins (changes) from one client address.
    SignIn,
    /// Wrong current passwords for one account.
    SignInFailure,
    /// Codes sent to one destination in a day.
    CodeSendDaily,
    /// Paid sends (texts, calls) of the whole portal in a day.
    PaidSend,
    /// Wrong codes for one account (keyed `account:<name>`) or from one address
    /// (`address:<ip>`).
    GateFailure,
    /// Flows started for one typed account name.
    AccountFlowStart,
}

const DAY_SECS: i64 = 86_400;

pub struct Limiter {
    config: LimitsConfig,
    hits: Mutex<HashMap<(Limited, String), VecDeque<i64>>>,
}

impl Limiter {
    pub fn new(config: LimitsConfig) -> Self {
        Self {
            config,
            hits: Mutex::default(),
        }
    }

    fn rule(&self, action: Limited) -> (u32, i64) {
        match action {
            Limited::FlowStart => (
                self.config.flow_starts_per_address,
                self.config.flow_starts_window_secs,
            ),
            Limited::CodeSend => (
                self.config.sends_per_destination,
                self.config.sends_window_secs,
            ),
            Limited::SignIn => (
                self.config.sign_ins_per_address,
                self.config.sign_in_window_secs,
            ),
            Limited::SignInFailure => (
                self.config.sign_in_failures_per_account,
                self.config.sign_in_window_secs,
            ),
            Limited::CodeSendDaily => (self.config.sends_per_destination_per_day, DAY_SECS),
            Limited::PaidSend => (self.config.paid_sends_per_day, DAY_SECS),
            Limited::AccountFlowStart => (
                self.config.flow_starts_per_account,
                self.config.flow_starts_window_secs,
            ),
            Limited::GateFailure => (
                self.config.gate_failures_per_account,
                self.config.gate_failures_window_secs,
            ),
        }
    }

    /// Refuses, without counting, when the limit is already reached. For limits that count
    /// only failures: check first, `record` after a failure.
    pub fn check(&self, action: Limited, key: &str, now: i64) -> Result<(), u32> {
        let (max, window) = self.rule(action);
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = hits.get_mut(&(action, key.to_owned())) else {
            return Ok(());
        };
        while queue.front().is_some_and(|t| *t <= now - window) {
            queue.pop_front();
        }
        match queue.front() {
            Some(oldest) if queue.len() as u32 >= max => Err((oldest + window - now).max(1) as u32),
            _ => Ok(()),
        }
    }

    pub fn record(&self, action: Limited, key: &str, now: i64) {
        let _ = self.hit(action, key, now);
    }

    /// Counts one hit, or refuses with the seconds until the oldest hit leaves the window.
    pub fn hit(&self, action: Limited, key: &str, now: i64) -> Result<(), u32> {
        let (max, window) = self.rule(action);
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            hits.retain(|_, q| q.back().is_some_and(|t| *t > now - window));
        }
        let queue = hits.entry((action, key.to_owned())).or_default();
        while queue.front().is_some_and(|t| *t <= now - window) {
            queue.pop_front();
        }
        if queue.len() as u32 >= max {
            let oldest = queue.front().copied().unwrap_or(now);
            return Err((oldest + window - now).max(1) as u32);
        }
        queue.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_and_says_when_to_retry() {
        // The defaults: three sends per destination in 15 minutes.
        let limiter = Limiter::new(crate::config::ServerConfig::default().limits);
        for t in 0..3 {
            assert_eq!(limiter.hit(Limited::CodeSend, "a@x", 100 + t), Ok(()));
        }
        assert_eq!(limiter.hit(Limited::CodeSend, "a@x", 200), Err(800));
        assert_eq!(
            limiter.hit(Limited::CodeSend, "b@x", 200),
            Ok(()),
            "other destinations are not affected"
        );
        assert_eq!(
            limiter.hit(Limited::CodeSend, "a@x", 1000),
            Ok(()),
            "the window moves on"
        );
    }
}
