//! Server configuration: defaults, then a TOML file, then `SSPR_*` environment variables
//! (nested keys joined with `__`, e.g. `SSPR_MAIL__SMTP_HOST`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sspr_protocol::captcha::WidgetProvider;
use sspr_protocol::gate::{Method, Question};

/// Writes a secret as its text: for what must be merged or shown as it is (the defaults,
/// `config show` after blanking). `Debug` still prints only that it is redacted.
fn expose<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

fn expose_option<S: serde::Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_some(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(Box<figment::Error>),
    #[error("configuration: {0}")]
    Rule(String),
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The address users and agents reach the server at.
    pub public_url: String,
    /// Where state lives: a SQLite file path (the default, nothing to set up), or
    /// `postgres://user@host/db` for several server replicas sharing one database.
    pub database: String,
    /// The built frontend (`dist/`, from scripts/build-frontend.sh).
    pub frontend_dir: PathBuf,
    /// 32 random bytes, base64url: keys the code hashes, the decoys and encryption at rest.
    /// Create one with `sspr-server secret`.
    #[serde(serialize_with = "expose")]
    pub secret: SecretString,
    pub log_json: bool,
    /// Terminate TLS here with this certificate chain and key (PEM). Without them the server
    /// speaks plain HTTP and expects a TLS proxy in front.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed for the client's
    /// address. Empty: the TCP peer is the client, whatever the headers say.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Addresses that may read `/metrics` by connecting directly (by default this host only);
    /// a request a proxy forwarded (`X-Forwarded-For` or `Forwarded`) is always refused.
    pub metrics_from: Vec<ipnet::IpNet>,
    /// Seconds a client has to send a request's whole header (at least 1): counted from
    /// connecting (the TLS handshake has as long again) and, on a kept-alive connection, from
    /// the previous answer, so it is also how long an idle connection stays open. Late: the
    /// connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may go without a byte (at least 1) before the request is given
    /// up and its connection closed.
    pub body_read_timeout_secs: u64,
    /// Connections one client address (for IPv6 one /64) may hold open at once (at least 1);
    /// one more is closed at once. `trusted_proxies` are exempt: every client comes through
    /// them. An agent's relay WebSocket stops counting once it is set up.
    pub connections_per_address: usize,
    pub mail: MailConfig,
    pub reset: ResetConfig,
    pub relay: RelayConfig,
    pub limits: LimitsConfig,
    pub policy: PolicyConfig,
    pub phone: PhoneConfig,
    pub captcha: CaptchaConfig,
    pub helpdesk: HelpdeskConfig,
    pub contact: ContactConfig,
}

/// The helpdesk's contact line at the foot of every portal page. Empty (the default): the
/// page says only "contact your helpdesk".
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactConfig {
    /// A line of text, e.g. "IT Service Desk, weekdays 8:00–18:00" (at most 200 characters).
    pub text: String,
    /// A telephone number as people dial it, e.g. "+31 20 123 4567".
    pub phone: String,
    /// The helpdesk's web page: an http or https address.
    pub url: String,
}

impl ContactConfig {
    const MAX_TEXT_CHARS: usize = 200;

    fn check(&self) -> Result<(), ConfigError> {
        let rule = |s: &str| Err(ConfigError::Rule(s.into()));
        if self.text.chars().count() > Self::MAX_TEXT_CHARS {
            return rule("contact.text is longer than 200 characters");
        }
        let phone_ok = self
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
            && self.phone.chars().filter(char::is_ascii_digit).count() >= 3;
        if !self.phone.is_empty() && !phone_ok {
            return rule("contact.phone must be a telephone number: digits, spaces, + - ( ) . /");
        }
        let url_ok = url::Url::parse(&self.url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !self.url.is_empty() && !url_ok {
            return rule("contact.url must be an http:// or https:// address");
        }
        Ok(())
    }

    /// As the pages receive it.
    pub fn shown(&self) -> sspr_protocol::reset::HelpContact {
        sspr_protocol::reset::HelpContact {
            text: self.text.trim().to_owned(),
            phone: self.phone.trim().to_owned(),
            url: self.url.trim().to_owned(),
        }
    }
}

/// The CAPTCHA before the gates: proof of work (default: accessible, no third party), or a
/// third-party widget whose token is verified server-side with the provider.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaConfig {
    /// `proof_of_work`, `image` (built in, with an audio alternative), `turnstile`, `hcaptcha`
    /// or `recaptcha`.
    pub kind: CaptchaKind,
    pub site_key: String,
    #[serde(serialize_with = "expose")]
    pub secret: SecretString,
    /// The provider's verify endpoint; its documented one when unset.
    pub verify_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptchaKind {
    ProofOfWork,
    Image,
    Turnstile,
    Hcaptcha,
    Recaptcha,
}

impl CaptchaConfig {
    pub fn widget(&self) -> Option<WidgetProvider> {
        match self.kind {
            CaptchaKind::ProofOfWork | CaptchaKind::Image => None,
            CaptchaKind::Turnstile => Some(WidgetProvider::Turnstile),
            CaptchaKind::Hcaptcha => Some(WidgetProvider::Hcaptcha),
            CaptchaKind::Recaptcha => Some(WidgetProvider::Recaptcha),
        }
    }

    pub fn verify_url(&self) -> String {
        if let Some(url) = &self.verify_url {
            return url.clone();
        }
        match self.kind {
            CaptchaKind::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            CaptchaKind::Hcaptcha => "https://api.hcaptcha.com/siteverify",
            CaptchaKind::Recaptcha | CaptchaKind::ProofOfWork | CaptchaKind::Image => {
                "https://www.google.com/recaptcha/api/siteverify"
            }
        }
        .into()
    }

    /// The origins the widget's script and frame come from, for the Content-Security-Policy.
    pub fn widget_origins(&self) -> &'static str {
        match self.kind {
            CaptchaKind::ProofOfWork | CaptchaKind::Image => "",
            CaptchaKind::Turnstile => "https://challenges.cloudflare.com",
            CaptchaKind::Hcaptcha => "https://hcaptcha.com https://*.hcaptcha.com",
            CaptchaKind::Recaptcha => "https://www.google.com https://www.gstatic.com",
        }
    }
}

impl std::fmt::Debug for CaptchaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaConfig")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The helpdesk console: who is staff, and how long their sessions live.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskConfig {
    /// Members of these groups (by common name, nested membership included) may sign in to the
    /// helpdesk console. Empty (the default): the console is off.
    pub staff_groups: Vec<String>,
    /// A staff session ends after this many seconds without a request…
    pub session_idle_secs: i64,
    /// …and this many seconds after sign-in in any case.
    pub session_max_secs: i64,
    /// Members of these groups (nested counts) are never acted on by staff, besides accounts
    /// with adminCount=1 and other staff. The agent adds the built-in privileged groups
    /// whatever this says.
    pub protected_groups: Vec<String>,
    /// A verified caller stays verified this long for the account they called about.
    pub caller_verified_secs: i64,
    /// Whether staff may reset or unlock without verifying the caller, giving a written
    /// reason (audited). Off by default.
    pub allow_unverified: bool,
    /// How long a one-time reset link works.
    pub link_ttl_secs: i64,
}

/// Who must prove what: the gates and the methods that may pass them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// 1 or 2. A second gate always uses a different method than the first.
    pub gates: u8,
    /// The methods offered, when the user has them. Texts and calls also need `phone.provider`.
    pub methods: Vec<Method>,
    /// Members of these groups (by common name, nested membership included) always need two
    /// gates.
    pub two_gate_groups: Vec<String>,
    /// The name authenticator apps show next to the account.
    pub authenticator_issuer: String,
    /// Security questions a user sets up, and how many of them a gate asks.
    pub questions_to_register: u8,
    pub questions_to_answer: u8,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on the same host or network segment.
    None,
    Starttls,
    Tls,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    #[serde(serialize_with = "expose_option")]
    pub password: Option<SecretString>,
    pub from: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfig {
    pub code_length: u8,
    pub code_ttl_secs: u32,
    pub code_attempts: u32,
    pub resend_cooldown_secs: u32,
    pub flow_ttl_secs: u32,
    /// Leading zero bits the proof-of-work CAPTCHA asks for (18 ≈ a second in a browser).
    pub captcha_difficulty: u8,
    /// The mail domain shown in decoys for accounts that cannot be helped; the directory's
    /// DNS name when unset.
    pub decoy_mail_domain: Option<String>,
    /// How often (in percent) a decoy shows a mobile phone, and an authenticator app: set them
    /// near the share of real accounts that have one, so decoys look like the crowd.
    pub decoy_phone_percent: u8,
    pub decoy_authenticator_percent: u8,
    /// Only when `policy.methods` has security questions.
    pub decoy_questions_percent: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub heartbeat_secs: u64,
    pub request_timeout_secs: u64,
    pub package_ttl_secs: i64,
    pub onboarding_token_ttl_secs: i64,
    /// Diagnostics: append every relay frame, as sent and received, to this file (its size on the
    /// wire and the message as JSON). Frames never hold a password in clear, but lookups carry
    /// contact data: leave unset in production.
    pub capture_file: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub flow_starts_per_address: u32,
    /// Flows for one account name that passed their CAPTCHA (real or not: the same limit for
    /// both). Counted after the CAPTCHA so that flooding a name keeps nobody out.
    pub flow_starts_per_account: u32,
    pub flow_starts_window_secs: i64,
    pub sends_per_destination: u32,
    pub sends_window_secs: i64,
    pub sends_per_destination_per_day: u32,
    /// Paid sends (texts and calls) per day for the whole portal: at the cap they stop and the
    /// log raises an alarm.
    pub paid_sends_per_day: u32,
    /// Wrong codes (of any method) per account, and per client address, before the gates
    /// close for the window.
    pub gate_failures_per_account: u32,
    pub gate_failures_window_secs: i64,
    /// Wrong current passwords accepted per account in a change before the portal stops asking
    /// AD: keep it below AD's lockout threshold, so nobody can lock a victim out from here.
    pub sign_in_failures_per_account: u32,
    /// At least as long as AD's "reset account lockout after" window (30 minutes by default).
    pub sign_in_window_secs: i64,
    pub sign_ins_per_address: u32,
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .finish_non_exhaustive()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            database: "sspr.db".into(),
            frontend_dir: PathBuf::from("dist"),
            secret: SecretString::default(),
            log_json: false,
            tls_cert_file: None,
            tls_key_file: None,
            trusted_proxies: Vec::new(),
            metrics_from: vec![
                ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1])),
                ipnet::IpNet::from(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 15,
            // Room for an office behind one NAT address (a browser opens up to six each).
            connections_per_address: 128,
            mail: MailConfig {
                smtp_host: "localhost".into(),
                smtp_port: 25,
                security: SmtpSecurity::Starttls,
                username: None,
                password: None,
                from: "Password self-service <no-reply@localhost>".into(),
            },
            reset: ResetConfig {
                code_length: 8,
                code_ttl_secs: 600,
                code_attempts: 5,
                resend_cooldown_secs: 60,
                flow_ttl_secs: 1800,
                captcha_difficulty: 18,
                decoy_mail_domain: None,
                decoy_phone_percent: 50,
                decoy_authenticator_percent: 20,
                decoy_questions_percent: 20,
            },
            relay: RelayConfig {
                heartbeat_secs: sspr_protocol::relay::DEFAULT_HEARTBEAT_SECS,
                request_timeout_secs: 30,
                package_ttl_secs: sspr_protocol::package::DEFAULT_PACKAGE_TTL_SECS,
                onboarding_token_ttl_secs: 3600,
                capture_file: None,
            },
            limits: LimitsConfig {
                flow_starts_per_address: 30,
                flow_starts_per_account: 10,
                flow_starts_window_secs: 900,
                sends_per_destination: 3,
                sends_window_secs: 900,
                sends_per_destination_per_day: 10,
                paid_sends_per_day: 500,
                gate_failures_per_account: 20,
                gate_failures_window_secs: 3600,
                sign_in_failures_per_account: 2,
                sign_in_window_secs: 1800,
                sign_ins_per_address: 20,
                max_body_bytes: 16 * 1024,
            },
            helpdesk: HelpdeskConfig {
                staff_groups: Vec::new(),
                session_idle_secs: 900,
                session_max_secs: 8 * 3600,
                protected_groups: sspr_protocol::helpdesk::PRIVILEGED_GROUPS
                    .iter()
                    .map(|g| (*g).to_owned())
                    .collect(),
                caller_verified_secs: 900,
                allow_unverified: false,
                link_ttl_secs: 3600,
            },
            contact: ContactConfig::default(),
            policy: PolicyConfig {
                gates: 1,
                methods: vec![
                    Method::Mail,
                    Method::MobileText,
                    Method::MobileCall,
                    Method::OfficeCall,
                    Method::Authenticator,
                ],
                two_gate_groups: vec![
                    "Helpdesk".into(),
                    "Domain Admins".into(),
                    "Account Operators".into(),
                ],
                authenticator_issuer: "Password self-service".into(),
                questions_to_register: 3,
                questions_to_answer: 2,
            },
            phone: PhoneConfig::default(),
            captcha: CaptchaConfig {
                kind: CaptchaKind::ProofOfWork,
                site_key: String::new(),
                secret: SecretString::default(),
                verify_url: None,
            },
        }
    }
}

impl ServerConfig {
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(ServerConfig::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let config: ServerConfig = figment
            .merge(
                Env::prefixed("SSPR_")
                    .split("__")
                    .ignore(&["config", "log"]),
            )
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !(6..=8).contains(&self.reset.code_length) {
            return Err(ConfigError::Rule(
                "reset.code_length must be 6, 7 or 8".into(),
            ));
        }
        if self.reset.captcha_difficulty > sspr_protocol::captcha::MAX_DIFFICULTY {
            return Err(ConfigError::Rule(format!(
                "reset.captcha_difficulty must be at most {}",
                sspr_protocol::captcha::MAX_DIFFICULTY
            )));
        }
        if !(1..=2).contains(&self.policy.gates) {
            return Err(ConfigError::Rule("policy.gates must be 1 or 2".into()));
        }
        if self.policy.methods.is_empty() {
            return Err(ConfigError::Rule(
                "policy.methods must name at least one method".into(),
            ));
        }
        let (register, answer) = (
            self.policy.questions_to_register,
            self.policy.questions_to_answer,
        );
        if !(1..=register).contains(&answer) || usize::from(register) > Question::ALL.len() {
            return Err(ConfigError::Rule(format!(
                "policy: need 1 ≤ questions_to_answer ≤ questions_to_register ≤ {}",
                Question::ALL.len()
            )));
        }
        if self.phone.enabled() && self.phone.region().is_none() {
            return Err(ConfigError::Rule(format!(
                "phone.default_region {:?} is not a two-letter region code such as \"NL\"",
                self.phone.default_region
            )));
        }
        if self.captcha.widget().is_some()
            && (self.captcha.site_key.is_empty() || self.captcha.secret.expose_secret().is_empty())
        {
            return Err(ConfigError::Rule(
                "captcha: a widget needs both site_key and secret from the provider".into(),
            ));
        }
        self.contact.check()?;
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(ConfigError::Rule(
                "set both tls_cert_file and tls_key_file, or neither".into(),
            ));
        }
        Ok(())
    }

    /// The server secret's bytes, or exactly how to make one.
    pub fn secret_bytes(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, ConfigError> {
        let how = "create one with `sspr-server secret` and put it in the config file as secret = \"…\" or in SSPR_SECRET";
        if self.secret.expose_secret().is_empty() {
            return Err(ConfigError::Rule(format!("no server secret is set: {how}")));
        }
        match sspr_protocol::b64::decode(self.secret.expose_secret()) {
            Some(bytes) if bytes.len() >= 32 => Ok(zeroize::Zeroizing::new(bytes)),
            _ => Err(ConfigError::Rule(format!(
                "the server secret must be at least 32 random bytes in base64url: {how}"
            ))),
        }
    }

    /// The configuration as TOML with secrets blanked, for `sspr-server config show`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        if let Ok(mut url) = url::Url::parse(&shown.database) {
            if url.password().is_some() && url.set_password(Some("<set>")).is_ok() {
                shown.database = url.to_string();
            }
        }
        if !shown.secret.expose_secret().is_empty() {
            shown.secret = "<set>".into();
        }
        if !shown.captcha.secret.expose_secret().is_empty() {
            shown.captcha.secret = "<set>".into();
        }
        if !shown.phone.twilio_auth_token.expose_secret().is_empty() {
            shown.phone.twilio_auth_token = "<set>".into();
        }
        if shown.phone.webhook_secret.is_some() {
            shown.phone.webhook_secret = Some("<set>".into());
        }
        if shown.mail.password.is_some() {
            shown.mail.password = Some("<set>".into());
        }
        toml::to_string_pretty(&shown).unwrap_or_default()
    }
}

/// Texts and calls: which provider, and which numbers they may go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// No texts or calls: phone methods are not offered.
    None,
    Webhook,
    Twilio,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneConfig {
    pub provider: ProviderKind,
    /// Webhook: every send is a JSON POST here.
    pub webhook_url: Option<String>,
    /// Webhook: when set, `X-SSPR-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
    #[serde(serialize_with = "expose_option")]
    pub webhook_secret: Option<SecretString>,
    /// Twilio-compatible: the API's base URL.
    pub twilio_base_url: String,
    pub twilio_account_sid: String,
    #[serde(serialize_with = "expose")]
    pub twilio_auth_token: SecretString,
    /// The number texts and calls come from.
    pub twilio_from: String,
    /// Numbers written without a country code (`06 12345678`) are read as this region's.
    pub default_region: String,
    /// Country calling codes texts and calls may go to. Empty: the default region's code and
    /// the codes of numbers already registered.
    pub allowed_country_codes: Vec<u16>,
    pub timeout_secs: u64,
}

impl std::fmt::Debug for PhoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneConfig")
            .field("provider", &self.provider)
            .field("webhook_url", &self.webhook_url)
            .field("twilio_base_url", &self.twilio_base_url)
            .finish_non_exhaustive()
    }
}

impl Default for PhoneConfig {
    fn default() -> Self {
        Self {
            provider: ProviderKind::None,
            webhook_url: None,
            webhook_secret: None,
            twilio_base_url: "https://api.twilio.com".into(),
            twilio_account_sid: String::new(),
            twilio_auth_token: SecretString::default(),
            twilio_from: String::new(),
            default_region: "NL".into(),
            allowed_country_codes: Vec::new(),
            timeout_secs: 10,
        }
    }
}

impl PhoneConfig {
    pub fn enabled(&self) -> bool {
        self.provider != ProviderKind::None
    }

    pub fn region(&self) -> Option<phonenumber::country::Id> {
        self.default_region.parse().ok()
    }

    /// The default region's country calling code (31 for NL).
    pub fn country_code(&self) -> u16 {
        phonenumber::metadata::DATABASE
            .by_id(self.default_region.as_str())
            .map(|m| m.country_code())
            .unwrap_or(31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_load_as_written_and_are_never_shown() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            "secret = \"marker-secret-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n\
             database = \"postgres://sspr:marker-db@db.example.test/sspr\"\n\
             [mail]\nusername = \"u\"\npassword = \"marker-mail-pw\"\n\
             [phone]\nprovider = \"twilio\"\ntwilio_auth_token = \"marker-twilio\"\nwebhook_secret = \"marker-hook\"\n",
        )
        .expect("write");
        let config = ServerConfig::load(Some(&file)).expect("load");
        assert_eq!(
            config.mail.password.as_ref().map(|p| p.expose_secret()),
            Some("marker-mail-pw")
        );
        assert_eq!(
            config.phone.twilio_auth_token.expose_secret(),
            "marker-twilio"
        );
        assert!(config.secret_bytes().is_ok());
        let shown = format!("{config:?}\n{}", config.redacted_toml());
        assert!(!shown.contains("marker"), "{shown}");
        assert!(config.redacted_toml().contains("<set>"));
    }

    #[test]
    fn the_contact_line_takes_a_number_and_a_web_address_and_nothing_else() {
        let load = |toml: &str| {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("server.toml");
            std::fs::write(&file, format!("[contact]\n{toml}")).expect("write");
            ServerConfig::load(Some(&file)).map(|c| c.contact.shown())
        };
        let shown = load(
            "text = \"IT Service Desk, weekdays 8:00–18:00\"\nphone = \"+31 (0)20 123 4567\"\nurl = \"https://help.corp.example.test/\"",
        )
        .expect("a contact line");
        assert_eq!(shown.dial(), "+31201234567");
        assert_eq!(shown.url, "https://help.corp.example.test/");
        for (bad, says) in [
            ("url = \"javascript:alert(1)\"", "contact.url"),
            ("url = \"help.corp.example.test\"", "contact.url"),
            ("phone = \"call us\"", "contact.phone"),
            ("phone = \"+1\"", "contact.phone"),
        ] {
            let refused = load(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains(says), "{bad}: {refused}");
        }
    }
}
