//! Rate limits, keyed by the action that is limited, each with its rule from the configuration.
//! The counters live in the store (shared by every replica); a refusal says when to try again.

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
    /// Lookups of one account name: flows for it that passed their CAPTCHA. Counted only
    /// after the CAPTCHA, so that flooding a name without solving one keeps nobody out.
    AccountLookup,
}

const DAY_SECS: i64 = 86_400;

/// How many hits a limit allows in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub max: u32,
    pub window_secs: i64,
}

impl Limited {
    /// The limit's name, which keys its counters apart from every other limit's.
    pub fn name(self) -> &'static str {
        match self {
            Limited::FlowStart => "flow_start",
            Limited::CodeSend => "code_send",
            Limited::SignIn => "sign_in",
            Limited::SignInFailure => "sign_in_failure",
            Limited::CodeSendDaily => "code_send_daily",
            Limited::PaidSend => "paid_send",
            Limited::GateFailure => "gate_failure",
            Limited::AccountLookup => "account_lookup",
        }
    }

    pub fn rule(self, config: &LimitsConfig) -> Rule {
        let (max, window_secs) = match self {
            Limited::FlowStart => (
                config.flow_starts_per_address,
                config.flow_starts_window_secs,
            ),
            Limited::CodeSend => (config.sends_per_destination, config.sends_window_secs),
            Limited::SignIn => (config.sign_ins_per_address, config.sign_in_window_secs),
            Limited::SignInFailure => (
                config.sign_in_failures_per_account,
                config.sign_in_window_secs,
            ),
            Limited::CodeSendDaily => (config.sends_per_destination_per_day, DAY_SECS),
            Limited::PaidSend => (config.paid_sends_per_day, DAY_SECS),
            Limited::AccountLookup => (
                config.flow_starts_per_account,
                config.flow_starts_window_secs,
            ),
            Limited::GateFailure => (
                config.gate_failures_per_account,
                config.gate_failures_window_secs,
            ),
        };
        Rule { max, window_secs }
    }

    /// A counted key as a log line or the audit log may show it: a destination masked (a
    /// decoy's counts under its typed name), everything else (addresses, names) as it is.
    pub fn shown_key(self, key: &str) -> String {
        match self {
            Limited::CodeSend | Limited::CodeSendDaily => match key.strip_prefix("decoy:") {
                Some(name) => name.to_owned(),
                None if key.contains('@') => crate::domain::contact::mask_mail(key),
                None => crate::domain::contact::Number::parse(key, None)
                    .map(|n| n.masked())
                    .unwrap_or_else(|| "••••".into()),
            },
            _ => key.to_owned(),
        }
    }

    pub const ALL: [Limited; 8] = [
        Limited::FlowStart,
        Limited::CodeSend,
        Limited::SignIn,
        Limited::SignInFailure,
        Limited::CodeSendDaily,
        Limited::PaidSend,
        Limited::GateFailure,
        Limited::AccountLookup,
    ];
}

/// The longest window of any limit: counted hits older than this can go.
pub fn longest_window(config: &LimitsConfig) -> i64 {
    Limited::ALL
        .iter()
        .map(|l| l.rule(config).window_secs)
        .max()
        .unwrap_or(DAY_SECS)
}

/// Seconds until a hit at `oldest` leaves the window (at least one).
pub fn retry_after(rule: Rule, oldest: i64, now: i64) -> u32 {
    (oldest + rule.window_secs - now).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_when_the_oldest_hit_leaves_the_window() {
        let rule = Limited::CodeSend.rule(&crate::config::ServerConfig::default().limits);
        assert_eq!(
            rule,
            Rule {
                max: 3,
                window_secs: 900
            }
        );
        assert_eq!(retry_after(rule, 100, 200), 800);
        assert_eq!(retry_after(rule, 100, 5000), 1, "never zero");
    }

    #[test]
    fn destinations_are_shown_masked() {
        assert_eq!(
            Limited::CodeSend.shown_key("jan.devries@corp.example.test"),
            "j•••••@c•••.example.test"
        );
        assert_eq!(
            Limited::CodeSendDaily.shown_key("+31612345678"),
            "+31 6 ••••••78"
        );
        assert_eq!(Limited::FlowStart.shown_key("127.0.0.9"), "127.0.0.9");
    }
}
