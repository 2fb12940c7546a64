//! Browser ⇄ server: the self-service reset flow. Every request names its flow by an opaque,
//! unguessable id; the server keeps the state and the browser renders the step it is given.

use serde::{Deserialize, Serialize};

use crate::captcha::{Captcha, CaptchaSolution};
use crate::policy::{AccountNames, PasswordPolicy};
use crate::seal::{AgentPublicKey, SealedSecret};

pub const STATUS_PATH: &str = "/api/status";
pub const START_PATH: &str = "/api/reset/start";
pub const CAPTCHA_PATH: &str = "/api/reset/captcha";
pub const CODE_PATH: &str = "/api/reset/code";
pub const RESEND_PATH: &str = "/api/reset/resend";
pub const PASSWORD_PATH: &str = "/api/reset/password";
/// A fresh new-password step (the key of an agent that is live now) for a flow at that step.
pub const KEY_PATH: &str = "/api/reset/key";

/// What the gates are passed for. Both use the same verification; an unlock changes no password.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    #[default]
    Reset,
    Unlock,
    /// A change with the current password; it has no gates and never starts a reset flow.
    Change,
    /// Registering methods, after a sign-in with the current password; no reset flow either.
    Register,
}

/// Characters AD allows in no logon name (sAMAccountName or UPN). A backslash is allowed: it
/// separates `DOMAIN\user`.
pub const FORBIDDEN_IN_USERNAME: &[char] = &[
    '"', '/', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>',
];

/// Usernames longer than this are refused before anything else happens.
pub const MAX_USERNAME_LEN: usize = 256;

/// The account part of a typed user ID: `CORP\jan`, `jan@corp.example` and `jan` are all `jan`.
pub fn account_part(user_id: &str) -> &str {
    let local = user_id.rsplit_once('\\').map(|(_, u)| u).unwrap_or(user_id);
    local.split('@').next().unwrap_or(local).trim()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_spelling_names_the_same_account_part() {
        for spelling in ["CORP\\jan", "jan@corp.example.test", "jan", " jan "] {
            assert_eq!(super::account_part(spelling), "jan", "{spelling}");
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// False when no agent is connected: the first page says so before anything is sent.
    pub writeback_available: bool,
    /// The directories with a live agent. With more than one, the pages offer a domain picker.
    #[serde(default)]
    pub directories: Vec<crate::directory::DirectoryName>,
    /// How users reach their helpdesk, shown at the foot of every page.
    #[serde(default)]
    pub contact: HelpContact,
    /// The human check is a computation in the browser, with nothing to click or read; the
    /// first page says so (and says nothing of the kind before a picture or a widget).
    #[serde(default)]
    pub captcha_computed: bool,
}

/// The helpdesk's contact line as the operator configured it; each part may be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpContact {
    /// A line of text, e.g. "IT Service Desk, weekdays 8:00–18:00".
    #[serde(default)]
    pub text: String,
    /// A telephone number as people dial it, e.g. "+31 20 123 4567".
    #[serde(default)]
    pub phone: String,
    /// The helpdesk's web page (http or https).
    #[serde(default)]
    pub url: String,
}

impl HelpContact {
    /// The number for a `tel:` link: its digits, and a leading `+`. In an international
    /// number the "(0)" of the national trunk prefix is not dialled.
    pub fn dial(&self) -> String {
        let phone = self.phone.trim();
        match phone.strip_prefix('+') {
            Some(rest) => format!("+{}", digits(&rest.replace("(0)", ""))),
            None => digits(phone),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.phone.is_empty() && self.url.is_empty()
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub username: String,
    #[serde(default)]
    pub lang: crate::Lang,
    #[serde(default)]
    pub purpose: Purpose,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Started {
    pub flow_id: String,
    pub captcha: Captcha,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaAnswer {
    pub flow_id: String,
    pub solution: CaptchaSolution,
}

/// The gate's code is on its way (or, for an account that cannot be helped, looks exactly as if).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSent {
    /// How the code travels: by mail, as a text, or read out in a call.
    pub method: crate::gate::Method,
    /// The destination, masked: `j•••••@c•••.example.test`.
    pub destination: String,
    pub code_length: u8,
    pub code_ttl_secs: u32,
    pub resend_after_secs: u32,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeAnswer {
    pub flow_id: String,
    pub code: String,
    /// The language the page is in now: what is sent from here on (a code, the closing notice)
    /// is in it, also after a switch during the flow.
    #[serde(default)]
    pub lang: Option<crate::Lang>,
}

impl std::fmt::Debug for CodeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeAnswer")
            .field("flow_id", &"..")
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowRef {
    pub flow_id: String,
}

/// The gates are passed: the browser may seal a new password to this agent key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPasswordStep {
    pub policy: PasswordPolicy,
    pub names: AccountNames,
    pub agent_key: AgentPublicKey,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSubmit {
    pub flow_id: String,
    pub sealed: SealedSecret,
    /// The language the page is in now: what is sent from here on (a code, the closing notice)
    /// is in it, also after a switch during the flow.
    #[serde(default)]
    pub lang: Option<crate::Lang>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completed {
    /// The account's name as the directory knows it, for the success page.
    pub account_name: String,
    /// The directory had the account locked when the flow began. An unlock of an account that
    /// was not locked tells the user so: their trouble is then the password, not a lockout.
    #[serde(default)]
    pub was_locked: bool,
}
