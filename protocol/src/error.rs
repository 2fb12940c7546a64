//! The errors a user or an API client can see. The server maps every internal failure to one of
//! these codes in one place; the browser turns the code into words through `i18n`.

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Text};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body was not the JSON this endpoint takes.
    BadRequest,
    PayloadTooLarge,
    /// A user ID with characters no AD logon name can have (`*`, `=`, `;`, …).
    InvalidUsername,
    /// The flow id is unknown or its time ran out.
    UnknownFlow,
    /// The request belongs to another step than the flow is at (a replay or a stale tab).
    WrongStep,
    CaptchaFailed,
    WrongCode,
    CodeExpired,
    /// Too many wrong codes: this code is dead, ask for a new one.
    CodeExhausted,
    TooManyRequests,
    /// The typed phone number is not the one the masked number stands for; nothing was sent.
    PhoneMismatch,
    /// The provider could not deliver the code: the user should try another method.
    SendFailed,
    /// An authenticator code that was already used once.
    CodeReused,
    /// The chosen method is not (or no longer) offered at this gate.
    MethodUnavailable,
    /// A sign-in with a wrong user ID or password (or a locked or unknown account: the same).
    SignInFailed,
    /// Not a phone number or mail address this portal can send to.
    InvalidContact,
    /// Security questions answered wrongly (which ones is not said).
    AnswersWrong,
    /// Security questions set up with repeats or too-short answers.
    QuestionsInvalid,
    /// No agent is connected for the directory: nothing can be written back right now.
    WritebackUnavailable,
    /// The agent did not answer in time.
    AgentTimeout,
    PasswordTooShort,
    PasswordComplexity,
    /// The password holds the account name or a part of the full name (AD's rule).
    PasswordContainsName,
    PasswordHistory,
    PasswordTooYoung,
    /// A change was asked with a current password that is not right.
    CurrentPasswordWrong,
    /// The account is locked out; it must be unlocked before its password can be changed.
    AccountLocked,
    /// AD refused the password for a reason it did not name more precisely.
    PasswordRejected,
    /// The sealed password could not be opened (stale key, corrupted seal).
    SealRejected,
    /// The user ID names a domain (`DOMAIN\\name`, `name@suffix`) that no connected directory
    /// has: AD could never match it, so it is refused by its syntax, before any lookup.
    UnknownDomain,
    /// Several directories are served and the user ID does not say which one it is in.
    DirectoryNeeded,
    /// The agent whose key the password was sealed to went away; another one serves the
    /// directory now. Nothing was changed: seal again to the new key and submit again.
    AgentChanged,
    /// The account cannot be changed through self-service (disabled, protected, out of scope).
    AccountNotEligible,
    /// The directory refused the agent's service account (missing rights).
    DirectoryAccessDenied,
    DirectoryUnreachable,
    /// An onboarding token or agent credential that is unknown, used or expired.
    InvalidToken,
    /// The operator's configuration forbids this operation on this directory.
    OperationNotAllowed,
    /// The staff session is unknown, ended (signed out, idle, at its end) or not yet past its
    /// second factor: sign in again.
    SessionEnded,
    /// A state change without this portal's origin or the session's anti-forgery token.
    ForgedRequest,
    /// A staff member with no second factor of their own (no authenticator, no mail).
    StaffFactorMissing,
    /// The helpdesk's tiering: staff never act on protected accounts (adminCount=1), members
    /// of protected groups, or other staff.
    TargetOffLimits,
    /// A helpdesk reset or unlock before the caller was verified for that account.
    CallerNotVerified,
    Internal,
}

impl ErrorCode {
    /// The directory refused the new password itself (not the person or the request): the
    /// message belongs at the new-password field.
    pub fn refuses_new_password(self) -> bool {
        matches!(
            self,
            Self::PasswordTooShort
                | Self::PasswordComplexity
                | Self::PasswordContainsName
                | Self::PasswordHistory
        )
    }

    /// What is wrong is the one-time code typed (not the flow or the request): the message
    /// belongs at the code's field.
    pub fn is_about_the_code(self) -> bool {
        matches!(
            self,
            Self::WrongCode | Self::CodeExpired | Self::CodeExhausted | Self::CodeReused
        )
    }

    pub fn text(self) -> Text {
        match self {
            Self::BadRequest => Text::ErrBadRequest,
            Self::InvalidUsername => Text::ErrInvalidUsername,
            Self::PayloadTooLarge => Text::ErrPayloadTooLarge,
            Self::UnknownFlow => Text::ErrUnknownFlow,
            Self::WrongStep => Text::ErrWrongStep,
            Self::CaptchaFailed => Text::ErrCaptchaFailed,
            Self::WrongCode => Text::ErrWrongCode,
            Self::CodeExpired => Text::ErrCodeExpired,
            Self::CodeExhausted => Text::ErrCodeExhausted,
            Self::TooManyRequests => Text::ErrTooManyRequests,
            Self::PhoneMismatch => Text::ErrPhoneMismatch,
            Self::SendFailed => Text::ErrSendFailed,
            Self::CodeReused => Text::ErrCodeReused,
            Self::MethodUnavailable => Text::ErrMethodUnavailable,
            Self::SignInFailed => Text::ErrSignInFailed,
            Self::InvalidContact => Text::ErrInvalidContact,
            Self::AnswersWrong => Text::ErrAnswersWrong,
            Self::QuestionsInvalid => Text::ErrQuestionsInvalid,
            Self::WritebackUnavailable => Text::ErrWritebackUnavailable,
            Self::AgentTimeout => Text::ErrAgentTimeout,
            Self::PasswordTooShort => Text::ErrPasswordTooShort,
            Self::PasswordComplexity => Text::ErrPasswordComplexity,
            Self::PasswordContainsName => Text::ErrPasswordContainsName,
            Self::PasswordHistory => Text::ErrPasswordHistory,
            Self::PasswordTooYoung => Text::ErrPasswordTooYoung,
            Self::PasswordRejected => Text::ErrPasswordRejected,
            Self::CurrentPasswordWrong => Text::ErrCurrentPasswordWrong,
            Self::AccountLocked => Text::ErrAccountLocked,
            Self::SealRejected => Text::ErrSealRejected,
            Self::AgentChanged => Text::ErrAgentChanged,
            Self::DirectoryNeeded => Text::ErrDirectoryNeeded,
            Self::UnknownDomain => Text::ErrUnknownDomain,
            Self::AccountNotEligible => Text::ErrAccountNotEligible,
            Self::DirectoryAccessDenied => Text::ErrDirectoryAccessDenied,
            Self::DirectoryUnreachable => Text::ErrDirectoryUnreachable,
            Self::OperationNotAllowed => Text::ErrOperationNotAllowed,
            Self::InvalidToken => Text::ErrInvalidToken,
            Self::SessionEnded => Text::ErrSessionEnded,
            Self::ForgedRequest => Text::ErrForgedRequest,
            Self::StaffFactorMissing => Text::ErrStaffFactorMissing,
            Self::TargetOffLimits => Text::ErrTargetOffLimits,
            Self::CallerNotVerified => Text::ErrCallerNotVerified,
            Self::Internal => Text::ErrInternal,
        }
    }
}

/// The body of every 4xx/5xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    /// The same message in English, for API clients and logs; the browser translates `code`.
    pub message: String,
    #[serde(default)]
    pub retry_after_secs: Option<u32>,
    #[serde(default)]
    pub attempts_left: Option<u32>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: crate::i18n::t(Lang::En, code.text()).to_owned(),
            retry_after_secs: None,
            attempts_left: None,
        }
    }

    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn with_attempts_left(mut self, left: u32) -> Self {
        self.attempts_left = Some(left);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
