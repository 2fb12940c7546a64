//! A typed user ID: what the portal accepts before asking anyone, and the one key every
//! spelling of a name shares.

use sspr_protocol::reset::{account_part, FORBIDDEN_IN_USERNAME, MAX_USERNAME_LEN};
use sspr_protocol::ErrorCode;

/// A typed user ID, trimmed; empty, overlong or control characters are a bad request.
pub fn clean_username(raw: &str) -> Result<String, ErrorCode> {
    let username = raw.trim();
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_LEN
        || username.chars().any(char::is_control)
    {
        return Err(ErrorCode::BadRequest);
    }
    // Syntax only: says nothing about whether such an account exists.
    if username.contains(FORBIDDEN_IN_USERNAME) {
        return Err(ErrorCode::InvalidUsername);
    }
    Ok(username.to_owned())
}

/// The account part a decoy and a real account share their limits by: every spelling of one
/// name counts alike, or the limits would tell them apart.
pub fn account_key(username: &str) -> String {
    account_part(username).to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_spelling_of_a_name_shares_one_limit_key() {
        let key = super::account_key("jan");
        for spelling in ["CORP\\Jan", "jan@corp.example.test", "JAN"] {
            assert_eq!(super::account_key(spelling), key, "{spelling}");
        }
    }

    #[test]
    fn syntax_alone_refuses_a_name() {
        assert_eq!(
            super::clean_username("  jan "),
            Ok("jan".to_owned()),
            "trimmed"
        );
        assert_eq!(
            super::clean_username(""),
            Err(sspr_protocol::ErrorCode::BadRequest)
        );
        assert_eq!(
            super::clean_username("j*n"),
            Err(sspr_protocol::ErrorCode::InvalidUsername)
        );
    }
}
