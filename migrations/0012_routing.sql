-- 0012_routing.sql: routing a referral looks only at the committees under
-- its county (found by walking the region tree down from it) and the
-- city's guidance committee, and counts each one's open cases from an
-- index of open cases, instead of testing every committee of the country.

CREATE INDEX cases_open_committee ON cases (committee_id)
    WHERE status IN ('registered', 'accepted', 'in_mediation', 'expert_requested');

CREATE OR REPLACE FUNCTION referral_route(county text, city text, referral bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE under_county AS (
        SELECT code, 0 AS depth FROM regions WHERE code = county
        UNION ALL
        SELECT g.code, u.depth + 1 FROM regions g JOIN under_county u ON g.parent_code = u.code
        WHERE u.depth < 16
    )
    SELECT k.id FROM committees k
    WHERE k.established_on <= civil_today() AND (k.closed_on IS NULL OR k.closed_on > civil_today())
      AND ((k.kind IN ('committee', 'room') AND k.region_code IN (SELECT code FROM under_county))
           OR (k.kind = 'guidance' AND (k.region_code = city
                                        OR k.region_code IN (SELECT code FROM under_county))))
      AND NOT EXISTS (SELECT 1 FROM referral_declines d
                      WHERE d.referral_id = referral AND d.committee_id = k.id)
    ORDER BY k.kind = 'guidance',
             (SELECT count(*) FROM cases c WHERE c.committee_id = k.id
                AND c.status IN ('registered', 'accepted', 'in_mediation', 'expert_requested')),
             k.id
    LIMIT 1
$$;
