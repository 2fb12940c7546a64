-- The first schema. Flows, sessions, registrations and package keys hold only ciphertext
-- (sealed above the store); tokens and limit keys only keyed hashes.
CREATE TABLE onboarding_tokens (
    hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    package_key BYTEA NOT NULL,
    rsa_key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE flows (
    id_hash TEXT PRIMARY KEY,
    state BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX flows_expiry ON flows (expires_at);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    state BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE registrations (
    subject TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE phone_countries (
    code BIGINT PRIMARY KEY
);
CREATE TABLE audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, seq);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
-- One row per counted hit of a rate limit; bucket = keyed hash of (limit, key).
CREATE TABLE limit_hits (
    bucket TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX limit_hits_bucket ON limit_hits (bucket, at);
CREATE INDEX limit_hits_at ON limit_hits (at);
