-- 0008_cases.sql: the case file (卷宗): the case, its parties, mediation
-- sessions, outcome, judicial confirmation and follow-up visits, and the
-- history of its workflow. Personal data (names, ID numbers, phones,
-- addresses, the summary, notes, the agreement) is encrypted in the
-- service under the case's own data key, each value bound to its table,
-- column and row; blind indexes allow equality look-ups of phones and ID
-- numbers. Purging a case destroys its key and clears those columns; the
-- fields kept in the clear are the ones statistics need.

CREATE TYPE case_source AS ENUM ('walk_in', 'hotline_12338', 'petition', 'court', 'police',
    'civil_affairs', 'community', 'other');
CREATE TYPE dispute_type AS ENUM ('divorce', 'property_division', 'custody', 'child_support',
    'elder_support', 'inheritance', 'domestic_violence', 'in_law_conflict', 'bride_price', 'other');
CREATE TYPE case_status AS ENUM ('registered', 'accepted', 'declined', 'in_mediation',
    'expert_requested', 'withdrawn', 'closed');
CREATE TYPE dv_risk AS ENUM ('low', 'medium', 'high');
CREATE TYPE case_result AS ENUM ('agreement', 'no_agreement', 'withdrawn',
    'referred_to_litigation', 'referred_elsewhere');
-- Why people's mediation may not take a dispute, or why it was declined.
CREATE TYPE decline_reason AS ENUM ('before_court', 'before_police', 'marriage_status',
    'identity', 'outside_remit', 'other');

-- The last number given per county and year: taken in the transaction
-- that stores the case, so numbers are gapless and never given twice.
CREATE TABLE case_counters (
    county_code text NOT NULL REFERENCES regions (code),
    year        integer NOT NULL,
    last        integer NOT NULL,
    PRIMARY KEY (county_code, year)
);

CREATE SEQUENCE cases_id_seq AS bigint;

CREATE TABLE cases (
    -- Taken before encryption: the ciphertexts are bound to it.
    id                bigint PRIMARY KEY,
    data_key_id       bigint NOT NULL UNIQUE REFERENCES data_keys (id),
    number            text NOT NULL UNIQUE,
    committee_id      bigint NOT NULL REFERENCES committees (id),
    -- Where the committee sits, kept for scope checks and statistics.
    county_code       text NOT NULL REFERENCES regions (code),
    city_code         text REFERENCES regions (code),
    source            case_source NOT NULL,
    referral_id       bigint,
    dispute_type      dispute_type NOT NULL,
    summary           bytea,
    minors_involved   boolean NOT NULL DEFAULT false,
    dv_flag           boolean NOT NULL DEFAULT false,
    dv_risk           dv_risk,
    safety_referral   text CHECK (safety_referral IN ('police', 'protection_order', 'shelter', 'other')),
    safety_referred_on date,
    difficulty        text NOT NULL DEFAULT 'ordinary' CHECK (difficulty IN ('ordinary', 'difficult')),
    lead_mediator_id  bigint REFERENCES mediators (id),
    status            case_status NOT NULL DEFAULT 'registered',
    decline_reason    decline_reason,
    received_at       timestamptz NOT NULL,
    accepted_at       timestamptz,
    closed_at         timestamptz,
    due_on            date,
    result            case_result,
    agreement_form    text CHECK (agreement_form IN ('written', 'oral')),
    agreement         bytea,
    agreement_effective_on date,
    confirmation      text CHECK (confirmation IN ('applied', 'granted', 'refused')),
    confirmation_applied_on date,
    confirmation_decided_on date,
    expert_id         bigint REFERENCES mediators (id),
    version           integer NOT NULL DEFAULT 1,
    purged_at         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (dv_flag OR dv_risk IS NULL),
    CHECK ((safety_referral IS NULL) = (safety_referred_on IS NULL)),
    CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CHECK ((status = 'closed') = (result IS NOT NULL)),
    CHECK (agreement_form IS NULL OR result = 'agreement'),
    CHECK (confirmation IS NULL OR result = 'agreement'),
    CHECK (purged_at IS NULL OR (summary IS NULL AND agreement IS NULL))
);
ALTER SEQUENCE cases_id_seq OWNED BY cases.id;
CREATE INDEX cases_committee ON cases (committee_id, id);
CREATE INDEX cases_county ON cases (county_code, id);
CREATE INDEX cases_city ON cases (city_code, id);
CREATE INDEX cases_open_due ON cases (due_on) WHERE status IN ('accepted', 'in_mediation', 'expert_requested');
CREATE INDEX cases_closed ON cases (closed_at) WHERE purged_at IS NULL;

CREATE TABLE case_co_mediators (
    case_id     bigint NOT NULL REFERENCES cases (id),
    mediator_id bigint NOT NULL REFERENCES mediators (id),
    PRIMARY KEY (case_id, mediator_id)
);

CREATE SEQUENCE parties_id_seq AS bigint;

CREATE TABLE parties (
    id           bigint PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    role         text NOT NULL CHECK (role IN ('applicant', 'respondent', 'other')),
    name         bytea,
    id_number    bytea,
    phone        bytea,
    address      bytea,
    gender       text CHECK (gender IN ('female', 'male')),
    birth_year   integer CHECK (birth_year BETWEEN 1900 AND 2100),
    relationship text CHECK (length(relationship) BETWEEN 1 AND 40),
    phone_bidx   integer,
    id_bidx      integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((phone IS NULL) = (phone_bidx IS NULL)),
    CHECK ((id_number IS NULL) = (id_bidx IS NULL))
);
ALTER SEQUENCE parties_id_seq OWNED BY parties.id;
CREATE INDEX parties_case ON parties (case_id);
CREATE INDEX parties_phone_bidx ON parties (phone_bidx) WHERE phone_bidx IS NOT NULL;
CREATE INDEX parties_id_bidx ON parties (id_bidx) WHERE id_bidx IS NOT NULL;

CREATE SEQUENCE case_sessions_id_seq AS bigint;

-- Mediation sessions (调解记录).
CREATE TABLE case_sessions (
    id         bigint PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    held_at    timestamptz NOT NULL,
    place      bytea,
    attendees  bytea,
    notes      bytea,
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE case_sessions_id_seq OWNED BY case_sessions.id;
CREATE INDEX case_sessions_case ON case_sessions (case_id, held_at);

CREATE SEQUENCE followups_id_seq AS bigint;

-- Follow-up visits (回访): is the agreement being honoured (履行)?
CREATE TABLE followups (
    id         bigint PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    visited_on date NOT NULL,
    honoured   text NOT NULL CHECK (honoured IN ('fully', 'partly', 'not')),
    notes      bytea,
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE followups_id_seq OWNED BY followups.id;
CREATE INDEX followups_case ON followups (case_id, visited_on);

-- The workflow's history: every move, when and by whom.
CREATE TABLE case_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint REFERENCES users (id),
    from_status case_status,
    to_status   case_status NOT NULL,
    detail      text CHECK (length(detail) <= 200)
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Due-date extensions, with their reasons (no personal data: a category
-- and a short note).
CREATE TABLE case_extensions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint REFERENCES users (id),
    from_due   date NOT NULL,
    to_due     date NOT NULL CHECK (to_due > from_due),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200)
);
CREATE INDEX case_extensions_case ON case_extensions (case_id, id);

-- Requests for an expert from the pool, and their assignment.
CREATE TABLE expert_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    specialty    specialty,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by bigint REFERENCES users (id),
    expert_id    bigint REFERENCES mediators (id),
    assigned_at  timestamptz,
    assigned_by  bigint REFERENCES users (id),
    CHECK ((expert_id IS NULL) = (assigned_at IS NULL))
);
CREATE UNIQUE INDEX expert_requests_open ON expert_requests (case_id) WHERE expert_id IS NULL;
CREATE INDEX expert_requests_expert ON expert_requests (expert_id);

GRANT USAGE ON SEQUENCE cases_id_seq, parties_id_seq, case_sessions_id_seq, followups_id_seq
    TO tiaojie_app;
GRANT SELECT, INSERT, UPDATE ON case_counters, cases, case_co_mediators, parties, case_sessions,
    followups, case_events, case_extensions, expert_requests TO tiaojie_app;
GRANT DELETE ON case_co_mediators TO tiaojie_app;

-- Is the case within the caller's scope? region: federation staff's
-- county or city (NULL: no confinement); mediator: the mediator's record
-- of a mediator's account (NULL: not a mediator), whose open memberships
-- are the committees whose cases the account works.
CREATE FUNCTION case_in_scope(committee bigint, county text, city text, region text, mediator bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT (region IS NULL OR region = county OR region = city)
       AND (mediator IS NULL OR EXISTS (SELECT 1 FROM mediator_committees mc
            WHERE mc.mediator_id = mediator AND mc.committee_id = committee AND mc.ended_on IS NULL))
$$;
GRANT EXECUTE ON FUNCTION case_in_scope(bigint, text, text, text, bigint) TO tiaojie_app;
