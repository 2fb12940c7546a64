//! Why a step of a flow (or of a registration) is refused: the domain's one error, which the
//! HTTP edge turns into answers in one place.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("wrong step")]
    WrongStep,
    #[error("captcha failed")]
    CaptchaFailed,
    #[error("wrong code, {attempts_left} attempts left")]
    WrongCode { attempts_left: u32 },
    #[error("code expired")]
    CodeExpired,
    #[error("too many wrong codes")]
    CodeExhausted,
    #[error("resend too soon")]
    Cooldown { retry_after_secs: u32 },
    #[error("method not offered at this gate")]
    MethodUnavailable,
    #[error("typed phone number does not match, {attempts_left} tries left")]
    PhoneMismatch { attempts_left: u32 },
    #[error("too many mismatched phone numbers")]
    PhoneTriesExhausted,
    #[error("wrong answers, {attempts_left} attempts left")]
    AnswersWrong { attempts_left: u32 },
}
