//! A typed user ID: what the portal accepts before asking anyone, the one spelling the
//! directory is asked for, and the one key every spelling of a name shares.
//!
//! Every spelling that AD would resolve to one account — `name`, `DOMAIN\name`,
//! `name@domain.dns.name`, `name@DOMAIN`, `name@upn.suffix`, a trailing dot, full-width or
//! compatibility letters such as U+212A KELVIN SIGN — becomes the same canonical `name@dns`
//! before any lookup. A real account and an unknown name therefore answer every spelling alike:
//! the same offers for all of them, or the same decoy for all of them. What AD could never
//! match (a domain no directory has, invisible or direction-changing characters) is refused by
//! its syntax alone, which says nothing about any account.

use sspr_protocol::directory::DirectoryName;
use sspr_protocol::reset::{account_part, FORBIDDEN_IN_USERNAME, MAX_USERNAME_LEN};
use sspr_protocol::ErrorCode;
use unicode_normalization::UnicodeNormalization;

/// A typed user ID, trimmed and in Unicode compatibility form (NFKC); empty, overlong or with
/// characters no logon name has is a bad request or an invalid user ID.
pub fn clean_username(raw: &str) -> Result<String, ErrorCode> {
    let username: String = raw.trim().nfkc().collect();
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_LEN
        || username.chars().any(char::is_control)
    {
        return Err(ErrorCode::BadRequest);
    }
    // Syntax only: says nothing about whether such an account exists. Letters and digits of
    // any script, spaces and ASCII punctuation; not emoji, zero-width or bidi controls.
    let printable = |c: char| c.is_alphanumeric() || c.is_ascii_punctuation() || c == ' ';
    if username.contains(FORBIDDEN_IN_USERNAME) || !username.chars().all(printable) {
        return Err(ErrorCode::InvalidUsername);
    }
    Ok(username)
}

/// The spelling the directory is asked for: `name@dns` of the directory the typed ID names
/// (the agent matches it against the account name and the UPNs of every suffix).
pub fn canonical_user_id(raw: &str, directories: &[DirectoryName]) -> Result<String, ErrorCode> {
    let username = clean_username(raw)?;
    let (name, domain) = match username.split_once('\\') {
        Some((domain, name)) => (name, Some(domain)),
        None => match username.rsplit_once('@') {
            Some((name, suffix)) => (name, Some(suffix.trim_end_matches('.'))),
            None => (username.as_str(), None),
        },
    };
    let name = name.trim();
    if name.is_empty() || name.contains(['\\', '@']) || domain == Some("") {
        return Err(ErrorCode::InvalidUsername);
    }
    if directories.is_empty() {
        return Err(ErrorCode::WritebackUnavailable);
    }
    let directory = match domain {
        Some(domain) => directories
            .iter()
            .find(|d| names(d).any(|n| n.eq_ignore_ascii_case(domain)))
            .ok_or(ErrorCode::UnknownDomain)?,
        None => match directories {
            [only] => only,
            _ => return Err(ErrorCode::DirectoryNeeded),
        },
    };
    Ok(format!("{name}@{}", directory.dns_name))
}

/// Every name a user ID may give its directory by.
fn names(d: &DirectoryName) -> impl Iterator<Item = &str> {
    [d.dns_name.as_str(), d.netbios.as_str()]
        .into_iter()
        .chain(d.upn_suffixes.iter().map(String::as_str))
        .filter(|n| !n.is_empty())
}

/// The account part a decoy and a real account share their limits by: every spelling of one
/// name counts alike, or the limits would tell them apart.
pub fn account_key(username: &str) -> String {
    account_part(username).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corp() -> Vec<DirectoryName> {
        vec![DirectoryName {
            dns_name: "corp.example.test".into(),
            netbios: "CORP".into(),
            upn_suffixes: vec!["example.com".into()],
        }]
    }

    #[test]
    fn every_spelling_of_a_name_shares_one_limit_key() {
        let key = account_key("jan");
        for spelling in ["CORP\\Jan", "jan@corp.example.test", "JAN"] {
            assert_eq!(account_key(spelling), key, "{spelling}");
        }
    }

    #[test]
    fn every_spelling_ad_resolves_alike_becomes_one_user_id() {
        for spelling in [
            "kees",
            " Kees ",
            "CORP\\kees",
            "corp.example.test\\kees",
            "kees@corp.example.test",
            "kees@CORP.EXAMPLE.TEST.",
            "kees@CORP",
            "kees@example.com",
            "\u{212A}ees",
            "ｋｅｅｓ",
        ] {
            let id = canonical_user_id(spelling, &corp()).expect(spelling);
            assert_eq!(id.to_lowercase(), "kees@corp.example.test", "{spelling}");
        }
    }

    #[test]
    fn what_ad_could_never_match_is_refused_by_syntax() {
        for (spelling, code) in [
            ("kees@gmail.com", ErrorCode::UnknownDomain),
            ("OTHER\\kees", ErrorCode::UnknownDomain),
            ("kees@", ErrorCode::InvalidUsername),
            ("@corp", ErrorCode::InvalidUsername),
            ("a\\b@corp", ErrorCode::InvalidUsername),
            ("\u{202E}kees", ErrorCode::InvalidUsername),
            ("ke\u{200B}es", ErrorCode::InvalidUsername),
            ("kees😀", ErrorCode::InvalidUsername),
            ("j*n", ErrorCode::InvalidUsername),
            ("", ErrorCode::BadRequest),
        ] {
            assert_eq!(
                canonical_user_id(spelling, &corp()),
                Err(code),
                "{spelling}"
            );
        }
        assert_eq!(
            canonical_user_id("José", &corp()).as_deref(),
            Ok("José@corp.example.test"),
            "letters of any script are names"
        );
    }

    #[test]
    fn a_bare_name_needs_a_directory_when_there_are_several() {
        let mut two = corp();
        two.push(DirectoryName {
            dns_name: "emea.example.test".into(),
            netbios: "EMEA".into(),
            upn_suffixes: Vec::new(),
        });
        assert_eq!(
            canonical_user_id("kees", &two),
            Err(ErrorCode::DirectoryNeeded)
        );
        assert_eq!(
            canonical_user_id("EMEA\\kees", &two).as_deref(),
            Ok("kees@emea.example.test")
        );
        assert_eq!(
            canonical_user_id("kees", &[]),
            Err(ErrorCode::WritebackUnavailable)
        );
    }
}
