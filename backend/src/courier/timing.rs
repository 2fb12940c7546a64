//! How long real sends take, so that a decoy's "sending…" lasts as long as a real one. The
//! code page asks whether its code got out; if a decoy answered "sent" at once while a real
//! send takes a mail server's round trip, the answer's timing would tell them apart. A decoy
//! waits for a duration drawn from the recent real sends of the same method.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use sspr_protocol::gate::Method;

/// Recent real sends kept per method: enough to follow the mail server's pace, few enough
/// that a change in it shows soon.
const KEPT: usize = 64;

/// Before any real send of a method was seen: a plausible mail server's pace.
const FIRST_GUESS: [Duration; 4] = [
    Duration::from_millis(40),
    Duration::from_millis(60),
    Duration::from_millis(80),
    Duration::from_millis(120),
];

#[derive(Default)]
pub struct SendTimes {
    recent: Mutex<HashMap<Method, VecDeque<Duration>>>,
}

impl SendTimes {
    /// Records how long a real send of `method` took.
    pub fn record(&self, method: Method, took: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let times = recent.entry(method).or_default();
        if times.len() == KEPT {
            times.pop_front();
        }
        times.push_back(took);
    }

    /// How long a decoy's send of `method` should take: one of the recent real ones, picked
    /// by `random`.
    pub fn draw(&self, method: Method, random: u32) -> Duration {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        match recent.get(&method).filter(|t| !t.is_empty()) {
            Some(times) => times[random as usize % times.len()],
            None => FIRST_GUESS[random as usize % FIRST_GUESS.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoy_takes_as_long_as_a_recent_real_send() {
        let times = SendTimes::default();
        assert!(FIRST_GUESS.contains(&times.draw(Method::Mail, 7)));
        for ms in [50, 55, 60] {
            times.record(Method::Mail, Duration::from_millis(ms));
        }
        let drawn: Vec<u64> = (0..3)
            .map(|r| times.draw(Method::Mail, r).as_millis() as u64)
            .collect();
        assert_eq!(drawn, [50, 55, 60]);
        assert!(FIRST_GUESS.contains(&times.draw(Method::MobileText, 0)));
        for _ in 0..2 * KEPT {
            times.record(Method::Mail, Duration::from_millis(9));
        }
        assert_eq!(times.draw(Method::Mail, 1), Duration::from_millis(9));
    }
}
