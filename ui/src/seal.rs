//! The browser's half of the seal, by the browser's own WebCrypto: RSA-OAEP with SHA-256 (and
//! MGF1-SHA-256, which WebCrypto ties to the same hash) to the agent's SubjectPublicKeyInfo,
//! exactly what the agent opens with aws-lc-rs. Carrying an RSA implementation in the WASM
//! instead would be a fifth of the portal's bytes.
//!
//! WebCrypto exists only in a secure context (HTTPS, or loopback): anywhere else sealing fails
//! with `SealError::NoWebCrypto` and the page says to use the HTTPS address.

use js_sys::{Array, Object, Reflect, Uint8Array};
use sspr_protocol::seal::{check_before_sealing, AgentPublicKey, SealError, SealedSecret};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// Seals `secret` to the agent's key.
pub async fn seal(key: &AgentPublicKey, secret: &str) -> Result<SealedSecret, SealError> {
    let subtle = subtle().ok_or(SealError::NoWebCrypto)?;
    let algorithm = oaep_algorithm().map_err(|_| SealError::Encrypt)?;
    let usages = Array::of1(&JsValue::from_str("encrypt"));
    let spki = Uint8Array::from(key.spki_der.as_slice());
    let imported = subtle
        .import_key_with_object("spki", &spki, &algorithm, false, &usages)
        .map_err(|_| SealError::BadPublicKey)?;
    let public: CryptoKey = JsFuture::from(imported)
        .await
        .map_err(|_| SealError::BadPublicKey)?
        .unchecked_into();
    let bits = public
        .algorithm()
        .and_then(|algorithm| Reflect::get(&algorithm, &"modulusLength".into()))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as usize;
    check_before_sealing(secret, bits)?;
    let encrypted = subtle
        .encrypt_with_object_and_u8_array(&algorithm, &public, secret.as_bytes())
        .map_err(|_| SealError::Encrypt)?;
    let ciphertext = JsFuture::from(encrypted)
        .await
        .map_err(|_| SealError::Encrypt)?;
    Ok(SealedSecret {
        key_id: key.key_id.clone(),
        ciphertext: Uint8Array::new(&ciphertext).to_vec(),
    })
}

fn subtle() -> Option<SubtleCrypto> {
    let crypto = web_sys::window()?.crypto().ok()?;
    // `crypto.subtle` is undefined outside a secure context; web-sys would hand it out anyway.
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    (!subtle.is_undefined()).then(|| subtle.unchecked_into())
}

/// `{ name: "RSA-OAEP", hash: "SHA-256" }`: the hash is read on import; encrypt takes the name.
fn oaep_algorithm() -> Result<Object, JsValue> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"RSA-OAEP".into())?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    Ok(algorithm)
}
