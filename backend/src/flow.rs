//! The self-service reset flow as a state machine. No I/O and no clock: the routes feed it
//! time, agent answers and hashes, and store it between requests.
//!
//! Captcha → Lookup → Code → NewPassword → Applying → Done. Every transition checks the step it
//! starts from, so a replayed or parallel request finds the flow already moved on.

use serde::{Deserialize, Serialize};
use sspr_protocol::captcha::{PowChallenge, PowSolution};
use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::reset::Purpose;
use sspr_protocol::{ErrorCode, Lang};

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
}

impl From<FlowError> for crate::error::AppError {
    fn from(e: FlowError) -> Self {
        use sspr_protocol::ApiError;
        match e {
            FlowError::WrongStep => Self::code(ErrorCode::WrongStep),
            FlowError::CaptchaFailed => Self::code(ErrorCode::CaptchaFailed),
            FlowError::WrongCode { attempts_left } => {
                Self::Api(ApiError::new(ErrorCode::WrongCode).with_attempts_left(attempts_left))
            }
            FlowError::CodeExpired => Self::code(ErrorCode::CodeExpired),
            FlowError::CodeExhausted => Self::code(ErrorCode::CodeExhausted),
            FlowError::Cooldown { retry_after_secs } => Self::too_many(retry_after_secs),
        }
    }
}

/// The account a flow is about, once the agent has found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTarget {
    pub anchor: String,
    pub account_name: String,
    pub display_name: String,
    pub mail: String,
    pub policy: PasswordPolicy,
    /// The directory (AD domain) the account lives in; only its agents may write it.
    pub directory: String,
}

/// Whom the code gate speaks to. A decoy behaves like an account on every page but sends
/// nothing and accepts no code: nobody learns from outside whether an account exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Account(AccountTarget),
    Decoy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// Keyed hash of the code, bound to this flow.
    pub hash: String,
    pub expires_at: i64,
    pub attempts_left: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Captcha {
        challenge: Vec<u8>,
        difficulty: u8,
    },
    /// The CAPTCHA is passed; the agent is being asked who this is.
    Lookup,
    Code {
        target: Target,
        destination: String,
        code: Option<PendingCode>,
        sent_at: i64,
    },
    NewPassword {
        account: AccountTarget,
    },
    Applying {
        account: AccountTarget,
        request_id: String,
    },
    Done {
        account_name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetFlow {
    pub created_at: i64,
    pub expires_at: i64,
    pub lang: Lang,
    pub username: String,
    pub step: Step,
    /// Reset or unlock: the same gates, a different last step.
    #[serde(default)]
    pub purpose: Purpose,
}

/// The code gate's settings.
#[derive(Clone, Copy, Debug)]
pub struct CodeRules {
    pub ttl_secs: i64,
    pub attempts: u32,
    pub resend_cooldown_secs: i64,
}

impl ResetFlow {
    pub fn new(
        username: String,
        lang: Lang,
        challenge: Vec<u8>,
        difficulty: u8,
        now: i64,
        ttl_secs: i64,
    ) -> Self {
        Self {
            created_at: now,
            expires_at: now + ttl_secs,
            lang,
            username,
            step: Step::Captcha {
                challenge,
                difficulty,
            },
            purpose: Purpose::Reset,
        }
    }

    pub fn for_purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = purpose;
        self
    }

    /// The code gate of a flow started for `purpose`; a flow started for something else is
    /// refused before its code is looked at.
    pub fn pass_code_gate(
        &mut self,
        purpose: Purpose,
        submitted_hash: &str,
        now: i64,
    ) -> Result<AccountTarget, FlowError> {
        if self.purpose != purpose {
            return Err(FlowError::WrongStep);
        }
        self.check_code(submitted_hash, now)
    }

    pub fn challenge(&self) -> Option<PowChallenge> {
        match &self.step {
            Step::Captcha {
                challenge,
                difficulty,
            } => Some(PowChallenge {
                challenge: challenge.clone(),
                difficulty: *difficulty,
            }),
            _ => None,
        }
    }

    /// Checks the proof of work; a passed CAPTCHA cannot be passed again.
    pub fn pass_captcha(&mut self, solution: PowSolution) -> Result<(), FlowError> {
        let challenge = self.challenge().ok_or(FlowError::WrongStep)?;
        if !challenge.accepts(solution) {
            return Err(FlowError::CaptchaFailed);
        }
        self.step = Step::Lookup;
        Ok(())
    }

    pub fn enter_code_gate(
        &mut self,
        target: Target,
        destination: String,
        code_hash: String,
        rules: CodeRules,
        now: i64,
    ) -> Result<(), FlowError> {
        if self.step != Step::Lookup {
            return Err(FlowError::WrongStep);
        }
        let code = PendingCode {
            hash: code_hash,
            expires_at: now + rules.ttl_secs,
            attempts_left: rules.attempts,
        };
        self.step = Step::Code {
            target,
            destination,
            code: Some(code),
            sent_at: now,
        };
        Ok(())
    }

    /// Whom a resend would go to, if the flow is at its code gate and the cooldown is over.
    pub fn resend_target(&self, rules: CodeRules, now: i64) -> Result<Target, FlowError> {
        let Step::Code {
            target, sent_at, ..
        } = &self.step
        else {
            return Err(FlowError::WrongStep);
        };
        let wait = *sent_at + rules.resend_cooldown_secs - now;
        if wait > 0 {
            return Err(FlowError::Cooldown {
                retry_after_secs: wait as u32,
            });
        }
        Ok(target.clone())
    }

    /// Replaces the pending code with a new one (the old one stops working), after the cooldown.
    pub fn resend(
        &mut self,
        code_hash: String,
        rules: CodeRules,
        now: i64,
    ) -> Result<(Target, String), FlowError> {
        self.resend_target(rules, now)?;
        let Step::Code {
            target,
            destination,
            code,
            sent_at,
        } = &mut self.step
        else {
            return Err(FlowError::WrongStep);
        };
        *code = Some(PendingCode {
            hash: code_hash,
            expires_at: now + rules.ttl_secs,
            attempts_left: rules.attempts,
        });
        *sent_at = now;
        Ok((target.clone(), destination.clone()))
    }

    /// Checks a code by its keyed hash. A wrong code costs an attempt; the last wrong attempt
    /// ends the code. A decoy accepts nothing.
    pub fn check_code(
        &mut self,
        submitted_hash: &str,
        now: i64,
    ) -> Result<AccountTarget, FlowError> {
        let Step::Code { target, code, .. } = &mut self.step else {
            return Err(FlowError::WrongStep);
        };
        let Some(pending) = code else {
            return Err(FlowError::CodeExhausted);
        };
        if now >= pending.expires_at {
            return Err(FlowError::CodeExpired);
        }
        let matches = crate::crypto::equal(&pending.hash, submitted_hash);
        match target {
            Target::Account(account) if matches => {
                let account = account.clone();
                self.step = Step::NewPassword {
                    account: account.clone(),
                };
                Ok(account)
            }
            _ => {
                pending.attempts_left = pending.attempts_left.saturating_sub(1);
                if pending.attempts_left == 0 {
                    *code = None;
                    Err(FlowError::CodeExhausted)
                } else {
                    Err(FlowError::WrongCode {
                        attempts_left: pending.attempts_left,
                    })
                }
            }
        }
    }

    pub fn account_for_new_password(&self) -> Result<&AccountTarget, FlowError> {
        match &self.step {
            Step::NewPassword { account } => Ok(account),
            _ => Err(FlowError::WrongStep),
        }
    }

    /// Marks the flow as writing, so a second submission cannot send a second package.
    pub fn begin_apply(&mut self, request_id: String) -> Result<AccountTarget, FlowError> {
        let account = self.account_for_new_password()?.clone();
        self.step = Step::Applying {
            account: account.clone(),
            request_id,
        };
        Ok(account)
    }

    /// Done on success; back to the new-password step when the directory refused, so the user
    /// can try another password in the same flow.
    pub fn finish_apply(&mut self, applied: bool) {
        if let Step::Applying { account, .. } = &self.step {
            self.step = if applied {
                Step::Done {
                    account_name: account.account_name.clone(),
                }
            } else {
                Step::NewPassword {
                    account: account.clone(),
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: CodeRules = CodeRules {
        ttl_secs: 600,
        attempts: 5,
        resend_cooldown_secs: 60,
    };
    const NOW: i64 = 1_000_000;

    fn account() -> AccountTarget {
        AccountTarget {
            anchor: "a".into(),
            account_name: "jan".into(),
            display_name: "Jan".into(),
            mail: "jan@corp.example.test".into(),
            policy: PasswordPolicy::default(),
            directory: "corp.example.test".into(),
        }
    }

    fn at_code_gate(target: Target) -> ResetFlow {
        let challenge = PowChallenge {
            challenge: vec![1, 2, 3],
            difficulty: 4,
        };
        let solution = challenge.solve_range(0, 1 << 12).expect("solvable");
        let mut flow = ResetFlow::new("jan".into(), Lang::En, challenge.challenge, 4, NOW, 1800);
        flow.pass_captcha(solution).expect("captcha");
        assert_eq!(
            flow.pass_captcha(solution),
            Err(FlowError::WrongStep),
            "a CAPTCHA answer is single use"
        );
        flow.enter_code_gate(
            target,
            "j•••••@c•••.example.test".into(),
            "right".into(),
            RULES,
            NOW,
        )
        .expect("gate");
        flow
    }

    #[test]
    fn right_code_opens_the_new_password_step_once() {
        let mut flow = at_code_gate(Target::Account(account()));
        assert_eq!(flow.check_code("right", NOW + 10), Ok(account()));
        assert_eq!(
            flow.check_code("right", NOW + 11),
            Err(FlowError::WrongStep)
        );
        assert_eq!(flow.begin_apply("r1".into()), Ok(account()));
        assert_eq!(
            flow.begin_apply("r2".into()),
            Err(FlowError::WrongStep),
            "no second package while one is in flight"
        );
        flow.finish_apply(false);
        assert!(
            flow.account_for_new_password().is_ok(),
            "a refused password can be retried"
        );
        flow.begin_apply("r3".into()).expect("retry");
        flow.finish_apply(true);
        assert_eq!(
            flow.step,
            Step::Done {
                account_name: "jan".into()
            }
        );
    }

    #[test]
    fn wrong_codes_count_down_and_the_fifth_ends_the_code() {
        let mut flow = at_code_gate(Target::Account(account()));
        for left in (1..5).rev() {
            assert_eq!(
                flow.check_code("wrong", NOW),
                Err(FlowError::WrongCode {
                    attempts_left: left
                })
            );
        }
        assert_eq!(flow.check_code("wrong", NOW), Err(FlowError::CodeExhausted));
        assert_eq!(
            flow.check_code("right", NOW),
            Err(FlowError::CodeExhausted),
            "the right code is dead too"
        );
        // A new code after the cooldown works again.
        assert!(matches!(
            flow.resend("new".into(), RULES, NOW + 5),
            Err(FlowError::Cooldown {
                retry_after_secs: 55
            })
        ));
        flow.resend("new".into(), RULES, NOW + 60).expect("resend");
        assert_eq!(
            flow.check_code("right", NOW + 61),
            Err(FlowError::WrongCode { attempts_left: 4 }),
            "the old code stopped working"
        );
        assert!(flow.check_code("new", NOW + 62).is_ok());
    }

    #[test]
    fn a_reset_flow_cannot_finish_as_an_unlock() {
        let mut flow = at_code_gate(Target::Account(account()));
        assert_eq!(
            flow.pass_code_gate(Purpose::Unlock, "right", NOW),
            Err(FlowError::WrongStep)
        );
        assert_eq!(
            flow.pass_code_gate(Purpose::Reset, "right", NOW),
            Ok(account()),
            "the code was not spent"
        );
    }

    #[test]
    fn codes_expire() {
        let mut flow = at_code_gate(Target::Account(account()));
        assert_eq!(
            flow.check_code("right", NOW + 600),
            Err(FlowError::CodeExpired)
        );
    }

    #[test]
    fn a_decoy_accepts_nothing_but_counts_like_an_account() {
        let mut flow = at_code_gate(Target::Decoy);
        assert_eq!(
            flow.check_code("right", NOW),
            Err(FlowError::WrongCode { attempts_left: 4 })
        );
    }
}
