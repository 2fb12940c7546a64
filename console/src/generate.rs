//! A password for the caller, made in this browser: 16 characters from an alphabet without
//! look-alikes (no 0/O, 1/l/I), with every character kind, meeting the account's rules.

use sspr_protocol::policy::{AccountNames, PasswordPolicy};

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%+-=?@";
/// The length of a generated password, unless the policy asks for more.
pub const GENERATED_LENGTH: usize = 16;
/// Draws before giving up; each draw has every kind about 3 times in 4.
const DRAWS: usize = 32;

/// The alphabet: 64 characters, so the low six bits of a random byte pick one uniformly.
fn alphabet() -> Vec<u8> {
    [UPPER, LOWER, DIGITS, SYMBOLS].concat()
}

/// None only when the browser has no randomness to give (or, beyond belief, no draw fits).
pub fn password(policy: &PasswordPolicy, names: &AccountNames) -> Option<String> {
    let alphabet = alphabet();
    debug_assert_eq!(alphabet.len(), 64);
    let length = GENERATED_LENGTH.max(policy.min_length as usize);
    for _ in 0..DRAWS {
        let mut bytes = vec![0u8; length];
        getrandom::getrandom(&mut bytes).ok()?;
        let candidate: String = bytes
            .iter()
            .map(|b| char::from(alphabet[usize::from(b & 63)]))
            .collect();
        let every_kind = [UPPER, LOWER, DIGITS, SYMBOLS]
            .iter()
            .all(|kind| candidate.bytes().any(|c| kind.contains(&c)));
        if every_kind && policy.is_met(&candidate, names) {
            return Some(candidate);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_rules_without_look_alikes() {
        let policy = PasswordPolicy::default();
        let names = AccountNames {
            account_name: "cora".into(),
            display_name: "Cora Caller".into(),
        };
        for _ in 0..200 {
            let p = password(&policy, &names).expect("a password");
            assert_eq!(p.len(), GENERATED_LENGTH);
            assert!(policy.is_met(&p, &names));
            assert!(!p.contains(['0', 'O', 'o', '1', 'l', 'I']), "{p}");
        }
    }
}
