//! Decoys: what an account that does not exist (or may not reset) is shown instead. A decoy's
//! methods and questions are made up from the server secret and the typed name, so the same
//! name always shows the same ones and nothing tells them from a real account's. Nothing is
//! ever sent to a decoy and no answer passes.

use sspr_protocol::gate::{Family, Method, Question};

use crate::config::ServerConfig;
use crate::crypto::{CryptoError, ServerKeys};
use crate::domain::registration::Contact;
use crate::domain::user_id::account_key;

/// Bytes of the per-name seed the choices below are read from.
fn seed(keys: &ServerKeys, label: &[u8], username: &str) -> Result<Vec<u8>, CryptoError> {
    let key = account_key(username);
    hex::decode(keys.mac(&[label, key.as_bytes()])?).map_err(|_| CryptoError::KeyLength)
}

/// A decoy's methods: a mail address of the directory's form, and — as often as the
/// configured percentages say — a mobile, an authenticator app and security questions.
/// `directory` is the domain the typed name was routed to.
pub fn contacts(
    keys: &ServerKeys,
    config: &ServerConfig,
    username: &str,
    directory: &str,
) -> Result<Vec<Contact>, CryptoError> {
    let key = account_key(username);
    let seed = seed(keys, b"decoy", username)?;
    let r = &config.reset;
    let domain = r
        .decoy_mail_domain
        .clone()
        .unwrap_or_else(|| directory.to_owned());
    let mut contacts = vec![Contact {
        family: Family::Mail,
        to: format!("{}@{domain}", key.chars().next().unwrap_or('a')),
        from_directory: true,
    }];
    // A seed byte read as a percentage: whether this name's decoy shows a method.
    let shows = |byte: u8, percent: u8| u16::from(byte) * 100 / 256 < u16::from(percent);
    let two_gates = config.policy.gates >= 2;
    if config.phone.enabled() && (shows(seed[0], r.decoy_phone_percent) || two_gates) {
        let country = config.phone.country_code();
        let digits: String = seed[2..10]
            .iter()
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        contacts.push(Contact {
            family: Family::Mobile,
            to: format!("+{country}6{digits}"),
            from_directory: seed[10] % 2 == 0,
        });
    }
    if shows(seed[1], r.decoy_authenticator_percent) || (two_gates && contacts.len() < 2) {
        contacts.push(Contact {
            family: Family::Authenticator,
            to: String::new(),
            from_directory: false,
        });
    }
    if config.policy.methods.contains(&Method::Questions)
        && shows(seed[11], r.decoy_questions_percent)
    {
        contacts.push(Contact {
            family: Family::Questions,
            to: String::new(),
            from_directory: false,
        });
    }
    Ok(contacts)
}

/// The questions a decoy "registered": a fixed shuffle of the built-in ones for this name, as
/// many as a real user registers. The questions asked are then chosen from them the same random
/// way as from a real user's, so repeated flows do not tell them apart.
pub fn questions(
    keys: &ServerKeys,
    questions_to_register: u8,
    username: &str,
) -> Result<Vec<Question>, CryptoError> {
    let seed = seed(keys, b"decoy-questions", username)?;
    let mut all = Question::ALL.to_vec();
    for (i, byte) in seed.iter().enumerate().take(all.len()) {
        let j = i + usize::from(*byte) % (all.len() - i);
        all.swap(i, j);
    }
    all.truncate(usize::from(questions_to_register));
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_always_gets_the_same_decoy_whatever_its_spelling() {
        let keys = ServerKeys::new(&[9u8; 32]).expect("keys");
        let config = ServerConfig::default();
        let one = contacts(&keys, &config, "nobody", "corp.example.test").expect("decoy");
        let two = contacts(&keys, &config, "CORP\\Nobody", "corp.example.test").expect("decoy");
        assert_eq!(one, two);
        assert_eq!(one[0].to, "n@corp.example.test");
        assert_eq!(
            questions(&keys, 3, "nobody").expect("q"),
            questions(&keys, 3, "NOBODY").expect("q")
        );
        assert_eq!(questions(&keys, 3, "nobody").expect("q").len(), 3);
    }
}
