//! The systemd unit shipped in `agent/systemd/` is valid (checked by `systemd-analyze verify`,
//! with ExecStart pointed at the binary just built) and gives the agent time to drain.

use std::process::Command;

use sspr_agent::relay::DRAIN_LIMIT;

const UNIT: &str = include_str!("../systemd/sspr-agent.service");

#[test]
fn the_systemd_unit_verifies_and_leaves_time_to_drain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = UNIT.replace(
        "/usr/local/bin/sspr-agent",
        env!("CARGO_BIN_EXE_sspr-agent"),
    );
    assert_ne!(unit, UNIT, "ExecStart names /usr/local/bin/sspr-agent");
    let path = dir.path().join("sspr-agent.service");
    std::fs::write(&path, unit).expect("write unit");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd) runs");
    // Unknown keys and bad values are only warnings to systemd: any output is a failure here.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    let stop_secs: u64 = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec set");
    assert!(
        stop_secs > DRAIN_LIMIT.as_secs(),
        "systemd must not kill the agent while it drains"
    );
}
