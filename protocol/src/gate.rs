//! Browser ⇄ server: the gates of a reset or unlock. After the CAPTCHA the server offers the
//! methods left for this gate (masked), the user picks one, proves it, and either meets the
//! next gate or reaches the flow's last step.

use serde::{Deserialize, Serialize};

use crate::reset::{CodeSent, Completed, NewPasswordStep};

pub const METHOD_PATH: &str = "/api/reset/method";
pub const DELIVERY_PATH: &str = "/api/reset/delivery";
/// The answers to the security questions a gate asked.
pub const ANSWERS_PATH: &str = "/api/reset/answers";
/// Back to the current gate's list of methods.
pub const OTHER_METHOD_PATH: &str = "/api/reset/other-method";

/// Every way a user can prove who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code by mail: the account's address or an alternate one.
    Mail,
    /// A code by text message to the mobile phone.
    MobileText,
    /// A call to the mobile phone that reads the code out.
    MobileCall,
    /// A call to the office phone that reads the code out.
    OfficeCall,
    /// A code from an authenticator app (TOTP).
    Authenticator,
    /// Answers to the user's security questions.
    Questions,
}

impl Method {
    /// The method's name as a page marks it (`data-method`), for scripts and tests.
    pub fn name(self) -> &'static str {
        match self {
            Method::Mail => "Mail",
            Method::MobileText => "MobileText",
            Method::MobileCall => "MobileCall",
            Method::OfficeCall => "OfficeCall",
            Method::Authenticator => "Authenticator",
            Method::Questions => "Questions",
        }
    }
}

/// Methods that reach the same device or secret. The second gate must use another one: a text
/// and a call to the same mobile are one proof, not two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Mail,
    Mobile,
    Office,
    Authenticator,
    Questions,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Mail,
        Method::MobileText,
        Method::MobileCall,
        Method::OfficeCall,
        Method::Authenticator,
        Method::Questions,
    ];

    pub fn family(self) -> Family {
        match self {
            Method::Mail => Family::Mail,
            Method::MobileText | Method::MobileCall => Family::Mobile,
            Method::OfficeCall => Family::Office,
            Method::Authenticator => Family::Authenticator,
            Method::Questions => Family::Questions,
        }
    }

    /// A text or a call costs money and rings a phone: the user first types the whole number.
    pub fn uses_phone(self) -> bool {
        matches!(
            self,
            Method::MobileText | Method::MobileCall | Method::OfficeCall
        )
    }

    /// The server sends a code (rather than the user reading one off an app).
    pub fn sends_code(self) -> bool {
        self.uses_phone() || self == Method::Mail
    }
}

/// One way through this gate, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodOffer {
    /// What the browser sends back to pick this offer.
    pub choice: u8,
    pub method: Method,
    /// The destination, masked (`+31 6 ••••••67`); empty for an authenticator app.
    pub masked: String,
}

/// A gate to pass: which of how many, and the methods left for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub number: u8,
    pub of: u8,
    pub offers: Vec<MethodOffer>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChooseMethod {
    pub flow_id: String,
    pub choice: u8,
    /// For a text or a call: the whole number, typed by the user, which must match the masked one.
    #[serde(default)]
    pub phone: Option<String>,
    /// The language the page is in now: what is sent from here on (a code, the closing notice)
    /// is in it, also after a switch during the flow.
    #[serde(default)]
    pub lang: Option<crate::Lang>,
}

impl std::fmt::Debug for ChooseMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChooseMethod")
            .field("choice", &self.choice)
            .finish_non_exhaustive()
    }
}

/// What the chosen method asks of the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged: an internally tagged enum makes serde buffer the whole body, which
// costs the browser build kilobytes of parsing code.
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    /// A code is on its way (mail, text or call).
    Code(CodeSent),
    /// Type the code the authenticator app shows now.
    Authenticator { digits: u8 },
    /// Answer these of the user's security questions.
    Questions { asked: Vec<Question> },
}

/// The built-in security questions, in both languages (`Question::text`). Answers are compared
/// without regard to case, spaces and punctuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    FirstPet,
    BirthCity,
    FirstSchool,
    ChildhoodFriend,
    FirstConcert,
    GrandmotherName,
}

impl Question {
    pub const ALL: [Question; 6] = [
        Question::FirstPet,
        Question::BirthCity,
        Question::FirstSchool,
        Question::ChildhoodFriend,
        Question::FirstConcert,
        Question::GrandmotherName,
    ];

    pub fn text(self) -> crate::Text {
        use crate::Text;
        match self {
            Question::FirstPet => Text::QuestionFirstPet,
            Question::BirthCity => Text::QuestionBirthCity,
            Question::FirstSchool => Text::QuestionFirstSchool,
            Question::ChildhoodFriend => Text::QuestionChildhoodFriend,
            Question::FirstConcert => Text::QuestionFirstConcert,
            Question::GrandmotherName => Text::QuestionGrandmotherName,
        }
    }
}

/// An answer as it is compared: lower case, letters and digits only, single spaces.
pub fn normalize_answer(answer: &str) -> String {
    answer
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Answers shorter than this (normalised) are refused at registration: too easy to guess.
pub const MIN_ANSWER_CHARS: usize = 3;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub flow_id: String,
    /// In the order the questions were asked.
    pub answers: Vec<String>,
    /// The language the page is in now: what is sent from here on (a code, the closing notice)
    /// is in it, also after a switch during the flow.
    #[serde(default)]
    pub lang: Option<crate::Lang>,
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers").finish_non_exhaustive()
    }
}

/// What follows a passed gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterGate {
    Gate(Gate),
    NewPassword(NewPasswordStep),
    /// An unlock: done as soon as the last gate is passed.
    Completed(Completed),
}

/// Whether a text or call got out. Sends run in the background (their timing must not tell a
/// real account from a decoy), so the code page asks once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Sent,
    /// The provider refused: the user should pick another method.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryState {
    pub delivery: Delivery,
}

/// Masks a phone number in E.164 form: the country code, the first national digit and the last
/// two stay visible (`+31 6 ••••••67`).
pub fn mask_phone(e164: &str, country_code: u16) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let cc = country_code.to_string();
    let national: Vec<char> = digits
        .iter()
        .skip(cc.len().min(digits.len()))
        .copied()
        .collect();
    if national.len() < 4 {
        return format!("+{cc} ••••");
    }
    let hidden = national.len() - 3;
    format!(
        "+{cc} {} {}{}",
        national[0],
        "•".repeat(hidden),
        national[national.len() - 2..].iter().collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_mask_to_country_first_digit_and_last_two() {
        assert_eq!(mask_phone("+31612345667", 31), "+31 6 ••••••67");
        assert_eq!(mask_phone("+3220000000", 32), "+32 2 •••••00");
        assert_eq!(mask_phone("+3112", 31), "+31 ••••");
    }

    #[test]
    fn answers_compare_without_case_spaces_or_punctuation() {
        assert_eq!(normalize_answer("  Mr. Whiskers!! "), "mr whiskers");
        assert_eq!(normalize_answer("MR  whiskers"), "mr whiskers");
        assert_eq!(normalize_answer("’s-Hertogenbosch"), "s hertogenbosch");
    }

    #[test]
    fn a_text_and_a_call_to_one_mobile_are_one_family() {
        assert_eq!(Method::MobileText.family(), Method::MobileCall.family());
        assert_ne!(Method::MobileCall.family(), Method::OfficeCall.family());
        assert!(Method::OfficeCall.uses_phone() && !Method::Mail.uses_phone());
        assert!(Method::Mail.sends_code() && !Method::Authenticator.sends_code());
    }
}
