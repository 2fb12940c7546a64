//! A throwaway PostgreSQL server: `initdb` in a temporary directory, the server on a free
//! loopback port under the watchdog (so it dies with the test run), trust authentication for
//! the one role `sspr`. Each test takes a database of its own.
//!
//! PostgreSQL refuses to run as root: as root, both run as the `postgres` user (Debian's
//! package creates it), which then owns the directory.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    child: Child,
}

/// The server the tests share; each test makes its own database in it.
pub fn shared() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(|| Postgres::start().unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}")))
}

/// Debian's server binaries (not on PATH): the newest version installed.
fn bin_dir() -> Result<PathBuf, String> {
    let root = PathBuf::from("/usr/lib/postgresql");
    let mut versions: Vec<u32> = std::fs::read_dir(&root)
        .map_err(|e| {
            format!(
                "{}: {e} (is the postgresql package installed?)",
                root.display()
            )
        })?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let newest = versions
        .last()
        .ok_or("no PostgreSQL server under /usr/lib/postgresql")?;
    Ok(root.join(newest.to_string()).join("bin"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` user when we are root.
fn as_owner(program: &std::path::Path, args: &[&str]) -> String {
    let line = std::iter::once(program.display().to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    if is_root() {
        format!("runuser -u postgres -- {line}")
    } else {
        line
    }
}

impl Postgres {
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("sspr-postgres-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        if is_root() {
            crate::samba::run(
                Command::new("chown").args(["postgres", &dir.path().display().to_string()]),
            )?;
        }
        let data_arg = data.display().to_string();
        crate::samba::run(Command::new("sh").args([
            "-c",
            &as_owner(
                &bin.join("initdb"),
                &[
                    "-D",
                    &data_arg,
                    "-A",
                    "trust",
                    "-U",
                    "sspr",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            ),
        ]))?;
        let port = crate::processes::free_port();
        let socket_dir = dir.path().display().to_string();
        let port_arg = port.to_string();
        let server = as_owner(
            &bin.join("postgres"),
            &[
                "-D",
                &data_arg,
                "-p",
                &port_arg,
                "-k",
                &socket_dir,
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
        );
        let child = crate::processes::spawn_watched(&server, &dir.path().join("postgres.log"))?;
        let pg = Self {
            dir,
            port,
            bin,
            child,
        };
        crate::wait_for(
            "PostgreSQL to accept connections",
            Duration::from_secs(30),
            || {
                Command::new(pg.bin.join("pg_isready"))
                    .args(["-h", "127.0.0.1", "-p", &port_arg, "-U", "sspr"])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
            },
        );
        Ok(pg)
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!(
            "sspr_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        crate::samba::run(Command::new(self.bin.join("createdb")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "sspr",
            &name,
        ]))
        .unwrap_or_else(|e| panic!("createdb: {e}"));
        format!("postgres://sspr@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server at once, connected clients or not (its database is gone for whoever
    /// uses it).
    pub fn stop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = Command::new("sh")
            .args([
                "-c",
                &as_owner(
                    &self.bin.join("pg_ctl"),
                    &["-D", &data, "-m", "immediate", "stop"],
                ),
            ])
            .output();
        crate::processes::stop(&mut self.child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        crate::processes::stop(&mut self.child);
    }
}
