-- A rate-limit hit in one round trip: under an advisory lock of the bucket (replicas take
-- turns), counts the hits since `since` and records this one unless `max` is reached. Returns
-- NULL when the hit was counted, else the oldest hit in the window (for Retry-After).
CREATE FUNCTION sspr_limit_hit(p_bucket TEXT, p_now BIGINT, p_since BIGINT, p_max BIGINT)
RETURNS BIGINT AS $$
DECLARE
    hits BIGINT;
    oldest BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_bucket, 0));
    SELECT COUNT(*), MIN(at) INTO hits, oldest
        FROM limit_hits WHERE bucket = p_bucket AND at > p_since;
    IF hits >= p_max THEN
        RETURN COALESCE(oldest, p_now);
    END IF;
    INSERT INTO limit_hits (bucket, at) VALUES (p_bucket, p_now);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
