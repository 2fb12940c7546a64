//! Active Directory's encodings and answers.

use ldap3::controls::RawControl;

use super::DirectoryError;

/// LDAP_SERVER_POLICY_HINTS_OID: makes a reset enforce password history (Windows 2016+).
pub const POLICY_HINTS_OID: &str = "1.2.840.113556.1.4.2239";
/// The deprecated predecessor (Windows 2008 R2 / 2012 with an update).
pub const POLICY_HINTS_DEPRECATED_OID: &str = "1.2.840.113556.1.4.2066";

/// userAccountControl: ACCOUNTDISABLE.
pub const UAC_ACCOUNT_DISABLE: u32 = 0x0002;
/// userAccountControl: DONT_EXPIRE_PASSWORD ("password never expires").
pub const UAC_DONT_EXPIRE_PASSWORD: u32 = 0x1_0000;

/// Seconds from FILETIME's epoch (1601-01-01 UTC) to Unix's.
const FILETIME_UNIX_OFFSET_SECS: i64 = 11_644_473_600;
const FILETIME_TICKS_PER_SEC: i64 = 10_000_000;

/// The policy-hints control with its flag set: `SEQUENCE { INTEGER 1 }`.
pub fn policy_hints_control(oid: &str) -> RawControl {
    RawControl {
        ctype: oid.to_owned(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
    }
}

/// Picks the policy-hints control from the DC's `supportedControl` list.
pub fn pick_policy_hints(supported: &[String]) -> Option<&'static str> {
    [POLICY_HINTS_OID, POLICY_HINTS_DEPRECATED_OID]
        .into_iter()
        .find(|oid| supported.iter().any(|s| s == oid))
}

/// `unicodePwd` takes the password in double quotes, UTF-16LE.
pub fn unicode_pwd(password: &str) -> zeroize::Zeroizing<Vec<u8>> {
    let quoted = zeroize::Zeroizing::new(format!("\"{password}\""));
    zeroize::Zeroizing::new(
        quoted
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect(),
    )
}

/// objectGUID bytes → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (the first three groups little-endian).
pub fn guid_to_string(b: &[u8]) -> Option<String> {
    let b: [u8; 16] = b.try_into().ok()?;
    Some(uuid::Uuid::from_bytes_le(b).hyphenated().to_string())
}

/// The inverse of [`guid_to_string`], as an escaped LDAP filter value (`\4a\7f…`).
pub fn guid_filter_value(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let raw: [u8; 16] = hex::decode(hex).ok()?.try_into().ok()?;
    let bytes = uuid::Uuid::from_bytes(raw).to_bytes_le();
    Some(bytes.iter().map(|b| format!("\\{b:02x}")).collect())
}

/// AD intervals are negative counts of 100 ns; the "never" value is i64::MIN.
pub fn interval_secs(value: &str) -> i64 {
    match value.trim().parse::<i64>() {
        Ok(i64::MIN) | Err(_) => 0,
        Ok(v) => (v / -10_000_000).max(0),
    }
}

/// A FILETIME attribute (`pwdLastSet`, `lockoutTime`: 100 ns ticks since 1601) as Unix
/// seconds. None for 0 and negative values (AD's "not set") and for i64::MAX (its "never").
pub fn filetime_to_unix(value: &str) -> Option<i64> {
    match value.trim().parse::<i64>() {
        Ok(ticks) if ticks > 0 && ticks != i64::MAX => {
            Some(ticks / FILETIME_TICKS_PER_SEC - FILETIME_UNIX_OFFSET_SECS)
        }
        _ => None,
    }
}

/// `DC=corp,DC=example,DC=test` → `corp.example.test`.
pub fn dns_name_of(base_dn: &str) -> String {
    base_dn
        .split(',')
        .filter_map(|rdn| {
            let (k, v) = rdn.trim().split_once('=')?;
            k.eq_ignore_ascii_case("dc").then(|| v.to_ascii_lowercase())
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Why AD refused a user's simple bind, from the `data NNN` sub-code in its diagnostic text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindRefusal {
    WrongPassword,
    Locked,
    Disabled,
    /// The password is right but must be changed (`pwdLastSet: 0`) or has expired.
    MustChange,
    Other(String),
}

pub fn classify_bind(text: &str) -> BindRefusal {
    let lower = text.to_ascii_lowercase();
    let code = lower
        .split("data ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
        .unwrap_or("");
    match code {
        "52e" => BindRefusal::WrongPassword,
        "775" => BindRefusal::Locked,
        "533" | "701" => BindRefusal::Disabled,
        "773" | "532" => BindRefusal::MustChange,
        _ => BindRefusal::Other(text.to_owned()),
    }
}

/// Maps a refused modify to its reason. Samba names the reason in the diagnostic text; Windows
/// only says `0000052D` (constraint violation), and the caller then refines it with its own
/// evaluation of the policy.
pub fn map_modify_error(rc: u32, text: &str) -> DirectoryError {
    let lower = text.to_ascii_lowercase();
    match rc {
        19 => {
            if lower.contains("too short") {
                DirectoryError::TooShort
            } else if lower.contains("complexity") {
                DirectoryError::Complexity
            } else if lower.contains("history") || lower.contains("already used") {
                DirectoryError::History
            } else if lower.contains("too young") {
                DirectoryError::TooYoung
            } else if lower.contains("00000056")
                || lower.contains("doesn't match")
                || lower.contains("does not match")
            {
                // A change whose "old" password is not the current one.
                DirectoryError::WrongPassword
            } else {
                DirectoryError::PolicyOther(text.to_owned())
            }
        }
        50 => DirectoryError::AccessDenied(text.to_owned()),
        32 => DirectoryError::NotFound,
        53 if lower.contains("0000052d") => DirectoryError::PolicyOther(text.to_owned()),
        _ => DirectoryError::Other(format!("rc={rc}: {text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trip() {
        let raw: Vec<u8> = (0u8..16).collect();
        let text = guid_to_string(&raw).expect("16 bytes");
        assert_eq!(text, "03020100-0504-0706-0809-0a0b0c0d0e0f");
        assert_eq!(
            guid_filter_value(&text).expect("guid"),
            raw.iter().map(|b| format!("\\{b:02x}")).collect::<String>()
        );
    }

    /// objectGUID as AD stores it: the first three fields little-endian, the rest as they are.
    #[test]
    fn guid_bytes_read_in_ads_byte_order() {
        let raw = [
            0xd4, 0xc5, 0xa6, 0xb7, 0x2f, 0x1e, 0x4d, 0x3c, 0x8a, 0x9b, 0xac, 0xbd, 0xce, 0xdf,
            0xe0, 0xf1,
        ];
        assert_eq!(
            guid_to_string(&raw).as_deref(),
            Some("b7a6c5d4-1e2f-3c4d-8a9b-acbdcedfe0f1")
        );
        assert_eq!(
            guid_filter_value("B7A6C5D4-1E2F-3C4D-8A9B-ACBDCEDFE0F1").as_deref(),
            Some(r"\d4\c5\a6\b7\2f\1e\4d\3c\8a\9b\ac\bd\ce\df\e0\f1")
        );
        assert_eq!(guid_to_string(&raw[..15]), None);
        assert_eq!(
            guid_filter_value("b7a6c5d4-1e2f-3c4d-8a9b-acbdcedfe0"),
            None
        );
        assert_eq!(
            guid_filter_value("zza6c5d4-1e2f-3c4d-8a9b-acbdcedfe0f1"),
            None
        );
    }

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(&*unicode_pwd("ab"), &[0x22, 0, 0x61, 0, 0x62, 0, 0x22, 0]);
    }

    #[test]
    fn intervals_and_names() {
        assert_eq!(interval_secs("-864000000000"), 86_400);
        assert_eq!(interval_secs("-9223372036854775808"), 0);
        assert_eq!(
            dns_name_of("DC=corp,DC=example,DC=test"),
            "corp.example.test"
        );
        assert_eq!(
            pick_policy_hints(&["1.2.840.113556.1.4.2066".into()]),
            Some(POLICY_HINTS_DEPRECATED_OID)
        );
        assert_eq!(pick_policy_hints(&[]), None);
    }

    #[test]
    fn filetimes_become_unix_seconds() {
        // 2024-01-01T00:00:00Z, as AD writes it.
        assert_eq!(filetime_to_unix("133485408000000000"), Some(1_704_067_200));
        // Sub-second ticks are cut off, not rounded.
        assert_eq!(filetime_to_unix("133485408009999999"), Some(1_704_067_200));
        assert_eq!(filetime_to_unix("116444736000000000"), Some(0));
        assert_eq!(filetime_to_unix("0"), None);
        assert_eq!(filetime_to_unix("-1"), None);
        assert_eq!(filetime_to_unix("9223372036854775807"), None);
        assert_eq!(filetime_to_unix("soon"), None);
    }

    #[test]
    fn bind_refusals_by_sub_code() {
        let t = |code: &str| {
            classify_bind(&format!("80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data {code}, v4563"))
        };
        assert_eq!(t("52e"), BindRefusal::WrongPassword);
        assert_eq!(t("775"), BindRefusal::Locked);
        assert_eq!(t("533"), BindRefusal::Disabled);
        assert_eq!(t("773"), BindRefusal::MustChange);
        assert!(matches!(
            classify_bind("something else"),
            BindRefusal::Other(_)
        ));
    }

    #[test]
    fn samba_texts_map_to_reasons() {
        let t = "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!";
        assert_eq!(map_modify_error(19, t), DirectoryError::TooShort);
        assert_eq!(
            map_modify_error(19, "the password does not meet the complexity criteria!"),
            DirectoryError::Complexity
        );
        assert_eq!(
            map_modify_error(19, "the password was already used (in history)!"),
            DirectoryError::History
        );
        assert_eq!(
            map_modify_error(19, "the password is too young to change!"),
            DirectoryError::TooYoung
        );
        assert!(matches!(
            map_modify_error(50, "no"),
            DirectoryError::AccessDenied(_)
        ));
    }
}
