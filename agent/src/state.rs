//! What onboarding leaves on disk: the agent's identity and its RSA private key, both 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sspr_protocol::package::PackageKey;
use sspr_protocol::seal::opener::AgentKeyPair;

const IDENTITY_FILE: &str = "identity.json";
const RSA_KEY_FILE: &str = "rsa-key.pk8";
const PREVIOUS_RSA_KEY_FILE: &str = "rsa-key-previous.pk8";
/// Left by `sspr-agent rotate`; the running agent rolls its keys over at its next heartbeat.
pub const ROTATE_REQUEST_FILE: &str = "rotate-requested";
/// Request ids of packages already applied, until they expire (see `handler::ReplayCache`).
pub const REPLAY_FILE: &str = "replay.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the agent is not onboarded yet ({0} is missing): run `sspr-agent onboard --server URL --token TOKEN` first")]
    NotOnboarded(PathBuf),
    #[error("cannot {action} {path}: {reason}")]
    Io {
        action: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{0} is damaged; onboard the agent again")]
    Damaged(PathBuf),
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Identity {
    pub server_url: String,
    pub agent_id: String,
    #[serde(serialize_with = "crate::config::expose")]
    pub relay_secret: SecretString,
    pub package_key: PackageKey,
    pub onboarded_at: i64,
    /// When the current RSA key pair and package key were made (0: at onboarding).
    #[serde(default)]
    pub keys_created_at: i64,
    /// The package key before the last rollover, and when it was retired.
    #[serde(default)]
    pub previous_package_key: Option<PackageKey>,
    #[serde(default)]
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("server_url", &self.server_url)
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct AgentState {
    pub identity: Identity,
    pub keys: Arc<AgentKeyPair>,
    /// The RSA key pair before the last rollover (see `Identity::retired_at`).
    pub previous_keys: Option<Arc<AgentKeyPair>>,
}

/// The keys that were current before the last rollover, while their grace period lasts.
pub struct Previous<'a> {
    pub package_key: &'a PackageKey,
    pub keys: &'a AgentKeyPair,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |e| StateError::Io {
        action,
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Writes a secret file atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    file.write_all(bytes).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", path))
}

impl AgentState {
    /// A freshly onboarded agent's state.
    pub fn new(identity: Identity, keys: AgentKeyPair) -> Self {
        Self {
            identity,
            keys: Arc::new(keys),
            previous_keys: None,
        }
    }

    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let identity = serde_json::to_vec_pretty(&self.identity)
            .map_err(|_| StateError::Damaged(dir.join(IDENTITY_FILE)))?;
        let previous = dir.join(PREVIOUS_RSA_KEY_FILE);
        match &self.previous_keys {
            Some(keys) => write_private(&previous, keys.pkcs8_der())?,
            None if previous.exists() => {
                std::fs::remove_file(&previous).map_err(io("remove", &previous))?
            }
            None => {}
        }
        write_private(&dir.join(RSA_KEY_FILE), self.keys.pkcs8_der())?;
        write_private(&dir.join(IDENTITY_FILE), &identity)
    }

    /// When the current keys were made.
    pub fn keys_created_at(&self) -> i64 {
        match self.identity.keys_created_at {
            0 => self.identity.onboarded_at,
            at => at,
        }
    }

    /// The previous keys, if they were retired less than `grace_secs` ago.
    pub fn previous(&self, now: i64, grace_secs: i64) -> Option<Previous<'_>> {
        let retired = self.identity.retired_at?;
        if now >= retired + grace_secs {
            return None;
        }
        Some(Previous {
            package_key: self.identity.previous_package_key.as_ref()?,
            keys: self.previous_keys.as_deref()?,
        })
    }

    /// Forgets previous keys whose grace period is over. True if it forgot any.
    pub fn forget_expired(&mut self, now: i64, grace_secs: i64) -> bool {
        if self.identity.retired_at.is_none() || self.previous(now, grace_secs).is_some() {
            return false;
        }
        self.identity.previous_package_key = None;
        self.identity.retired_at = None;
        self.previous_keys = None;
        true
    }

    /// New keys: the current ones become the previous ones, from `now`.
    pub fn rotated(&self, keys: AgentKeyPair, package_key: PackageKey, now: i64) -> Self {
        let mut identity = self.identity.clone();
        identity.previous_package_key = Some(identity.package_key.clone());
        identity.package_key = package_key;
        identity.retired_at = Some(now);
        identity.keys_created_at = now;
        Self {
            identity,
            keys: Arc::new(keys),
            previous_keys: Some(self.keys.clone()),
        }
    }

    pub fn load(dir: &Path) -> Result<Self, StateError> {
        let identity_path = dir.join(IDENTITY_FILE);
        if !identity_path.exists() {
            return Err(StateError::NotOnboarded(identity_path));
        }
        let identity_bytes = std::fs::read(&identity_path).map_err(io("read", &identity_path))?;
        let identity = serde_json::from_slice(&identity_bytes)
            .map_err(|_| StateError::Damaged(identity_path.clone()))?;
        let key_path = dir.join(RSA_KEY_FILE);
        let der = zeroize::Zeroizing::new(std::fs::read(&key_path).map_err(io("read", &key_path))?);
        let keys = AgentKeyPair::from_pkcs8(&der).map_err(|_| StateError::Damaged(key_path))?;
        let previous_path = dir.join(PREVIOUS_RSA_KEY_FILE);
        let previous_keys = match std::fs::read(&previous_path) {
            Ok(der) => {
                let der = zeroize::Zeroizing::new(der);
                Some(Arc::new(
                    AgentKeyPair::from_pkcs8(&der)
                        .map_err(|_| StateError::Damaged(previous_path))?,
                ))
            }
            Err(_) => None,
        };
        Ok(Self {
            identity,
            keys: Arc::new(keys),
            previous_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn saved_state_is_private_and_reloads() {
        let dir = std::env::temp_dir().join(format!("sspr-agent-state-{}", std::process::id()));
        let state = AgentState::new(
            Identity {
                server_url: "https://sspr.example.com".into(),
                agent_id: "agt_1".into(),
                relay_secret: "secret".into(),
                package_key: PackageKey::generate().expect("key"),
                onboarded_at: 1,
                keys_created_at: 0,
                previous_package_key: None,
                retired_at: None,
            },
            AgentKeyPair::generate(2048).expect("rsa"),
        );
        state.save(&dir).expect("save");
        for file in [IDENTITY_FILE, RSA_KEY_FILE] {
            let mode = std::fs::metadata(dir.join(file))
                .expect("file")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
        let loaded = AgentState::load(&dir).expect("load");
        assert_eq!(loaded.keys.public(), state.keys.public());
        assert_eq!(loaded.identity.package_key, state.identity.package_key);
        assert!(
            !format!("{:?}", loaded.identity).contains("secret"),
            "Debug hides the relay secret"
        );
        assert_eq!(loaded.identity.relay_secret.expose_secret(), "secret");
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(IDENTITY_FILE)).expect("read"))
                .expect("json");
        assert_eq!(on_disk["relay_secret"], "secret", "identity.json as before");

        // Rolled over: both generations are kept on disk, the previous one until its grace
        // period ends.
        let rotated = loaded.rotated(
            AgentKeyPair::generate(2048).expect("rsa"),
            PackageKey::generate().expect("key"),
            100,
        );
        rotated.save(&dir).expect("save");
        let reloaded = AgentState::load(&dir).expect("load");
        let previous = reloaded.previous(150, 3600).expect("in its grace period");
        assert_eq!(previous.keys.public(), state.keys.public());
        assert_eq!(previous.package_key, &state.identity.package_key);
        assert_eq!(reloaded.keys_created_at(), 100);
        assert!(reloaded.previous(3700, 3600).is_none(), "grace over");
        let mut pruned = reloaded;
        assert!(pruned.forget_expired(3700, 3600));
        pruned.save(&dir).expect("save");
        assert!(!dir.join(PREVIOUS_RSA_KEY_FILE).exists());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(
            AgentState::load(&dir),
            Err(StateError::NotOnboarded(_))
        ));
    }
}
