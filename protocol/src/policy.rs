//! The directory's password policy and its evaluator. The agent reads the policy from AD and
//! sends it with every heartbeat; the browser evaluates it live as the user types. AD has the
//! last word: these checks only spare the user a round trip.

use serde::{Deserialize, Serialize};

use crate::letters;

/// `pwdProperties` bit that turns on AD's complexity rules.
pub const DOMAIN_PASSWORD_COMPLEX: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub min_length: u32,
    pub complexity: bool,
    pub history_length: u32,
    /// Seconds a password must be kept before a user may change it again.
    pub min_age_secs: i64,
    /// Seconds after which a password expires; 0 means never.
    pub max_age_secs: i64,
}

impl Default for PasswordPolicy {
    /// AD's out-of-the-box domain policy.
    fn default() -> Self {
        Self {
            min_length: 7,
            complexity: true,
            history_length: 24,
            min_age_secs: 86_400,
            max_age_secs: 42 * 86_400,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    MinLength(u32),
    /// Three of: uppercase, lowercase, digit, symbol (AD counts other alphabetic letters too).
    Complexity,
    /// Neither the account name nor a token of three or more characters of the display name.
    NotAccountName,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleCheck {
    pub rule: Rule,
    pub met: bool,
}

/// Who the password is for, as far as AD's complexity rules care.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountNames {
    pub account_name: String,
    pub display_name: String,
}

impl PasswordPolicy {
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = vec![Rule::MinLength(self.min_length)];
        if self.complexity {
            rules.push(Rule::Complexity);
            rules.push(Rule::NotAccountName);
        }
        rules
    }

    pub fn evaluate(&self, password: &str, names: &AccountNames) -> Vec<RuleCheck> {
        self.rules()
            .into_iter()
            .map(|rule| RuleCheck {
                rule,
                met: rule.is_met(password, names),
            })
            .collect()
    }

    pub fn is_met(&self, password: &str, names: &AccountNames) -> bool {
        self.evaluate(password, names).iter().all(|c| c.met)
    }
}

impl Rule {
    pub fn is_met(self, password: &str, names: &AccountNames) -> bool {
        match self {
            Rule::MinLength(n) => password.chars().count() >= n as usize,
            Rule::Complexity => character_categories(password) >= 3,
            Rule::NotAccountName => !contains_account_name(password, names),
        }
    }
}

/// Counts AD's categories: uppercase, lowercase, digits, symbols, other letters (e.g. CJK).
pub fn character_categories(password: &str) -> usize {
    let mut seen = [false; 5];
    for c in password.chars() {
        let i = if letters::is_upper(c) {
            0
        } else if letters::is_lower(c) {
            1
        } else if letters::is_number(c) {
            2
        } else if letters::is_letter(c) {
            4
        } else {
            3
        };
        seen[i] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// AD's rule: the sAMAccountName (when longer than two characters) must not appear, and no
/// token of the display name of three or more characters may appear, case-insensitively.
/// Display names split at commas, periods, dashes, underscores, spaces, pound signs and tabs.
fn contains_account_name(password: &str, names: &AccountNames) -> bool {
    let pw = letters::to_lower(password);
    let account = letters::to_lower(&names.account_name);
    if account.chars().count() >= 3 && pw.contains(&account) {
        return true;
    }
    names
        .display_name
        .split([',', '.', '-', '_', ' ', '#', '\t'])
        .filter(|t| t.chars().count() >= 3)
        .any(|t| pw.contains(&letters::to_lower(t)))
}

/// A rough guess of how hard the password is to guess, 0 (very weak) to 4 (strong), from its
/// length, variety and obvious repetition. It guides the user; it is not a policy.
pub fn strength(password: &str) -> u8 {
    let chars: Vec<char> = password.chars().collect();
    if chars.is_empty() {
        return 0;
    }
    let mut pool = 0u32;
    let lower = chars.iter().any(|&c| letters::is_lower(c));
    let upper = chars.iter().any(|&c| letters::is_upper(c));
    let digit = chars.iter().any(|&c| letters::is_number(c));
    let other = chars
        .iter()
        .any(|&c| !(letters::is_letter(c) || letters::is_number(c)));
    if lower {
        pool += 26;
    }
    if upper {
        pool += 26;
    }
    if digit {
        pool += 10;
    }
    if other {
        pool += 33;
    }
    // Repeated or sequential characters add little: count only the characters that differ from
    // the previous one by more than one step.
    let mut effective = 1usize;
    for pair in chars.windows(2) {
        let step = (pair[1] as i64 - pair[0] as i64).abs();
        if step > 1 {
            effective += 1;
        }
    }
    let bits = effective as f64 * f64::from(pool.max(1)).log2();
    match bits as u32 {
        0..=27 => 0,
        28..=39 => 1,
        40..=59 => 2,
        60..=79 => 3,
        _ => 4,
    }
}

impl PasswordPolicy {
    /// The rules a reset is held to: without history where the DC cannot enforce it on a
    /// reset (Samba, or a DC without the policy-hints control), so no page promises it.
    pub fn for_reset(self, enforces_history: bool) -> Self {
        if enforces_history {
            self
        } else {
            Self {
                history_length: 0,
                ..self
            }
        }
    }
}

/// The strength shown beside the rules: none before anything is typed, and never above weak
/// (1) while a rule fails — the meter must not look better than the directory will allow.
pub fn shown_strength(password: &str, checks: &[RuleCheck]) -> Option<u8> {
    if password.is_empty() {
        return None;
    }
    let guessed = strength(password);
    Some(if checks.iter().all(|c| c.met) {
        guessed
    } else {
        guessed.min(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> AccountNames {
        AccountNames {
            account_name: "jdevries".into(),
            display_name: "Jan de Vries".into(),
        }
    }

    /// The examples the browser test types (where the browser's Unicode tables answer): the
    /// agent's side, with Rust's, counts them the same.
    #[test]
    fn letters_beyond_ascii_count_as_the_browser_counts_them() {
        assert_eq!(character_categories("日本語-かな-ÅØ-ÉÈ"), 3);
        assert_eq!(character_categories("ångström-éèê-øœ"), 2);
        assert_eq!(character_categories("ångström-½-éèê"), 3);
        let names = AccountNames {
            account_name: "élodie".into(),
            display_name: String::new(),
        };
        assert!(contains_account_name("Zon-ÉLODIE-2026", &names));
    }

    #[test]
    fn domain_default_rules() {
        let p = PasswordPolicy::default();
        let failed = |pw: &str| -> Vec<Rule> {
            p.evaluate(pw, &names())
                .into_iter()
                .filter(|c| !c.met)
                .map(|c| c.rule)
                .collect()
        };
        assert_eq!(failed("abc"), vec![Rule::MinLength(7), Rule::Complexity]);
        assert_eq!(failed("abcdefgh"), vec![Rule::Complexity]);
        assert_eq!(failed("Abcdefg1"), vec![]);
        assert_eq!(failed("Vries2024!"), vec![Rule::NotAccountName]);
        assert_eq!(failed("xxJDEVRIESxx1A"), vec![Rule::NotAccountName]);
        // "de" is shorter than three characters, so it may appear.
        assert_eq!(failed("Ideal-Winter9"), vec![]);
    }

    #[test]
    fn without_complexity_only_length_counts() {
        let p = PasswordPolicy {
            complexity: false,
            min_length: 4,
            ..PasswordPolicy::default()
        };
        assert!(p.is_met("jdevries", &names()));
        assert!(!p.is_met("abc", &names()));
    }

    #[test]
    fn strength_grows_with_length_and_variety() {
        assert_eq!(strength(""), 0);
        assert!(strength("aaaaaaaaaaaa") <= 1);
        assert!(strength("abcdefgh") < strength("k9#Tq!2wZ"));
        assert_eq!(strength("correct-Horse-battery-staple-42"), 4);
    }

    #[test]
    fn a_reset_promises_history_only_where_the_dc_enforces_it() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.clone().for_reset(true).history_length, 24);
        let held = policy.clone().for_reset(false);
        assert_eq!(held.history_length, 0);
        assert_eq!(
            (held.min_length, held.complexity),
            (policy.min_length, policy.complexity)
        );
    }

    #[test]
    fn the_shown_strength_is_none_when_empty_and_weak_at_best_while_a_rule_fails() {
        let policy = PasswordPolicy::default();
        let shown = |pw: &str| shown_strength(pw, &policy.evaluate(pw, &names()));
        assert_eq!(shown(""), None);
        // Long and varied, but it contains the account name.
        let with_name = "Blue-jdevries-Harbour-93";
        assert_eq!(strength(with_name), 4);
        assert_eq!(shown(with_name), Some(1));
        assert_eq!(shown("Blue-Harbour-Lights-93"), Some(4));
    }
}
