-- 0006_targets.sql: the plan's goals, per year and region: committees to
-- be newly established, whether every county must have a committee or a
-- room, and the pilot districts for street-level coverage. Seeded from the
-- city's plan for 2020: four new committees, every county covered.

CREATE TABLE targets (
    year                 integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    region_code          text NOT NULL REFERENCES regions (code),
    new_committees       integer NOT NULL CHECK (new_committees BETWEEN 0 AND 10000),
    every_county_covered boolean NOT NULL,
    pilot_districts      text[] NOT NULL DEFAULT '{}',
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (year, region_code)
);

GRANT SELECT, INSERT, UPDATE ON targets TO tiaojie_app;

INSERT INTO targets (year, region_code, new_committees, every_county_covered)
VALUES (2020, '450200', 4, true);
