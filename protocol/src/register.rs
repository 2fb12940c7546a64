//! Browser ⇄ server: registering the methods that prove who a user is. The user signs in with
//! the current password (sealed in the browser like every password, checked by the agent
//! binding as the user), then adds, verifies, replaces or removes methods. A new number or
//! address counts only once a code sent to it comes back.

use serde::{Deserialize, Serialize};

use crate::seal::SealedSecret;

/// The key to seal the password to is the change flow's: `change::CHANGE_KEY_PATH`.
pub const SIGN_IN_PATH: &str = "/api/register/sign-in";
pub const STATE_PATH: &str = "/api/register/state";
pub const ADD_PATH: &str = "/api/register/add";
pub const CONFIRM_PATH: &str = "/api/register/confirm";
pub const AUTHENTICATOR_PATH: &str = "/api/register/authenticator";
pub const REMOVE_PATH: &str = "/api/register/remove";
pub const QUESTIONS_PATH: &str = "/api/register/questions";
/// Ends the session at once (a shared PC); answers 204 No Content, also for an ended one.
pub const SIGN_OUT_PATH: &str = "/api/register/sign-out";

/// The methods a user can register, one of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    Mobile,
    OfficePhone,
    AltMail,
    Authenticator,
    Questions,
}

impl Slot {
    pub const ALL: [Slot; 5] = [
        Slot::Mobile,
        Slot::OfficePhone,
        Slot::AltMail,
        Slot::Authenticator,
        Slot::Questions,
    ];

    pub fn text(self) -> crate::Text {
        use crate::Text;
        match self {
            Slot::Mobile => Text::SlotMobile,
            Slot::OfficePhone => Text::SlotOfficePhone,
            Slot::AltMail => Text::SlotAltMail,
            Slot::Authenticator => Text::SlotAuthenticator,
            Slot::Questions => Text::SlotQuestions,
        }
    }
}

/// Where a registered value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Read from the directory (e.g. `mobile`): counts without any action.
    Directory,
    /// Registered and verified by the user; takes precedence over the directory.
    User,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotState {
    pub slot: Slot,
    /// Masked; empty when nothing is registered (or for an authenticator).
    pub masked: String,
    /// None: not registered.
    pub source: Option<Source>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registered {
    pub session: String,
    pub account_name: String,
    pub display_name: String,
    /// The account's own mail address, masked: always there, never registered here.
    pub primary_mail: String,
    pub slots: Vec<SlotState>,
    /// How many security questions to set up; 0 when the policy does not use them.
    pub questions_to_register: u8,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub sealed_password: SealedSecret,
    #[serde(default)]
    pub lang: crate::Lang,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRef {
    pub session: String,
}

/// A new number or address for a slot; a code goes to it (text to a mobile, a call to an
/// office phone, mail to an address).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddContact {
    pub session: String,
    pub slot: Slot,
    pub value: String,
}

impl std::fmt::Debug for AddContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddContact")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub session: String,
    pub code: String,
}

impl std::fmt::Debug for Confirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirm").finish_non_exhaustive()
    }
}

/// What the browser shows to enrol an authenticator app. Confirmed by a first valid code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// The secret in base32, for people who cannot scan.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth://` URI as a QR code, SVG.
    pub qr_svg: String,
    pub digits: u8,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment").finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveSlot {
    pub session: String,
    pub slot: Slot,
}

/// Security questions and their answers, all at once (replacing any set before).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetQuestions {
    pub session: String,
    pub answers: Vec<(crate::gate::Question, String)>,
}

impl std::fmt::Debug for SetQuestions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetQuestions").finish_non_exhaustive()
    }
}
