/*
 * sql_referrals.h - the statements of referrals and of idempotent intake
 * (see sql.h for the columns and the audit context parameters $1..$6).
 */
#ifndef TIAOJIE_SQL_REFERRALS_H
#define TIAOJIE_SQL_REFERRALS_H

/* clang-format off */

/* Referral f is in the scope of region $R, mediator $M, creator $C (hotline). */
#define SQL_REFERRAL_SCOPE(f, R, M, C)                                                             \
	"((" R "::text IS NULL OR " R " IN (" f ".county_code, " f ".city_code))"                  \
	" AND (" C "::bigint IS NULL OR " f ".created_by = " C ")"                                 \
	" AND (" M "::bigint IS NULL OR EXISTS (SELECT 1 FROM mediator_committees mc"              \
	" WHERE mc.mediator_id = " M " AND mc.ended_on IS NULL AND mc.committee_id IN ("           \
	f ".committee_id, (SELECT c.committee_id FROM cases c WHERE c.id = " f ".case_id)))))"

#define SQL_SAFETY_GUIDANCE                                                                        \
	"'有人身危险时请立即拨打 110 报警；可向人民法院申请人身安全保护令，"                       \
	"情况紧急的法院应在 24 小时内作出裁定；可联系当地反家暴庇护场所。"                         \
	" In danger, call 110 (police) at once; a court can issue a personal safety"               \
	" protection order, within 24 hours when urgent; local shelters take victims in.'"

/* What any caller who may see the referral knows of it (no personal data). */
#define SQL_REFERRAL_META(f)                                                                       \
	"'id', " f ".id, 'source', " f ".source, 'county_code', " f ".county_code,"                \
	" 'dispute_type', " f ".dispute_type, 'urgency', " f ".urgency, 'status', " f ".status,"   \
	" 'target_committee_id', " f ".target_committee_id, 'committee_id', " f ".committee_id,"   \
	" 'case_id', " f ".case_id, 'case_number', (SELECT c.number FROM cases c"                  \
	" WHERE c.id = " f ".case_id), 'case_status', (SELECT c.status FROM cases c"               \
	" WHERE c.id = " f ".case_id), 'outcome', (SELECT c.result FROM cases c"                   \
	" WHERE c.id = " f ".case_id), 'created_at', " f ".created_at, 'routed_at', " f            \
	".routed_at, 'due_at', " f ".due_at, 'overdue', " f ".status = 'open' AND " f              \
	".due_at < now(), 'accepted_at', " f ".accepted_at, 'safety_guidance', CASE WHEN " f       \
	".dispute_type = 'domestic_violence' AND " f ".urgency = 'urgent' THEN "                   \
	SQL_SAFETY_GUIDANCE " END, 'purged', " f ".purged_at IS NOT NULL, 'version', " f ".version"

#define SQL_REFERRAL_STATEMENTS(X)                                                                 \
	/* Claims idempotency key $2 of user $1 for a request whose body hashes to $3. */          \
	X(SQL_IDEM_FORGET, SQL_SERVE, false, 2,                                                    \
	    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2"                         \
	    " AND (claimed_at < now() - interval '24 hours'"                                       \
	    " OR (completed_at IS NULL AND claimed_at < now() - interval '60 seconds'))")          \
	X(SQL_IDEM_CLAIM, SQL_SERVE, false, 3,                                                     \
	    "INSERT INTO idempotency_keys (user_id, key, request_hash)"                            \
	    " VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT DO NOTHING RETURNING 1")              \
	X(SQL_IDEM_GET, SQL_SERVE, true, 2,                                                        \
	    "SELECT encode(i.request_hash, 'hex'), i.completed_at IS NOT NULL, i.status,"          \
	    " i.referral_id, i.response, f.data_key_id FROM idempotency_keys i"                    \
	    " LEFT JOIN referrals f ON f.id = i.referral_id WHERE i.user_id = $1 AND i.key = $2")  \
	X(SQL_IDEM_RELEASE, SQL_SERVE, false, 2,                                                   \
	    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2"                         \
	    " AND completed_at IS NULL")                                                           \
	X(SQL_IDEM_COMPLETE, SQL_SERVE, false, 5,                                                  \
	    "UPDATE idempotency_keys SET status = $3, referral_id = $4, response = $5::bytea,"     \
	    " completed_at = now() WHERE user_id = $1 AND key = $2 AND completed_at IS NULL")      \
	/* Is $1 a county, and may a referral of it be sent to committee $2? */                    \
	X(SQL_REFERRAL_PLACE, SQL_SERVE, true, 2,                                                  \
	    "SELECT g.code, g.parent_code, $2::bigint IS NULL OR EXISTS (SELECT 1"                 \
	    " FROM committees k WHERE k.id = $2 AND k.established_on <= civil_today()"             \
	    " AND (k.closed_on IS NULL OR k.closed_on > civil_today())"                            \
	    " AND (region_within(k.region_code, g.code) OR (k.kind = 'guidance'"                   \
	    " AND region_within(k.region_code, g.parent_code))))"                                  \
	    " FROM regions g WHERE g.code = $1 AND g.level = 'county'")                            \
	X(SQL_REFERRAL_CREATE, SQL_SERVE, false, 20,                                               \
	    "WITH dest AS (SELECT COALESCE($17::bigint, referral_route($13, $14, $7)) AS k),"      \
	    " f AS (INSERT INTO referrals (id, data_key_id, source, caller_name, caller_phone,"    \
	    " caller_phone_bidx, county_code, city_code, dispute_type, summary, urgency,"          \
	    " target_committee_id, committee_id, status, created_by, routed_at, due_at,"           \
	    " guidance_routed)"                                                                    \
	    " SELECT $7, $8, $9::referral_source, $10::bytea, $11::bytea, $12::integer, $13, $14," \
	    " $15::dispute_type, $16::bytea, $18, $17::bigint, dest.k, CASE WHEN dest.k IS NULL"   \
	    " THEN 'returned' ELSE 'open' END::referral_status, $1::bigint, now(),"                \
	    " now() + make_interval(hours => CASE WHEN $18 = 'urgent' THEN $20::integer"           \
	    " ELSE $19::integer END), $17::bigint IS NULL AND EXISTS (SELECT 1 FROM committees k"  \
	    " WHERE k.id = dest.k AND k.kind = 'guidance') FROM dest RETURNING *),"                \
	    " a AS (" SQL_AUDIT_FROM("referral.create", "referral", "f.id::text", "201", "f") ")"  \
	    " SELECT f.id FROM f")                                                                 \
	/* One referral: meta, sealed members, key, status, committee, version. */                 \
	X(SQL_REFERRAL_GET, SQL_SERVE, true, 4,                                                    \
	    "SELECT json_build_object(" SQL_REFERRAL_META("f") ", 'caller_name', f.caller_name,"   \
	    " 'caller_phone', f.caller_phone, 'summary', f.summary,"                               \
	    " 'declines', COALESCE((SELECT json_agg(json_build_object('committee_id',"             \
	    " d.committee_id, 'at', d.at, 'reason', d.reason) ORDER BY d.id)"                      \
	    " FROM referral_declines d WHERE d.referral_id = f.id), '[]'))::text,"                 \
	    " f.data_key_id, f.status, f.committee_id, f.version, f.purged_at IS NOT NULL"         \
	    " FROM referrals f WHERE f.id = $1 AND " SQL_REFERRAL_SCOPE("f", "$2", "$3", "$4"))    \
	X(SQL_REFERRALS_LIST, SQL_SERVE, true, 11,                                                 \
	    "WITH page AS (SELECT f.* FROM referrals f WHERE "                                     \
	    SQL_REFERRAL_SCOPE("f", "$1", "$2", "$3")                                              \
	    " AND ($4::referral_status IS NULL OR f.status = $4)"                                  \
	    " AND ($5::text IS NULL OR $5 IN (f.county_code, f.city_code))"                        \
	    " AND ($6::referral_source IS NULL OR f.source = $6)"                                  \
	    " AND ($7::boolean IS NULL OR (f.status = 'open' AND f.due_at < now()) = $7)"          \
	    " AND ($8::bigint IS NULL OR f.committee_id = $8)"                                     \
	    " AND ($9::text IS NULL OR f.urgency = $9)"                                            \
	    " AND ($10::bigint IS NULL OR f.id > $10) ORDER BY f.id LIMIT $11::integer + 1),"      \
	    " shown AS (SELECT * FROM page ORDER BY id LIMIT $11)"                                 \
	    " SELECT json_build_object('items', COALESCE((SELECT json_agg(json_build_object("      \
	    SQL_REFERRAL_META("s") ") ORDER BY s.id) FROM shown s), '[]'), 'next_after', CASE"     \
	    " WHEN (SELECT count(*) FROM page) > $11 THEN (SELECT max(id) FROM shown) END)::text") \
	/* Referral $7, open at committee $8, taken up by case $9. */                              \
	X(SQL_REFERRAL_TAKE_UP, SQL_SERVE, false, 9,                                               \
	    "WITH f AS (UPDATE referrals SET status = 'accepted', case_id = $9, accepted_at = now()," \
	    " accepted_by = $1::bigint, version = version + 1 WHERE id = $7 AND status = 'open'"   \
	    " AND committee_id = $8 RETURNING *),"                                                 \
	    " a AS (" SQL_AUDIT_FROM("referral.accept", "referral", "f.id::text", "201", "f") ")"  \
	    " SELECT f.id FROM f")                                                                 \
	/* Committee $3 declines referral $2 for reason $4, by user $1 (audited on re-routing). */ \
	X(SQL_REFERRAL_DECLINE, SQL_SERVE, false, 4,                                               \
	    "INSERT INTO referral_declines (referral_id, committee_id, actor_id, reason)"          \
	    " SELECT f.id, f.committee_id, $1::bigint, $4 FROM referrals f WHERE f.id = $2"        \
	    " AND f.status = 'open' AND f.committee_id = $3 FOR UPDATE OF f RETURNING id")         \
	/* After a decline (in the same transaction): the next committee, or the queue. */         \
	X(SQL_REFERRAL_REROUTE, SQL_SERVE, false, 7,                                               \
	    "WITH dest AS (SELECT referral_route(f.county_code, f.city_code, f.id) AS k"           \
	    " FROM referrals f WHERE f.id = $7),"                                                  \
	    " f AS (UPDATE referrals f SET committee_id = dest.k, status = CASE WHEN dest.k"       \
	    " IS NULL THEN 'returned' ELSE 'open' END::referral_status, routed_at = now(),"        \
	    " guidance_routed = f.guidance_routed OR EXISTS (SELECT 1 FROM committees k"           \
	    " WHERE k.id = dest.k AND k.kind = 'guidance'), version = f.version + 1"               \
	    " FROM dest WHERE f.id = $7 RETURNING f.*),"                                           \
	    " a AS (" SQL_AUDIT_FROM("referral.decline", "referral", "f.id::text", "204", "f") ")" \
	    " SELECT f.id FROM f")                                                                 \
	/* A returned referral sent to committee $8 by the hotline. */                             \
	X(SQL_REFERRAL_ROUTE, SQL_SERVE, false, 10,                                                \
	    "WITH f AS (UPDATE referrals f SET committee_id = $8, status = 'open',"                \
	    " routed_at = now(), due_at = now() + make_interval(hours => CASE"                     \
	    " WHEN f.urgency = 'urgent' THEN $10::integer ELSE $9::integer END),"                  \
	    " version = f.version + 1 WHERE f.id = $7 AND f.status = 'returned'"                   \
	    " RETURNING f.*),"                                                                     \
	    " a AS (" SQL_AUDIT_FROM("referral.route", "referral", "f.id::text", "200", "f") ")"   \
	    " SELECT f.id FROM f")                                                                 \
	/* Open referrals whose caller's phone may be a party's of case $1 (in scope $2, $3?). */ \
	X(SQL_CASE_DUP_REFERRALS, SQL_SERVE, true, 3,                                              \
	    "SELECT f.id, f.status, f.committee_id, " SQL_REFERRAL_SCOPE("f", "$2", "$3", "NULL")  \
	    ", f.data_key_id, f.caller_phone FROM referrals f WHERE f.status = 'open'"             \
	    " AND f.caller_phone_bidx IN (SELECT phone_bidx FROM parties WHERE case_id = $1"       \
	    " AND phone_bidx IS NOT NULL)"                                                         \
	    " ORDER BY f.id LIMIT 500")                                                            \
	/* Referrals whose caller's phone has blind index $1: candidates to confirm. */            \
	X(SQL_REFERRAL_CALLERS, SQL_SERVE, true, 2,                                                \
	    "SELECT json_build_object(" SQL_REFERRAL_META("f") ", 'mine', f.created_by = $2)::text," \
	    " f.id, f.data_key_id, f.caller_phone FROM referrals f"                                \
	    " WHERE f.caller_phone_bidx = $1 ORDER BY f.id DESC LIMIT 1000")
/* clang-format on */

#endif
