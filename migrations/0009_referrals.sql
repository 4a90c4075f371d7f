-- 0009_referrals.sql: referrals (转介) from the 12338 hotline, courts,
-- police, civil affairs and the petition window, routed to a committee that
-- takes them up. The caller's name and phone and the summary are encrypted
-- under the referral's own data key; the phone has a blind index for the
-- repeat-caller look-up. Idempotency keys make intake exactly-once.

CREATE TYPE referral_source AS ENUM ('hotline_12338', 'petition', 'court', 'police',
    'civil_affairs', 'other');
-- open: waiting at committee_id; accepted: a case exists; returned: every
-- committee declined, back in the hotline's queue.
CREATE TYPE referral_status AS ENUM ('open', 'accepted', 'returned');

CREATE SEQUENCE referrals_id_seq AS bigint;

CREATE TABLE referrals (
    -- Taken before encryption: the ciphertexts are bound to it.
    id                  bigint PRIMARY KEY,
    data_key_id         bigint NOT NULL UNIQUE REFERENCES data_keys (id),
    source              referral_source NOT NULL,
    caller_name         bytea,
    caller_phone        bytea,
    caller_phone_bidx   integer,
    county_code         text NOT NULL REFERENCES regions (code),
    city_code           text REFERENCES regions (code),
    dispute_type        dispute_type NOT NULL,
    summary             bytea,
    urgency             text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    target_committee_id bigint REFERENCES committees (id),
    committee_id        bigint REFERENCES committees (id),
    status              referral_status NOT NULL DEFAULT 'open',
    created_by          bigint NOT NULL REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    routed_at           timestamptz,
    due_at              timestamptz NOT NULL,
    accepted_at         timestamptz,
    accepted_by         bigint REFERENCES users (id),
    case_id             bigint UNIQUE REFERENCES cases (id),
    -- Sent to the city's guidance committee for want of one in the county:
    -- a gap the coverage answer shows.
    guidance_routed     boolean NOT NULL DEFAULT false,
    version             integer NOT NULL DEFAULT 1,
    purged_at           timestamptz,
    CHECK (purged_at IS NULL OR (caller_name IS NULL AND caller_phone IS NULL AND summary IS NULL)),
    CHECK ((caller_phone IS NULL) = (caller_phone_bidx IS NULL)),
    CHECK (status <> 'open' OR committee_id IS NOT NULL),
    CHECK (status <> 'returned' OR committee_id IS NULL),
    CHECK ((status = 'accepted') = (case_id IS NOT NULL))
);
ALTER SEQUENCE referrals_id_seq OWNED BY referrals.id;
CREATE INDEX referrals_committee ON referrals (committee_id) WHERE status = 'open';
CREATE INDEX referrals_creator ON referrals (created_by, id);
CREATE INDEX referrals_county ON referrals (county_code, id);
CREATE INDEX referrals_phone_bidx ON referrals (caller_phone_bidx) WHERE caller_phone_bidx IS NOT NULL;
CREATE INDEX referrals_open_due ON referrals (due_at) WHERE status = 'open';

ALTER TABLE cases ADD CONSTRAINT cases_referral FOREIGN KEY (referral_id) REFERENCES referrals (id);
CREATE UNIQUE INDEX cases_referral_once ON cases (referral_id) WHERE referral_id IS NOT NULL;

-- Each committee that declined, when, and why (a category and a short
-- note, no personal data).
CREATE TABLE referral_declines (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    referral_id  bigint NOT NULL REFERENCES referrals (id),
    committee_id bigint NOT NULL REFERENCES committees (id),
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     bigint REFERENCES users (id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200)
);
CREATE INDEX referral_declines_referral ON referral_declines (referral_id, id);

-- Idempotency keys of intake, per caller. A claimed key without a
-- response is a request in flight; one claimed long ago and never
-- completed was abandoned (a crash) and may be claimed again.
CREATE TABLE idempotency_keys (
    user_id      bigint NOT NULL REFERENCES users (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    -- The first answer: its status, and its body sealed under the data key
    -- of the referral it created (it holds personal data).
    status       integer,
    referral_id  bigint REFERENCES referrals (id),
    response     bytea,
    completed_at timestamptz,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_claimed ON idempotency_keys (claimed_at);

GRANT USAGE ON SEQUENCE referrals_id_seq TO tiaojie_app;
GRANT SELECT, INSERT, UPDATE ON referrals, referral_declines, idempotency_keys TO tiaojie_app;
GRANT DELETE ON idempotency_keys TO tiaojie_app;

-- The committee a referral of county goes to next: an active committee or
-- room of the county with the fewest open cases, else the city's guidance
-- committee; none that declined the referral already. NULL: none left.
CREATE FUNCTION referral_route(county text, city text, referral bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT k.id FROM committees k
    WHERE k.established_on <= civil_today() AND (k.closed_on IS NULL OR k.closed_on > civil_today())
      AND ((k.kind IN ('committee', 'room') AND region_within(k.region_code, county))
           OR (k.kind = 'guidance' AND city IS NOT NULL AND region_within(k.region_code, city)))
      AND NOT EXISTS (SELECT 1 FROM referral_declines d
                      WHERE d.referral_id = referral AND d.committee_id = k.id)
    ORDER BY k.kind = 'guidance',
             (SELECT count(*) FROM cases c WHERE c.committee_id = k.id
                AND c.status IN ('registered', 'accepted', 'in_mediation', 'expert_requested')),
             k.id
    LIMIT 1
$$;
GRANT EXECUTE ON FUNCTION referral_route(text, text, bigint) TO tiaojie_app;
