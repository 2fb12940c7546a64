//! The self-service reset flow as a state machine. No I/O and no clock: the routes feed it
//! time, agent answers and hashes, and store it between requests.
//!
//! Captcha → Lookup → Gates (one or two, each: pick a method, answer its challenge) →
//! NewPassword → Applying → Done. Every transition checks the step it starts from, so a
//! replayed or parallel request finds the flow already moved on.

use serde::{Deserialize, Serialize};
use sspr_protocol::captcha::{PowChallenge, PowSolution};
use sspr_protocol::gate::{Delivery, Family, Gate, Method, MethodOffer, Question};
use sspr_protocol::policy::PasswordPolicy;
use sspr_protocol::reset::{Completed, Purpose};
use sspr_protocol::Lang;

pub use crate::domain::codes::{CodeRules, PendingCode};
pub use crate::domain::error::FlowError;
use crate::domain::registration::{self, Contact};

/// The account a flow is about, once the agent has found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTarget {
    pub anchor: String,
    pub account_name: String,
    pub display_name: String,
    /// The account's own address, for notifications.
    pub mail: String,
    pub policy: PasswordPolicy,
    /// The directory (AD domain) the account lives in; only its agents may write it.
    pub directory: String,
    /// Locked out as the directory recorded it when the flow began: an unlock of an account
    /// that was not locked says so, rather than promise a fix for a password that is wrong.
    #[serde(default)]
    pub locked: bool,
}

/// Whom the gates speak to. A decoy behaves like an account on every page but sends nothing
/// and accepts no code: nobody learns from outside whether an account exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Account(AccountTarget),
    Decoy,
}

/// What the user is answering at the current gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Challenge {
    Code {
        offer: MethodOffer,
        /// Where it goes: an address or an E.164 number (a decoy's is made up and never used).
        to: String,
        code: Option<PendingCode>,
        sent_at: i64,
        delivery: Delivery,
    },
    Authenticator,
    Questions {
        asked: Vec<Question>,
    },
}

/// How a picked method's challenge starts.
#[derive(Clone)]
pub enum Start {
    /// A code went out; its keyed hash.
    Code(String),
    Authenticator,
    Questions(Vec<Question>),
}

/// The gates: how many are needed, which families passed, what is being answered now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gates {
    pub target: Target,
    pub contacts: Vec<Contact>,
    pub allowed: Vec<Method>,
    pub required: u8,
    pub passed: Vec<Family>,
    pub challenge: Option<Challenge>,
    /// Typed phone numbers that did not match, and wrong authenticator codes and answers, are
    /// counted per flow: starting a new challenge does not give new guesses.
    pub phone_tries_left: u32,
    pub guesses_left: u32,
    /// When a code last went to each destination: picking a method again does not get round
    /// the resend cooldown.
    #[serde(default)]
    pub sent: Vec<(String, i64)>,
}

impl Gates {
    pub fn number(&self) -> u8 {
        self.passed.len() as u8 + 1
    }

    pub fn offers(&self) -> Vec<(MethodOffer, Contact)> {
        registration::offers(&self.contacts, &self.allowed, &self.passed)
    }

    /// Where a code really goes: the destination for an account, nowhere for a decoy.
    fn send_to(&self, to: &str) -> Option<String> {
        match self.target {
            Target::Account(_) => Some(to.to_owned()),
            Target::Decoy => None,
        }
    }

    /// Refuses while a code sent to `to` is younger than the resend cooldown.
    fn cooled_down(&self, to: &str, rules: CodeRules, now: i64) -> Result<(), FlowError> {
        let last = self
            .sent
            .iter()
            .filter(|(sent_to, _)| sent_to == to)
            .map(|(_, at)| *at)
            .max();
        match last.map(|at| at + rules.resend_cooldown_secs - now) {
            Some(wait) if wait > 0 => Err(FlowError::Cooldown {
                retry_after_secs: wait as u32,
            }),
            _ => Ok(()),
        }
    }

    pub fn gate(&self) -> Gate {
        Gate {
            number: self.number(),
            of: self.required,
            offers: self.offers().into_iter().map(|(o, _)| o).collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Captcha {
        challenge: Vec<u8>,
        difficulty: u8,
        /// A picture CAPTCHA's answer, as a keyed hash; spent (None) after one wrong try.
        #[serde(default)]
        answer_hash: Option<String>,
    },
    /// The CAPTCHA is passed; the agent is being asked who this is.
    Lookup,
    Gates(Box<Gates>),
    NewPassword {
        account: AccountTarget,
    },
    Applying {
        account: AccountTarget,
        request_id: String,
        /// The first package's expiry: a retry under the same id never outlives it (the agent
        /// remembers an id only that long).
        #[serde(default)]
        expires_at: i64,
    },
    Done {
        account_name: String,
        #[serde(default)]
        locked: bool,
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
    /// Lookups asked again after one that got no answer (the CAPTCHA stays passed).
    #[serde(default)]
    pub lookups_repeated: u8,
}

/// How often a flow whose lookup got no answer (the agent, the DC or a replica went away) may
/// ask again without a new CAPTCHA: enough to ride out a restart, too few to make a flow a
/// free lookup service.
pub const LOOKUP_REPEATS: u8 = 3;

/// A method the user picked, before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    pub offer: MethodOffer,
    /// Where the code goes; None for a decoy (nothing is ever sent).
    pub to: Option<String>,
}

/// What passing a gate led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Passed {
    NextGate(Gate),
    AllGates(AccountTarget),
}

/// The write-back a flow has in flight: for which account, under which request id, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    pub account: AccountTarget,
    pub request_id: String,
    pub expires_at: i64,
}

/// How a write-back ended, as far as the flow is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Yes,
    /// The agent answered with a refusal (or the package never left): not applied.
    Refused,
    /// No answer came back: it may or may not have been applied.
    Unanswered,
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
                answer_hash: None,
            },
            purpose: Purpose::Reset,
            lookups_repeated: 0,
        }
    }

    /// A flow that starts at the new-password step: the one-time link a staff member sent,
    /// after they verified the caller. The link's token is the flow's id.
    pub fn from_link(account: AccountTarget, lang: Lang, now: i64, ttl_secs: i64) -> Self {
        Self {
            created_at: now,
            expires_at: now + ttl_secs,
            lang,
            username: format!("{}@{}", account.account_name, account.directory),
            step: Step::NewPassword { account },
            purpose: Purpose::Reset,
            lookups_repeated: 0,
        }
    }

    pub fn for_purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = purpose;
        self
    }

    pub fn challenge(&self) -> Option<PowChallenge> {
        match &self.step {
            Step::Captcha {
                challenge,
                difficulty,
                ..
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
        self.pass_verified_captcha(challenge.accepts(solution))
    }

    /// Expects the answer to a picture CAPTCHA by its keyed hash.
    pub fn with_image_answer(mut self, hash: String) -> Self {
        if let Step::Captcha { answer_hash, .. } = &mut self.step {
            *answer_hash = Some(hash);
        }
        self
    }

    /// Checks a picture CAPTCHA's answer. One try: a wrong answer spends the picture, and the
    /// page starts a new flow with a new one, so nobody can guess through the digits.
    pub fn pass_image_captcha(&mut self, submitted_hash: &str) -> Result<(), FlowError> {
        let Step::Captcha { answer_hash, .. } = &mut self.step else {
            return Err(FlowError::WrongStep);
        };
        let right = answer_hash
            .take()
            .is_some_and(|expected| crate::crypto::equal(&expected, submitted_hash));
        self.pass_verified_captcha(right)
    }

    /// A flow whose CAPTCHA passed but whose lookup never reached the gates may ask again, a
    /// few times: true if this is such a flow (and counts the repeat).
    pub fn repeat_lookup(&mut self) -> bool {
        if self.step != Step::Lookup || self.lookups_repeated >= LOOKUP_REPEATS {
            return false;
        }
        self.lookups_repeated += 1;
        true
    }

    /// A CAPTCHA checked elsewhere (a widget token the provider verified).
    pub fn pass_verified_captcha(&mut self, passed: bool) -> Result<(), FlowError> {
        if !matches!(self.step, Step::Captcha { .. }) {
            return Err(FlowError::WrongStep);
        }
        if !passed {
            return Err(FlowError::CaptchaFailed);
        }
        self.step = Step::Lookup;
        Ok(())
    }

    /// The agent has answered: the first gate opens.
    pub fn enter_gates(&mut self, gates: Gates) -> Result<Gate, FlowError> {
        if self.step != Step::Lookup {
            return Err(FlowError::WrongStep);
        }
        let gate = gates.gate();
        self.step = Step::Gates(Box::new(gates));
        Ok(gate)
    }

    fn gates(&self) -> Result<&Gates, FlowError> {
        match &self.step {
            Step::Gates(g) => Ok(g),
            _ => Err(FlowError::WrongStep),
        }
    }

    fn gates_mut(&mut self) -> Result<&mut Gates, FlowError> {
        match &mut self.step {
            Step::Gates(g) => Ok(g),
            _ => Err(FlowError::WrongStep),
        }
    }

    /// The user picks an offer. A phone method needs the whole number typed (already read to
    /// E.164 by the caller; None when it was not a number at all); a mismatch costs a try and
    /// sends nothing. A decoy's number never matches.
    pub fn pick(
        &mut self,
        choice: u8,
        typed_phone: Option<&str>,
        rules: CodeRules,
        now: i64,
    ) -> Result<Picked, FlowError> {
        let gates = self.gates_mut()?;
        let (offer, contact) = gates
            .offers()
            .into_iter()
            .find(|(o, _)| o.choice == choice)
            .ok_or(FlowError::MethodUnavailable)?;
        if offer.method.sends_code() {
            gates.cooled_down(&contact.to, rules, now)?;
        }
        if offer.method.uses_phone() {
            if gates.phone_tries_left == 0 {
                return Err(FlowError::PhoneTriesExhausted);
            }
            let real = matches!(gates.target, Target::Account(_));
            if !(real && typed_phone == Some(contact.to.as_str())) {
                gates.phone_tries_left -= 1;
                return Err(FlowError::PhoneMismatch {
                    attempts_left: gates.phone_tries_left,
                });
            }
        }
        if matches!(offer.method, Method::Authenticator | Method::Questions)
            && gates.guesses_left == 0
        {
            return Err(FlowError::CodeExhausted);
        }
        Ok(Picked {
            to: gates.send_to(&contact.to),
            offer,
        })
    }

    /// Starts the picked method's challenge: a fresh code, the authenticator prompt or the
    /// questions. The choice is checked again: the flow may have moved on since `pick`.
    pub fn begin_challenge(
        &mut self,
        picked: &Picked,
        start: Start,
        rules: CodeRules,
        now: i64,
    ) -> Result<(), FlowError> {
        let gates = self.gates_mut()?;
        let (offer, contact) = gates
            .offers()
            .into_iter()
            .find(|(o, _)| *o == picked.offer)
            .ok_or(FlowError::MethodUnavailable)?;
        if matches!(start, Start::Code(_)) {
            // Checked again in the same turn that records the send: of parallel picks, one
            // sends and the others hear the cooldown.
            gates.cooled_down(&contact.to, rules, now)?;
            gates.sent.push((contact.to.clone(), now));
        }
        gates.challenge = Some(match start {
            Start::Code(hash) => Challenge::Code {
                offer,
                to: contact.to,
                code: Some(PendingCode {
                    hash,
                    expires_at: now + rules.ttl_secs,
                    attempts_left: rules.attempts,
                }),
                sent_at: now,
                delivery: Delivery::Pending,
            },
            Start::Authenticator => Challenge::Authenticator,
            Start::Questions(asked) => Challenge::Questions { asked },
        });
        Ok(())
    }

    /// Whom a resend would go to, if a code is pending and the cooldown is over.
    pub fn resend_target(&self, rules: CodeRules, now: i64) -> Result<Picked, FlowError> {
        let gates = self.gates()?;
        let Some(Challenge::Code {
            offer, to, sent_at, ..
        }) = &gates.challenge
        else {
            return Err(FlowError::WrongStep);
        };
        let wait = *sent_at + rules.resend_cooldown_secs - now;
        if wait > 0 {
            return Err(FlowError::Cooldown {
                retry_after_secs: wait as u32,
            });
        }
        Ok(Picked {
            offer: offer.clone(),
            to: gates.send_to(to),
        })
    }

    /// Replaces the pending code with a new one (the old one stops working), after the cooldown.
    pub fn resend(
        &mut self,
        code_hash: String,
        rules: CodeRules,
        now: i64,
    ) -> Result<MethodOffer, FlowError> {
        self.resend_target(rules, now)?;
        let gates = self.gates_mut()?;
        let Some(Challenge::Code {
            offer,
            to,
            code,
            sent_at,
            delivery,
        }) = &mut gates.challenge
        else {
            return Err(FlowError::WrongStep);
        };
        gates.sent.push((to.clone(), now));
        *code = Some(PendingCode {
            hash: code_hash,
            expires_at: now + rules.ttl_secs,
            attempts_left: rules.attempts,
        });
        *sent_at = now;
        *delivery = Delivery::Pending;
        Ok(offer.clone())
    }

    /// Records whether the provider took the code, for the code page's one question.
    pub fn record_delivery(&mut self, sent_at_of: i64, outcome: Delivery) {
        if let Ok(gates) = self.gates_mut() {
            if let Some(Challenge::Code {
                sent_at, delivery, ..
            }) = &mut gates.challenge
            {
                if *sent_at == sent_at_of {
                    *delivery = outcome;
                }
            }
        }
    }

    pub fn delivery(&self) -> Result<Delivery, FlowError> {
        match &self.gates()?.challenge {
            Some(Challenge::Code { delivery, .. }) => Ok(*delivery),
            _ => Err(FlowError::WrongStep),
        }
    }

    /// Which challenge is open: the route checks an authenticator code outside the flow.
    pub fn open_challenge(&self) -> Result<&Challenge, FlowError> {
        self.gates()?.challenge.as_ref().ok_or(FlowError::WrongStep)
    }

    /// The account, for checking an authenticator code against its registration; None for a
    /// decoy.
    pub fn account(&self) -> Option<&AccountTarget> {
        match &self.gates().ok()?.target {
            Target::Account(a) => Some(a),
            Target::Decoy => None,
        }
    }

    /// Checks a code by its keyed hash, for a flow started for `purpose`. A wrong code costs an
    /// attempt; the last wrong attempt ends the code. A decoy accepts nothing.
    pub fn check_code(
        &mut self,
        purpose: Purpose,
        submitted_hash: &str,
        now: i64,
    ) -> Result<Passed, FlowError> {
        if self.purpose != purpose {
            return Err(FlowError::WrongStep);
        }
        let gates = self.gates_mut()?;
        let Some(Challenge::Code { offer, code, .. }) = &mut gates.challenge else {
            return Err(FlowError::WrongStep);
        };
        let Some(pending) = code else {
            return Err(FlowError::CodeExhausted);
        };
        if now >= pending.expires_at {
            return Err(FlowError::CodeExpired);
        }
        let matches = crate::crypto::equal(&pending.hash, submitted_hash);
        if matches && matches!(gates.target, Target::Account(_)) {
            let family = offer.method.family();
            return self.pass_gate(family);
        }
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

    /// The verdict on an authenticator code or on answers, checked by the route against the
    /// registration (which keeps the last used time step and the answer hashes). A decoy's is
    /// always false.
    pub fn check_secret(&mut self, purpose: Purpose, right: bool) -> Result<Passed, FlowError> {
        if self.purpose != purpose {
            return Err(FlowError::WrongStep);
        }
        let gates = self.gates_mut()?;
        let family = match gates.challenge {
            Some(Challenge::Authenticator) => Family::Authenticator,
            Some(Challenge::Questions { .. }) => Family::Questions,
            _ => return Err(FlowError::WrongStep),
        };
        if gates.guesses_left == 0 {
            return Err(FlowError::CodeExhausted);
        }
        if right && matches!(gates.target, Target::Account(_)) {
            return self.pass_gate(family);
        }
        gates.guesses_left -= 1;
        match (gates.guesses_left, family) {
            (0, _) => Err(FlowError::CodeExhausted),
            (left, Family::Questions) => Err(FlowError::AnswersWrong {
                attempts_left: left,
            }),
            (left, _) => Err(FlowError::WrongCode {
                attempts_left: left,
            }),
        }
    }

    fn pass_gate(&mut self, family: Family) -> Result<Passed, FlowError> {
        let gates = self.gates_mut()?;
        gates.passed.push(family);
        gates.challenge = None;
        if gates.passed.len() < usize::from(gates.required) {
            return Ok(Passed::NextGate(gates.gate()));
        }
        let Target::Account(account) = gates.target.clone() else {
            return Err(FlowError::WrongStep);
        };
        self.step = Step::NewPassword {
            account: account.clone(),
        };
        Ok(Passed::AllGates(account))
    }

    /// Back to the list of methods for this gate ("use another method").
    pub fn leave_challenge(&mut self) -> Result<Gate, FlowError> {
        let gates = self.gates_mut()?;
        gates.challenge = None;
        Ok(gates.gate())
    }

    /// The account whose new password is awaited — also while one is being applied, so a
    /// retry after an unanswered package can fetch a live agent's key.
    pub fn account_for_new_password(&self) -> Result<&AccountTarget, FlowError> {
        match &self.step {
            Step::NewPassword { account } | Step::Applying { account, .. } => Ok(account),
            _ => Err(FlowError::WrongStep),
        }
    }

    /// What the user hears of a finished flow, again: a repeated submission hears what the
    /// first heard.
    pub fn completed(&self) -> Option<Completed> {
        match &self.step {
            Step::Done {
                account_name,
                locked,
            } => Some(Completed {
                account_name: account_name.clone(),
                was_locked: *locked,
            }),
            _ => None,
        }
    }

    /// Marks the flow as writing under `request_id`, its package valid until `expires_at`;
    /// the package goes out under the id and expiry this returns. A submission while one is in
    /// flight (a double click, or the replica that sent the first died before it answered)
    /// joins it under the first id and expiry: the agent acts on a request id once and answers
    /// a repeat with the first outcome, so nothing is applied twice and the user is never stuck
    /// behind a request nobody will finish.
    pub fn begin_apply(
        &mut self,
        request_id: String,
        expires_at: i64,
    ) -> Result<InFlight, FlowError> {
        if let Step::Applying {
            account,
            request_id,
            expires_at,
        } = &self.step
        {
            return Ok(InFlight {
                account: account.clone(),
                request_id: request_id.clone(),
                expires_at: *expires_at,
            });
        }
        let account = self.account_for_new_password()?.clone();
        self.step = Step::Applying {
            account: account.clone(),
            request_id: request_id.clone(),
            expires_at,
        };
        Ok(InFlight {
            account,
            request_id,
            expires_at,
        })
    }

    /// Done on success; back to the new-password step when the agent answered with a refusal
    /// (the user can try another password in the same flow). When no answer came — the agent
    /// or its connection went away, or did not answer in time — the package may or may not
    /// have been applied: the flow keeps its request id, so the user's retry asks the agent
    /// again under it and learns the one outcome instead of sending a second package.
    ///
    /// Only the outcome of the request in flight counts: true when this call settled the flow
    /// (the caller then reports it), false when another submission already had.
    pub fn finish_apply(&mut self, request_id: &str, applied: Applied) -> bool {
        let Step::Applying {
            account,
            request_id: in_flight,
            ..
        } = &self.step
        else {
            return false;
        };
        if in_flight != request_id {
            return false;
        }
        match applied {
            Applied::Yes => {
                self.step = Step::Done {
                    account_name: account.account_name.clone(),
                    locked: account.locked,
                };
                true
            }
            Applied::Unanswered => false,
            Applied::Refused => {
                self.step = Step::NewPassword {
                    account: account.clone(),
                };
                true
            }
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
    const MOBILE: &str = "+31612345678";

    fn account() -> AccountTarget {
        AccountTarget {
            anchor: "a".into(),
            account_name: "jan".into(),
            display_name: "Jan".into(),
            mail: "jan@corp.example.test".into(),
            policy: PasswordPolicy::default(),
            directory: "corp.example.test".into(),
            locked: false,
        }
    }

    fn contacts() -> Vec<Contact> {
        vec![
            Contact {
                family: Family::Mail,
                to: "jan@corp.example.test".into(),
                from_directory: true,
            },
            Contact {
                family: Family::Mobile,
                to: MOBILE.into(),
                from_directory: false,
            },
            Contact {
                family: Family::Authenticator,
                to: String::new(),
                from_directory: false,
            },
        ]
    }

    /// Choices: 0 mail, 1 text, 2 call, 3 authenticator.
    fn at_gates(target: Target, required: u8) -> ResetFlow {
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
        let gate = flow
            .enter_gates(Gates {
                target,
                contacts: contacts(),
                allowed: Method::ALL.to_vec(),
                required,
                passed: vec![],
                challenge: None,
                phone_tries_left: 3,
                guesses_left: 5,
                sent: vec![],
            })
            .expect("gates");
        assert_eq!((gate.number, gate.of, gate.offers.len()), (1, required, 4));
        flow
    }

    fn mail_code(flow: &mut ResetFlow, hash: &str) {
        let picked = flow.pick(0, None, RULES, NOW).expect("mail is offered");
        flow.begin_challenge(&picked, Start::Code(hash.into()), RULES, NOW)
            .expect("challenge");
    }

    #[test]
    fn a_lookup_that_got_no_answer_may_be_asked_again_a_few_times() {
        let mut flow = ResetFlow::new("jan".into(), Lang::En, vec![], 0, NOW, 1800);
        assert!(!flow.repeat_lookup(), "not before the CAPTCHA");
        flow.pass_verified_captcha(true).expect("captcha");
        for _ in 0..LOOKUP_REPEATS {
            assert!(flow.repeat_lookup());
        }
        assert!(!flow.repeat_lookup(), "a few times, not for ever");
    }

    #[test]
    fn a_picture_captcha_gets_one_try() {
        let fresh = || {
            ResetFlow::new("jan".into(), Lang::En, vec![], 0, NOW, 1800)
                .with_image_answer("right".into())
        };
        let mut flow = fresh();
        assert_eq!(
            flow.pass_image_captcha("wrong"),
            Err(FlowError::CaptchaFailed)
        );
        assert_eq!(
            flow.pass_image_captcha("right"),
            Err(FlowError::CaptchaFailed),
            "the picture is spent"
        );
        let mut flow = fresh();
        assert_eq!(flow.pass_image_captcha("right"), Ok(()));
        assert_eq!(flow.step, Step::Lookup);
    }

    #[test]
    fn right_code_opens_the_new_password_step_once() {
        let mut flow = at_gates(Target::Account(account()), 1);
        mail_code(&mut flow, "right");
        assert_eq!(
            flow.check_code(Purpose::Reset, "right", NOW + 10),
            Ok(Passed::AllGates(account()))
        );
        assert_eq!(
            flow.check_code(Purpose::Reset, "right", NOW + 11),
            Err(FlowError::WrongStep)
        );
        let in_flight = |id: &str, expires_at| {
            Ok(InFlight {
                account: account(),
                request_id: id.into(),
                expires_at,
            })
        };
        assert_eq!(flow.begin_apply("r1".into(), 300), in_flight("r1", 300));
        assert_eq!(
            flow.begin_apply("r2".into(), 400),
            in_flight("r1", 300),
            "a second submission joins the package in flight under its id and expiry"
        );
        assert!(!flow.finish_apply("r1", Applied::Unanswered));
        assert_eq!(
            flow.begin_apply("r3".into(), 500),
            in_flight("r1", 300),
            "no answer: the retry asks again under the same request id"
        );
        assert!(
            !flow.finish_apply("r9", Applied::Refused),
            "only the request in flight settles the flow"
        );
        assert!(flow.finish_apply("r1", Applied::Refused));
        assert_eq!(
            flow.step,
            Step::NewPassword { account: account() },
            "a refused password can be retried"
        );
        assert_eq!(
            flow.begin_apply("r4".into(), 600),
            in_flight("r4", 600),
            "a new password, a new request"
        );
        assert!(flow.finish_apply("r4", Applied::Yes));
        assert!(
            !flow.finish_apply("r4", Applied::Yes),
            "a joined submission finishing later reports nothing again"
        );
        assert_eq!(
            flow.step,
            Step::Done {
                account_name: "jan".into(),
                locked: false,
            }
        );
    }

    #[test]
    fn the_second_gate_needs_another_family() {
        let mut flow = at_gates(Target::Account(account()), 2);
        let picked = flow
            .pick(1, Some(MOBILE), RULES, NOW)
            .expect("number matches");
        assert_eq!(picked.to.as_deref(), Some(MOBILE));
        flow.begin_challenge(&picked, Start::Code("sms".into()), RULES, NOW)
            .expect("challenge");
        let Ok(Passed::NextGate(gate)) = flow.check_code(Purpose::Reset, "sms", NOW) else {
            panic!("a second gate");
        };
        assert_eq!((gate.number, gate.of), (2, 2));
        let left: Vec<Method> = gate.offers.iter().map(|o| o.method).collect();
        assert_eq!(left, [Method::Mail, Method::Authenticator]);
        assert_eq!(
            flow.pick(2, Some(MOBILE), RULES, NOW),
            Err(FlowError::MethodUnavailable)
        );
        let picked = flow.pick(3, None, RULES, NOW).expect("authenticator");
        flow.begin_challenge(&picked, Start::Authenticator, RULES, NOW)
            .expect("prompt");
        assert_eq!(
            flow.check_secret(Purpose::Reset, true),
            Ok(Passed::AllGates(account()))
        );
    }

    #[test]
    fn picking_a_method_again_does_not_skip_the_cooldown() {
        let mut flow = at_gates(Target::Account(account()), 1);
        mail_code(&mut flow, "first");
        flow.leave_challenge().expect("back to the list");
        assert_eq!(
            flow.pick(0, None, RULES, NOW + 10),
            Err(FlowError::Cooldown {
                retry_after_secs: 50
            })
        );
        assert!(
            flow.pick(1, Some(MOBILE), RULES, NOW + 10).is_ok(),
            "another destination is not held up"
        );
        assert!(flow.pick(0, None, RULES, NOW + 60).is_ok());
    }

    #[test]
    fn of_two_picks_read_before_either_sends_only_one_sends() {
        let mut flow = at_gates(Target::Account(account()), 1);
        // Both requests picked the fresh flow before either recorded its send.
        let first = flow.pick(0, None, RULES, NOW).expect("first pick");
        let second = flow.pick(0, None, RULES, NOW).expect("second pick");
        flow.begin_challenge(&first, Start::Code("one".into()), RULES, NOW)
            .expect("the first sends");
        assert_eq!(
            flow.begin_challenge(&second, Start::Code("two".into()), RULES, NOW),
            Err(FlowError::Cooldown {
                retry_after_secs: 60
            })
        );
    }

    #[test]
    fn a_mismatched_number_sends_nothing_and_costs_a_try() {
        let mut flow = at_gates(Target::Account(account()), 1);
        for left in [2, 1, 0] {
            assert_eq!(
                flow.pick(1, Some("+31612345677"), RULES, NOW),
                Err(FlowError::PhoneMismatch {
                    attempts_left: left
                })
            );
        }
        assert_eq!(
            flow.pick(2, Some(MOBILE), RULES, NOW),
            Err(FlowError::PhoneTriesExhausted)
        );
        assert!(
            flow.pick(0, None, RULES, NOW).is_ok(),
            "mail is still there"
        );
    }

    #[test]
    fn wrong_codes_count_down_and_the_fifth_ends_the_code() {
        let mut flow = at_gates(Target::Account(account()), 1);
        mail_code(&mut flow, "right");
        for left in (1..5).rev() {
            assert_eq!(
                flow.check_code(Purpose::Reset, "wrong", NOW),
                Err(FlowError::WrongCode {
                    attempts_left: left
                })
            );
        }
        assert_eq!(
            flow.check_code(Purpose::Reset, "wrong", NOW),
            Err(FlowError::CodeExhausted)
        );
        assert_eq!(
            flow.check_code(Purpose::Reset, "right", NOW),
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
            flow.check_code(Purpose::Reset, "right", NOW + 61),
            Err(FlowError::WrongCode { attempts_left: 4 }),
            "the old code stopped working"
        );
        assert!(flow.check_code(Purpose::Reset, "new", NOW + 62).is_ok());
    }

    #[test]
    fn a_reset_flow_cannot_finish_as_an_unlock() {
        let mut flow = at_gates(Target::Account(account()), 1);
        mail_code(&mut flow, "right");
        assert_eq!(
            flow.check_code(Purpose::Unlock, "right", NOW),
            Err(FlowError::WrongStep)
        );
        assert!(
            flow.check_code(Purpose::Reset, "right", NOW).is_ok(),
            "the code was not spent"
        );
    }

    #[test]
    fn codes_expire() {
        let mut flow = at_gates(Target::Account(account()), 1);
        mail_code(&mut flow, "right");
        assert_eq!(
            flow.check_code(Purpose::Reset, "right", NOW + 600),
            Err(FlowError::CodeExpired)
        );
    }

    #[test]
    fn authenticator_guesses_are_counted_per_flow() {
        let mut flow = at_gates(Target::Account(account()), 1);
        let picked = flow.pick(3, None, RULES, NOW).expect("authenticator");
        flow.begin_challenge(&picked, Start::Authenticator, RULES, NOW)
            .expect("prompt");
        for _ in 0..4 {
            assert!(flow.check_secret(Purpose::Reset, false).is_err());
        }
        flow.leave_challenge().expect("back");
        let picked = flow.pick(3, None, RULES, NOW).expect("still offered");
        flow.begin_challenge(&picked, Start::Authenticator, RULES, NOW)
            .expect("prompt");
        assert_eq!(
            flow.check_secret(Purpose::Reset, false),
            Err(FlowError::CodeExhausted),
            "picking it again gave no new guesses"
        );
        assert_eq!(
            flow.check_secret(Purpose::Reset, true),
            Err(FlowError::CodeExhausted)
        );
    }

    #[test]
    fn a_decoy_accepts_nothing_but_counts_like_an_account() {
        let mut flow = at_gates(Target::Decoy, 1);
        assert_eq!(
            flow.pick(1, Some(MOBILE), RULES, NOW),
            Err(FlowError::PhoneMismatch { attempts_left: 2 }),
            "a decoy's number never matches"
        );
        let picked = flow.pick(0, None, RULES, NOW).expect("mail");
        assert_eq!(picked.to, None, "nothing is sent to a decoy");
        flow.begin_challenge(&picked, Start::Code("right".into()), RULES, NOW)
            .expect("challenge");
        assert_eq!(
            flow.check_code(Purpose::Reset, "right", NOW),
            Err(FlowError::WrongCode { attempts_left: 4 })
        );
    }
}
