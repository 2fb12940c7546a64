//! `sspr-agent doctor` against the real Samba DC and server: a delegated service account passes
//! every check (and really can reset and unlock), a deliberately under-privileged one and an
//! unreachable DC are each reported with the fix.

use sspr_agent::config::DirectoryConfig;
use sspr_agent::directory::ldap::LdapDirectory;
use sspr_agent::directory::{Directory, ResetOptions, Tier};
use sspr_protocol::seal::Secret;
use sspr_tests::samba;
use sspr_tests::stack::Stack;

use crate::agent_ad::{bind_as, config};

fn line<'a>(report: &'a str, start: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("a line starting {start:?} in:\n{report}"))
}

/// The line after `start`'s: its fix.
fn fix_after<'a>(report: &'a str, start: &str) -> &'a str {
    let mut lines = report.lines().skip_while(|l| !l.starts_with(start));
    lines.next();
    lines
        .next()
        .filter(|l| l.trim_start().starts_with("fix:"))
        .unwrap_or_else(|| panic!("a fix under {start:?} in:\n{report}"))
}

#[tokio::test]
async fn doctor_passes_a_delegated_account_and_names_what_a_weak_one_lacks() {
    let dc = samba::shared();
    dc.create_user("doc.target", "Target-Passw0rd!", None, "Dora Target")
        .expect("user");
    dc.create_user("sspr-svc", "Svc-Passw0rd-123!", None, "Svc Delegated")
        .expect("delegated account");
    dc.create_user("sspr-weak", "Weak-Passw0rd-123!", None, "Wes Weak")
        .expect("weak account");
    dc.delegate_agent_rights("sspr-svc")
        .expect("rights delegated");
    let stack = Stack::start(dc, |_| {}).await;
    let base = dc.base_dn();

    let delegated_dn = format!("CN=Svc Delegated,CN=Users,{base}");
    let (passed, report) = stack.agent.doctor(
        &["--test-user", "doc.target"],
        &[
            ("SSPR_AGENT_DIRECTORY__BIND_DN", delegated_dn.as_str()),
            ("SSPR_AGENT_DIRECTORY__BIND_PASSWORD", "Svc-Passw0rd-123!"),
        ],
    );
    assert!(passed, "a delegated account passes:\n{report}");
    for start in [
        "  ok  ldaps://127.0.0.2: reachable over LDAPS, certificate trusted",
        "  ok  domain corp.example.test",
        "  ok  PDC emulator: dc2.corp.example.test is ldaps://127.0.0.2",
        "  ok  test user doc.target",
        "  ok  Reset Password on doc.target: granted",
        "  ok  Change Password on doc.target: granted",
        "  ok  write lockoutTime on doc.target: granted",
        "  ok  write pwdLastSet on doc.target: granted",
        "  ok  relay http://127.0.0.1:",
    ] {
        line(&report, start);
    }
    // Samba offers no policy-hints control: said, with the way out.
    line(&report, "warn  password history on resets");

    // What doctor says is what AD does: the delegated account resets and unlocks.
    let delegated = LdapDirectory::new(DirectoryConfig {
        bind_dn: delegated_dn.clone(),
        bind_password: "Svc-Passw0rd-123!".into(),
        ..config(dc)
    })
    .expect("directory");
    let target = delegated
        .lookup("doc.target")
        .await
        .expect("lookup")
        .expect("found");
    delegated
        .reset(
            &target.anchor,
            &Secret::new("Delegated-Reset-1!".into()),
            ResetOptions::default(),
            &Tier::SelfService,
        )
        .await
        .expect("the delegated account may reset");
    bind_as(dc, "doc.target", "Delegated-Reset-1!")
        .await
        .expect("AD accepts the new password");
    delegated
        .unlock(&target.anchor, &Tier::SelfService)
        .await
        .expect("and write lockoutTime");

    // An ordinary user as the service account, and a DC that does not answer, listed first.
    let weak_dn = format!("CN=Wes Weak,CN=Users,{base}");
    let (passed, report) = stack.agent.doctor(
        &["--test-user", "doc.target"],
        &[
            ("SSPR_AGENT_DIRECTORY__BIND_DN", weak_dn.as_str()),
            ("SSPR_AGENT_DIRECTORY__BIND_PASSWORD", "Weak-Passw0rd-123!"),
            (
                "SSPR_AGENT_DIRECTORY__URLS",
                "[\"ldaps://127.0.0.9:1636\", \"ldaps://127.0.0.2\"]",
            ),
        ],
    );
    assert!(!passed, "a weak account fails:\n{report}");
    assert!(
        fix_after(&report, "FAIL  ldaps://127.0.0.9:1636").contains("port 636"),
        "{report}"
    );
    for right in ["Reset Password", "write lockoutTime", "write pwdLastSet"] {
        let start = format!("FAIL  {right} on doc.target: not granted to {weak_dn}");
        line(&report, &start);
        assert!(
            fix_after(&report, &start).contains("Descendant User objects"),
            "{report}"
        );
    }
    // Everyone may change their own password with the old one; that right is the default.
    line(&report, "  ok  Change Password on doc.target: granted");
    line(&report, "  ok  relay");
    assert!(report.contains("4 check(s) failed"), "{report}");

    // A DC certificate from a CA the agent does not trust, and plain LDAP: each named.
    let other_ca = tempfile::tempdir().expect("temp dir");
    sspr_tests::pki::issue(other_ca.path(), "127.0.0.2", "other").expect("another CA");
    let other_ca_file = other_ca.path().join("ca.pem");
    let (passed, report) = stack.agent.doctor(
        &[],
        &[(
            "SSPR_AGENT_DIRECTORY__CA_FILE",
            other_ca_file.to_str().expect("path"),
        )],
    );
    assert!(!passed);
    assert!(
        fix_after(&report, "FAIL  ldaps://127.0.0.2").contains("directory.ca_file"),
        "{report}"
    );
    let (passed, report) = stack.agent.doctor(
        &[],
        &[("SSPR_AGENT_DIRECTORY__URLS", "[\"ldap://127.0.0.2\"]")],
    );
    assert!(!passed);
    assert!(
        line(&report, "FAIL  configuration").contains("not ldaps://"),
        "{report}"
    );

    // A wrong bind password: named, with the fix.
    let (passed, report) = stack.agent.doctor(
        &[],
        &[
            ("SSPR_AGENT_DIRECTORY__BIND_DN", weak_dn.as_str()),
            ("SSPR_AGENT_DIRECTORY__BIND_PASSWORD", "Not-The-Password-1"),
        ],
    );
    assert!(!passed);
    assert!(
        fix_after(&report, &format!("FAIL  bind as {weak_dn}")).contains("bind password"),
        "{report}"
    );
}
