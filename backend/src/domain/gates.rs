//! Who meets which gates. The agent's answer about a typed name becomes either an account's
//! gates — its own methods, one gate or two (the two-gate rule) — or a decoy's, alike on every
//! page. Unknown, disabled, protected, out-of-scope and unregistered accounts (too few method
//! families for the gates they need) all get a decoy.

use sspr_protocol::gate::{Method, Question};
use sspr_protocol::relay::Account;

use crate::config::{PolicyConfig, ServerConfig};
use crate::crypto::{CryptoError, ServerKeys};
use crate::domain::contact::Number;
use crate::domain::decoy;
use crate::domain::flow::{AccountTarget, Gates, Target};
use crate::domain::registration::{self, Registration};

/// The methods this portal offers at all: the policy's, less texts and calls without a phone
/// provider.
pub fn allowed_methods(config: &ServerConfig) -> Vec<Method> {
    config
        .policy
        .methods
        .iter()
        .copied()
        .filter(|m| !m.uses_phone() || config.phone.enabled())
        .collect()
}

/// How many gates an account must pass: the policy's number, but always two for members of a
/// two-gate group (the agent reports nested membership).
pub fn required_gates(policy: &PolicyConfig, groups: &[String]) -> u8 {
    let privileged = groups.iter().any(|g| {
        policy
            .two_gate_groups
            .iter()
            .any(|t| t.eq_ignore_ascii_case(g))
    });
    if privileged {
        2
    } else {
        policy.gates
    }
}

/// The gates a flow opens with, and the country codes of the numbers the directory holds for
/// the account (the default allow-list for texts and calls learns them).
pub struct Admission {
    pub gates: Gates,
    pub directory_countries: Vec<u16>,
}

/// The gates for whoever the agent found. `registration` is the found account's, if any;
/// `directory` is the domain the typed name was routed to.
pub fn admit(
    config: &ServerConfig,
    keys: &ServerKeys,
    username: &str,
    account: Option<Account>,
    registration: Option<&Registration>,
    directory: &str,
) -> Result<Admission, CryptoError> {
    let allowed = allowed_methods(config);
    let gates = |target, contacts, required| Gates {
        target,
        contacts,
        allowed: allowed.clone(),
        required,
        passed: Vec::new(),
        challenge: None,
        phone_tries_left: config.reset.code_attempts.min(3),
        guesses_left: config.reset.code_attempts,
        sent: Vec::new(),
    };
    let mut directory_countries = Vec::new();
    if let Some(a) = account.filter(|a| a.eligible()) {
        let required = required_gates(&config.policy, &a.groups);
        let contacts = registration::contacts(&a, registration, &config.phone);
        directory_countries = contacts
            .iter()
            .filter(|c| c.from_directory)
            .filter_map(|c| Number::parse(&c.to, None))
            .map(|n| n.country_code)
            .collect();
        if registration::families(&contacts, &allowed) >= usize::from(required) {
            let target = Target::Account(AccountTarget {
                anchor: a.anchor,
                account_name: a.account_name,
                display_name: a.display_name,
                mail: a.mail.first().cloned().unwrap_or_default(),
                policy: a.policy,
                directory: directory.to_owned(),
                locked: a.locked,
            });
            return Ok(Admission {
                gates: gates(target, contacts, required),
                directory_countries,
            });
        }
    }
    let contacts = decoy::contacts(keys, config, username, directory)?;
    Ok(Admission {
        gates: gates(Target::Decoy, contacts, config.policy.gates),
        directory_countries,
    })
}

/// Which questions to ask: `how_many` of `pool` (the questions registered, or a decoy's),
/// chosen by the random bytes given.
pub fn questions_to_ask(mut pool: Vec<Question>, how_many: u8, random: &[u8]) -> Vec<Question> {
    let mut asked = Vec::new();
    for byte in random.iter().take(usize::from(how_many)) {
        if pool.is_empty() {
            break;
        }
        asked.push(pool.remove(usize::from(*byte) % pool.len()));
    }
    asked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_of_a_two_gate_group_need_two_gates() {
        let policy = ServerConfig::default().policy;
        assert_eq!(required_gates(&policy, &["Staff".into()]), policy.gates);
        assert_eq!(required_gates(&policy, &["domain admins".into()]), 2);
    }

    #[test]
    fn questions_are_asked_without_repeats() {
        let pool = Question::ALL[..3].to_vec();
        let asked = questions_to_ask(pool.clone(), 2, &[0, 0, 0]);
        assert_eq!(asked, pool[..2].to_vec());
        assert_eq!(questions_to_ask(pool, 5, &[1, 1, 1, 1, 1]).len(), 3);
    }
}
