//! The API's bodies as the portal and the console send and read them: postcard, named by its
//! media type. The server reads and answers JSON as well, for every other client.

use serde::de::DeserializeOwned;

/// The media type of postcard bodies.
pub const POSTCARD_MEDIA_TYPE: &str = "application/x-postcard";

/// Whether a header's media type (`type/subtype; parameters`) is postcard's: exactly, in any
/// case, so that no look-alike (`text/plain; x=application/x-postcard`) passes.
pub fn is_postcard(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(POSTCARD_MEDIA_TYPE))
}

/// A whole postcard body as `T`: bytes left over mean it is something else.
pub fn from_postcard<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    match postcard::take_from_bytes(body) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_with_bytes_left_over_is_not_postcard() {
        let body = postcard::to_allocvec(&(7u32, true)).expect("postcard");
        assert_eq!(from_postcard::<(u32, bool)>(&body), Some((7, true)));
        let mut longer = body.clone();
        longer.push(0);
        assert_eq!(from_postcard::<(u32, bool)>(&longer), None);
    }
}
