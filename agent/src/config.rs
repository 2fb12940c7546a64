//! Agent configuration: defaults, then a TOML file, then `SSPR_AGENT_*` environment variables
//! (nested keys with `__`, e.g. `SSPR_AGENT_DIRECTORY__BIND_PASSWORD`).

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// Writes a secret as its plain text: for what must be stored or merged as it is (the
/// configuration's defaults, `identity.json`). `Debug` still prints only that it is redacted.
pub(crate) fn expose<S: Serializer>(
    secret: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(Box<figment::Error>),
    #[error("configuration: {0}")]
    Rule(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Where onboarding stores the agent's identity and keys (mode 0600).
    pub state_dir: PathBuf,
    /// Extra trust anchors (PEM) for the server's certificate; the public web roots otherwise.
    pub server_ca_file: Option<PathBuf>,
    /// The server replicas' own URLs: the agent keeps one relay connection to each, so every
    /// replica can reach it. Empty: the one URL the agent was onboarded with (one server, or a
    /// load balancer in front of one).
    pub servers: Vec<String>,
    pub heartbeat_secs: u64,
    /// RSA key size for new key pairs: 3072 (default) or 2048.
    pub rsa_bits: usize,
    /// Logs as JSON lines on stdout instead of text.
    pub log_json: bool,
    /// The RSA key pair and the package key roll over after this many days (and on
    /// `sspr-agent rotate`).
    pub key_rotation_days: u32,
    /// How long the keys before a rollover still open what was sealed to them, in seconds:
    /// longer than a flow lives, so nothing in flight during a rollover fails.
    pub key_grace_secs: u32,
    pub directory: DirectoryConfig,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// `ldaps://` URLs of the domain controllers. Plain `ldap://` is refused: passwords only
    /// travel inside TLS.
    pub urls: Vec<String>,
    /// The CA (PEM) that issued the DCs' certificates. Certificates are always verified.
    pub ca_file: Option<PathBuf>,
    /// The service account, e.g. `CN=sspr-agent,CN=Users,DC=corp,DC=example,DC=test` or
    /// `sspr-agent@corp.example.test`.
    pub bind_dn: String,
    #[serde(serialize_with = "expose")]
    pub bind_password: SecretString,
    /// Read the bind password from this file instead (first line).
    pub bind_password_file: Option<PathBuf>,
    /// Only accounts under these DNs may use self-service; empty means the whole domain.
    pub scope: Vec<String>,
    /// Samba and older DCs cannot enforce password history on a reset. Resets there are refused
    /// unless this is true.
    pub allow_reset_without_history: bool,
    pub timeout_secs: u64,
    /// Which attributes hold the contact data that counts as registered.
    pub contacts: ContactAttributes,
}

/// Attribute names for pre-populated contact data; an empty name reads nothing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactAttributes {
    pub mobile: String,
    pub office_phone: String,
    pub other_mail: String,
}

impl std::fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("urls", &self.urls)
            .field("bind_dn", &self.bind_dn)
            .field("scope", &self.scope)
            .field(
                "allow_reset_without_history",
                &self.allow_reset_without_history,
            )
            .finish_non_exhaustive()
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from("/var/lib/sspr-agent"),
            server_ca_file: None,
            servers: Vec::new(),
            heartbeat_secs: sspr_protocol::relay::DEFAULT_HEARTBEAT_SECS,
            rsa_bits: sspr_protocol::seal::DEFAULT_RSA_BITS,
            log_json: false,
            key_rotation_days: 180,
            key_grace_secs: 3_600,
            directory: DirectoryConfig {
                urls: Vec::new(),
                ca_file: None,
                bind_dn: String::new(),
                bind_password: SecretString::default(),
                bind_password_file: None,
                scope: Vec::new(),
                allow_reset_without_history: false,
                timeout_secs: 10,
                contacts: ContactAttributes {
                    mobile: "mobile".into(),
                    office_phone: "telephoneNumber".into(),
                    other_mail: "otherMailbox".into(),
                },
            },
        }
    }
}

impl AgentConfig {
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(AgentConfig::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let mut config: AgentConfig = figment
            .merge(Env::prefixed("SSPR_AGENT_").split("__"))
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        if let Some(path) = config.directory.bind_password_file.clone() {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::Rule(format!(
                    "cannot read bind_password_file {}: {e}",
                    path.display()
                ))
            })?;
            config.directory.bind_password = text.lines().next().unwrap_or_default().into();
        }
        if config.key_rotation_days == 0 {
            return Err(ConfigError::Rule(
                "key_rotation_days must be at least 1 (use `sspr-agent rotate` to roll over now)"
                    .into(),
            ));
        }
        if config.key_grace_secs < 600 {
            return Err(ConfigError::Rule(
                "key_grace_secs must be at least 600: a request sealed just before a rollover must still go through".into(),
            ));
        }
        if ![2048, 3072].contains(&config.rsa_bits) {
            return Err(ConfigError::Rule("rsa_bits must be 2048 or 3072".into()));
        }
        Ok(config)
    }

    /// The servers to keep a relay connection to: the configured replicas, or the URL
    /// onboarded with.
    pub fn relay_servers(&self, onboarded: &str) -> Vec<String> {
        if self.servers.is_empty() {
            vec![onboarded.to_owned()]
        } else {
            self.servers
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect()
        }
    }

    /// Checks what `run` needs but `onboard` does not.
    pub fn check_directory(&self) -> Result<(), ConfigError> {
        let d = &self.directory;
        if d.urls.is_empty() {
            return Err(ConfigError::Rule(
                "directory.urls is empty: list your DCs as ldaps://dc.example.com".into(),
            ));
        }
        if let Some(url) = d.urls.iter().find(|u| !u.starts_with("ldaps://")) {
            return Err(ConfigError::Rule(format!(
                "directory.urls: {url} is not ldaps:// — passwords are only written over LDAPS"
            )));
        }
        if d.bind_dn.is_empty() || d.bind_password.expose_secret().is_empty() {
            return Err(ConfigError::Rule(
                "directory.bind_dn and a bind password (bind_password, bind_password_file or SSPR_AGENT_DIRECTORY__BIND_PASSWORD) are required".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bind_password_is_read_as_before_and_never_printed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("agent.toml");
        std::fs::write(
            &file,
            "[directory]\nurls = [\"ldaps://dc1.corp.test\"]\nbind_dn = \"svc@corp.test\"\nbind_password = \"Bind-Passw0rd!\"\n",
        )
        .expect("write");
        let config = AgentConfig::load(Some(&file)).expect("load");
        assert_eq!(
            config.directory.bind_password.expose_secret(),
            "Bind-Passw0rd!"
        );
        assert!(config.check_directory().is_ok());
        assert!(!format!("{config:?}").contains("Bind-Passw0rd!"));

        // From a file instead: its first line.
        let secret = dir.path().join("bind-password");
        std::fs::write(&secret, "From-File-1!\nignored\n").expect("write");
        std::fs::write(
            &file,
            format!(
                "[directory]\nbind_password_file = \"{}\"\n",
                secret.display()
            ),
        )
        .expect("write");
        let config = AgentConfig::load(Some(&file)).expect("load");
        assert_eq!(
            config.directory.bind_password.expose_secret(),
            "From-File-1!"
        );
    }
}
