//! Decoys: what an account that does not exist (or may not reset) is shown instead. A decoy's
//! methods and questions are made up from the server secret and the typed name, so the same
//! name always shows the same ones and nothing tells them from a real account's. Nothing is
//! ever sent to a decoy and no answer passes.

use sspr_protocol::gate::{Family, Method, Question};

use crate::config::ServerConfig;
use crate::crypto::{CryptoError, ServerKeys};
use crate::domain::contact::Number;
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
        to: format!("{}@{domain}", first_letter(&key, seed[12])),
        from_directory: true,
    }];
    // A seed byte read as a percentage: whether this name's decoy shows a method.
    let shows = |byte: u8, percent: u8| u16::from(byte) * 100 / 256 < u16::from(percent);
    let two_gates = config.policy.gates >= 2;
    if config.phone.enabled() && (shows(seed[0], r.decoy_phone_percent) || two_gates) {
        contacts.push(Contact {
            family: Family::Mobile,
            to: plausible_mobile(keys, config, username)?,
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

/// The first letter of a decoy's mail address. Real addresses start with a letter or digit,
/// usually the name's own first letter: so does a decoy's, and a typed name that starts with
/// anything else (punctuation, another script) gets a letter from its seed instead, never
/// the typed character.
fn first_letter(key: &str, byte: u8) -> char {
    match key.chars().next() {
        Some(c) if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
        _ => char::from(b'a' + byte % 26),
    }
}

/// A mobile number of the configured region that its numbering plan accepts, made from the
/// region's example mobile number with the digits after its first two replaced from the seed,
/// so its mask looks like any real one (`+31 6 ••••••NN`).
fn plausible_mobile(
    keys: &ServerKeys,
    config: &ServerConfig,
    username: &str,
) -> Result<String, CryptoError> {
    let phone = &config.phone;
    let country = phone.country_code();
    let example = phonenumber::metadata::DATABASE
        .by_id(phone.default_region.as_str())
        .and_then(|m| m.descriptors().mobile()?.example().map(str::to_owned))
        .unwrap_or_else(|| "612345678".to_owned());
    let keep = example.len().min(2);
    for attempt in 0u8..32 {
        let seed = seed(
            keys,
            &[b"decoy-mobile".as_slice(), &[attempt]].concat(),
            username,
        )?;
        let digits: String = seed
            .iter()
            .take(example.len() - keep)
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        let candidate = format!("+{country}{}{digits}", &example[..keep]);
        let mobile = Number::parse(&candidate, phone.region()).filter(|n| n.is_mobile());
        if let Some(number) = mobile {
            return Ok(number.e164);
        }
    }
    // A numbering plan so narrow that 32 tries found nothing: its own example, which is valid.
    Ok(format!("+{country}{example}"))
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

    fn with_phones() -> ServerConfig {
        let mut config = ServerConfig::default();
        config.phone.provider = crate::config::ProviderKind::Webhook;
        config.reset.decoy_phone_percent = 100;
        config
    }

    #[test]
    fn every_decoy_mobile_is_a_valid_number_masked_like_a_real_one() {
        let keys = ServerKeys::new(&[7u8; 32]).expect("keys");
        let config = with_phones();
        let real = Number::parse("+31612345678", None).expect("real").masked();
        for i in 0..500 {
            let name = format!("nobody{i}");
            let decoy = contacts(&keys, &config, &name, "corp.example.test").expect("decoy");
            let mobile = decoy
                .iter()
                .find(|c| c.family == Family::Mobile)
                .expect("a mobile at 100 %");
            let number = Number::parse(&mobile.to, None).expect("a valid number");
            assert!(number.is_mobile(), "{}", mobile.to);
            let mask = mobile.masked();
            assert_eq!(mask.chars().count(), real.chars().count(), "{mask}");
            assert!(mask.starts_with("+31 6 ••••••"), "{mask}");
        }
    }

    #[test]
    fn a_decoy_mail_mask_never_echoes_what_was_typed_unless_a_real_one_could_start_so() {
        let keys = ServerKeys::new(&[7u8; 32]).expect("keys");
        let config = ServerConfig::default();
        for typed in ["(x", "\u{202E}evil", "😀smile", "émile", ".dot"] {
            let decoy = contacts(&keys, &config, typed, "corp.example.test").expect("decoy");
            let first = decoy[0].to.chars().next().expect("a local part");
            assert!(first.is_ascii_lowercase(), "{typed}: {}", decoy[0].to);
            assert!(decoy[0].masked().is_ascii() || decoy[0].masked().contains('•'));
        }
        let decoy = contacts(&keys, &config, "Jan", "corp.example.test").expect("decoy");
        assert!(decoy[0].to.starts_with("j@"), "{}", decoy[0].to);
    }

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
