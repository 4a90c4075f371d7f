-- 0013_histograms.sql: the duration histograms move into the rollup rows
-- they belong to, as arrays of counts indexed by bucket (element 1 is bucket
-- 0). A city's dashboard read its rollup rows by index, but their
-- histograms were several rows per rollup row, written in time order for
-- every county of the country and so one page read each; now a rollup row
-- carries its own.
--
-- An array never ends with a zero (hist_add trims), so the same counts are
-- always the same array, however they were reached.

CREATE FUNCTION hist_add(h integer[], bucket integer, n integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    len integer := coalesce(array_length(h, 1), 0);
BEGIN
    IF bucket IS NULL OR n = 0 THEN
        RETURN h;
    END IF;
    IF bucket >= len THEN
        h := h || array_fill(0, ARRAY[bucket + 1 - len]);
        len := bucket + 1;
    END IF;
    h[bucket + 1] := h[bucket + 1] + n;
    WHILE len > 0 AND h[len] = 0 LOOP
        len := len - 1;
    END LOOP;
    RETURN h[1:len];
END
$$;

-- a + b, element by element.
CREATE FUNCTION hist_merge(a integer[], b integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(b, 1), 0) LOOP
        IF b[i] <> 0 THEN
            a := hist_add(a, i - 1, b[i]);
        END IF;
    END LOOP;
    RETURN a;
END
$$;

ALTER TABLE case_rollup
    ADD COLUMN close_days integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN expert_hours integer[] NOT NULL DEFAULT '{}';
ALTER TABLE referral_rollup
    ADD COLUMN accept_minutes integer[] NOT NULL DEFAULT '{}';

-- What the old tables held. (Every histogram row has its rollup row: both
-- were written by the same functions, with the same keys.)
UPDATE case_rollup r SET close_days = x.h
FROM (SELECT t.county_code, t.month, t.dim, t.value,
             array_agg(coalesce(d.n, 0) ORDER BY s.b) AS h
      FROM (SELECT county_code, month, dim, value, max(bucket) AS top FROM case_durations
            WHERE metric = 'close_days' AND n <> 0 GROUP BY 1, 2, 3, 4) t
      CROSS JOIN LATERAL generate_series(0, t.top) AS s(b)
      LEFT JOIN case_durations d ON (d.county_code, d.month, d.dim, d.value, d.metric, d.bucket)
                                  = (t.county_code, t.month, t.dim, t.value, 'close_days', s.b)
      GROUP BY 1, 2, 3, 4) x
WHERE (r.county_code, r.month, r.dim, r.value) = (x.county_code, x.month, x.dim, x.value);

UPDATE case_rollup r SET expert_hours = x.h
FROM (SELECT t.county_code, t.month, t.dim, t.value,
             array_agg(coalesce(d.n, 0) ORDER BY s.b) AS h
      FROM (SELECT county_code, month, dim, value, max(bucket) AS top FROM case_durations
            WHERE metric = 'expert_hours' AND n <> 0 GROUP BY 1, 2, 3, 4) t
      CROSS JOIN LATERAL generate_series(0, t.top) AS s(b)
      LEFT JOIN case_durations d ON (d.county_code, d.month, d.dim, d.value, d.metric, d.bucket)
                                  = (t.county_code, t.month, t.dim, t.value, 'expert_hours', s.b)
      GROUP BY 1, 2, 3, 4) x
WHERE (r.county_code, r.month, r.dim, r.value) = (x.county_code, x.month, x.dim, x.value);

UPDATE referral_rollup r SET accept_minutes = x.h
FROM (SELECT t.county_code, t.month, t.dim, t.value,
             array_agg(coalesce(d.n, 0) ORDER BY s.b) AS h
      FROM (SELECT county_code, month, dim, value, max(bucket) AS top FROM referral_durations
            WHERE n <> 0 GROUP BY 1, 2, 3, 4) t
      CROSS JOIN LATERAL generate_series(0, t.top) AS s(b)
      LEFT JOIN referral_durations d ON (d.county_code, d.month, d.dim, d.value, d.bucket)
                                      = (t.county_code, t.month, t.dim, t.value, s.b)
      GROUP BY 1, 2, 3, 4) x
WHERE (r.county_code, r.month, r.dim, r.value) = (x.county_code, x.month, x.dim, x.value);

-- The case's part: its counts, the days it took to close (when it is
-- closed) and the hours each of its expert requests waited.
CREATE OR REPLACE FUNCTION case_rollup_add(c cases, sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := stat_month(c.received_at);
    prov text := (SELECT parent_code FROM regions WHERE code = c.city_code);
    requests integer := 0;
    assigned integer := 0;
    visits integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id);
    fully integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id AND f.honoured = 'fully');
    partly integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id AND f.honoured = 'partly');
    nots integer := (SELECT count(*) FROM followups f WHERE f.case_id = c.id AND f.honoured = 'not');
    close_h integer[] := '{}';
    expert_h integer[] := '{}';
    x record;
BEGIN
    IF c.status = 'closed' AND c.accepted_at IS NOT NULL THEN
        close_h := hist_add(close_h,
            least(floor(extract(epoch FROM c.closed_at - c.accepted_at) / 86400), 400)::int, sign);
    END IF;
    FOR x IN SELECT r.requested_at, r.assigned_at, r.expert_id FROM expert_requests r
             WHERE r.case_id = c.id LOOP
        requests := requests + 1;
        IF x.expert_id IS NOT NULL THEN
            assigned := assigned + 1;
        END IF;
        IF x.assigned_at IS NOT NULL THEN
            expert_h := hist_add(expert_h,
                least(floor(extract(epoch FROM x.assigned_at - x.requested_at) / 3600), 720)::int, sign);
        END IF;
    END LOOP;

    INSERT INTO case_rollup AS r (county_code, city_code, province_code, month, dim, value, cases,
        registered, accepted, declined, in_mediation, expert_requested, withdrawn, closed,
        agreement, no_agreement, result_withdrawn, to_litigation, to_elsewhere, written,
        conf_applied, conf_granted, conf_refused, dv, dv_high, safety_referrals, minors, difficult,
        expert_requests, experts_assigned, followups, honoured_fully, honoured_partly, honoured_not,
        close_days, expert_hours)
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
        sign * requests, sign * assigned, sign * visits, sign * fully, sign * partly, sign * nots,
        close_h, expert_h
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
        honoured_not = r.honoured_not + EXCLUDED.honoured_not,
        close_days = hist_merge(r.close_days, EXCLUDED.close_days),
        expert_hours = hist_merge(r.expert_hours, EXCLUDED.expert_hours);
END
$$;

CREATE OR REPLACE FUNCTION case_rollup_bump(case_id bigint, requests integer, assigned integer,
    fully integer, partly integer, nots integer, expert_hours integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c cases := (SELECT x FROM cases x WHERE x.id = case_id);
    m date := stat_month(c.received_at);
    prov text := (SELECT parent_code FROM regions WHERE code = c.city_code);
    expert_h integer[] := hist_add('{}', expert_hours, 1);
BEGIN
    INSERT INTO case_rollup AS r (county_code, city_code, province_code, month, dim, value,
        expert_requests, experts_assigned, followups, honoured_fully, honoured_partly, honoured_not,
        expert_hours)
    SELECT c.county_code, c.city_code, prov, m, d.dim, d.value, requests, assigned,
        fully + partly + nots, fully, partly, nots, expert_h
    FROM (VALUES ('', ''), ('committee', c.committee_id::text), ('dispute_type', c.dispute_type::text),
                 ('source', c.source::text)) AS d(dim, value)
    ON CONFLICT (county_code, month, dim, value) DO UPDATE SET
        expert_requests = r.expert_requests + EXCLUDED.expert_requests,
        experts_assigned = r.experts_assigned + EXCLUDED.experts_assigned,
        followups = r.followups + EXCLUDED.followups,
        honoured_fully = r.honoured_fully + EXCLUDED.honoured_fully,
        honoured_partly = r.honoured_partly + EXCLUDED.honoured_partly,
        honoured_not = r.honoured_not + EXCLUDED.honoured_not,
        expert_hours = hist_merge(r.expert_hours, EXCLUDED.expert_hours);
END
$$;

-- Minutes to acceptance in buckets of 5, up to a week.
CREATE OR REPLACE FUNCTION referral_rollup_add(f referrals, sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := stat_month(f.created_at);
    prov text := (SELECT parent_code FROM regions WHERE code = f.city_code);
    n_declines integer := (SELECT count(*) FROM referral_declines d WHERE d.referral_id = f.id);
    accept_h integer[] := '{}';
BEGIN
    IF f.accepted_at IS NOT NULL THEN
        accept_h := hist_add(accept_h,
            least(floor(extract(epoch FROM f.accepted_at - f.created_at) / 300), 2016)::int, sign);
    END IF;
    INSERT INTO referral_rollup AS r (county_code, city_code, province_code, month, dim, value,
        received, open, accepted, returned, urgent, declines, accept_minutes)
    SELECT f.county_code, f.city_code, prov, m, d.dim, d.value, sign,
        sign * (f.status = 'open')::int, sign * (f.status = 'accepted')::int,
        sign * (f.status = 'returned')::int, sign * (f.urgency = 'urgent')::int, sign * n_declines,
        accept_h
    FROM (VALUES ('', ''), ('source', f.source::text)) AS d(dim, value)
    ON CONFLICT (county_code, month, dim, value) DO UPDATE SET
        received = r.received + EXCLUDED.received, open = r.open + EXCLUDED.open,
        accepted = r.accepted + EXCLUDED.accepted, returned = r.returned + EXCLUDED.returned,
        urgent = r.urgent + EXCLUDED.urgent, declines = r.declines + EXCLUDED.declines,
        accept_minutes = hist_merge(r.accept_minutes, EXCLUDED.accept_minutes);
END
$$;

DROP TABLE case_durations, referral_durations;

-- Open cases past their due date, for a region given as its counties (one
-- index condition, where the three region columns gave a scan of every
-- overdue case in the country).
CREATE FUNCTION region_counties(region text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(code) FROM regions
    WHERE level = 'county' AND (code = region OR parent_code = region
                                OR parent_code IN (SELECT code FROM regions WHERE parent_code = region))
$$;
