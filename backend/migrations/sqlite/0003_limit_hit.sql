-- Nothing to change: on SQLite a rate-limit hit is one statement (store/limits.rs). This
-- migration keeps the two schemas' versions in step.
SELECT 1;
