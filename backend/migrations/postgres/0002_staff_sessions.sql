-- Helpdesk staff sessions: sealed like every session, found by the keyed hash of the cookie's id.
CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    state BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);
