//! Contact details as values: phone numbers read once into E.164, and the masks that show a
//! user which number or address a code goes to without giving it away.

use phonenumber::{country, Mode, PhoneNumber, Type};

/// A phone number read and checked once, kept in E.164.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number {
    pub e164: String,
    pub country_code: u16,
    premium: bool,
    mobile: bool,
}

impl Number {
    /// Reads a number as a user or the directory wrote it; None when it is not a valid number.
    pub fn parse(text: &str, region: Option<country::Id>) -> Option<Number> {
        let text = text.trim();
        if text.is_empty() || text.len() > 40 {
            return None;
        }
        let parsed: PhoneNumber = phonenumber::parse(region, text).ok()?;
        if !parsed.is_valid() {
            return None;
        }
        let kind = parsed.number_type(&phonenumber::metadata::DATABASE);
        Some(Number {
            e164: parsed.format().mode(Mode::E164).to_string(),
            country_code: parsed.code().value(),
            premium: matches!(kind, Type::PremiumRate | Type::SharedCost),
            mobile: matches!(kind, Type::Mobile | Type::FixedLineOrMobile),
        })
    }

    pub fn masked(&self) -> String {
        sspr_protocol::gate::mask_phone(&self.e164, self.country_code)
    }

    pub fn is_mobile(&self) -> bool {
        self.mobile
    }

    /// Premium-rate and shared-cost numbers earn their owner money per text or call.
    pub fn is_premium(&self) -> bool {
        self.premium
    }
}

/// `jan.devries@corp.example.test` → `j•••••@c•••.example.test`. The number of dots is fixed so
/// the mask does not tell the address's length.
pub fn mask_mail(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    // Only a letter or digit is shown: a mask never carries a control, bidi or other odd
    // character from wherever the address came from.
    let first = |s: &str| match s.chars().next() {
        Some(c) if c.is_alphanumeric() => c.to_string(),
        Some(_) => "•".to_owned(),
        None => String::new(),
    };
    let (host, rest) = domain.split_once('.').unwrap_or((domain, ""));
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    format!("{}•••••@{}•••{}", first(local), first(host), rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Option<country::Id> {
        "NL".parse().ok()
    }

    #[test]
    fn numbers_read_in_any_common_spelling() {
        for spelling in [
            "06 12345678",
            "+31 6 1234 5678",
            "0031612345678",
            "+31612345678",
        ] {
            let n = Number::parse(spelling, nl()).expect(spelling);
            assert_eq!(n.e164, "+31612345678", "{spelling}");
            assert_eq!(n.masked(), "+31 6 ••••••78");
        }
        assert!(Number::parse("12", nl()).is_none());
        assert!(Number::parse("not a number", nl()).is_none());
    }

    #[test]
    fn premium_rate_numbers_are_recognised() {
        let premium = Number::parse("0900 1234567", nl()).expect("0900 is a valid NL number");
        assert!(premium.is_premium());
        assert!(!Number::parse("0612345678", nl())
            .expect("mobile")
            .is_premium());
    }

    #[test]
    fn masks_hide_all_but_the_first_letters() {
        assert_eq!(
            super::mask_mail("jan.devries@corp.example.test"),
            "j•••••@c•••.example.test"
        );
        assert_eq!(super::mask_mail("x@y"), "x•••••@y•••");
        assert_eq!(
            super::mask_mail("\u{202E}x@corp.example.test"),
            "••••••@c•••.example.test"
        );
    }
}
