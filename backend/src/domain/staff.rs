//! Staff sessions: who may sign in to the helpdesk console, and how long a session lives.
//! A session starts when the password and the staff group were right, admits nothing but the
//! second factor until that is passed, ends after `session_idle_secs` without a request and
//! at `session_max_secs` in any case, and dies after too many wrong second-factor codes.

use serde::{Deserialize, Serialize};
use sspr_protocol::helpdesk::{CallerMethod, Factor, OffLimits};
use sspr_protocol::i18n::Lang;
use sspr_protocol::relay::Account;
use sspr_protocol::ErrorCode;

use super::codes::PendingCode;

/// Whether an account's groups (nested membership included, as the agent reports them) hold
/// one of the configured staff groups. Group names compare as AD compares them: without case.
pub fn is_staff(groups: &[String], staff_groups: &[String]) -> bool {
    groups
        .iter()
        .any(|g| staff_groups.iter().any(|s| s.eq_ignore_ascii_case(g)))
}

/// The tiering: staff never act on protected accounts (adminCount=1), members of protected
/// groups, or other staff. The agent checks again when it applies the request.
pub fn off_limits(
    account: &Account,
    staff_groups: &[String],
    protected_groups: &[String],
) -> Option<OffLimits> {
    if account.protected {
        Some(OffLimits::Protected)
    } else if is_staff(&account.groups, protected_groups) {
        Some(OffLimits::ProtectedGroup)
    } else if is_staff(&account.groups, staff_groups) {
        Some(OffLimits::Staff)
    } else {
        None
    }
}

/// The caller on the line, for one account: a code on its way to them, then — once they read
/// it back — verified, for a while.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerCheck {
    pub directory: String,
    pub anchor: String,
    pub method: CallerMethod,
    /// A code sent and not yet read back (none for an authenticator code).
    pub code: Option<PendingCode>,
    pub verified_until: Option<i64>,
}

impl CallerCheck {
    /// Whether the caller was verified for this account, and is still.
    pub fn verified_for(&self, directory: &str, anchor: &str, now: i64) -> Option<CallerMethod> {
        (self.directory == directory
            && self.anchor == anchor
            && self.verified_until.is_some_and(|until| now < until))
        .then_some(self.method)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Password and group were right; the second factor is next.
    SecondFactor {
        /// The staff member's own mail address, for a mailed code; none if they have none.
        mail: Option<String>,
        /// A mailed code waiting for its answer.
        code: Option<PendingCode>,
        /// Wrong codes (of either factor) left before the session dies.
        attempts_left: u32,
        /// Whether an authenticator is registered (its secret stays in the registration).
        authenticator: bool,
    },
    SignedIn,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSession {
    pub stage: Stage,
    pub anchor: String,
    pub account_name: String,
    pub display_name: String,
    pub lang: Lang,
    /// The anti-forgery token the console sends with every state change (the session is
    /// sealed at rest, the token with it; a reloaded console learns it again from the session).
    pub csrf_token: String,
    pub idle_until: i64,
    pub expires_at: i64,
    /// The caller being verified or verified last; a new call replaces it.
    #[serde(default)]
    pub caller: Option<CallerCheck>,
}

/// How long sessions live.
#[derive(Clone, Copy, Debug)]
pub struct SessionTimes {
    pub idle_secs: i64,
    pub max_secs: i64,
}

impl StaffSession {
    /// A request came: the session must still be live, and lives on for another idle period
    /// (never past its absolute end).
    pub fn touch(&mut self, times: SessionTimes, now: i64) -> Result<(), ErrorCode> {
        if now >= self.idle_until || now >= self.expires_at {
            return Err(ErrorCode::SessionEnded);
        }
        self.idle_until = (now + times.idle_secs).min(self.expires_at);
        Ok(())
    }

    /// The session of a signed-in staff member; one still at its second factor is refused.
    pub fn signed_in(&self) -> Result<(), ErrorCode> {
        match self.stage {
            Stage::SignedIn => Ok(()),
            Stage::SecondFactor { .. } => Err(ErrorCode::SessionEnded),
        }
    }

    /// Whether `factor` can be used by this staff member.
    pub fn offers(&self, factor: Factor) -> bool {
        match &self.stage {
            Stage::SecondFactor {
                mail,
                authenticator,
                ..
            } => match factor {
                Factor::Authenticator => *authenticator,
                Factor::Mail => mail.is_some(),
            },
            Stage::SignedIn => false,
        }
    }

    /// An answer to the second factor takes its attempt before its code is looked at, so that
    /// answers sent at once cannot try more codes than the session allows. Gives the attempts
    /// left after this one; `Err` when none was left (the session is then over: sign in again).
    pub fn take_attempt(&mut self) -> Result<u32, ErrorCode> {
        match &mut self.stage {
            Stage::SecondFactor { attempts_left, .. } => {
                if *attempts_left == 0 {
                    self.expires_at = 0;
                    return Err(ErrorCode::CodeExhausted);
                }
                *attempts_left -= 1;
                Ok(*attempts_left)
            }
            Stage::SignedIn => Err(ErrorCode::WrongStep),
        }
    }
}

/// What a wrong second-factor code is told, with `left` attempts remaining: with none, the
/// session is over.
pub fn wrong_code(left: u32) -> ErrorCode {
    if left == 0 {
        ErrorCode::CodeExhausted
    } else {
        ErrorCode::WrongCode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: i64) -> StaffSession {
        StaffSession {
            stage: Stage::SecondFactor {
                mail: Some("a@b.test".into()),
                code: None,
                attempts_left: 2,
                authenticator: false,
            },
            anchor: "guid".into(),
            account_name: "ann".into(),
            display_name: "Ann".into(),
            lang: Lang::En,
            csrf_token: String::new(),
            idle_until: now + 10,
            expires_at: now + 25,
            caller: None,
        }
    }

    #[test]
    fn nested_membership_as_reported_counts_and_case_does_not() {
        let staff = ["SSPR Helpdesk".to_owned()];
        assert!(is_staff(&["Tier 1".into(), "sspr helpdesk".into()], &staff));
        assert!(!is_staff(&["Domain Users".into()], &staff));
        assert!(!is_staff(&["SSPR Helpdesk".into()], &[]));
    }

    #[test]
    fn staff_never_act_on_protected_accounts_protected_groups_or_staff() {
        let account = |protected: bool, groups: &[&str]| Account {
            anchor: "g".into(),
            account_name: "a".into(),
            display_name: "A".into(),
            enabled: true,
            locked: false,
            protected,
            in_scope: true,
            mail: Vec::new(),
            policy: Default::default(),
            contacts: Default::default(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            language: None,
        };
        let staff = ["SSPR Helpdesk".to_owned()];
        let protected = ["Domain Admins".to_owned()];
        let verdict = |a: &Account| off_limits(a, &staff, &protected);
        assert_eq!(verdict(&account(true, &[])), Some(OffLimits::Protected));
        assert_eq!(
            verdict(&account(false, &["domain admins"])),
            Some(OffLimits::ProtectedGroup)
        );
        assert_eq!(
            verdict(&account(false, &["SSPR Helpdesk"])),
            Some(OffLimits::Staff)
        );
        assert_eq!(verdict(&account(false, &["Sales"])), None);
    }

    #[test]
    fn a_caller_is_verified_for_one_account_for_a_while() {
        let check = CallerCheck {
            directory: "corp.test".into(),
            anchor: "g1".into(),
            method: CallerMethod::Mail,
            code: None,
            verified_until: Some(100),
        };
        assert_eq!(
            check.verified_for("corp.test", "g1", 99),
            Some(CallerMethod::Mail)
        );
        assert_eq!(check.verified_for("corp.test", "g1", 100), None);
        assert_eq!(check.verified_for("corp.test", "g2", 10), None);
        assert_eq!(check.verified_for("other.test", "g1", 10), None);
    }

    #[test]
    fn a_session_lives_while_used_and_never_past_its_end() {
        let times = SessionTimes {
            idle_secs: 10,
            max_secs: 25,
        };
        let mut s = session(0);
        assert_eq!(s.touch(times, 9), Ok(()));
        assert_eq!(s.idle_until, 19);
        assert_eq!(s.touch(times, 18), Ok(()));
        assert_eq!(s.idle_until, 25, "capped at the absolute end");
        assert_eq!(s.touch(times, 25), Err(ErrorCode::SessionEnded));
        let mut idle = session(0);
        assert_eq!(idle.touch(times, 10), Err(ErrorCode::SessionEnded));
    }

    #[test]
    fn wrong_codes_end_the_session_and_the_second_factor_admits_nothing_else() {
        let mut s = session(0);
        assert_eq!(s.signed_in(), Err(ErrorCode::SessionEnded));
        assert!(s.offers(Factor::Mail) && !s.offers(Factor::Authenticator));
        assert_eq!(s.take_attempt(), Ok(1));
        assert_eq!(wrong_code(1), ErrorCode::WrongCode);
        assert_eq!(s.take_attempt(), Ok(0));
        assert_eq!(wrong_code(0), ErrorCode::CodeExhausted);
        assert_eq!(s.take_attempt(), Err(ErrorCode::CodeExhausted));
        assert_eq!(s.expires_at, 0);
    }
}
