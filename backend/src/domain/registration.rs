//! What a user registered to prove who they are, and how it combines with what the directory
//! already holds. Registrations are sealed at rest with the server key and keyed by a MAC of
//! the account's objectGUID, so the database shows neither who registered nor what.

use serde::{Deserialize, Serialize};
use sspr_protocol::gate::{normalize_answer, Family, Method, MethodOffer, Question};
use sspr_protocol::i18n::Lang;
use sspr_protocol::register::{Slot, SlotState, Source};
use sspr_protocol::relay::{Account, DirectoryContacts};

use sspr_protocol::ErrorCode;

use crate::config::PhoneConfig;
use crate::domain::codes::{CodeRules, PendingCode};
use crate::domain::contact::mask_mail;
use crate::domain::contact::Number;
use crate::domain::error::FlowError;

/// TOTP as RFC 6238 and every authenticator app default to: SHA-1, 6 digits, 30 s, ±1 step.
pub const TOTP_DIGITS: u8 = 6;
const TOTP_STEP_SECS: u64 = 30;
const TOTP_SECRET_BYTES: usize = 20;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// E.164.
    pub mobile: Option<String>,
    /// E.164.
    pub office_phone: Option<String>,
    pub alt_mail: Option<String>,
    pub authenticator: Option<Authenticator>,
    #[serde(default)]
    pub questions: Vec<StoredAnswer>,
}

/// A security question and its answer, kept only as an Argon2id hash of the normalised answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub question: Question,
    #[serde(with = "sspr_protocol::b64")]
    pub salt: Vec<u8>,
    #[serde(with = "sspr_protocol::b64")]
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for StoredAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAnswer")
            .field("question", &self.question)
            .finish_non_exhaustive()
    }
}

const ANSWER_SALT_BYTES: usize = 16;
const ANSWER_HASH_BYTES: usize = 32;

fn answer_hash(answer: &str, salt: &[u8]) -> Result<Vec<u8>, crate::crypto::CryptoError> {
    let mut out = vec![0u8; ANSWER_HASH_BYTES];
    argon2::Argon2::default()
        .hash_password_into(normalize_answer(answer).as_bytes(), salt, &mut out)
        .map_err(|_| crate::crypto::CryptoError::KeyLength)?;
    Ok(out)
}

impl StoredAnswer {
    pub fn new(question: Question, answer: &str) -> Result<Self, crate::crypto::CryptoError> {
        let salt = crate::crypto::random_bytes(ANSWER_SALT_BYTES)?;
        let hash = answer_hash(answer, &salt)?;
        Ok(Self {
            question,
            salt,
            hash,
        })
    }
}

/// Checks the answers to the questions asked, every one of them (the work, and so the time,
/// does not depend on which is wrong). With no stored answers (a decoy), the same work is done
/// against throwaway salts and the answer is no.
pub fn check_answers(stored: &[StoredAnswer], asked: &[Question], answers: &[String]) -> bool {
    if answers.len() != asked.len() {
        return false;
    }
    let mut right = true;
    for (question, answer) in asked.iter().zip(answers) {
        let found = stored.iter().find(|s| s.question == *question);
        let salt = found
            .map(|s| s.salt.clone())
            .unwrap_or_else(|| vec![0u8; ANSWER_SALT_BYTES]);
        let hash = answer_hash(answer, &salt).unwrap_or_default();
        right &=
            found.is_some_and(|s| subtle::ConstantTimeEq::ct_eq(&s.hash[..], &hash[..]).into());
    }
    right
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticator {
    #[serde(with = "sspr_protocol::b64")]
    pub secret: Vec<u8>,
    /// The last time step a code was accepted for: no step is accepted twice.
    pub last_step: u64,
    pub enrolled_at: i64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum TotpCheck {
    /// Right, for this time step (never accepted before).
    Accepted(u64),
    Wrong,
    /// Right, but its time step was already used.
    Reused,
}

impl Authenticator {
    pub fn new_secret() -> Result<Vec<u8>, crate::crypto::CryptoError> {
        crate::crypto::random_bytes(TOTP_SECRET_BYTES)
    }

    fn totp(secret: &[u8], account: &str, issuer: &str) -> Option<totp_rs::Totp> {
        totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::new(secret.to_vec().into_boxed_slice()))
            .with_digits(TOTP_DIGITS)
            .with_skew(1)
            .with_step_duration(TOTP_STEP_SECS)
            .with_account_name(account.replace(':', ""))
            .with_issuer(Some(issuer.replace(':', "")))
            .build()
            .ok()
    }

    /// Checks a code against a secret; `last_step` is the newest step already used.
    pub fn check(secret: &[u8], last_step: u64, code: &str, now: i64) -> TotpCheck {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != usize::from(TOTP_DIGITS) || !code.chars().all(|c| c.is_ascii_digit()) {
            return TotpCheck::Wrong;
        }
        let Some(totp) = Self::totp(secret, "x", "x") else {
            return TotpCheck::Wrong;
        };
        match totp.check(&code, now.max(0) as u64) {
            Some(step) if step > last_step => TotpCheck::Accepted(step),
            Some(_) => TotpCheck::Reused,
            None => TotpCheck::Wrong,
        }
    }

    /// The `otpauth://` URI an app scans, and the secret in base32 for typing it in.
    pub fn enrolment(secret: &[u8], account: &str, issuer: &str) -> Option<(String, String)> {
        let totp = Self::totp(secret, account, issuer)?;
        let uri = totp.to_url().ok()?;
        Some((
            uri,
            totp_rs::Secret::new(secret.to_vec().into_boxed_slice()).to_base32(),
        ))
    }
}

impl Registration {
    /// Records what a right code confirmed; the slot it filled.
    pub fn confirmed(&mut self, confirmed: Confirmed, now: i64) -> Slot {
        match confirmed {
            Confirmed::Contact { slot, value } => {
                match slot {
                    Slot::Mobile => self.mobile = Some(value),
                    Slot::OfficePhone => self.office_phone = Some(value),
                    Slot::AltMail => self.alt_mail = Some(value),
                    Slot::Authenticator | Slot::Questions => {}
                }
                slot
            }
            Confirmed::Authenticator { secret, step } => {
                self.authenticator = Some(Authenticator {
                    secret,
                    last_step: step,
                    enrolled_at: now,
                });
                Slot::Authenticator
            }
        }
    }

    /// Forgets what the user registered in `slot` (the directory's data stays where it is).
    pub fn remove(&mut self, slot: Slot) {
        match slot {
            Slot::Mobile => self.mobile = None,
            Slot::OfficePhone => self.office_phone = None,
            Slot::AltMail => self.alt_mail = None,
            Slot::Authenticator => self.authenticator = None,
            Slot::Questions => self.questions.clear(),
        }
    }
}

/// A signed-in registration: who, what the directory holds, and what waits for its code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegisterSession {
    pub expires_at: i64,
    pub lang: Lang,
    pub anchor: String,
    pub account_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub directory: DirectoryContacts,
    pub pending: Option<Pending>,
}

/// A method being added: it counts once its first code comes back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Pending {
    Contact {
        slot: Slot,
        /// E.164 or an address.
        value: String,
        code: PendingCode,
    },
    Authenticator {
        #[serde(with = "sspr_protocol::b64")]
        secret: Vec<u8>,
        attempts_left: u32,
    },
}

/// A number or address typed to be added, read and checked: where its code goes, how the page
/// shows it, and by which method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContact {
    pub slot: Slot,
    /// E.164, or the address.
    pub value: String,
    pub masked: String,
    pub method: Method,
}

impl NewContact {
    /// Reads what the user typed for `slot`. A number must be a valid one of the configured
    /// region (or carry its country code), and texts or calls must be on; an address must be one.
    pub fn read(
        slot: Slot,
        typed: &str,
        phone: &PhoneConfig,
        methods: &[Method],
    ) -> Result<Self, ErrorCode> {
        match slot {
            Slot::Mobile | Slot::OfficePhone => {
                let number =
                    Number::parse(typed, phone.region()).ok_or(ErrorCode::InvalidContact)?;
                let method = if slot == Slot::Mobile {
                    Method::MobileText
                } else {
                    Method::OfficeCall
                };
                if !phone.enabled() || !methods.contains(&method) {
                    return Err(ErrorCode::MethodUnavailable);
                }
                Ok(Self {
                    slot,
                    masked: number.masked(),
                    value: number.e164,
                    method,
                })
            }
            Slot::AltMail => {
                let address = typed.trim().to_owned();
                if address.len() > MAX_ADDRESS_LEN || address.parse::<lettre::Address>().is_err() {
                    return Err(ErrorCode::InvalidContact);
                }
                Ok(Self {
                    slot,
                    masked: mask_mail(&address),
                    value: address,
                    method: Method::Mail,
                })
            }
            Slot::Authenticator | Slot::Questions => Err(ErrorCode::BadRequest),
        }
    }
}

/// The longest mail address there is (RFC 5321's path limit, less the brackets).
const MAX_ADDRESS_LEN: usize = 254;

/// What a right code confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirmed {
    Contact { slot: Slot, value: String },
    Authenticator { secret: Vec<u8>, step: u64 },
}

impl RegisterSession {
    /// A code went to `contact`: it counts once this code comes back.
    pub fn expect_code(&mut self, contact: &NewContact, hash: String, rules: CodeRules, now: i64) {
        self.pending = Some(Pending::Contact {
            slot: contact.slot,
            value: contact.value.clone(),
            code: PendingCode {
                hash,
                expires_at: now + rules.ttl_secs,
                attempts_left: rules.attempts,
            },
        });
    }

    /// An authenticator app is being set up with `secret`: its first code confirms it.
    pub fn expect_authenticator(&mut self, secret: Vec<u8>, attempts: u32) {
        self.pending = Some(Pending::Authenticator {
            secret,
            attempts_left: attempts,
        });
    }

    /// Checks the code for what is pending (by its keyed hash for a sent code; as typed for an
    /// app). Right: what it confirms, and nothing is pending any more. Wrong: one attempt
    /// fewer; the last wrong one ends it.
    pub fn confirm(
        &mut self,
        submitted_hash: &str,
        typed: &str,
        now: i64,
    ) -> Result<Confirmed, FlowError> {
        let wrong = |left: &mut u32| {
            *left = left.saturating_sub(1);
            match *left {
                0 => FlowError::CodeExhausted,
                attempts_left => FlowError::WrongCode { attempts_left },
            }
        };
        let confirmed = match self.pending.as_mut() {
            None => return Err(FlowError::WrongStep),
            Some(Pending::Contact { slot, value, code }) => {
                if code.attempts_left == 0 {
                    return Err(FlowError::CodeExhausted);
                }
                if now >= code.expires_at {
                    return Err(FlowError::CodeExpired);
                }
                if !crate::crypto::equal(&code.hash, submitted_hash) {
                    return Err(wrong(&mut code.attempts_left));
                }
                Confirmed::Contact {
                    slot: *slot,
                    value: value.clone(),
                }
            }
            Some(Pending::Authenticator {
                secret,
                attempts_left,
            }) => {
                if *attempts_left == 0 {
                    return Err(FlowError::CodeExhausted);
                }
                match Authenticator::check(secret, 0, typed, now) {
                    TotpCheck::Accepted(step) => Confirmed::Authenticator {
                        secret: secret.clone(),
                        step,
                    },
                    _ => return Err(wrong(attempts_left)),
                }
            }
        };
        self.pending = None;
        Ok(confirmed)
    }

    pub fn contacts(
        &self,
        registration: Option<&Registration>,
        phone: &PhoneConfig,
    ) -> Vec<Contact> {
        contacts_of(self.mail.as_deref(), &self.directory, registration, phone)
    }

    /// Each slot's state as the register page shows it.
    pub fn slots(
        &self,
        registration: Option<&Registration>,
        phone: &PhoneConfig,
    ) -> Vec<SlotState> {
        slots_of(self.mail.as_deref(), &self.contacts(registration, phone))
    }
}

/// Each slot's state, from an account's contacts (`primary_mail` is not a slot: it is the
/// account's own address, never registered).
pub fn slots_of(primary_mail: Option<&str>, contacts: &[Contact]) -> Vec<SlotState> {
    Slot::ALL
        .iter()
        .map(|slot| {
            let found = contacts.iter().find(|c| match slot {
                Slot::Mobile => c.family == Family::Mobile,
                Slot::OfficePhone => c.family == Family::Office,
                Slot::Authenticator => c.family == Family::Authenticator,
                Slot::Questions => c.family == Family::Questions,
                Slot::AltMail => c.family == Family::Mail && Some(c.to.as_str()) != primary_mail,
            });
            SlotState {
                slot: *slot,
                masked: found.map(Contact::masked).unwrap_or_default(),
                source: found.map(|c| {
                    if c.from_directory {
                        Source::Directory
                    } else {
                        Source::User
                    }
                }),
            }
        })
        .collect()
}

/// Where a method's code goes, and whether the directory or the user put it there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub family: Family,
    /// An address or an E.164 number; empty for the authenticator app.
    pub to: String,
    pub from_directory: bool,
}

impl Contact {
    pub fn masked(&self) -> String {
        match self.family {
            Family::Mail => mask_mail(&self.to),
            Family::Mobile | Family::Office => Number::parse(&self.to, None)
                .map(|n| n.masked())
                .unwrap_or_else(|| "••••".into()),
            Family::Authenticator | Family::Questions => String::new(),
        }
    }

    fn methods(&self) -> &'static [Method] {
        match self.family {
            Family::Mail => &[Method::Mail],
            Family::Mobile => &[Method::MobileText, Method::MobileCall],
            Family::Office => &[Method::OfficeCall],
            Family::Authenticator => &[Method::Authenticator],
            Family::Questions => &[Method::Questions],
        }
    }
}

/// Every way through a gate, numbered in one stable order, so a choice means the same at the
/// first and the second gate. Families already passed are left out.
pub fn offers(
    contacts: &[Contact],
    allowed: &[Method],
    passed: &[Family],
) -> Vec<(MethodOffer, Contact)> {
    let mut all = Vec::new();
    for contact in contacts {
        for method in contact.methods() {
            if allowed.contains(method) {
                all.push((*method, contact));
            }
        }
    }
    all.into_iter()
        .enumerate()
        .filter(|(_, (method, _))| !passed.contains(&method.family()))
        .map(|(i, (method, contact))| {
            (
                MethodOffer {
                    choice: i as u8,
                    method,
                    masked: contact.masked(),
                },
                contact.clone(),
            )
        })
        .collect()
}

/// How many different families the allowed methods reach.
pub fn families(contacts: &[Contact], allowed: &[Method]) -> usize {
    let mut seen: Vec<Family> = offers(contacts, allowed, &[])
        .into_iter()
        .map(|(o, _)| o.method.family())
        .collect();
    seen.sort_by_key(|f| *f as u8);
    seen.dedup();
    seen.len()
}

/// The directory's contact data with the user's registration over it: a value the user
/// registered takes precedence over the directory's.
pub fn contacts(
    account: &Account,
    registration: Option<&Registration>,
    phone: &PhoneConfig,
) -> Vec<Contact> {
    contacts_of(
        account.mail.first().map(String::as_str),
        &account.contacts,
        registration,
        phone,
    )
}

/// As `contacts`, from the parts a registration session keeps.
pub fn contacts_of(
    primary_mail: Option<&str>,
    directory: &DirectoryContacts,
    registration: Option<&Registration>,
    phone: &PhoneConfig,
) -> Vec<Contact> {
    let region = phone.region();
    let reg = registration.cloned().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(mail) = primary_mail {
        out.push(Contact {
            family: Family::Mail,
            to: mail.to_owned(),
            from_directory: true,
        });
    }
    let alt_mail = match reg.alt_mail {
        Some(m) => Some((m, false)),
        None => directory.other_mail.first().map(|m| (m.clone(), true)),
    };
    if let Some((to, from_directory)) = alt_mail {
        if !out.iter().any(|c| c.to.eq_ignore_ascii_case(&to)) {
            out.push(Contact {
                family: Family::Mail,
                to,
                from_directory,
            });
        }
    }
    let phones = [
        (Family::Mobile, reg.mobile, &directory.mobile),
        (Family::Office, reg.office_phone, &directory.office_phone),
    ];
    for (family, registered, directory) in phones {
        let number = match registered {
            Some(n) => Some((n, false)),
            None => directory
                .iter()
                .find_map(|raw| Number::parse(raw, region))
                .map(|n| (n.e164, true)),
        };
        if let Some((to, from_directory)) = number {
            out.push(Contact {
                family,
                to,
                from_directory,
            });
        }
    }
    if reg.authenticator.is_some() {
        out.push(Contact {
            family: Family::Authenticator,
            to: String::new(),
            from_directory: false,
        });
    }
    if !reg.questions.is_empty() {
        out.push(Contact {
            family: Family::Questions,
            to: String::new(),
            from_directory: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> RegisterSession {
        RegisterSession {
            expires_at: 2_000,
            lang: Lang::En,
            anchor: "a".into(),
            account_name: "jan".into(),
            display_name: "Jan".into(),
            mail: Some("jan@corp.example.test".into()),
            directory: DirectoryContacts::default(),
            pending: None,
        }
    }

    #[test]
    fn a_new_contact_counts_once_its_code_comes_back() {
        let phone = PhoneConfig {
            provider: crate::config::ProviderKind::Webhook,
            ..PhoneConfig::default()
        };
        let methods = Method::ALL.to_vec();
        assert_eq!(
            NewContact::read(Slot::Mobile, "12", &phone, &methods),
            Err(ErrorCode::InvalidContact)
        );
        assert_eq!(
            NewContact::read(
                Slot::Mobile,
                "06 12345678",
                &PhoneConfig::default(),
                &methods
            ),
            Err(ErrorCode::MethodUnavailable),
            "no texts without a provider"
        );
        assert_eq!(
            NewContact::read(Slot::Authenticator, "x", &phone, &methods),
            Err(ErrorCode::BadRequest)
        );
        let mobile = NewContact::read(Slot::Mobile, "06 12345678", &phone, &methods).expect("ok");
        assert_eq!(
            (mobile.value.as_str(), mobile.method),
            ("+31612345678", Method::MobileText)
        );

        let rules = CodeRules {
            ttl_secs: 600,
            attempts: 2,
            resend_cooldown_secs: 60,
        };
        let mut s = session();
        assert_eq!(s.confirm("h", "1", 100), Err(FlowError::WrongStep));
        s.expect_code(&mobile, "right".into(), rules, 100);
        assert_eq!(
            s.confirm("wrong", "1", 110),
            Err(FlowError::WrongCode { attempts_left: 1 })
        );
        let confirmed = s.confirm("right", "1", 120).expect("right");
        assert!(s.pending.is_none(), "nothing pending any more");
        let mut registration = Registration::default();
        assert_eq!(registration.confirmed(confirmed, 120), Slot::Mobile);
        assert_eq!(registration.mobile.as_deref(), Some("+31612345678"));
        registration.remove(Slot::Mobile);
        assert_eq!(registration.mobile, None);

        s.expect_code(&mobile, "right".into(), rules, 100);
        assert_eq!(s.confirm("right", "1", 700), Err(FlowError::CodeExpired));
        assert_eq!(
            s.confirm("wrong", "1", 200),
            Err(FlowError::WrongCode { attempts_left: 1 })
        );
        assert_eq!(s.confirm("wrong", "1", 200), Err(FlowError::CodeExhausted));
        assert_eq!(
            s.confirm("right", "1", 200),
            Err(FlowError::CodeExhausted),
            "the right code is dead too"
        );
    }

    fn account() -> Account {
        Account {
            anchor: "a".into(),
            account_name: "jan".into(),
            display_name: "Jan".into(),
            enabled: true,
            locked: false,
            protected: false,
            in_scope: true,
            mail: vec!["jan@corp.example.test".into()],
            policy: Default::default(),
            contacts: DirectoryContacts {
                mobile: vec!["06 12345678".into()],
                office_phone: vec!["020 1234567".into()],
                other_mail: vec![],
            },
            groups: vec![],
            language: None,
        }
    }

    #[test]
    fn directory_data_counts_and_the_users_own_takes_precedence() {
        let phone = PhoneConfig::default();
        let from_ad = contacts(&account(), None, &phone);
        assert_eq!(from_ad.len(), 3);
        assert!(from_ad.iter().all(|c| c.from_directory));
        assert_eq!(from_ad[1].to, "+31612345678");
        let reg = Registration {
            mobile: Some("+31687654321".into()),
            ..Default::default()
        };
        let mixed = contacts(&account(), Some(&reg), &phone);
        let mobile = mixed
            .iter()
            .find(|c| c.family == Family::Mobile)
            .expect("mobile");
        assert_eq!(mobile.to, "+31687654321");
        assert!(!mobile.from_directory);
    }

    #[test]
    fn the_second_gate_offers_only_other_families_with_stable_choices() {
        let cs = contacts(&account(), None, &PhoneConfig::default());
        let first = offers(&cs, &Method::ALL, &[]);
        let methods: Vec<Method> = first.iter().map(|(o, _)| o.method).collect();
        assert_eq!(
            methods,
            [
                Method::Mail,
                Method::MobileText,
                Method::MobileCall,
                Method::OfficeCall
            ]
        );
        let second = offers(&cs, &Method::ALL, &[Family::Office]);
        assert_eq!(second.len(), 3);
        assert_eq!(second[2].0.choice, 2, "choices keep their numbers");
        assert_eq!(second[1].0.masked, "+31 6 ••••••78");
        assert_eq!(families(&cs, &[Method::Mail, Method::OfficeCall]), 2);
    }

    #[test]
    fn answers_are_checked_all_at_once_and_normalised() {
        let stored = vec![
            StoredAnswer::new(Question::FirstPet, "Mr. Whiskers").expect("hash"),
            StoredAnswer::new(Question::BirthCity, "Utrecht").expect("hash"),
        ];
        let asked = [Question::BirthCity, Question::FirstPet];
        let answers = |a: &str, b: &str| vec![a.to_owned(), b.to_owned()];
        assert!(check_answers(
            &stored,
            &asked,
            &answers(" utrecht", "MR WHISKERS")
        ));
        assert!(!check_answers(
            &stored,
            &asked,
            &answers("Utrecht", "Felix")
        ));
        assert!(!check_answers(&stored, &asked, &answers("Utrecht", "")));
        assert!(!check_answers(
            &stored,
            &asked,
            &answers("Utrecht", "Mr Whiskers")[..1]
        ));
        assert!(
            !check_answers(&[], &asked, &answers("Utrecht", "Mr Whiskers")),
            "a decoy"
        );
        assert_ne!(stored[0].hash, stored[1].hash);
    }

    #[test]
    fn totp_codes_are_accepted_once_within_one_step_either_side() {
        let secret = vec![7u8; 20];
        let totp = Authenticator::totp(&secret, "jan", "SSPR").expect("totp");
        let now = 1_700_000_000i64;
        let code = totp.generate(now as u64).to_string();
        let step = now as u64 / 30;
        assert_eq!(
            Authenticator::check(&secret, 0, &code, now + 30),
            TotpCheck::Accepted(step)
        );
        assert_eq!(
            Authenticator::check(&secret, step, &code, now),
            TotpCheck::Reused
        );
        assert_eq!(
            Authenticator::check(&secret, 0, &code, now + 90),
            TotpCheck::Wrong
        );
        assert_eq!(
            Authenticator::check(&secret, 0, "12345", now),
            TotpCheck::Wrong
        );
    }
}
