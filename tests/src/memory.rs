//! The memory a running process of ours holds, as the kernel counts it (`/proc/<pid>/status`).

use std::path::Path;

/// Resident set size now and its peak, in KiB.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    pub fn mib(kib: u64) -> f64 {
        kib as f64 / 1024.0
    }
}

/// The process running `binary` (by file name) with `config` among its arguments: the
/// fixtures start ours under a watchdog shell, so the child's pid is not the program's.
pub fn of_process(binary: &str, config: &Path) -> Option<Memory> {
    let config = config.to_string_lossy();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let runs_it = args
            .first()
            .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == binary));
        if !runs_it || !args.iter().any(|a| a.contains(config.as_ref())) {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        return Some(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        });
    }
    None
}
