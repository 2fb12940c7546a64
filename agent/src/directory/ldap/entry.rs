//! Reading attribute values out of search entries.

use ldap3::SearchEntry;

pub(super) fn first<'a>(entry: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    entry
        .attrs
        .get(attr)
        .and_then(|v| v.first())
        .map(String::as_str)
}

/// Every value of an attribute, its name matched without regard to case (AD answers in the
/// schema's spelling, the configuration may not).
pub(super) fn values(entry: &SearchEntry, attr: &str) -> Vec<String> {
    if attr.is_empty() {
        return Vec::new();
    }
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A binary attribute lands in `attrs` when its bytes happen to be valid UTF-8.
pub(super) fn first_bytes(entry: &SearchEntry, attr: &str) -> Option<Vec<u8>> {
    entry
        .bin_attrs
        .get(attr)
        .and_then(|v| v.first().cloned())
        .or_else(|| first(entry, attr).map(|s| s.as_bytes().to_vec()))
}
