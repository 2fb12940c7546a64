//! The CAPTCHA a flow starts with: a proof-of-work challenge (the default) or a third-party
//! widget whose token the server verifies with the provider.
//!
//! Proof of work: the browser searches for a nonce whose SHA-256 together with the
//! server's random challenge starts with `difficulty` zero bits. It costs a person nothing
//! (no puzzle, works with a screen reader) and costs a script that starts thousands of
//! flows real CPU time. The server checks a solution with a single hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Third-party widgets the server can verify (all three take `secret` + `response` and answer
/// `{"success": …}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WidgetProvider {
    Turnstile,
    Hcaptcha,
    Recaptcha,
}

impl WidgetProvider {
    pub fn name(self) -> &'static str {
        match self {
            WidgetProvider::Turnstile => "turnstile",
            WidgetProvider::Hcaptcha => "hcaptcha",
            WidgetProvider::Recaptcha => "recaptcha",
        }
    }
}

/// What the browser must solve before a flow reaches its gates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Captcha {
    ProofOfWork(PowChallenge),
    Widget {
        provider: WidgetProvider,
        site_key: String,
    },
    /// Digits to read from a picture, or to hear (a WAV) for those who cannot see it.
    Image {
        #[serde(with = "crate::b64")]
        png: Vec<u8>,
        #[serde(with = "crate::b64")]
        wav: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptchaSolution {
    ProofOfWork(PowSolution),
    /// The token the widget handed the page.
    Widget {
        token: String,
    },
    /// The digits read or heard.
    Image {
        answer: String,
    },
}

/// Hard ceiling so a misconfigured server cannot make browsers spin forever.
pub const MAX_DIFFICULTY: u8 = 28;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowChallenge {
    #[serde(with = "crate::b64")]
    pub challenge: Vec<u8>,
    pub difficulty: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowSolution {
    pub nonce: u64,
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

impl PowChallenge {
    pub fn accepts(&self, solution: PowSolution) -> bool {
        let mut hasher = Sha256::new();
        hasher.update(&self.challenge);
        hasher.update(solution.nonce.to_le_bytes());
        leading_zero_bits(&hasher.finalize()) >= u32::from(self.difficulty.min(MAX_DIFFICULTY))
    }

    /// Tries `count` nonces from `start`; the browser calls this in slices so the page stays
    /// responsive and can show progress.
    pub fn solve_range(&self, start: u64, count: u64) -> Option<PowSolution> {
        (start..start.saturating_add(count))
            .map(|nonce| PowSolution { nonce })
            .find(|s| self.accepts(*s))
    }

    /// Expected number of hashes, for a progress estimate.
    pub fn expected_work(&self) -> u64 {
        1u64 << self.difficulty.min(MAX_DIFFICULTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solution_is_found_and_checked() {
        let c = PowChallenge {
            challenge: b"0123456789abcdef".to_vec(),
            difficulty: 12,
        };
        let s = c
            .solve_range(0, 1 << 22)
            .expect("a solution within 2^22 tries");
        assert!(c.accepts(s));
        // solve_range returns the first solution: every earlier nonce is refused.
        assert!((0..s.nonce).all(|n| !c.accepts(PowSolution { nonce: n })));
        // A solution belongs to its challenge.
        let other = PowChallenge {
            challenge: b"fedcba9876543210".to_vec(),
            difficulty: 12,
        };
        let t = other.solve_range(0, 1 << 22).expect("a solution");
        assert_ne!(s, t);
    }

    #[test]
    fn zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x10]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
    }
}
