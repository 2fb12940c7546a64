-- The first schema. Flows, sessions, registrations and package keys hold only ciphertext
-- (sealed above the store); tokens and limit keys only keyed hashes.
CREATE TABLE onboarding_tokens (
    hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    package_key BLOB NOT NULL,
    rsa_key_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE flows (
    id_hash TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX flows_expiry ON flows (expires_at);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE registrations (
    subject TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE phone_countries (
    code INTEGER PRIMARY KEY
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- One row per counted hit of a rate limit; bucket = keyed hash of (limit, key).
CREATE TABLE limit_hits (
    bucket TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX limit_hits_bucket ON limit_hits (bucket, at);
CREATE INDEX limit_hits_at ON limit_hits (at);
