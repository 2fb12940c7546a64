//! `sspr-demo`: the whole product on this machine, for a first look. A throwaway Samba AD DC
//! with demo users, an SMTP sink that prints every message, the server, and an onboarded agent.

use std::sync::Arc;

use clap::Parser;
use sspr_tests::gateway::{ProviderCall, RecordingGateway};
use sspr_tests::processes::{AgentOptions, AgentProcess, ServerOptions, ServerProcess};
use sspr_tests::samba::SambaDc;
use sspr_tests::smtp::{Mail, SmtpSink};

/// Runs a complete demo of the password self-service portal on loopback.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Port for the portal.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Loopback address for the demo domain controller (LDAP ports are fixed).
    #[arg(long, default_value = "127.0.0.1")]
    dc_address: String,
    /// Proof-of-work difficulty for the CAPTCHA (leading zero bits).
    #[arg(long, default_value_t = 18)]
    captcha_difficulty: u8,
}

/// Name, display name, password, and the mobile number the directory holds (pre-populated).
const USERS: &[(&str, &str, &str, &str)] = &[
    (
        "jan.devries",
        "Jan de Vries",
        "Welkom-2026!",
        "+31612345601",
    ),
    (
        "emma.bakker",
        "Emma Bakker",
        "Zomer-Tijd-42",
        "+31612345602",
    ),
    ("noah.visser", "Noah Visser", "Fiets-Rood-77", ""),
];

fn print_call(call: &ProviderCall) {
    let kind = if call.text().contains("<Say") || call.json()["channel"] == "voice" {
        "call"
    } else {
        "text message"
    };
    println!("\n┌─ {kind} to {} ─────────────────────────────", call.to());
    if let Some(code) = call.code() {
        println!("│ Code:    {code}");
    }
    println!("└──────────────────────────────────────────────\n");
}

fn print_mail(mail: &Mail) {
    println!(
        "\n┌─ mail to {} ─────────────────────────────",
        mail.to.join(", ")
    );
    if let Some(subject) = mail.subject() {
        println!("│ Subject: {subject}");
    }
    if let Some(code) = mail.code() {
        println!("│ Code:    {code}");
    }
    println!("└──────────────────────────────────────────────\n");
}

/// The demo's service desk member: logon name, display name, password.
const STAFF: (&str, &str, &str) = ("sam.desk", "Sam Servicedesk", "Desk-Demo-Pw-1!");
const STAFF_GROUP: &str = "SSPR Helpdesk";

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    sspr_agent::tls::install_crypto_provider();
    let dist = sspr_tests::workspace_root().join("dist");
    if !dist.join("index.html").exists() {
        return Err(
            "the frontend is not built: run scripts/build-frontend.sh (the demo script does this)"
                .into(),
        );
    }
    println!(
        "Provisioning a throwaway Samba AD DC on {} …",
        args.dc_address
    );
    let dc: &'static SambaDc = Box::leak(Box::new(SambaDc::start(
        &args.dc_address,
        "CORP.EXAMPLE.TEST",
        "CORP",
    )?));
    for (user, name, password, mobile) in USERS {
        dc.create_user(
            user,
            password,
            Some(&format!("{user}@corp.example.test")),
            name,
        )?;
        if !mobile.is_empty() {
            dc.set_attribute(user, "mobile", mobile).await?;
        }
    }
    // A service desk member for the staff console, in the staff group.
    dc.create_user(
        STAFF.0,
        STAFF.2,
        Some(&format!("{}@corp.example.test", STAFF.0)),
        STAFF.1,
    )?;
    dc.add_to_group(STAFF_GROUP, STAFF.0)?;
    let gateway = RecordingGateway::start_with(Arc::new(print_call));
    let smtp = SmtpSink::start_with(Arc::new(print_mail));
    let mut options = ServerOptions::new(smtp.port);
    options.frontend_dir = Some(dist);
    options.captcha_difficulty = args.captcha_difficulty;
    options.listen_port = Some(args.port);
    options.heartbeat_secs = 10;
    options.extra_toml = format!(
        "[phone]\nprovider = \"webhook\"\nwebhook_url = \"{}/send\"\n\n[helpdesk]\nstaff_groups = [\"{STAFF_GROUP}\"]\n",
        gateway.url
    );
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&options))
        .await
        .map_err(|e| e.to_string())?;
    // The agent runs as a service account with only the rights it needs (Reset Password,
    // Change Password, write lockoutTime and pwdLastSet on users), as an install should.
    let service_password = "Agent-Service-Pw-1!";
    dc.create_user("sspr-agent", service_password, None, "SSPR Agent")?;
    dc.delegate_agent_rights("sspr-agent")?;
    let mut agent = AgentProcess::onboard_with(
        &server,
        dc,
        &AgentOptions {
            bind: Some((
                format!("CN=SSPR Agent,CN=Users,{}", dc.base_dn()),
                service_password.to_owned(),
            )),
            ..AgentOptions::default()
        },
    );
    agent.start();

    println!("\n  Password self-service is running at  {}\n", server.url);
    println!("  Demo users (domain CORP.EXAMPLE.TEST; sign in as name, CORP\\name or name@corp.example.test):");
    for (user, name, password, mobile) in USERS {
        println!("    {user:<13} {name:<14} password {password:<14} mail {user}@corp.example.test  mobile {mobile}");
    }
    println!(
        "\n  Service desk console: {}/console/ — sign in as {} (password {}); the second\n  factor is a code mailed to this terminal.",
        server.url, STAFF.0, STAFF.2
    );
    println!(
        "\n  Codes, texts, calls and notifications are delivered to this terminal (SMTP sink on port {},\n  SMS/voice gateway at {}).",
        smtp.port, gateway.url
    );
    println!(
        "  Samba cannot enforce password history on resets; this demo's agent allows them anyway."
    );
    println!(
        "  The agent binds as the delegated service account sspr-agent; check it with:\n    {} --config {} doctor --test-user jan.devries",
        sspr_tests::processes::binary("sspr-agent").display(),
        agent.config.display()
    );
    println!(
        "  Logs: server {}/server.log, agent {}/agent.log",
        server.dir.path().display(),
        agent.dir.path().display()
    );
    println!("\n  Press Ctrl-C to stop and remove everything.\n");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    println!("Stopping …");
    agent.stop();
    drop(server);
    Ok(())
}
