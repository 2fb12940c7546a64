//! The seal: RSA-OAEP (SHA-256, MGF1-SHA-256) to the agent's public key. The browser seals with
//! its own WebCrypto (`sspr_ui::seal`); the agent opens with aws-lc-rs in [`opener`], and
//! [`seal`] there is the same operation natively, for the tests that play the browser (feature
//! `open` for both).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::i18n::Text;

pub const DEFAULT_RSA_BITS: usize = 3072;
pub const MIN_RSA_BITS: usize = 2048;
/// AD accepts passwords of at most 256 characters.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// An agent's public key as the server hands it to the browser: SubjectPublicKeyInfo DER.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPublicKey {
    pub key_id: String,
    #[serde(with = "crate::b64")]
    pub spki_der: Vec<u8>,
}

impl AgentPublicKey {
    pub fn from_spki(spki_der: Vec<u8>) -> Self {
        Self {
            key_id: key_id_of(&spki_der),
            spki_der,
        }
    }
}

/// A key id names a key without revealing anything: the first 72 bits of its SHA-256.
pub fn key_id_of(key_material: &[u8]) -> String {
    let digest = Sha256::digest(key_material);
    crate::b64::encode(&digest[..9])
}

/// A secret sealed to one agent key. Only that agent can open it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub key_id: String,
    #[serde(with = "crate::b64")]
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("len", &self.ciphertext.len())
            .finish()
    }
}

#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the agent's public key is not a valid RSA key of at least {MIN_RSA_BITS} bits")]
    BadPublicKey,
    #[error("the password is longer than the directory accepts")]
    TooLong,
    #[error("encryption failed")]
    Encrypt,
    /// The browser has no WebCrypto here: not a secure context (plain http to a host other than
    /// loopback).
    #[error("this page is not a secure context, so the browser cannot encrypt")]
    NoWebCrypto,
}

impl SealError {
    /// What the page says.
    pub fn text(self) -> Text {
        match self {
            Self::NoWebCrypto => Text::ErrSealNeedsHttps,
            Self::TooLong => Text::ErrPasswordTooLong,
            Self::BadPublicKey | Self::Encrypt => Text::ErrSealRejected,
        }
    }
}

/// OAEP with SHA-256 takes at most the modulus less this many bytes.
const OAEP_SHA256_OVERHEAD: usize = 2 * 32 + 2;

/// What every seal checks before it encrypts, in the browser and natively alike: a key large
/// enough, and a password that AD accepts and that fits into one OAEP block of that key.
pub fn check_before_sealing(secret: &str, modulus_bits: usize) -> Result<(), SealError> {
    if modulus_bits < MIN_RSA_BITS {
        return Err(SealError::BadPublicKey);
    }
    if secret.chars().count() > MAX_PASSWORD_CHARS
        || secret.len() > modulus_bits / 8 - OAEP_SHA256_OVERHEAD
    {
        return Err(SealError::TooLong);
    }
    Ok(())
}

/// Seals `secret` to the agent's key as a browser does.
#[cfg(feature = "open")]
pub fn seal(key: &AgentPublicKey, secret: &str) -> Result<SealedSecret, SealError> {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};

    let public =
        PublicEncryptingKey::from_der(&key.spki_der).map_err(|_| SealError::BadPublicKey)?;
    check_before_sealing(secret, public.key_size_bits())?;
    let oaep = OaepPublicEncryptingKey::new(public).map_err(|_| SealError::BadPublicKey)?;
    let mut out = vec![0u8; oaep.ciphertext_size()];
    let ciphertext = oaep
        .encrypt(&OAEP_SHA256_MGF1SHA256, secret.as_bytes(), &mut out, None)
        .map_err(|_| SealError::Encrypt)?;
    Ok(SealedSecret {
        key_id: key.key_id.clone(),
        ciphertext: ciphertext.to_vec(),
    })
}

/// A secret in the agent's memory: zeroed on drop, never printed.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(feature = "open")]
pub mod opener {
    //! The agent's half: the RSA private key never leaves the agent's host, and opening uses
    //! aws-lc-rs's constant-time OAEP (the `rsa` crate's private-key operations carry the
    //! unfixed timing advisory RUSTSEC-2023-0071). Every failure is the same error so that no
    //! caller can learn why a seal did not open.

    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    use aws_lc_rs::rsa::{
        KeySize, OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256,
    };
    use zeroize::Zeroizing;

    use super::{AgentPublicKey, SealedSecret, Secret};

    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    pub enum KeyError {
        #[error("RSA key size must be 2048 or 3072 bits")]
        UnsupportedSize,
        #[error("the RSA key could not be generated or read")]
        Invalid,
    }

    /// The one answer to every failure to open a seal.
    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    #[error("the sealed secret could not be opened")]
    pub struct Unopenable;

    pub struct AgentKeyPair {
        key: OaepPrivateDecryptingKey,
        pkcs8: Zeroizing<Vec<u8>>,
        public: AgentPublicKey,
    }

    impl std::fmt::Debug for AgentKeyPair {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AgentKeyPair")
                .field("key_id", &self.public.key_id)
                .finish_non_exhaustive()
        }
    }

    impl AgentKeyPair {
        pub fn generate(bits: usize) -> Result<Self, KeyError> {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                _ => return Err(KeyError::UnsupportedSize),
            };
            let private = PrivateDecryptingKey::generate(size).map_err(|_| KeyError::Invalid)?;
            let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&private).map_err(|_| KeyError::Invalid)?;
            Self::from_pkcs8(pkcs8.as_ref())
        }

        pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
            let private = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| KeyError::Invalid)?;
            let spki = AsDer::<PublicKeyX509Der>::as_der(&private.public_key())
                .map_err(|_| KeyError::Invalid)?;
            let public = AgentPublicKey::from_spki(spki.as_ref().to_vec());
            let key = OaepPrivateDecryptingKey::new(private).map_err(|_| KeyError::Invalid)?;
            Ok(Self {
                key,
                pkcs8: Zeroizing::new(der.to_vec()),
                public,
            })
        }

        pub fn pkcs8_der(&self) -> &[u8] {
            &self.pkcs8
        }

        pub fn public(&self) -> &AgentPublicKey {
            &self.public
        }

        pub fn bits(&self) -> usize {
            self.key.key_size_bits()
        }

        /// Opens a seal made by [`super::seal`]. The caller has already checked the key id.
        pub fn open(&self, sealed: &SealedSecret) -> Result<Secret, Unopenable> {
            let mut out = Zeroizing::new(vec![0u8; self.key.min_output_size()]);
            let plain = self
                .key
                .decrypt(&OAEP_SHA256_MGF1SHA256, &sealed.ciphertext, &mut out, None)
                .map_err(|_| Unopenable)?;
            let text = std::str::from_utf8(plain).map_err(|_| Unopenable)?;
            Ok(Secret::new(text.to_owned()))
        }
    }
}
