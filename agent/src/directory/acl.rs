//! Reading a directory object's DACL (binary, self-relative security descriptor) far enough to
//! answer one question: does this set of SIDs hold a given right on the object? Used by
//! `doctor` to check the service account's rights without exercising them.

use super::ad;

/// ADS_RIGHT_DS_CONTROL_ACCESS: an extended right such as Reset Password.
pub const CONTROL_ACCESS: u32 = 0x100;
/// ADS_RIGHT_DS_WRITE_PROP.
pub const WRITE_PROPERTY: u32 = 0x20;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;

/// The extended right "Reset Password" (User-Force-Change-Password).
pub const RESET_PASSWORD: &str = "00299570-246d-11d0-a768-00aa006e0529";
/// The extended right "Change Password" (User-Change-Password).
pub const CHANGE_PASSWORD: &str = "ab721a53-1e2f-11d0-9819-00aa0040529b";
/// The `user` class: inheritable ACEs limited to it apply to user objects.
pub const USER_CLASS: &str = "bf967aba-0de6-11d0-a285-00aa003049e2";
/// Everyone and Authenticated Users, which every bound account is.
pub const WORLD_SIDS: [&str; 2] = ["S-1-1-0", "S-1-5-11"];

const ACCESS_ALLOWED: u8 = 0x00;
const ACCESS_DENIED: u8 = 0x01;
const ACCESS_ALLOWED_OBJECT: u8 = 0x05;
const ACCESS_DENIED_OBJECT: u8 = 0x06;
const INHERIT_ONLY: u8 = 0x08;
const OBJECT_TYPE_PRESENT: u32 = 0x1;
const INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

/// One access control entry, as far as the check needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    pub allow: bool,
    pub mask: u32,
    pub object_type: Option<String>,
    pub inherited_object_type: Option<String>,
    pub sid: String,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A binary SID → `S-1-5-21-…`.
pub fn sid_to_string(b: &[u8]) -> Option<String> {
    let count = usize::from(*b.get(1)?);
    let authority = b
        .get(2..8)?
        .iter()
        .fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
    let mut text = format!("S-{}-{authority}", b.first()?);
    for i in 0..count {
        text.push_str(&format!("-{}", u32_at(b, 8 + 4 * i)?));
    }
    Some(text)
}

/// The ACEs of the DACL that apply to the object itself (inherit-only ones are skipped).
pub fn dacl(sd: &[u8]) -> Option<Vec<Ace>> {
    let offset = u32_at(sd, 16)? as usize;
    if offset == 0 {
        return Some(Vec::new());
    }
    let count = u16_at(sd, offset + 4)?;
    let mut at = offset + 8;
    let mut aces = Vec::new();
    for _ in 0..count {
        let kind = *sd.get(at)?;
        let flags = *sd.get(at + 1)?;
        let size = usize::from(u16_at(sd, at + 2)?);
        let body = sd.get(at + 4..at + size)?;
        at += size;
        if flags & INHERIT_ONLY != 0 {
            continue;
        }
        let mask = u32_at(body, 0)?;
        let ace = match kind {
            ACCESS_ALLOWED | ACCESS_DENIED => Ace {
                allow: kind == ACCESS_ALLOWED,
                mask,
                object_type: None,
                inherited_object_type: None,
                sid: sid_to_string(body.get(4..)?)?,
            },
            ACCESS_ALLOWED_OBJECT | ACCESS_DENIED_OBJECT => {
                let present = u32_at(body, 4)?;
                let mut p = 8;
                let mut guid = |on: bool| -> Option<Option<String>> {
                    if !on {
                        return Some(None);
                    }
                    let g = ad::guid_to_string(body.get(p..p + 16)?)?;
                    p += 16;
                    Some(Some(g))
                };
                let object_type = guid(present & OBJECT_TYPE_PRESENT != 0)?;
                let inherited_object_type = guid(present & INHERITED_OBJECT_TYPE_PRESENT != 0)?;
                Ace {
                    allow: kind == ACCESS_ALLOWED_OBJECT,
                    mask,
                    object_type,
                    inherited_object_type,
                    sid: sid_to_string(body.get(p..)?)?,
                }
            }
            // Callback and audit ACEs do not grant or deny what the check asks about.
            _ => continue,
        };
        aces.push(ace);
    }
    Some(aces)
}

/// Whether `sids` hold `right` (a mask bit, for one extended right or attribute GUID) on a user
/// object with these ACEs. The first ACE that covers the right decides, as in Windows' access
/// check over a canonically ordered DACL (explicit deny, explicit allow, inherited deny,
/// inherited allow).
pub fn holds(aces: &[Ace], sids: &[String], right: u32, guid: &str) -> bool {
    aces.iter()
        .filter(|ace| sids.iter().any(|s| s.eq_ignore_ascii_case(&ace.sid)))
        .filter(|ace| {
            ace.inherited_object_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case(USER_CLASS))
        })
        .find(|ace| {
            let generic = ace.mask & GENERIC_ALL != 0
                || (right == WRITE_PROPERTY && ace.mask & GENERIC_WRITE != 0);
            let bits = ace.mask & right != 0;
            let target = ace
                .object_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case(guid));
            generic || (bits && target)
        })
        .is_some_and(|ace| ace.allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid_bytes(sub: &[u32]) -> Vec<u8> {
        let mut b = vec![1, sub.len() as u8, 0, 0, 0, 0, 0, 5];
        for s in sub {
            b.extend(s.to_le_bytes());
        }
        b
    }

    fn guid_bytes(text: &str) -> Vec<u8> {
        let hex: String = text.chars().filter(|c| *c != '-').collect();
        let raw = hex::decode(hex).expect("hex");
        [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
            .iter()
            .map(|i| raw[*i])
            .collect()
    }

    fn object_ace(kind: u8, flags: u8, mask: u32, object: Option<&str>, sid: &[u32]) -> Vec<u8> {
        let mut body = mask.to_le_bytes().to_vec();
        if matches!(kind, ACCESS_ALLOWED_OBJECT | ACCESS_DENIED_OBJECT) {
            body.extend(u32::from(object.is_some()).to_le_bytes());
        }
        if let Some(g) = object {
            body.extend(guid_bytes(g));
        }
        body.extend(sid_bytes(sid));
        let mut ace = vec![kind, flags];
        ace.extend(((body.len() + 4) as u16).to_le_bytes());
        ace.extend(body);
        ace
    }

    fn descriptor(aces: &[Vec<u8>]) -> Vec<u8> {
        let mut sd = vec![1, 0, 0x04, 0x80];
        sd.extend([0u8; 12]); // owner, group, sacl offsets
        sd.extend(20u32.to_le_bytes()); // dacl at 20
        let body: Vec<u8> = aces.concat();
        sd.extend([4, 0]);
        sd.extend(((body.len() + 8) as u16).to_le_bytes());
        sd.extend((aces.len() as u16).to_le_bytes());
        sd.extend([0, 0]);
        sd.extend(body);
        sd
    }

    const AGENT: &[u32] = &[21, 1, 2, 3, 1105];

    #[test]
    fn a_granted_reset_right_is_found_and_a_deny_wins() {
        let sids = vec![sid_to_string(&sid_bytes(AGENT)).expect("sid")];
        assert_eq!(sids[0], "S-1-5-21-1-2-3-1105");
        let granted = descriptor(&[object_ace(
            ACCESS_ALLOWED_OBJECT,
            0x10,
            CONTROL_ACCESS,
            Some(RESET_PASSWORD),
            AGENT,
        )]);
        let aces = dacl(&granted).expect("parses");
        assert!(holds(&aces, &sids, CONTROL_ACCESS, RESET_PASSWORD));
        assert!(!holds(&aces, &sids, CONTROL_ACCESS, CHANGE_PASSWORD));
        assert!(!holds(&aces, &sids, WRITE_PROPERTY, RESET_PASSWORD));

        let denied = descriptor(&[
            object_ace(
                ACCESS_DENIED_OBJECT,
                0,
                CONTROL_ACCESS,
                Some(RESET_PASSWORD),
                AGENT,
            ),
            object_ace(ACCESS_ALLOWED, 0x10, GENERIC_ALL, None, AGENT),
        ]);
        let aces = dacl(&denied).expect("parses");
        assert!(!holds(&aces, &sids, CONTROL_ACCESS, RESET_PASSWORD));
        assert!(holds(&aces, &sids, WRITE_PROPERTY, RESET_PASSWORD));

        // Someone else's grant, and an inherit-only grant, do not count.
        let others = descriptor(&[
            object_ace(ACCESS_ALLOWED, 0, GENERIC_ALL, None, &[21, 9, 9, 9, 500]),
            object_ace(ACCESS_ALLOWED, INHERIT_ONLY, GENERIC_ALL, None, AGENT),
        ]);
        let aces = dacl(&others).expect("parses");
        assert!(!holds(&aces, &sids, CONTROL_ACCESS, RESET_PASSWORD));
    }
}
