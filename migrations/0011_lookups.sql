-- 0011_lookups.sql: indexes that the statistics triggers and the case
-- file's look-ups need at scale (each was a scan of a whole table).

-- A case's expert requests, counted by the statistics trigger on every
-- change of the case.
CREATE INDEX expert_requests_case ON expert_requests (case_id);
