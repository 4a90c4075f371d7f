-- 0005_mediators.sql: mediators and the committees they serve. A
-- mediator's phone is personal information: stored encrypted under the
-- mediator's own data key, with a blind index for look-ups.

CREATE TYPE specialty AS ENUM ('law', 'psychology', 'social_work', 'education', 'medicine', 'other');

CREATE SEQUENCE mediators_id_seq AS bigint;

CREATE TABLE mediators (
    -- Taken before the phone is encrypted: the ciphertext is bound to it.
    id             bigint PRIMARY KEY,
    data_key_id    bigint NOT NULL UNIQUE REFERENCES data_keys (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    gender         text CHECK (gender IN ('female', 'male')),
    full_time      boolean NOT NULL,
    specialties    specialty[] NOT NULL DEFAULT '{}',
    expert         boolean NOT NULL DEFAULT false,
    phone          bytea,
    phone_bidx     integer CHECK ((phone IS NULL) = (phone_bidx IS NULL)),
    trained_on     date,
    certified_on   date,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE mediators_id_seq OWNED BY mediators.id;
CREATE INDEX mediators_phone_bidx ON mediators (phone_bidx);

CREATE TABLE mediator_committees (
    mediator_id  bigint NOT NULL REFERENCES mediators (id),
    committee_id bigint NOT NULL REFERENCES committees (id),
    started_on   date NOT NULL,
    ended_on     date,
    PRIMARY KEY (mediator_id, committee_id, started_on),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE INDEX mediator_committees_committee ON mediator_committees (committee_id);

GRANT USAGE ON SEQUENCE mediators_id_seq TO tiaojie_app;
GRANT SELECT, INSERT, UPDATE ON mediators, mediator_committees TO tiaojie_app;

-- Is the mediator serving, or has served, a committee within the region?
CREATE FUNCTION mediator_within(mediator bigint, ancestor text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM mediator_committees mc JOIN committees c ON c.id = mc.committee_id
        WHERE mc.mediator_id = mediator_within.mediator
          AND region_within(c.region_code, mediator_within.ancestor))
$$;
GRANT EXECUTE ON FUNCTION mediator_within(bigint, text) TO tiaojie_app;
