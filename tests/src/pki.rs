//! A test CA and a certificate for a loopback address, made with openssl, so that every TLS
//! client in the tests verifies a real chain instead of skipping verification.

use std::path::Path;
use std::process::Command;

use crate::samba::run;

/// Writes `ca.pem`, `{name}.pem` and `{name}.key` (0600) into `dir`, valid for `address`.
pub fn issue(dir: &Path, address: &str, name: &str) -> Result<(), String> {
    let p = |file: &str| dir.join(file).display().to_string();
    if !dir.join("ca.pem").exists() {
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3",
                "-subj",
                "/CN=SSPR Test CA",
            ])
            .args(["-keyout", &p("ca.key"), "-out", &p("ca.pem")]))?;
    }
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
        ])
        .args([
            "-keyout",
            &p(&format!("{name}.key")),
            "-out",
            &p(&format!("{name}.csr")),
        ]))?;
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        format!("subjectAltName=IP:{address},DNS:localhost\nextendedKeyUsage=serverAuth\n"),
    )
    .map_err(|e| e.to_string())?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "3", "-CAcreateserial"])
        .args([
            "-in",
            &p(&format!("{name}.csr")),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-out",
            &p(&format!("{name}.pem")),
            "-extfile",
            &p(&ext),
        ]))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join(format!("{name}.key")),
        std::fs::Permissions::from_mode(0o600),
    )
    .map_err(|e| e.to_string())
}
