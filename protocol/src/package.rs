//! The server's wrapping around a sealed secret: the request's metadata and the seal inside one
//! AES-256-GCM package under a per-agent package key, with a random 96-bit nonce and the agent
//! id, request id and key id as associated data. The agent opens it and checks key id, tag,
//! request id, expiry and replay — all before it spends a single RSA operation.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::ErrorCode;
use crate::seal::SealedSecret;
use crate::UnixTime;

pub const PACKAGE_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// A package that has waited longer than this is refused, never applied late.
pub const DEFAULT_PACKAGE_TTL_SECS: i64 = 300;

/// The symmetric key one agent shares with the server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageKey {
    pub key_id: String,
    #[serde(with = "crate::b64")]
    bytes: Vec<u8>,
}

impl std::fmt::Debug for PackageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Drop for PackageKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

impl PackageKey {
    pub fn generate() -> Result<Self, PackageError> {
        let mut bytes = vec![0u8; PACKAGE_KEY_LEN];
        getrandom::getrandom(&mut bytes).map_err(|_| PackageError::Random)?;
        let key_id = crate::seal::key_id_of(&bytes);
        Ok(Self { key_id, bytes })
    }

    fn cipher(&self) -> Result<Aes256Gcm, PackageError> {
        if self.bytes.len() != PACKAGE_KEY_LEN {
            return Err(PackageError::Malformed);
        }
        Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.bytes)))
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PackageError> {
        let mut nonce = vec![0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|_| PackageError::Random)?;
        let ciphertext = self
            .cipher()?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| PackageError::Malformed)?;
        Ok((nonce, ciphertext))
    }

    fn open(
        &self,
        aad: &[u8],
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PackageError> {
        if nonce.len() != NONCE_LEN {
            return Err(PackageError::Malformed);
        }
        self.cipher()?
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| PackageError::BadTag)
    }
}

/// A new package key on its way from the agent to the server, sealed under the key it
/// replaces: only the one holder of the old key can have made it, and only the server can read
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub old_key_id: String,
    pub new_key_id: String,
    #[serde(with = "crate::b64")]
    pub nonce: Vec<u8>,
    #[serde(with = "crate::b64")]
    pub ciphertext: Vec<u8>,
}

fn rekey_aad(agent_id: &str, old_key_id: &str, new_key_id: &str) -> Vec<u8> {
    [
        b"sspr-rekey-v1",
        agent_id.as_bytes(),
        old_key_id.as_bytes(),
        new_key_id.as_bytes(),
    ]
    .join(&0u8)
}

impl PackageKey {
    /// Seals `new` under this (old) key for the server.
    pub fn wrap(&self, new: &PackageKey, agent_id: &str) -> Result<WrappedKey, PackageError> {
        let aad = rekey_aad(agent_id, &self.key_id, &new.key_id);
        let (nonce, ciphertext) = self.seal(&aad, &new.bytes)?;
        Ok(WrappedKey {
            old_key_id: self.key_id.clone(),
            new_key_id: new.key_id.clone(),
            nonce,
            ciphertext,
        })
    }

    /// Opens a key wrapped under this one; its id must match its bytes.
    pub fn unwrap(&self, wrapped: &WrappedKey, agent_id: &str) -> Result<PackageKey, PackageError> {
        if wrapped.old_key_id != self.key_id {
            return Err(PackageError::UnknownKey);
        }
        let aad = rekey_aad(agent_id, &self.key_id, &wrapped.new_key_id);
        let bytes = self.open(&aad, &wrapped.nonce, &wrapped.ciphertext)?;
        if bytes.len() != PACKAGE_KEY_LEN || crate::seal::key_id_of(&bytes) != wrapped.new_key_id {
            return Err(PackageError::Malformed);
        }
        Ok(Self {
            key_id: wrapped.new_key_id.clone(),
            bytes: bytes.to_vec(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Reset,
    Change,
    Unlock,
    /// Checks the sealed password by binding as the user; nothing is written (sign-in for
    /// registration).
    Verify,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    /// Helpdesk only: `pwdLastSet: 0`.
    pub must_change_at_next_logon: bool,
}

/// What the agent is asked to do. Encrypted as a whole; nobody on the way can read or alter it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageBody {
    pub op: Operation,
    /// The user's objectGUID, as the agent's lookup returned it.
    pub anchor: String,
    /// Who asked: `self` for self-service, or the helpdesk member's account.
    pub actor: String,
    pub request_id: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub flags: Flags,
    /// The new password (reset, change); none for an unlock.
    pub sealed: Option<SealedSecret>,
    /// The current password, for a change only.
    pub sealed_old: Option<SealedSecret>,
    /// The helpdesk's tiering: groups (by common name, nested membership counting) whose
    /// members this request must not touch. Empty for self-service. The agent checks the
    /// target's membership when it applies the request.
    pub off_limits: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub agent_id: String,
    pub key_id: String,
    pub request_id: String,
    #[serde(with = "crate::b64")]
    pub nonce: Vec<u8>,
    #[serde(with = "crate::b64")]
    pub ciphertext: Vec<u8>,
}

/// Each reason a package is refused has its own error; all are decided before RSA.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackageError {
    #[error("the package is sealed under a key this agent does not hold")]
    UnknownKey,
    #[error("the package is addressed to another agent")]
    WrongAgent,
    #[error("the package's authentication tag does not verify (tampered or wrong key)")]
    BadTag,
    #[error("the package is malformed")]
    Malformed,
    #[error("the package expired before it could be applied")]
    Expired,
    #[error("the package's request id was seen before (replay)")]
    Replayed,
    #[error("the system random generator failed")]
    Random,
}

/// Remembers request ids until their package would have expired anyway.
pub trait ReplayGuard {
    /// True the first time a request id is presented; false ever after.
    fn first_use(&mut self, request_id: &str, expires_at: UnixTime) -> bool;
}

impl ReplayGuard for std::collections::HashSet<String> {
    fn first_use(&mut self, request_id: &str, _expires_at: UnixTime) -> bool {
        self.insert(request_id.to_owned())
    }
}

fn package_aad(agent_id: &str, request_id: &str, key_id: &str) -> Vec<u8> {
    [
        b"sspr-package-v1",
        agent_id.as_bytes(),
        request_id.as_bytes(),
        key_id.as_bytes(),
    ]
    .join(&0u8)
}

fn outcome_aad(agent_id: &str, request_id: &str, key_id: &str) -> Vec<u8> {
    [
        b"sspr-outcome-v1",
        agent_id.as_bytes(),
        request_id.as_bytes(),
        key_id.as_bytes(),
    ]
    .join(&0u8)
}

impl Package {
    pub fn seal(
        key: &PackageKey,
        agent_id: &str,
        body: &PackageBody,
    ) -> Result<Self, PackageError> {
        let plain =
            Zeroizing::new(postcard::to_allocvec(body).map_err(|_| PackageError::Malformed)?);
        let aad = package_aad(agent_id, &body.request_id, &key.key_id);
        let (nonce, ciphertext) = key.seal(&aad, &plain)?;
        Ok(Self {
            agent_id: agent_id.to_owned(),
            key_id: key.key_id.clone(),
            request_id: body.request_id.clone(),
            nonce,
            ciphertext,
        })
    }

    /// Opens and checks the package. `keys` are the package keys the agent holds (the current
    /// one and, during a rollover, the previous one).
    pub fn open(
        &self,
        keys: &[&PackageKey],
        agent_id: &str,
        now: UnixTime,
        seen: &mut impl ReplayGuard,
    ) -> Result<PackageBody, PackageError> {
        let key = keys
            .iter()
            .find(|k| k.key_id == self.key_id)
            .ok_or(PackageError::UnknownKey)?;
        if self.agent_id != agent_id {
            return Err(PackageError::WrongAgent);
        }
        let aad = package_aad(agent_id, &self.request_id, &self.key_id);
        let plain = key.open(&aad, &self.nonce, &self.ciphertext)?;
        let body: PackageBody =
            postcard::from_bytes(&plain).map_err(|_| PackageError::Malformed)?;
        if body.request_id != self.request_id {
            return Err(PackageError::Malformed);
        }
        if now >= body.expires_at || body.issued_at > now + CLOCK_SKEW_SECS {
            return Err(PackageError::Expired);
        }
        if !seen.first_use(&body.request_id, body.expires_at) {
            return Err(PackageError::Replayed);
        }
        Ok(body)
    }
}

/// Clocks of server and agent may differ by this much before a package counts as from the future.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// What became of a package, told back to the server sealed under the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Refused(ErrorCode),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedOutcome {
    pub key_id: String,
    #[serde(with = "crate::b64")]
    pub nonce: Vec<u8>,
    #[serde(with = "crate::b64")]
    pub ciphertext: Vec<u8>,
}

impl SealedOutcome {
    pub fn seal(
        key: &PackageKey,
        agent_id: &str,
        request_id: &str,
        outcome: Outcome,
    ) -> Result<Self, PackageError> {
        let plain = postcard::to_allocvec(&outcome).map_err(|_| PackageError::Malformed)?;
        let (nonce, ciphertext) =
            key.seal(&outcome_aad(agent_id, request_id, &key.key_id), &plain)?;
        Ok(Self {
            key_id: key.key_id.clone(),
            nonce,
            ciphertext,
        })
    }

    pub fn open(
        &self,
        key: &PackageKey,
        agent_id: &str,
        request_id: &str,
    ) -> Result<Outcome, PackageError> {
        if self.key_id != key.key_id {
            return Err(PackageError::UnknownKey);
        }
        let plain = key.open(
            &outcome_aad(agent_id, request_id, &key.key_id),
            &self.nonce,
            &self.ciphertext,
        )?;
        postcard::from_bytes(&plain).map_err(|_| PackageError::Malformed)
    }
}
