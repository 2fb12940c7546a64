//! What onboarding leaves on disk: the agent's identity and its RSA private key, both 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sspr_protocol::package::PackageKey;
use sspr_protocol::seal::opener::AgentKeyPair;

const IDENTITY_FILE: &str = "identity.json";
const RSA_KEY_FILE: &str = "rsa-key.pk8";
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
    pub relay_secret: String,
    pub package_key: PackageKey,
    pub onboarded_at: i64,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("server_url", &self.server_url)
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct AgentState {
    pub identity: Identity,
    pub keys: AgentKeyPair,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |e| StateError::Io {
        action,
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Writes a secret file atomically with mode 0600.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
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
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let identity = serde_json::to_vec_pretty(&self.identity)
            .map_err(|_| StateError::Damaged(dir.join(IDENTITY_FILE)))?;
        write_private(&dir.join(RSA_KEY_FILE), self.keys.pkcs8_der())?;
        write_private(&dir.join(IDENTITY_FILE), &identity)
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
        Ok(Self { identity, keys })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn saved_state_is_private_and_reloads() {
        let dir = std::env::temp_dir().join(format!("sspr-agent-state-{}", std::process::id()));
        let state = AgentState {
            identity: Identity {
                server_url: "https://sspr.example.com".into(),
                agent_id: "agt_1".into(),
                relay_secret: "secret".into(),
                package_key: PackageKey::generate().expect("key"),
                onboarded_at: 1,
            },
            keys: AgentKeyPair::generate(2048).expect("rsa"),
        };
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
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(
            AgentState::load(&dir),
            Err(StateError::NotOnboarded(_))
        ));
    }
}
