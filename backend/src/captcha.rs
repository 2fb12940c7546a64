//! Server-side verification of a third-party CAPTCHA widget's token. Turnstile, hCaptcha and
//! reCAPTCHA all take the same form (`secret`, `response`, `remoteip`) and answer
//! `{"success": true|false, …}`. Anything but a clear "success" fails closed.

use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::state::AppState;

#[derive(Deserialize)]
struct Verdict {
    success: bool,
}

/// Tokens longer than this are not tokens (the providers' are about 2 KB at most).
const MAX_TOKEN_LEN: usize = 4096;

pub async fn verify_widget(state: &AppState, token: &str, client: &str) -> bool {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return false;
    }
    let config = &state.config.captcha;
    let answer = state
        .http
        .post(config.verify_url())
        .form(&[
            ("secret", config.secret.expose_secret()),
            ("response", token),
            ("remoteip", client),
        ])
        .send()
        .await;
    match answer {
        Ok(response) => match response.json::<Verdict>().await {
            Ok(verdict) => verdict.success,
            Err(e) => {
                tracing::warn!(error = %e, "the CAPTCHA provider's answer was not understood");
                false
            }
        },
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "the CAPTCHA provider could not be reached");
            false
        }
    }
}

/// A built-in picture CAPTCHA: six digits (1–9), distorted, with the same digits spoken (with
/// noise) as the audio alternative for people who cannot see the picture.
pub struct ImageCaptcha {
    pub answer: String,
    pub png: Vec<u8>,
    pub wav: Vec<u8>,
}

const IMAGE_DIGITS: u32 = 6;
/// Silence between two spoken digits, in samples (the recordings are 22.05 kHz).
const GAP_SAMPLES: usize = 22_050 / 2;

impl ImageCaptcha {
    pub fn generate() -> Option<Self> {
        use captcha::filters::{Dots, Noise, Wave};
        let mut image = captcha::Captcha::new();
        // Digits the font can draw and the recordings can say (the font has no 0).
        let digits: Vec<char> = image
            .supported_chars()
            .into_iter()
            .filter(char::is_ascii_digit)
            .collect();
        image
            .set_chars(&digits)
            .add_chars(IMAGE_DIGITS)
            .apply_filter(Noise::new(0.2))
            .apply_filter(Wave::new(2.0, 8.0))
            .view(240, 100)
            .apply_filter(Dots::new(6));
        let png = image.as_png()?;
        let wav = join_wavs(&image.as_wav())?;
        Some(Self {
            answer: image.chars_as_string(),
            png,
            wav,
        })
    }
}

/// One WAV of the digits one after the other, with a pause between them.
fn join_wavs(parts: &[Option<Vec<u8>>]) -> Option<Vec<u8>> {
    let mut samples: Vec<i16> = Vec::new();
    let mut spec = None;
    for part in parts {
        let mut reader = hound::WavReader::new(std::io::Cursor::new(part.as_ref()?)).ok()?;
        spec.get_or_insert(reader.spec());
        for sample in reader.samples::<i16>() {
            samples.push(sample.ok()?);
        }
        samples.extend(std::iter::repeat_n(0, GAP_SAMPLES));
    }
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec?).ok()?;
    for sample in samples {
        writer.write_sample(sample).ok()?;
    }
    writer.finalize().ok()?;
    Some(out.into_inner())
}

/// How an answer to the picture is compared: digits only, so spaces a person types between
/// groups do not matter.
pub fn normalize_image_answer(answer: &str) -> String {
    answer.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_comes_with_its_digits_spoken() {
        let c = ImageCaptcha::generate().expect("a CAPTCHA");
        assert_eq!(c.answer.len(), 6);
        assert!(c.answer.chars().all(|d| d.is_ascii_digit()));
        assert!(c.png.starts_with(b"\x89PNG"));
        assert!(c.wav.starts_with(b"RIFF"));
        let seconds = hound::WavReader::new(std::io::Cursor::new(&c.wav))
            .map(|r| r.duration() as f64 / f64::from(r.spec().sample_rate))
            .expect("a WAV");
        assert!(
            seconds > 3.0,
            "six digits with pauses take a while: {seconds}"
        );
        assert_eq!(normalize_image_answer(" 12 34-56 "), "123456");
    }
}
