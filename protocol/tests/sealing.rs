//! The seal end to end: browser seal → server package → agent checks and opens.

use std::collections::HashSet;
use std::sync::OnceLock;

use sspr_protocol::package::{
    Flags, Operation, Outcome, Package, PackageBody, PackageError, PackageKey, SealedOutcome,
};
use sspr_protocol::relay::{AgentMessage, Reply, ServerMessage};
use sspr_protocol::seal::opener::{AgentKeyPair, Unopenable};
use sspr_protocol::seal::{seal, SealError};
use sspr_protocol::ErrorCode;

const AGENT: &str = "agent-1";
const NOW: i64 = 1_800_000_000;

fn keypair() -> &'static AgentKeyPair {
    static KEY: OnceLock<AgentKeyPair> = OnceLock::new();
    KEY.get_or_init(|| AgentKeyPair::generate(3072).expect("key generation"))
}

fn body(request_id: &str, password: &str) -> PackageBody {
    PackageBody {
        op: Operation::Reset,
        anchor: "5f7c0e4a-7d5b-4a43-9b0e-2b1f8c0d9e11".into(),
        actor: "self".into(),
        request_id: request_id.into(),
        issued_at: NOW,
        expires_at: NOW + 300,
        flags: Flags::default(),
        sealed: Some(seal(keypair().public(), password).expect("seal")),
        sealed_old: None,
        off_limits: Vec::new(),
    }
}

#[test]
fn round_trip_opens_to_the_same_password() {
    let key = PackageKey::generate().expect("key");
    let package = Package::seal(&key, AGENT, &body("r1", "Nieuw-Wachtw00rd!")).expect("package");
    let opened = package
        .open(&[&key], AGENT, NOW + 1, &mut HashSet::new())
        .expect("open");
    assert_eq!(opened.op, Operation::Reset);
    let sealed = opened.sealed.expect("sealed secret");
    assert_eq!(sealed.key_id, keypair().public().key_id);
    assert_eq!(
        keypair().open(&sealed).expect("rsa open").expose(),
        "Nieuw-Wachtw00rd!"
    );

    // The outcome travels back sealed, bound to its request id.
    let outcome = SealedOutcome::seal(
        &key,
        AGENT,
        "r1",
        Outcome::Refused(ErrorCode::PasswordHistory),
    )
    .expect("seal outcome");
    assert_eq!(
        outcome.open(&key, AGENT, "r1"),
        Ok(Outcome::Refused(ErrorCode::PasswordHistory))
    );
    assert_eq!(outcome.open(&key, AGENT, "r2"), Err(PackageError::BadTag));
}

#[test]
fn the_password_is_nowhere_in_the_package_bytes() {
    let key = PackageKey::generate().expect("key");
    let package = Package::seal(&key, AGENT, &body("r1", "Findable-Marker-77")).expect("package");
    let json = serde_json::to_vec(&package).expect("json");
    assert!(!json.windows(18).any(|w| w == b"Findable-Marker-77"));
    // A reset request stays well under 1 KB on the relay.
    assert!(json.len() < 1024, "package is {} bytes", json.len());
}

#[test]
fn a_reset_and_its_outcome_fit_in_small_binary_relay_frames() {
    let key = PackageKey::generate().expect("key");
    // Ids as the server makes them: `agt_` and 12 token characters; 22-character request ids.
    let (agent, request_id) = ("agt_Q2xW8rT5mN0p", "mGq3X0c1v6bQy9ZkT2wR4e");
    let package =
        Package::seal(&key, agent, &body(request_id, "Nieuw-Wachtw00rd!")).expect("package");
    let apply = ServerMessage::Apply {
        id: 1_000_000,
        package,
    };
    let frame = apply.to_frame().expect("frame");
    assert_eq!(ServerMessage::from_frame(&frame).expect("decodes"), apply);
    assert!(frame.len() <= 700, "apply frame is {} bytes", frame.len());

    let outcome = SealedOutcome::seal(&key, agent, request_id, Outcome::Applied).expect("outcome");
    let reply = AgentMessage::Reply {
        id: 1_000_000,
        reply: Reply::Outcome(outcome),
    };
    let frame = reply.to_frame().expect("frame");
    assert_eq!(AgentMessage::from_frame(&frame).expect("decodes"), reply);
    assert!(frame.len() <= 700, "outcome frame is {} bytes", frame.len());

    // A frame of another version (here: a truncated one) is an error, not a panic.
    assert!(AgentMessage::from_frame(&frame[..frame.len() / 2]).is_err());
}

#[test]
fn tampered_package_is_refused_by_its_tag() {
    let key = PackageKey::generate().expect("key");
    let mut package = Package::seal(&key, AGENT, &body("r1", "Pw-123456")).expect("package");
    let last = package.ciphertext.len() - 40;
    package.ciphertext[last] ^= 0x01;
    assert_eq!(
        package.open(&[&key], AGENT, NOW, &mut HashSet::new()),
        Err(PackageError::BadTag)
    );

    // Moving a package to another request id breaks the associated data.
    let mut moved = Package::seal(&key, AGENT, &body("r1", "Pw-123456")).expect("package");
    moved.request_id = "r2".into();
    assert_eq!(
        moved.open(&[&key], AGENT, NOW, &mut HashSet::new()),
        Err(PackageError::BadTag)
    );
}

#[test]
fn wrong_key_id_is_refused() {
    let key = PackageKey::generate().expect("key");
    let other = PackageKey::generate().expect("key");
    let package = Package::seal(&key, AGENT, &body("r1", "Pw-123456")).expect("package");
    assert_eq!(
        package.open(&[&other], AGENT, NOW, &mut HashSet::new()),
        Err(PackageError::UnknownKey)
    );
    // During a rollover the agent holds both keys and the old package still opens.
    assert!(package
        .open(&[&other, &key], AGENT, NOW, &mut HashSet::new())
        .is_ok());
    assert_eq!(
        package.open(&[&key], "agent-2", NOW, &mut HashSet::new()),
        Err(PackageError::WrongAgent)
    );
}

#[test]
fn expired_package_is_refused() {
    let key = PackageKey::generate().expect("key");
    let package = Package::seal(&key, AGENT, &body("r1", "Pw-123456")).expect("package");
    assert_eq!(
        package.open(&[&key], AGENT, NOW + 300, &mut HashSet::new()),
        Err(PackageError::Expired)
    );
    assert!(package
        .open(&[&key], AGENT, NOW + 299, &mut HashSet::new())
        .is_ok());
}

#[test]
fn replayed_package_is_refused() {
    let key = PackageKey::generate().expect("key");
    let package = Package::seal(&key, AGENT, &body("r1", "Pw-123456")).expect("package");
    let mut seen = HashSet::new();
    assert!(package.open(&[&key], AGENT, NOW, &mut seen).is_ok());
    assert_eq!(
        package.open(&[&key], AGENT, NOW, &mut seen),
        Err(PackageError::Replayed)
    );
}

#[test]
fn corrupted_rsa_seal_gives_the_uniform_error() {
    let mut sealed = seal(keypair().public(), "Pw-123456").expect("seal");
    sealed.ciphertext[7] ^= 0x80;
    assert_eq!(keypair().open(&sealed).map(|_| ()), Err(Unopenable));
    let mut short = seal(keypair().public(), "Pw-123456").expect("seal");
    short.ciphertext.truncate(100);
    assert_eq!(keypair().open(&short).map(|_| ()), Err(Unopenable));
    // A seal made for another key fails the same way.
    let other = AgentKeyPair::generate(2048).expect("key");
    let foreign = seal(other.public(), "Pw-123456").expect("seal");
    assert_eq!(keypair().open(&foreign).map(|_| ()), Err(Unopenable));
}

#[test]
fn overlong_passwords_are_refused_before_sealing() {
    let long = "a".repeat(257);
    assert_eq!(
        seal(keypair().public(), &long).map(|_| ()),
        Err(SealError::TooLong)
    );
}

#[test]
fn stored_key_reloads_with_the_same_id() {
    let reloaded = AgentKeyPair::from_pkcs8(keypair().pkcs8_der()).expect("reload");
    assert_eq!(reloaded.public(), keypair().public());
    assert_eq!(reloaded.bits(), 3072);
}

#[test]
fn a_rolled_over_package_key_travels_sealed_under_the_old_one() {
    use sspr_protocol::package::{PackageError, PackageKey};
    let old = PackageKey::generate().expect("old");
    let new = PackageKey::generate().expect("new");
    let wrapped = old.wrap(&new, "agt_1").expect("wrap");
    assert_eq!(old.unwrap(&wrapped, "agt_1").expect("unwrap"), new);
    // Only for this agent, only under the old key, and not altered on the way.
    assert_eq!(old.unwrap(&wrapped, "agt_2"), Err(PackageError::BadTag));
    assert_eq!(new.unwrap(&wrapped, "agt_1"), Err(PackageError::UnknownKey));
    let mut tampered = wrapped.clone();
    tampered.ciphertext[0] ^= 1;
    assert_eq!(old.unwrap(&tampered, "agt_1"), Err(PackageError::BadTag));
    let mut renamed = wrapped;
    renamed.new_key_id = old.key_id.clone();
    assert!(old.unwrap(&renamed, "agt_1").is_err());
}
