-- 0002_identity.sql: users, sign-in sessions, API tokens, login throttling
-- and the audit trail.
--
-- The server runs its statements as the role tiaojie_app (it connects as
-- any member of it, or as the owner and then SET ROLE). That role may
-- INSERT and SELECT audit entries, never UPDATE or DELETE them; entries are
-- chained (each holds the hash of the one before) by audit_seal(), a
-- SECURITY DEFINER function that runs with the owner's rights.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tiaojie_app') THEN
        CREATE ROLE tiaojie_app NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO tiaojie_app;
GRANT SELECT ON regions, schema_migrations TO tiaojie_app;
GRANT INSERT ON regions TO tiaojie_app;

CREATE TYPE user_role AS ENUM ('admin', 'federation', 'mediator', 'hotline');

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role          user_role NOT NULL,
    -- Scope: federation staff have their county or their city.
    region_code   text REFERENCES regions (code),
    active        boolean NOT NULL DEFAULT true,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'federation') = (region_code IS NOT NULL))
);

-- Sign-in sessions. Only a hash of the token is kept.
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- Tokens for integrations, made by an administrator for a user.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES users (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_by   bigint REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins, by account ("user:NAME") and by address ("addr:IP").
CREATE TABLE login_failures (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

GRANT SELECT, INSERT, UPDATE ON users, sessions, api_tokens TO tiaojie_app;
GRANT SELECT, INSERT, DELETE ON login_failures TO tiaojie_app;

-- The audit trail. Append-only for the server; sealed into a hash chain
-- by audit_seal() in the order entries are sealed (seq), so entries of
-- transactions that commit late are chained when they become visible.
CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_id       bigint,
    actor_username text,
    actor_role     user_role,
    action         text NOT NULL,
    object_type    text,
    object_id      text,
    fields         text[] NOT NULL DEFAULT '{}',
    purpose        text,
    request_id     text,
    client_addr    inet,
    status         integer NOT NULL,
    seq            bigint UNIQUE,
    prev_hash      bytea,
    hash           bytea
);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

GRANT SELECT, INSERT ON audit_log TO tiaojie_app;

-- The bytes an entry's hash covers: every column but the chain's own,
-- in a fixed text form (NULL written as \N, fields separated by 0x1f).
CREATE FUNCTION audit_canonical(a audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(concat_ws(E'\x1f',
        a.id::text, a.seq::text,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        coalesce(a.actor_id::text, '\N'), coalesce(a.actor_username, '\N'),
        coalesce(a.actor_role::text, '\N'), a.action,
        coalesce(a.object_type, '\N'), coalesce(a.object_id, '\N'),
        array_to_string(a.fields, E'\x1e'), coalesce(a.purpose, '\N'),
        coalesce(a.request_id, '\N'), coalesce(host(a.client_addr), '\N'),
        a.status::text), 'UTF8')
$$;

-- Chains up to batch unsealed entries, oldest first. Returns how many.
CREATE FUNCTION audit_seal(batch integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_seq  bigint;
    last_hash bytea;
    e         audit_log;
    n         integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(32766964500425062);
    SELECT seq, hash INTO last_seq, last_hash
        FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        last_seq := 0;
        last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000';
    END IF;
    FOR e IN SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT batch FOR UPDATE
    LOOP
        last_seq := last_seq + 1;
        e.seq := last_seq;
        e.prev_hash := last_hash;
        last_hash := sha256(last_hash || audit_canonical(e));
        UPDATE audit_log SET seq = e.seq, prev_hash = e.prev_hash, hash = last_hash
            WHERE id = e.id;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- Every break in the chain, in order: an entry whose content no longer
-- matches its hash, a link to a hash that is not its predecessor's, a gap
-- where entries were deleted.
CREATE FUNCTION audit_verify(max_problems integer)
RETURNS TABLE (seq bigint, id bigint, problem text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH chain AS (
        SELECT a.seq, a.id, a.hash, a.prev_hash,
               sha256(a.prev_hash || audit_canonical(a)) AS expected,
               lag(a.seq) OVER w AS before_seq,
               lag(a.hash) OVER w AS before_hash
        FROM audit_log a WHERE a.seq IS NOT NULL
        WINDOW w AS (ORDER BY a.seq)
    )
    SELECT c.seq, c.id, CASE
        WHEN c.hash IS DISTINCT FROM c.expected THEN 'entry changed: its content does not match its hash'
        WHEN c.before_seq IS NULL AND c.seq <> 1 THEN format('entries 1 to %s missing', c.seq - 1)
        WHEN c.before_seq IS NOT NULL AND c.seq <> c.before_seq + 1
            THEN format('entries %s to %s missing', c.before_seq + 1, c.seq - 1)
        WHEN c.before_seq IS NULL
            AND c.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'
            THEN 'first entry does not start the chain'
        WHEN c.before_seq IS NOT NULL AND c.prev_hash IS DISTINCT FROM c.before_hash
            THEN 'link broken: the previous entry was changed or replaced'
        END
    FROM chain c
    WHERE c.hash IS DISTINCT FROM c.expected
       OR (c.before_seq IS NULL AND c.seq <> 1)
       OR (c.before_seq IS NOT NULL AND c.seq <> c.before_seq + 1)
       OR (c.before_seq IS NULL AND c.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000')
       OR (c.before_seq IS NOT NULL AND c.prev_hash IS DISTINCT FROM c.before_hash)
    ORDER BY c.seq
    LIMIT max_problems
$$;

REVOKE ALL ON FUNCTION audit_seal(integer), audit_verify(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_seal(integer), audit_verify(integer) TO tiaojie_app;
GRANT EXECUTE ON FUNCTION audit_canonical(audit_log) TO tiaojie_app;

-- Federation staff are scoped to a county or a city, nothing else.
CREATE FUNCTION users_check_scope() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.region_code IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM regions WHERE code = NEW.region_code AND level IN ('city', 'county'))
    THEN
        RAISE EXCEPTION 'region % is not a county or a city', NEW.region_code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_scope
    BEFORE INSERT OR UPDATE OF region_code ON users
    FOR EACH ROW EXECUTE FUNCTION users_check_scope();

ALTER TABLE api_tokens ADD CHECK (expires_at IS NULL OR expires_at > created_at);

-- At least one active administrator remains: nobody can lock everyone out.
CREATE FUNCTION users_keep_an_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND active) THEN
        RAISE EXCEPTION 'the last active administrator cannot be disabled or demoted'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER users_admin_remains
    AFTER UPDATE OF role, active ON users
    FOR EACH ROW WHEN (OLD.role = 'admin' AND OLD.active)
    EXECUTE FUNCTION users_keep_an_admin();

-- Tokens are issued to active users only.
CREATE FUNCTION api_tokens_check_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE id = NEW.user_id AND active) THEN
        RAISE EXCEPTION 'user % is disabled', NEW.user_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER api_tokens_user_active
    BEFORE INSERT ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION api_tokens_check_user();
