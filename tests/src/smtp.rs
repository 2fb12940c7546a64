//! An SMTP sink: a real SMTP server on loopback that accepts every message and keeps it, so the
//! server's real SMTP client is exercised end to end. The demo prints each message.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The first run of 6–8 digits in the message body: the verification code.
    pub fn code(&self) -> Option<String> {
        let body = self
            .data
            .split("\r\n\r\n")
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n");
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| (6..=8).contains(&w.len()))
            .map(str::to_owned)
    }

    pub fn subject(&self) -> Option<String> {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .map(str::to_owned)
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

type OnMail = Arc<dyn Fn(&Mail) + Send + Sync>;

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_with(Arc::new(|_| {}))
    }

    /// `on_mail` sees every message as it arrives (the demo prints it).
    pub fn start_with(on_mail: OnMail) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the SMTP sink");
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .expect("the sink's port");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let sink = Self {
            port,
            mails: mails.clone(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (mails, on_mail) = (mails.clone(), on_mail.clone());
                std::thread::spawn(move || {
                    serve(stream, |mail| {
                        on_mail(&mail);
                        mails.lock().unwrap_or_else(|p| p.into_inner()).push(mail);
                    });
                });
            }
        });
        sink
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until `address` has received more than `already` messages; returns the newest.
    pub fn wait_for_mail(&self, address: &str, already: usize) -> Mail {
        crate::wait_for(
            &format!("mail to {address}"),
            Duration::from_secs(30),
            || {
                let mails = self.mails_to(address);
                (mails.len() > already).then(|| mails[mails.len() - 1].clone())
            },
        )
    }
}

/// One SMTP session. Each mail is recorded before its "250 queued" goes out: the sender counts
/// it as delivered from then on, and so may whoever it tells.
fn serve(stream: TcpStream, mut record: impl FnMut(Mail)) -> Option<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    let reply = |w: &mut TcpStream, text: &str| w.write_all(format!("{text}\r\n").as_bytes()).ok();
    reply(&mut writer, "220 sspr-sink ESMTP")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return Some(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let arg = |prefix: &str| {
            line.trim_end()[prefix.len()..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        };
        if upper.starts_with("EHLO") {
            reply(&mut writer, "250-sspr-sink\r\n250-8BITMIME\r\n250 SMTPUTF8")?;
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            reply(&mut writer, "250 OK")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = arg("MAIL FROM:")
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_end_matches('>')
                .to_owned();
            reply(&mut writer, "250 OK")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(arg("RCPT TO:"));
            reply(&mut writer, "250 OK")?;
        } else if upper.starts_with("DATA") {
            reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).ok()? == 0 {
                    return Some(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            record(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            reply(&mut writer, "250 OK queued")?;
        } else if upper.starts_with("QUIT") {
            reply(&mut writer, "221 Bye")?;
            return Some(());
        } else {
            reply(&mut writer, "502 Command not implemented")?;
        }
    }
}
