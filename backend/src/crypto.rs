//! The server's own secrets: keyed hashes for codes and tokens, stable decoys, and encryption
//! at rest. Plain tokens and codes exist once, on their way to their owner; only hashes stay.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the system random generator failed")]
    Random,
    #[error("stored data could not be decrypted (wrong server secret?)")]
    Decrypt,
    #[error("a key has an unusable length")]
    KeyLength,
}

pub struct ServerKeys {
    mac: Vec<u8>,
    at_rest: Aes256Gcm,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys(..)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).map_err(|_| CryptoError::KeyLength)?;
    for part in parts {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

impl ServerKeys {
    pub fn new(secret: &[u8]) -> Result<Self, CryptoError> {
        let at_rest_key = zeroize::Zeroizing::new(hmac(secret, &[b"sspr at-rest v1"])?);
        Ok(Self {
            mac: hmac(secret, &[b"sspr mac v1"])?,
            at_rest: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&at_rest_key)),
        })
    }

    /// A keyed hash, hex: codes are stored only like this, bound to their flow.
    pub fn mac(&self, parts: &[&[u8]]) -> Result<String, CryptoError> {
        hmac(&self.mac, parts).map(hex::encode)
    }

    pub fn seal(&self, label: &str, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = random_bytes(12)?;
        let mut out = nonce.clone();
        let ct = self
            .at_rest
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        out.extend(ct);
        Ok(out)
    }

    pub fn open(
        &self,
        label: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 12 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(12);
        self.at_rest
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: label.as_bytes(),
                },
            )
            .map(zeroize::Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Plain SHA-256, hex: for high-entropy tokens (flow ids, relay secrets, onboarding tokens).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).map_err(|_| CryptoError::Random)?;
    Ok(buf)
}

/// A random token of 32 bytes, base64url.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(sspr_protocol::b64::encode(&random_bytes(32)?))
}

/// A uniformly random numeric code of `len` digits.
pub fn random_code(len: u8) -> Result<String, CryptoError> {
    let mut code = String::with_capacity(len as usize);
    while code.len() < len as usize {
        let b = random_bytes(1)?[0];
        // Rejection sampling keeps every digit equally likely.
        if b < 250 {
            code.push(char::from(b'0' + b % 10));
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_rest_round_trip_and_label_binding() {
        let keys = ServerKeys::new(&[7u8; 32]).expect("keys");
        let sealed = keys.seal("flow", b"j@corp.example.test").expect("seal");
        assert_eq!(
            &*keys.open("flow", &sealed).expect("open"),
            b"j@corp.example.test"
        );
        assert!(keys.open("agent", &sealed).is_err());
        assert!(ServerKeys::new(&[8u8; 32])
            .expect("keys")
            .open("flow", &sealed)
            .is_err());
    }

    #[test]
    fn codes_have_the_asked_length_and_only_digits() {
        for len in 6..=8 {
            let code = random_code(len).expect("code");
            assert_eq!(code.len(), len as usize);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
    }
}
