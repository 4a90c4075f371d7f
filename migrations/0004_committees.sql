-- 0004_committees.sql: marriage and family dispute mediation committees
-- (婚调委), rooms (婚调室) and the city's guidance committee (指导委).
-- Never deleted: closing sets closed_on, so coverage on any past date
-- stays answerable.

-- Is code the region ancestor, or below it? (Scope checks of staff.)
CREATE FUNCTION region_within(code text, ancestor text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up AS (
        SELECT r.code, r.parent_code, 0 AS depth FROM regions r WHERE r.code = region_within.code
        UNION ALL
        SELECT p.code, p.parent_code, up.depth + 1 FROM regions p JOIN up ON p.code = up.parent_code
        WHERE up.depth < 16
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE up.code = region_within.ancestor)
$$;

CREATE TYPE committee_kind AS ENUM ('committee', 'room', 'guidance');

CREATE TABLE committees (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind              committee_kind NOT NULL,
    -- Where it sits: the city (guidance), a county, or a street/township.
    region_code       text NOT NULL REFERENCES regions (code),
    host_org          text CHECK (length(host_org) BETWEEN 1 AND 200),
    address           text CHECK (length(address) BETWEEN 1 AND 300),
    phone             text CHECK (phone ~ '^[0-9+() -]{3,30}$'),
    purchased_service boolean NOT NULL DEFAULT false,
    established_on    date NOT NULL,
    closed_on         date,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (closed_on IS NULL OR closed_on >= established_on)
);
CREATE INDEX committees_region ON committees (region_code, id);

GRANT SELECT, INSERT, UPDATE ON committees TO tiaojie_app;
GRANT EXECUTE ON FUNCTION region_within(text, text) TO tiaojie_app;

-- The service's civil date: the federation works in China Standard Time.
CREATE FUNCTION civil_today() RETURNS date
LANGUAGE sql STABLE AS $$ SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date $$;
GRANT EXECUTE ON FUNCTION civil_today() TO tiaojie_app;
