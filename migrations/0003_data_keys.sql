-- 0003_data_keys.sql: one data key per owning record (a case with its
-- parties, sessions and outcome; a referral; a mediator), stored only
-- wrapped by a key-encryption key derived from a master key that never
-- enters the database. Destroying the wrapped key (crypto-shredding) makes
-- every field encrypted under it unreadable, in backups too.

CREATE SEQUENCE data_keys_id_seq AS bigint;

CREATE TABLE data_keys (
    -- Taken from the sequence before wrapping: the wrapping is bound to it.
    id             bigint PRIMARY KEY,
    master_version integer NOT NULL CHECK (master_version > 0),
    wrapped        bytea CHECK (length(wrapped) = 73),
    created_at     timestamptz NOT NULL DEFAULT now(),
    rewrapped_at   timestamptz,
    destroyed_at   timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
ALTER SEQUENCE data_keys_id_seq OWNED BY data_keys.id;
CREATE INDEX data_keys_version ON data_keys (master_version) WHERE wrapped IS NOT NULL;

GRANT USAGE ON SEQUENCE data_keys_id_seq TO tiaojie_app;
GRANT SELECT, INSERT ON data_keys TO tiaojie_app;
-- Re-wrapping and shredding are the only changes made to a data key.
GRANT UPDATE (master_version, wrapped, rewrapped_at, destroyed_at) ON data_keys TO tiaojie_app;

-- A destroyed data key stays destroyed: nothing may bring a wrapping back.
CREATE FUNCTION data_keys_stay_destroyed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.destroyed_at IS NOT NULL THEN
        RAISE EXCEPTION 'data key % was destroyed', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER data_keys_destroyed_final
    BEFORE UPDATE ON data_keys
    FOR EACH ROW EXECUTE FUNCTION data_keys_stay_destroyed();
