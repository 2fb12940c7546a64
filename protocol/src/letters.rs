//! What AD's password rules ask of Unicode: a string in lower case, and whether a character is
//! an upper- or lower-case letter, a number or a letter at all. Natively Rust's own tables
//! answer; in the browser the browser's do — they are there anyway, and Rust's would be a
//! sixteenth of the portal's download (about 10 KB brotli). Both follow the same Unicode
//! properties: Rust's `is_uppercase`, `is_lowercase`, `is_numeric` and `is_alphabetic` are
//! JavaScript's `\p{Uppercase}`, `\p{Lowercase}`, `\p{N}` and `\p{Alphabetic}`.

#[cfg(not(target_family = "wasm"))]
mod native {
    pub fn to_lower(s: &str) -> String {
        s.to_lowercase()
    }

    pub fn is_upper(c: char) -> bool {
        c.is_uppercase()
    }

    pub fn is_lower(c: char) -> bool {
        c.is_lowercase()
    }

    pub fn is_number(c: char) -> bool {
        c.is_numeric()
    }

    pub fn is_letter(c: char) -> bool {
        c.is_alphabetic()
    }
}
#[cfg(not(target_family = "wasm"))]
pub use native::*;

#[cfg(target_family = "wasm")]
mod browser {
    use js_sys::{JsString, RegExp};

    pub fn to_lower(s: &str) -> String {
        JsString::from(s).to_lower_case().into()
    }

    /// The four properties as anchored patterns, compiled once.
    struct Patterns([RegExp; 4]);

    const UPPER: usize = 0;
    const LOWER: usize = 1;
    const NUMBER: usize = 2;
    const LETTER: usize = 3;

    thread_local! {
        static PATTERNS: Patterns = Patterns(
            [r"^\p{Uppercase}$", r"^\p{Lowercase}$", r"^\p{N}$", r"^\p{Alphabetic}$"]
                .map(|p| RegExp::new(p, "u")),
        );
    }

    fn has(property: usize, c: char) -> bool {
        if c.is_ascii() {
            // The common case without a call into the browser.
            return match property {
                UPPER => c.is_ascii_uppercase(),
                LOWER => c.is_ascii_lowercase(),
                NUMBER => c.is_ascii_digit(),
                _ => c.is_ascii_alphabetic(),
            };
        }
        let mut utf8 = [0; 4];
        let c = &*c.encode_utf8(&mut utf8);
        PATTERNS.with(|p| p.0[property].test(c))
    }

    pub fn is_upper(c: char) -> bool {
        has(UPPER, c)
    }

    pub fn is_lower(c: char) -> bool {
        has(LOWER, c)
    }

    pub fn is_number(c: char) -> bool {
        has(NUMBER, c)
    }

    pub fn is_letter(c: char) -> bool {
        has(LETTER, c)
    }
}
#[cfg(target_family = "wasm")]
pub use browser::*;
