//! A recording SMS/voice gateway: a real HTTP server on loopback that takes what the portal's
//! phone provider sends — the JSON webhook or the Twilio-style form API — keeps every request,
//! and answers like the provider would (or refuses, when told to). The demo prints each one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the portal made of its provider.
#[derive(Clone, Debug)]
pub struct ProviderCall {
    pub path: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl ProviderCall {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A form body's fields (Twilio flavour).
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    /// A JSON body (webhook flavour).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Who it was for, in either flavour.
    pub fn to(&self) -> String {
        match self.json().get("to").and_then(|v| v.as_str()) {
            Some(to) => to.to_owned(),
            None => self.form().get("To").cloned().unwrap_or_default(),
        }
    }

    /// What the person reads or hears, in either flavour.
    pub fn text(&self) -> String {
        if let Some(text) = self.json().get("text").and_then(|v| v.as_str()) {
            return text.to_owned();
        }
        let form = self.form();
        form.get("Body")
            .or_else(|| form.get("Twiml"))
            .cloned()
            .unwrap_or_default()
    }

    /// The code in it: a run of 6–8 digits in a text, or 6–8 single digits read out one by
    /// one ("4, 7, 1, …") in a call.
    pub fn code(&self) -> Option<String> {
        let text = self.text();
        let mut spoken = String::new();
        for word in text.split(|c: char| c.is_whitespace() || c == '>' || c == '<') {
            let word = word.trim_matches(|c: char| !c.is_ascii_digit());
            if (6..=8).contains(&word.len()) && word.chars().all(|c| c.is_ascii_digit()) {
                return Some(word.to_owned());
            }
            if word.len() == 1 {
                spoken.push_str(word);
                continue;
            }
            if (6..=8).contains(&spoken.len()) {
                return Some(spoken);
            }
            spoken.clear();
        }
        (6..=8).contains(&spoken.len()).then_some(spoken)
    }
}

#[derive(Clone)]
pub struct RecordingGateway {
    pub url: String,
    calls: Arc<Mutex<Vec<ProviderCall>>>,
    /// 0: answer like the provider (201); anything else: answer with this status.
    refuse_with: Arc<AtomicU16>,
    /// When set, every request gets this status and JSON body instead.
    answer: Arc<Mutex<Option<(u16, String)>>>,
}

type OnCall = Arc<dyn Fn(&ProviderCall) + Send + Sync>;

impl RecordingGateway {
    pub fn start() -> Self {
        Self::start_with(Arc::new(|_| {}))
    }

    pub fn start_with(on_call: OnCall) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the gateway");
        let port = listener.local_addr().map(|a| a.port()).expect("port");
        let gateway = Self {
            url: format!("http://127.0.0.1:{port}"),
            calls: Arc::default(),
            refuse_with: Arc::default(),
            answer: Arc::default(),
        };
        let (calls, refuse, answer) = (
            gateway.calls.clone(),
            gateway.refuse_with.clone(),
            gateway.answer.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (calls, refuse, on_call) = (calls.clone(), refuse.clone(), on_call.clone());
                let answer = answer.lock().unwrap_or_else(|p| p.into_inner()).clone();
                std::thread::spawn(move || {
                    serve(stream, refuse.load(Ordering::SeqCst), answer, |call| {
                        on_call(&call);
                        calls.lock().unwrap_or_else(|p| p.into_inner()).push(call);
                    });
                });
            }
        });
        gateway
    }

    /// From now on, answer every request with this status and JSON body (a CAPTCHA provider's
    /// verify endpoint, say).
    pub fn answer_with(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some((status, body.to_owned()));
    }

    /// From now on, answer every request with this HTTP status (0: accept again).
    pub fn refuse_with(&self, status: u16) {
        self.refuse_with.store(status, Ordering::SeqCst);
    }

    pub fn calls(&self) -> Vec<ProviderCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits for the `index`-th request (0-based) to `to`.
    pub fn wait_for(&self, to: &str, index: usize) -> ProviderCall {
        crate::wait_for(
            &format!("provider request #{index} for {to}"),
            Duration::from_secs(20),
            || self.calls().into_iter().filter(|c| c.to() == to).nth(index),
        )
    }
}

/// Reads one HTTP/1.1 request, records it, answers it and closes the connection. Recorded
/// before the answer goes out: whoever the answer reaches may look for the call at once.
fn serve(
    stream: TcpStream,
    refuse_with: u16,
    answer: Option<(u16, String)>,
    record: impl FnOnce(ProviderCall),
) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    record(ProviderCall {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, answer) = match (answer, refuse_with) {
        (Some((status, body)), _) => (status, body),
        (None, 0) => (
            201,
            r#"{"sid":"SM0000000000000000000000000000000","status":"queued"}"#.to_owned(),
        ),
        (None, _) => (
            refuse_with,
            r#"{"code":21211,"message":"refused by the test gateway"}"#.to_owned(),
        ),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.flush();
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(body: &str) -> ProviderCall {
        ProviderCall {
            path: "/".into(),
            headers: HashMap::new(),
            body: body.into(),
        }
    }

    #[test]
    fn codes_are_found_in_texts_and_in_calls() {
        let text =
            call(r#"{"text":"Your verification code is 12345678. It is valid for 10 minutes."}"#);
        assert_eq!(text.code().as_deref(), Some("12345678"));
        let twiml = "Twiml=%3CResponse%3E%3CSay%3EYour+verification+code+is%3A+4%2C+7%2C+1%2C+1%2C+0%2C+2%2C+3%2C+5.+Once+more%3A+4%2C+7%3C%2FSay%3E";
        assert_eq!(call(twiml).code().as_deref(), Some("47110235"));
    }
}
