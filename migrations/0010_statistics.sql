-- 0010_statistics.sql: the numbers dashboards read, kept up to date by
-- triggers in the same transaction as every write to a case, a follow-up,
-- an expert request, a referral or a decline, so that no dashboard ever
-- scans cases. A case counts in the month it was received (China Standard
-- Time) and in its county, whatever happens to it later: statistics are by
-- cohort. Each case is counted four ways: in all, by dispute type, by
-- source and by committee (dim, value). Durations are kept as histograms
-- (a bucket and a count) from which medians and percentiles are read.

CREATE TABLE case_rollup (
    county_code      text NOT NULL,
    city_code        text,
    province_code    text,
    month            date NOT NULL,
    dim              text NOT NULL CHECK (dim IN ('', 'dispute_type', 'source', 'committee')),
    value            text NOT NULL,
    cases            integer NOT NULL DEFAULT 0,
    registered       integer NOT NULL DEFAULT 0,
    accepted         integer NOT NULL DEFAULT 0,
    declined         integer NOT NULL DEFAULT 0,
    in_mediation     integer NOT NULL DEFAULT 0,
    expert_requested integer NOT NULL DEFAULT 0,
    withdrawn        integer NOT NULL DEFAULT 0,
    closed           integer NOT NULL DEFAULT 0,
    agreement        integer NOT NULL DEFAULT 0,
    no_agreement     integer NOT NULL DEFAULT 0,
    result_withdrawn integer NOT NULL DEFAULT 0,
    to_litigation    integer NOT NULL DEFAULT 0,
    to_elsewhere     integer NOT NULL DEFAULT 0,
    written          integer NOT NULL DEFAULT 0,
    conf_applied     integer NOT NULL DEFAULT 0,
    conf_granted     integer NOT NULL DEFAULT 0,
    conf_refused     integer NOT NULL DEFAULT 0,
    dv               integer NOT NULL DEFAULT 0,
    dv_high          integer NOT NULL DEFAULT 0,
    safety_referrals integer NOT NULL DEFAULT 0,
    minors           integer NOT NULL DEFAULT 0,
    difficult        integer NOT NULL DEFAULT 0,
    expert_requests  integer NOT NULL DEFAULT 0,
    experts_assigned integer NOT NULL DEFAULT 0,
    followups        integer NOT NULL DEFAULT 0,
    honoured_fully   integer NOT NULL DEFAULT 0,
    honoured_partly  integer NOT NULL DEFAULT 0,
    honoured_not     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, month, dim, value)
);
CREATE INDEX case_rollup_city ON case_rollup (city_code, dim, month);
CREATE INDEX case_rollup_province ON case_rollup (province_code, dim, month);

-- close_days: days from acceptance to closing; expert_hours: hours from
-- an expert's request to the assignment.
CREATE TABLE case_durations (
    county_code   text NOT NULL,
    city_code     text,
    province_code text,
    month         date NOT NULL,
    dim           text NOT NULL,
    value         text NOT NULL,
    metric        text NOT NULL CHECK (metric IN ('close_days', 'expert_hours')),
    bucket        integer NOT NULL,
    n             integer NOT NULL,
    PRIMARY KEY (county_code, month, dim, value, metric, bucket)
);
CREATE INDEX case_durations_city ON case_durations (city_code, dim, month);
CREATE INDEX case_durations_province ON case_durations (province_code, dim, month);

CREATE TABLE referral_rollup (
    county_code   text NOT NULL,
    city_code     text,
    province_code text,
    month         date NOT NULL,
    dim           text NOT NULL CHECK (dim IN ('', 'source')),
    value         text NOT NULL,
    received      integer NOT NULL DEFAULT 0,
    open          integer NOT NULL DEFAULT 0,
    accepted      integer NOT NULL DEFAULT 0,
    returned      integer NOT NULL DEFAULT 0,
    urgent        integer NOT NULL DEFAULT 0,
    declines      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, month, dim, value)
);
CREATE INDEX referral_rollup_city ON referral_rollup (city_code, dim, month);
CREATE INDEX referral_rollup_province ON referral_rollup (province_code, dim, month);

-- accept_minutes: from intake to acceptance, in 5-minute buckets.
CREATE TABLE referral_durations (
    county_code   text NOT NULL,
    city_code     text,
    province_code text,
    month         date NOT NULL,
    dim           text NOT NULL,
    value         text NOT NULL,
    bucket        integer NOT NULL,
    n             integer NOT NULL,
    PRIMARY KEY (county_code, month, dim, value, bucket)
);
CREATE INDEX referral_durations_city ON referral_durations (city_code, dim, month);

-- Overdue is a matter of today's date, not of any write: counted live.
CREATE INDEX cases_open_county_due ON cases (county_code, due_on)
    WHERE status IN ('accepted', 'in_mediation', 'expert_requested');
CREATE INDEX cases_open_city_due ON cases (city_code, due_on)
    WHERE status IN ('accepted', 'in_mediation', 'expert_requested');
CREATE INDEX referrals_open_county ON referrals (county_code, due_at) WHERE status = 'open';
CREATE INDEX referrals_open_city ON referrals (city_code, due_at) WHERE status = 'open';

GRANT SELECT ON case_rollup, case_durations, referral_rollup, referral_durations TO tiaojie_app;

CREATE FUNCTION stat_month(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE AS $$ SELECT date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date $$;

-- Adds sign times case c's part to the rollups, in the same order of rows
-- every time (so that concurrent writers never deadlock).
CREATE FUNCTION case_rollup_add(c cases, sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := stat_month(c.received_at);
    prov text := (SELECT parent_code FROM regions WHERE code = c.city_code);
    requests integer := (SELECT count(*) FROM expert_requests x WHERE x.case_id = c.id);
    assigned integer := (SELECT count(*) FROM expert_requests x WHERE x.case_id = c.id AND x.expert_id IS NOT NULL);
    visits integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id);
    fully integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id AND f.honoured = 'fully');
    partly integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id AND f.honoured = 'partly');
    nots integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id AND f.honoured = 'not');
BEGIN
    INSERT INTO case_rollup AS r (county_code, city_code, province_code, month, dim, value, cases,
        registered, accepted, declined, in_mediation, expert_requested, withdrawn, closed,
        agreement, no_agreement, result_withdrawn, to_litigation, to_elsewhere, written,
        conf_applied, conf_granted, conf_refused, dv, dv_high, safety_referrals, minors, difficult,
        expert_requests, experts_assigned, followups, honoured_fully, honoured_partly, honoured_not)
    SELECT c.county_code, c.city_code, prov, m, d.dim, d.value, sign,
        sign * (c.status = 'registered')::int, sign * (c.status = 'accepted')::int,
        sign * (c.status = 'declined')::int, sign * (c.status = 'in_mediation')::int,
        sign * (c.status = 'expert_requested')::int, sign * (c.status = 'withdrawn')::int,
        sign * (c.status = 'closed')::int,
        sign * (c.result IS NOT DISTINCT FROM 'agreement')::int,
        sign * (c.result IS NOT DISTINCT FROM 'no_agreement')::int,
        sign * (c.result IS NOT DISTINCT FROM 'withdrawn')::int,
        sign * (c.result IS NOT DISTINCT FROM 'referred_to_litigation')::int,
        sign * (c.result IS NOT DISTINCT FROM 'referred_elsewhere')::int,
        sign * (c.agreement_form IS NOT DISTINCT FROM 'written')::int,
        sign * (c.confirmation IS NOT NULL)::int,
        sign * (c.confirmation IS NOT DISTINCT FROM 'granted')::int,
        sign * (c.confirmation IS NOT DISTINCT FROM 'refused')::int,
        sign * c.dv_flag::int, sign * (c.dv_risk IS NOT DISTINCT FROM 'high')::int,
        sign * (c.safety_referral IS NOT NULL)::int, sign * c.minors_involved::int,
        sign * (c.difficulty = 'difficult')::int,
        sign * requests, sign * assigned, sign * visits, sign * fully, sign * partly, sign * nots
    FROM (VALUES ('', ''), ('committee', c.committee_id::text), ('dispute_type', c.dispute_type::text),
                 ('source', c.source::text)) AS d(dim, value)
    ON CONFLICT (county_code, month, dim, value) DO UPDATE SET
        cases = r.cases + EXCLUDED.cases, registered = r.registered + EXCLUDED.registered,
        accepted = r.accepted + EXCLUDED.accepted, declined = r.declined + EXCLUDED.declined,
        in_mediation = r.in_mediation + EXCLUDED.in_mediation,
        expert_requested = r.expert_requested + EXCLUDED.expert_requested,
        withdrawn = r.withdrawn + EXCLUDED.withdrawn, closed = r.closed + EXCLUDED.closed,
        agreement = r.agreement + EXCLUDED.agreement, no_agreement = r.no_agreement + EXCLUDED.no_agreement,
        result_withdrawn = r.result_withdrawn + EXCLUDED.result_withdrawn,
        to_litigation = r.to_litigation + EXCLUDED.to_litigation,
        to_elsewhere = r.to_elsewhere + EXCLUDED.to_elsewhere, written = r.written + EXCLUDED.written,
        conf_applied = r.conf_applied + EXCLUDED.conf_applied,
        conf_granted = r.conf_granted + EXCLUDED.conf_granted,
        conf_refused = r.conf_refused + EXCLUDED.conf_refused, dv = r.dv + EXCLUDED.dv,
        dv_high = r.dv_high + EXCLUDED.dv_high,
        safety_referrals = r.safety_referrals + EXCLUDED.safety_referrals,
        minors = r.minors + EXCLUDED.minors, difficult = r.difficult + EXCLUDED.difficult,
        expert_requests = r.expert_requests + EXCLUDED.expert_requests,
        experts_assigned = r.experts_assigned + EXCLUDED.experts_assigned,
        followups = r.followups + EXCLUDED.followups,
        honoured_fully = r.honoured_fully + EXCLUDED.honoured_fully,
        honoured_partly = r.honoured_partly + EXCLUDED.honoured_partly,
        honoured_not = r.honoured_not + EXCLUDED.honoured_not;

    INSERT INTO case_durations AS h (county_code, city_code, province_code, month, dim, value, metric, bucket, n)
    SELECT c.county_code, c.city_code, prov, m, d.dim, d.value, s.metric, s.bucket, sign
    FROM (VALUES ('', ''), ('committee', c.committee_id::text), ('dispute_type', c.dispute_type::text),
                 ('source', c.source::text)) AS d(dim, value),
         (SELECT 'close_days' AS metric,
                 least(floor(extract(epoch FROM c.closed_at - c.accepted_at) / 86400), 400)::int AS bucket
          WHERE c.status = 'closed' AND c.accepted_at IS NOT NULL
          UNION ALL
          SELECT 'expert_hours', least(floor(extract(epoch FROM x.assigned_at - x.requested_at) / 3600), 720)::int
          FROM expert_requests x WHERE x.case_id = c.id AND x.assigned_at IS NOT NULL) AS s
    ORDER BY 5, 6, 7, 8
    ON CONFLICT (county_code, month, dim, value, metric, bucket) DO UPDATE SET n = h.n + EXCLUDED.n;
END
$$;

-- A change takes the old part out and puts the new one in, the two in the
-- order of their rows' keys (county, month), so that two cases moving
-- between the same two months in opposite directions never deadlock.
CREATE FUNCTION cases_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM case_rollup_add(NEW, 1);
    ELSIF (NEW.county_code, stat_month(NEW.received_at)) < (OLD.county_code, stat_month(OLD.received_at)) THEN
        PERFORM case_rollup_add(NEW, 1);
        PERFORM case_rollup_add(OLD, -1);
    ELSE
        PERFORM case_rollup_add(OLD, -1);
        PERFORM case_rollup_add(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_rollup_insert AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_rollup();
CREATE TRIGGER cases_rollup_update AFTER UPDATE ON cases
    FOR EACH ROW WHEN ((OLD.status, OLD.result, OLD.agreement_form, OLD.confirmation, OLD.dv_flag,
        OLD.dv_risk, OLD.safety_referral, OLD.minors_involved, OLD.difficulty, OLD.dispute_type,
        OLD.source, OLD.committee_id, OLD.received_at, OLD.accepted_at, OLD.closed_at)
        IS DISTINCT FROM (NEW.status, NEW.result, NEW.agreement_form, NEW.confirmation, NEW.dv_flag,
        NEW.dv_risk, NEW.safety_referral, NEW.minors_involved, NEW.difficulty, NEW.dispute_type,
        NEW.source, NEW.committee_id, NEW.received_at, NEW.accepted_at, NEW.closed_at))
    EXECUTE FUNCTION cases_rollup();

-- A follow-up or an expert request adds to its case's part directly. (The
-- part computed from a case counts its follow-ups and requests, so that a
-- case changing type or committee takes them along; when the case row
-- changes in the same statement, its own trigger takes out and puts back
-- the same counts.)
CREATE FUNCTION case_rollup_bump(case_id bigint, requests integer, assigned integer,
    fully integer, partly integer, nots integer, expert_hours integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c cases := (SELECT x FROM cases x WHERE x.id = case_id);
    m date := stat_month(c.received_at);
    prov text := (SELECT parent_code FROM regions WHERE code = c.city_code);
BEGIN
    INSERT INTO case_rollup AS r (county_code, city_code, province_code, month, dim, value,
        expert_requests, experts_assigned, followups, honoured_fully, honoured_partly, honoured_not)
    SELECT c.county_code, c.city_code, prov, m, d.dim, d.value, requests, assigned,
        fully + partly + nots, fully, partly, nots
    FROM (VALUES ('', ''), ('committee', c.committee_id::text), ('dispute_type', c.dispute_type::text),
                 ('source', c.source::text)) AS d(dim, value)
    ON CONFLICT (county_code, month, dim, value) DO UPDATE SET
        expert_requests = r.expert_requests + EXCLUDED.expert_requests,
        experts_assigned = r.experts_assigned + EXCLUDED.experts_assigned,
        followups = r.followups + EXCLUDED.followups,
        honoured_fully = r.honoured_fully + EXCLUDED.honoured_fully,
        honoured_partly = r.honoured_partly + EXCLUDED.honoured_partly,
        honoured_not = r.honoured_not + EXCLUDED.honoured_not;
    IF expert_hours IS NOT NULL THEN
        INSERT INTO case_durations AS h (county_code, city_code, province_code, month, dim, value, metric, bucket, n)
        SELECT c.county_code, c.city_code, prov, m, d.dim, d.value, 'expert_hours', expert_hours, 1
        FROM (VALUES ('', ''), ('committee', c.committee_id::text), ('dispute_type', c.dispute_type::text),
                     ('source', c.source::text)) AS d(dim, value)
        ON CONFLICT (county_code, month, dim, value, metric, bucket) DO UPDATE SET n = h.n + 1;
    END IF;
END
$$;

CREATE FUNCTION followups_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM case_rollup_bump(NEW.case_id, 0, 0, (NEW.honoured = 'fully')::int,
        (NEW.honoured = 'partly')::int, (NEW.honoured = 'not')::int, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER followups_rollup AFTER INSERT ON followups
    FOR EACH ROW EXECUTE FUNCTION followups_rollup();

CREATE FUNCTION expert_requests_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM case_rollup_bump(NEW.case_id, 1, 0, 0, 0, 0, NULL);
    ELSIF OLD.assigned_at IS NULL AND NEW.assigned_at IS NOT NULL THEN
        PERFORM case_rollup_bump(NEW.case_id, 0, 1, 0, 0, 0,
            least(floor(extract(epoch FROM NEW.assigned_at - NEW.requested_at) / 3600), 720)::int);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER expert_requests_rollup AFTER INSERT OR UPDATE ON expert_requests
    FOR EACH ROW EXECUTE FUNCTION expert_requests_rollup();

-- Referrals: received, where they stand, urgency; declines; time to acceptance.
CREATE FUNCTION referral_rollup_add(f referrals, sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := stat_month(f.created_at);
    prov text := (SELECT parent_code FROM regions WHERE code = f.city_code);
    n_declines integer := (SELECT count(*) FROM referral_declines d WHERE d.referral_id = f.id);
BEGIN
    INSERT INTO referral_rollup AS r (county_code, city_code, province_code, month, dim, value,
        received, open, accepted, returned, urgent, declines)
    SELECT f.county_code, f.city_code, prov, m, d.dim, d.value, sign,
        sign * (f.status = 'open')::int, sign * (f.status = 'accepted')::int,
        sign * (f.status = 'returned')::int, sign * (f.urgency = 'urgent')::int, sign * n_declines
    FROM (VALUES ('', ''), ('source', f.source::text)) AS d(dim, value)
    ON CONFLICT (county_code, month, dim, value) DO UPDATE SET
        received = r.received + EXCLUDED.received, open = r.open + EXCLUDED.open,
        accepted = r.accepted + EXCLUDED.accepted, returned = r.returned + EXCLUDED.returned,
        urgent = r.urgent + EXCLUDED.urgent, declines = r.declines + EXCLUDED.declines;
    IF f.accepted_at IS NOT NULL THEN
        INSERT INTO referral_durations AS h (county_code, city_code, province_code, month, dim, value, bucket, n)
        SELECT f.county_code, f.city_code, prov, m, d.dim, d.value,
            least(floor(extract(epoch FROM f.accepted_at - f.created_at) / 300), 2016)::int, sign
        FROM (VALUES ('', ''), ('source', f.source::text)) AS d(dim, value)
        ON CONFLICT (county_code, month, dim, value, bucket) DO UPDATE SET n = h.n + EXCLUDED.n;
    END IF;
END
$$;

CREATE FUNCTION referrals_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM referral_rollup_add(NEW, 1);
    ELSIF (NEW.county_code, stat_month(NEW.created_at)) < (OLD.county_code, stat_month(OLD.created_at)) THEN
        PERFORM referral_rollup_add(NEW, 1);
        PERFORM referral_rollup_add(OLD, -1);
    ELSE
        PERFORM referral_rollup_add(OLD, -1);
        PERFORM referral_rollup_add(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER referrals_rollup_insert AFTER INSERT ON referrals
    FOR EACH ROW EXECUTE FUNCTION referrals_rollup();
CREATE TRIGGER referrals_rollup_update AFTER UPDATE ON referrals
    FOR EACH ROW WHEN ((OLD.status, OLD.accepted_at, OLD.urgency, OLD.source)
        IS DISTINCT FROM (NEW.status, NEW.accepted_at, NEW.urgency, NEW.source))
    EXECUTE FUNCTION referrals_rollup();

CREATE FUNCTION referral_declines_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    f referrals := (SELECT x FROM referrals x WHERE x.id = NEW.referral_id);
BEGIN
    INSERT INTO referral_rollup AS r (county_code, city_code, province_code, month, dim, value, declines)
    SELECT f.county_code, f.city_code, (SELECT parent_code FROM regions WHERE code = f.city_code),
        stat_month(f.created_at), d.dim, d.value, 1
    FROM (VALUES ('', ''), ('source', f.source::text)) AS d(dim, value)
    ON CONFLICT (county_code, month, dim, value) DO UPDATE SET declines = r.declines + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER referral_declines_rollup AFTER INSERT ON referral_declines
    FOR EACH ROW EXECUTE FUNCTION referral_declines_rollup();

-- What was there before these tables.
SELECT count(case_rollup_add(c, 1)) FROM cases c;
SELECT count(referral_rollup_add(f, 1)) FROM referrals f;
