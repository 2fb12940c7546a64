//! A throwaway Samba AD DC on a loopback address: provisioned in a temporary directory, LDAPS
//! with a certificate from a test CA (so clients verify it for real), stopped on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

pub struct SambaDc {
    pub dir: tempfile::TempDir,
    pub address: String,
    pub realm: String,
    pub netbios: String,
    pub admin_password: String,
    /// How this DC was started, for `start_again`.
    command: String,
    child: Child,
}

/// The DC the integration tests share: LDAP's ports are fixed, so tests running in parallel use
/// one DC, each creating its own users.
pub fn shared() -> &'static SambaDc {
    static DC: OnceLock<SambaDc> = OnceLock::new();
    DC.get_or_init(|| {
        SambaDc::start("127.0.0.2", "CORP.EXAMPLE.TEST", "CORP")
            .unwrap_or_else(|e| panic!("cannot start Samba: {e}"))
    })
}

/// A second domain (its own forest) for the tests of several directories, on another address.
pub fn second() -> &'static SambaDc {
    static DC: OnceLock<SambaDc> = OnceLock::new();
    DC.get_or_init(|| {
        SambaDc::start("127.0.0.3", "CORP2.EXAMPLE.TEST", "CORP2")
            .unwrap_or_else(|e| panic!("cannot start the second Samba: {e}"))
    })
}

const ADMIN_PASSWORD: &str = "Adm1n-Pa55word!";

fn temp_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("sspr-samba-")
        .tempdir()
        .map_err(|e| e.to_string())
}

/// `dc<last octet>`: each DC a host name of its own.
fn host_name(address: &str) -> String {
    format!("dc{}", address.rsplit('.').next().unwrap_or("1"))
}

pub(crate) fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Services a DC runs in the tests: LDAP only, or everything (a DC that another joins needs
/// RPC for the replication of the join).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Services {
    Ldap,
    All,
}

impl SambaDc {
    pub fn start(address: &str, realm: &str, netbios: &str) -> Result<Self, String> {
        let dir = temp_dir()?;
        Self::provision(&dir, address, realm, netbios)?;
        Self::launch(dir, address, realm, netbios, Services::Ldap)
    }

    /// Two DCs of one domain: the first provisioned (so the PDC emulator), `before_join` run on
    /// it, then the second joined to it. What `before_join` creates is in both: the join
    /// replicates it (no replication runs after that).
    pub fn start_pair(
        first: &str,
        second: &str,
        realm: &str,
        netbios: &str,
        before_join: impl FnOnce(&SambaDc) -> Result<(), String>,
    ) -> Result<(Self, Self), String> {
        let dir = temp_dir()?;
        Self::provision(&dir, first, realm, netbios)?;
        let pdc = Self::launch(dir, first, realm, netbios, Services::All)?;
        before_join(&pdc)?;
        let joined = temp_dir()?;
        let target = joined.path().display().to_string();
        let host = host_name(second);
        let join = || {
            run(Command::new("samba-tool")
                .args(["domain", "join", &realm.to_ascii_lowercase(), "DC"])
                .args([
                    format!("--server={first}"),
                    format!("--username={netbios}\\Administrator"),
                    format!("--password={}", pdc.admin_password),
                    format!("--targetdir={target}"),
                    "--dns-backend=NONE".into(),
                    "--use-kerberos=off".into(),
                    format!("--option=netbios name={}", host.to_ascii_uppercase()),
                    format!("--option=interfaces={second}/8"),
                    "--option=bind interfaces only=yes".into(),
                ]))
        };
        // The first DC's services come up one after the other after its LDAPS port opens; a
        // join that came too early is tried again.
        let mut joined_ok = join();
        for _ in 0..10 {
            if joined_ok.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_secs(2));
            let _ = std::fs::remove_dir_all(joined.path().join("private"));
            joined_ok = join();
        }
        joined_ok?;
        // One CA for both, so one `ca_file` trusts both DCs.
        let tls = joined.path().join("tls");
        std::fs::create_dir_all(&tls).map_err(|e| e.to_string())?;
        for file in ["ca.pem", "ca.key"] {
            std::fs::copy(pdc.dir.path().join("tls").join(file), tls.join(file))
                .map_err(|e| e.to_string())?;
        }
        let other = Self::launch(joined, second, realm, netbios, Services::Ldap)?;
        Ok((pdc, other))
    }

    fn provision(
        dir: &tempfile::TempDir,
        address: &str,
        realm: &str,
        netbios: &str,
    ) -> Result<(), String> {
        let target = dir.path().display().to_string();
        run(Command::new("samba-tool")
            .args([
                "domain",
                "provision",
                "--server-role=dc",
                "--dns-backend=NONE",
                "--use-rfc2307",
            ])
            .args([
                format!("--realm={realm}"),
                format!("--domain={netbios}"),
                format!("--adminpass={ADMIN_PASSWORD}"),
                format!("--targetdir={target}"),
                format!("--host-name={}", host_name(address)),
                format!("--option=interfaces={address}/8"),
                "--option=bind interfaces only=yes".into(),
            ]))?;
        // Tests change passwords back to back; a day's minimum age would stop them.
        run(Command::new("samba-tool").args([
            "domain",
            "passwordsettings",
            "set",
            "--min-pwd-age=0",
            "--account-lockout-threshold=3",
            "-H",
            &format!("{target}/private/sam.ldb"),
        ]))?;
        Ok(())
    }

    /// Starts Samba on a provisioned (or joined) DC directory, with LDAPS from the test CA.
    fn launch(
        dir: tempfile::TempDir,
        address: &str,
        realm: &str,
        netbios: &str,
        services: Services,
    ) -> Result<Self, String> {
        let target = dir.path().display().to_string();
        let tls = dir.path().join("tls");
        std::fs::create_dir_all(&tls).map_err(|e| e.to_string())?;
        crate::pki::issue(&tls, address, "dc")?;
        std::fs::create_dir_all(dir.path().join("run")).map_err(|e| e.to_string())?;
        let only_ldap = if services == Services::Ldap {
            "--option='server services=ldap' "
        } else {
            ""
        };
        let samba = format!(
            "samba -i -s {target}/etc/smb.conf {only_ldap}--option='pid directory={target}/run' \
             --option='old password allowed period = 0' \
             --option='tls certfile={t}/dc.pem' --option='tls keyfile={t}/dc.key' --option='tls cafile={t}/ca.pem'",
            t = tls.display()
        );
        let child = crate::processes::spawn_watched(&samba, &dir.path().join("samba.log"))?;
        let dc = Self {
            dir,
            address: address.to_owned(),
            realm: realm.to_owned(),
            netbios: netbios.to_owned(),
            admin_password: ADMIN_PASSWORD.to_owned(),
            command: samba,
            child,
        };
        dc.wait_listening();
        Ok(dc)
    }

    fn wait_listening(&self) {
        crate::wait_for("Samba LDAPS", Duration::from_secs(60), || {
            TcpStream::connect((self.address.as_str(), 636)).ok()
        });
    }

    /// Stops this DC now (as a DC that goes down would).
    pub fn stop(&mut self) {
        crate::processes::stop(&mut self.child);
    }

    /// Starts a stopped DC again, with its database as it was.
    pub fn start_again(&mut self) -> Result<(), String> {
        self.child =
            crate::processes::spawn_watched(&self.command, &self.dir.path().join("samba.log"))?;
        self.wait_listening();
        Ok(())
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://{}", self.address)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    pub fn sam_ldb(&self) -> String {
        format!("{}/private/sam.ldb", self.dir.path().display())
    }

    pub fn base_dn(&self) -> String {
        self.realm
            .split('.')
            .map(|p| format!("DC={}", p.to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn admin_dn(&self) -> String {
        format!("CN=Administrator,CN=Users,{}", self.base_dn())
    }

    pub fn upn(&self, user: &str) -> String {
        format!("{user}@{}", self.realm.to_ascii_lowercase())
    }

    pub fn samba_tool(&self, args: &[&str]) -> Result<String, String> {
        run(Command::new("samba-tool")
            .args(args)
            .args(["-H", &self.sam_ldb()]))
    }

    pub fn create_user(
        &self,
        name: &str,
        password: &str,
        mail: Option<&str>,
        display: &str,
    ) -> Result<(), String> {
        let (given, surname) = display.split_once(' ').unwrap_or((display, ""));
        let mut args = vec!["user", "create", name, password];
        let mail_arg = mail.map(|m| format!("--mail-address={m}"));
        let given_arg = format!("--given-name={given}");
        let surname_arg = format!("--surname={surname}");
        args.push(&given_arg);
        if !surname.is_empty() {
            args.push(&surname_arg);
        }
        if let Some(m) = &mail_arg {
            args.push(m);
        }
        self.samba_tool(&args).map(|_| ())
    }

    /// An LDAPS connection to the DC, its certificate checked against the test CA; not bound.
    pub async fn connect(&self) -> Result<ldap3::Ldap, String> {
        sspr_agent::tls::install_crypto_provider();
        let tls = sspr_agent::tls::client_config(Some(&self.ca_file()), false)
            .map_err(|e| e.to_string())?;
        let (conn, ldap) = ldap3::LdapConnAsync::with_settings(
            ldap3::LdapConnSettings::new().set_config(tls),
            &self.ldaps_url(),
        )
        .await
        .map_err(|e| e.to_string())?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// A connection bound as the domain administrator, as an AD admin's tools would use.
    pub async fn admin_session(&self) -> Result<ldap3::Ldap, String> {
        let mut ldap = self.connect().await?;
        ldap.simple_bind(&self.admin_dn(), &self.admin_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| format!("administrator bind: {e}"))?;
        Ok(ldap)
    }

    /// Replaces an attribute of the user as the administrator, as an AD admin would in their
    /// tools.
    pub async fn set_attribute(&self, user: &str, attr: &str, value: &str) -> Result<(), String> {
        let mut ldap = self.admin_session().await?;
        let fail = |e: ldap3::LdapError| format!("set {attr} of {user}: {e}");
        let (entries, _) = ldap
            .search(
                &self.base_dn(),
                ldap3::Scope::Subtree,
                &format!("(sAMAccountName={})", ldap3::ldap_escape(user)),
                vec!["1.1"],
            )
            .await
            .and_then(|r| r.success())
            .map_err(fail)?;
        let dn = entries
            .into_iter()
            .next()
            .map(|e| ldap3::SearchEntry::construct(e).dn)
            .ok_or_else(|| format!("no user {user}"))?;
        ldap.modify(
            &dn,
            vec![ldap3::Mod::Replace(
                attr,
                std::collections::HashSet::from([value]),
            )],
        )
        .await
        .and_then(|r| r.success())
        .map_err(fail)?;
        let _ = ldap.unbind().await;
        Ok(())
    }

    /// Adds the user to a group, creating the group if it is not there yet.
    pub fn add_to_group(&self, group: &str, user: &str) -> Result<(), String> {
        // Several tests share the DC: "already exists" is fine.
        let _ = self.samba_tool(&["group", "add", group]);
        self.samba_tool(&["group", "addmembers", group, user])
            .map(|_| ())
    }

    /// Puts the user under a fine-grained password policy (PSO) of its own: minimum length 14,
    /// complexity, history 5.
    pub fn apply_strict_pso(&self, user: &str) -> Result<(), String> {
        let name = format!("strict-{user}");
        self.samba_tool(&[
            "domain",
            "passwordsettings",
            "pso",
            "create",
            &name,
            "1",
            "--min-pwd-length=14",
            "--complexity=on",
            "--history-length=5",
            "--min-pwd-age=0",
        ])?;
        self.samba_tool(&["domain", "passwordsettings", "pso", "apply", &name, user])
            .map(|_| ())
    }

    /// A user's objectSid, as `S-1-5-21-…`.
    pub fn sid_of(&self, user: &str) -> Result<String, String> {
        let shown = self.samba_tool(&["user", "show", user, "--attributes=objectSid"])?;
        shown
            .lines()
            .find_map(|l| l.strip_prefix("objectSid: "))
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| format!("no objectSid for {user}: {shown}"))
    }

    /// Delegates to `user`, on every user object below CN=Users, exactly what the agent needs:
    /// Reset Password, Change Password, write lockoutTime and write pwdLastSet.
    pub fn delegate_agent_rights(&self, user: &str) -> Result<(), String> {
        const USER_CLASS: &str = "bf967aba-0de6-11d0-a285-00aa003049e2";
        let sid = self.sid_of(user)?;
        let aces: String = [
            ("CR", "00299570-246d-11d0-a768-00aa006e0529"), // Reset Password
            ("CR", "ab721a53-1e2f-11d0-9819-00aa0040529b"), // Change Password
            ("WP", "28630ebf-41d5-11d1-a9c1-0000f80367c1"), // lockoutTime
            ("WP", "bf967a0a-0de6-11d0-a285-00aa003049e2"), // pwdLastSet
        ]
        .iter()
        .map(|(right, guid)| format!("(OA;CIIO;{right};{guid};{USER_CLASS};{sid})"))
        .collect();
        self.samba_tool(&[
            "dsacl",
            "set",
            &format!("--objectdn=CN=Users,{}", self.base_dn()),
            &format!("--sddl={aces}"),
        ])
        .map(|_| ())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("samba.log")).unwrap_or_default()
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        crate::processes::stop(&mut self.child);
    }
}
