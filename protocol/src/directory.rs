//! Which directory a typed user ID belongs to, when one server serves several (domains or
//! forests, each with its own agents). The browser and the server route alike: by UPN suffix,
//! by `DOMAIN\user`, or — for a bare name — by the domain the user picked.

use serde::{Deserialize, Serialize};

/// A directory as the agents report it and the start page lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryName {
    /// The AD domain's DNS name, e.g. `corp.example.com`.
    pub dns_name: String,
    /// The NetBIOS domain name, e.g. `CORP` (for `CORP\user`).
    #[serde(default)]
    pub netbios: String,
    /// Alternative UPN suffixes of the forest, e.g. `example.com`.
    #[serde(default)]
    pub upn_suffixes: Vec<String>,
}

impl DirectoryName {
    fn has_suffix(&self, suffix: &str) -> bool {
        self.dns_name.eq_ignore_ascii_case(suffix)
            || self
                .upn_suffixes
                .iter()
                .any(|s| s.eq_ignore_ascii_case(suffix))
    }
}

/// The directory `username` names: `DOMAIN\user` by NetBIOS (or DNS) name, `user@suffix` by
/// DNS name or UPN suffix. With only one directory, that one. None when it names none, or when
/// it is a bare name and there are several to choose from.
pub fn directory_of<'a>(
    username: &str,
    directories: &'a [DirectoryName],
) -> Option<&'a DirectoryName> {
    let name = username.trim();
    if let Some((domain, _)) = name.split_once('\\') {
        return directories.iter().find(|d| {
            d.netbios.eq_ignore_ascii_case(domain) || d.dns_name.eq_ignore_ascii_case(domain)
        });
    }
    if let Some((_, suffix)) = name.rsplit_once('@') {
        if let Some(d) = directories.iter().find(|d| d.has_suffix(suffix)) {
            return Some(d);
        }
    }
    match directories {
        [only] => Some(only),
        _ => None,
    }
}

/// A bare name made specific with the domain the user picked (`name@domain`, which the agent
/// matches against the UPN and, for the domain's own DNS name, the account name too).
pub fn qualify(username: &str, picked: &str) -> String {
    let name = username.trim();
    if picked.is_empty() || name.contains('\\') || name.contains('@') {
        name.to_owned()
    } else {
        format!("{name}@{picked}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Vec<DirectoryName> {
        vec![
            DirectoryName {
                dns_name: "corp.example.test".into(),
                netbios: "CORP".into(),
                upn_suffixes: vec!["example.com".into()],
            },
            DirectoryName {
                dns_name: "corp2.example.test".into(),
                netbios: "CORP2".into(),
                upn_suffixes: Vec::new(),
            },
        ]
    }

    #[test]
    fn routes_by_suffix_prefix_or_the_only_one() {
        let dirs = two();
        let dns = |u: &str| directory_of(u, &dirs).map(|d| d.dns_name.as_str());
        assert_eq!(dns("jan@corp2.example.test"), Some("corp2.example.test"));
        assert_eq!(dns("jan@EXAMPLE.com"), Some("corp.example.test"));
        assert_eq!(dns("corp2\\jan"), Some("corp2.example.test"));
        assert_eq!(dns("CORP\\jan"), Some("corp.example.test"));
        assert_eq!(dns("jan"), None, "a bare name needs a pick");
        assert_eq!(dns("jan@elsewhere.test"), None);
        assert_eq!(dns("OTHER\\jan"), None);
        let one = &dirs[..1];
        assert_eq!(
            directory_of("jan", one).map(|d| d.netbios.as_str()),
            Some("CORP")
        );
        assert_eq!(
            qualify(" jan ", "corp2.example.test"),
            "jan@corp2.example.test"
        );
        assert_eq!(qualify("CORP\\jan", "corp2.example.test"), "CORP\\jan");
        assert_eq!(qualify("jan", ""), "jan");
    }
}
