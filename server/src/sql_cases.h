/*
 * sql_cases.h - the statements of the case file (see sql.h for the
 * columns and the audit context parameters $1..$6, docs/CASES.md for the
 * rules). Encrypted columns are handed to the server as bytea text and
 * opened there; PostgreSQL never sees a key.
 */
#ifndef TIAOJIE_SQL_CASES_H
#define TIAOJIE_SQL_CASES_H

/* Statuses in which a case is open. */
#define SQL_CASE_OPEN "('accepted', 'in_mediation', 'expert_requested')"

/* The case c is in the scope given by region $R and mediator $M. */
#define SQL_CASE_SCOPE(c, R, M)                                                                    \
	"case_in_scope(" c ".committee_id, " c ".county_code, " c ".city_code, " R "::text, " M    \
	"::bigint)"

/* The civil day of a timestamp. */
#define SQL_DAY(t) "((" t ") AT TIME ZONE 'Asia/Shanghai')::date"

/* What any caller of the case may know about it, lists included. */
#define SQL_CASE_META(c)                                                                           \
	"'id', " c ".id, 'number', " c ".number, 'committee_id', " c ".committee_id,"              \
	" 'county_code', " c ".county_code, 'source', " c ".source, 'referral_id', " c             \
	".referral_id, 'dispute_type', " c ".dispute_type, 'minors_involved', " c                  \
	".minors_involved, 'domestic_violence', json_build_object('flag', " c ".dv_flag,"          \
	" 'risk', " c ".dv_risk, 'safety_referral', " c ".safety_referral,"                        \
	" 'safety_referred_on', " c ".safety_referred_on), 'difficulty', " c ".difficulty,"        \
	" 'lead_mediator_id', " c ".lead_mediator_id, 'expert_id', " c ".expert_id,"               \
	" 'status', " c ".status, 'decline_reason', " c ".decline_reason,"                         \
	" 'received_at', " c ".received_at, 'accepted_at', " c ".accepted_at,"                     \
	" 'closed_at', " c ".closed_at, 'due_on', " c ".due_on,"                                   \
	" 'overdue', " c ".status IN " SQL_CASE_OPEN " AND " c ".due_on < civil_today(),"          \
	" 'result', " c ".result, 'confirmation_apply_by', CASE WHEN " c                           \
	".agreement_form = 'written' THEN " c ".agreement_effective_on + 30 END,"                  \
	" 'followup_due_on', CASE WHEN " c ".result = 'agreement' AND NOT EXISTS (SELECT 1"        \
	" FROM followups f WHERE f.case_id = " c ".id) THEN " SQL_DAY(                             \
	    c ".closed_at") " + 30 END,"                                                           \
			    " 'purged', " c ".purged_at IS NOT NULL, 'version', " c ".version,"    \
			    " 'created_at', " c ".created_at, 'updated_at', " c ".updated_at"

/* The whole file; encrypted members as bytea text, for the server to open or drop. */
#define SQL_CASE_DOC(c)                                                                            \
	"json_build_object(" SQL_CASE_META(                                                        \
	    c) ", 'summary', " c ".summary,"                                                       \
	       " 'co_mediator_ids', COALESCE((SELECT json_agg(cm.mediator_id ORDER BY "            \
	       "cm.mediator_id)"                                                                   \
	       " FROM case_co_mediators cm WHERE cm.case_id = " c ".id), '[]'),"                   \
	       " 'outcome', CASE WHEN " c                                                          \
	       ".result IS NOT NULL THEN json_build_object('result', " c                           \
	       ".result, 'agreement_form', " c ".agreement_form, 'agreement', " c ".agreement,"    \
	       " 'effective_on', " c ".agreement_effective_on) END,"                               \
	       " 'confirmation', CASE WHEN " c ".confirmation IS NOT NULL THEN json_build_object(" \
	       "'status', " c ".confirmation, 'applied_on', " c ".confirmation_applied_on,"        \
	       " 'decided_on', " c ".confirmation_decided_on) END,"                                \
	       " 'parties', COALESCE((SELECT json_agg(json_build_object('id', p.id, 'role', "      \
	       "p.role,"                                                                           \
	       " 'name', p.name, 'id_number', p.id_number, 'phone', p.phone, 'address', "          \
	       "p.address,"                                                                        \
	       " 'gender', p.gender, 'birth_year', p.birth_year, 'relationship', p.relationship)"  \
	       " ORDER BY p.id) FROM parties p WHERE p.case_id = " c ".id), '[]'),"                \
	       " 'sessions', COALESCE((SELECT json_agg(json_build_object('id', s.id, 'held_at',"   \
	       " s.held_at, 'place', s.place, 'attendees', s.attendees, 'notes', s.notes)"         \
	       " ORDER BY s.held_at, s.id) FROM case_sessions s WHERE s.case_id = " c              \
	       ".id), '[]'),"                                                                      \
	       " 'followups', COALESCE((SELECT json_agg(json_build_object('id', f.id, "            \
	       "'visited_on',"                                                                     \
	       " f.visited_on, 'honoured', f.honoured, 'notes', f.notes) ORDER BY f.visited_on, "  \
	       "f.id)"                                                                             \
	       " FROM followups f WHERE f.case_id = " c ".id), '[]'),"                             \
	       " 'expert_requests', COALESCE((SELECT json_agg(json_build_object('specialty',"      \
	       " x.specialty, 'requested_at', x.requested_at, 'expert_id', x.expert_id,"           \
	       " 'assigned_at', x.assigned_at) ORDER BY x.id) FROM expert_requests x"              \
	       " WHERE x.case_id = " c ".id), '[]'),"                                              \
	       " 'extensions', COALESCE((SELECT json_agg(json_build_object('at', e.at, "           \
	       "'from_due',"                                                                       \
	       " e.from_due, 'to_due', e.to_due, 'reason', e.reason) ORDER BY e.id)"               \
	       " FROM case_extensions e WHERE e.case_id = " c ".id), '[]'),"                       \
	       " 'events', COALESCE((SELECT json_agg(json_build_object('at', v.at, 'actor_id',"    \
	       " v.actor_id, 'from', v.from_status, 'to', v.to_status, 'detail', v.detail)"        \
	       " ORDER BY v.id) FROM case_events v WHERE v.case_id = " c ".id), '[]'))"

/* Bumps the version of case $7 at version $8; the row for what follows. */
#define SQL_CASE_BUMP(extra)                                                                       \
	"c AS (UPDATE cases c SET version = c.version + 1, updated_at = now() WHERE c.id = $7"     \
	" AND c.version = $8::integer AND c.purged_at IS NULL" extra " RETURNING c.*)"

/* clang-format off */

/*
 * A page of cases; scope is the condition on c of the caller's scope ($1
 * region, $2 mediator record). A mediator's list has its own statement,
 * so that its committees are an index condition in every plan.
 */
#define SQL_CASES_LIST_TEXT(scope)                                                                 \
	"WITH page AS (SELECT c.* FROM cases c WHERE " scope                                       \
	    " AND ($3::case_status IS NULL OR c.status = $3)"                                      \
	    " AND ($4::dispute_type IS NULL OR c.dispute_type = $4)"                               \
	    " AND ($5::bigint IS NULL OR c.committee_id = $5)"                                     \
	    " AND ($6::text IS NULL OR $6 IN (c.county_code, c.city_code))"                        \
	    " AND ($7::case_source IS NULL OR c.source = $7)"                                      \
	    " AND ($8::date IS NULL OR " SQL_DAY("c.received_at") " >= $8)"                        \
	    " AND ($9::date IS NULL OR " SQL_DAY("c.received_at") " <= $9)"                        \
	    " AND ($10::boolean IS NULL OR COALESCE(c.status IN " SQL_CASE_OPEN                    \
	    " AND c.due_on < civil_today(), false) = $10)"                                         \
	    " AND ($11::boolean IS NULL OR COALESCE(c.agreement_form = 'written'"                  \
	    " AND c.confirmation IS NULL AND c.agreement_effective_on + 30 >= civil_today(),"      \
	    " false) = $11)"                                                                       \
	    " AND ($12::boolean IS NULL OR COALESCE(c.result = 'agreement' AND "                   \
	    SQL_DAY("c.closed_at") " + 30 <= civil_today() AND NOT EXISTS (SELECT 1"               \
	    " FROM followups f WHERE f.case_id = c.id), false) = $12)"                             \
	    " AND ($13::bigint IS NULL OR c.id > $13) ORDER BY c.id LIMIT $14::integer + 1),"      \
	    " shown AS (SELECT * FROM page ORDER BY id LIMIT $14)"                                 \
	    " SELECT json_build_object('items', COALESCE((SELECT json_agg(json_build_object("      \
	    SQL_CASE_META("s") ") ORDER BY s.id) FROM shown s), '[]'), 'next_after', CASE WHEN"    \
	    " (SELECT count(*) FROM page) > $14 THEN (SELECT max(id) FROM shown) END)::text"

#define SQL_CASE_STATEMENTS(X)                                                                        \
	X(SQL_NEXT_IDS, SQL_SERVE, false, 2,                                                          \
	    "SELECT ARRAY(SELECT nextval($1::regclass) FROM generate_series(1, $2::integer))")        \
	/* Where a new case of committee $1 would sit, and whether it may. */                         \
	X(SQL_CASE_PLACE, SQL_SERVE, true, 6,                                                         \
	    "WITH RECURSIVE up AS (SELECT g.code, g.parent_code, g.level, 0 AS depth"                 \
	    " FROM committees k JOIN regions g ON g.code = k.region_code WHERE k.id = $1"             \
	    " UNION ALL SELECT p.code, p.parent_code, p.level, up.depth + 1 FROM regions p"           \
	    " JOIN up ON p.code = up.parent_code WHERE up.depth < 16),"                               \
	    /* A committee above the counties (the guidance committee) takes $6. */                   \
	    " k AS (SELECT code, parent_code FROM up WHERE level = 'county'"                          \
	    " UNION ALL SELECT g.code, g.parent_code FROM regions g WHERE g.code = $6::text"          \
	    " AND g.level = 'county' AND EXISTS (SELECT 1 FROM up) AND NOT EXISTS"                    \
	    " (SELECT 1 FROM up WHERE level = 'county'))"                                             \
	    " SELECT u.code, u.parent_code, case_in_scope($1, u.code, u.parent_code, $2::text,"       \
	    " $3::bigint), EXISTS (SELECT 1 FROM committees k WHERE k.id = $1"                        \
	    " AND k.established_on <= civil_today()"                                                  \
	    " AND (k.closed_on IS NULL OR k.closed_on > civil_today())),"                             \
	    " $4::bigint IS NULL OR EXISTS (SELECT 1 FROM mediator_committees mc"                     \
	    " WHERE mc.mediator_id = $4 AND mc.committee_id = $1 AND mc.ended_on IS NULL),"           \
	    " (SELECT count(*) FROM mediator_committees mc WHERE mc.committee_id = $1"                \
	    " AND mc.ended_on IS NULL AND mc.mediator_id = ANY ($5::bigint[]))"                       \
	    " = cardinality(COALESCE($5::bigint[], '{}'))"                                            \
	    " FROM k u LIMIT 1")                                                                      \
	X(SQL_CASE_CREATE, SQL_SERVE, false, 22,                                                      \
	    "WITH t AS (SELECT COALESCE($21::timestamptz, now()) AS received),"                       \
	    " n AS (INSERT INTO case_counters (county_code, year, last)"                              \
	    " SELECT $10, extract(year FROM t.received AT TIME ZONE 'Asia/Shanghai')::integer, 1"     \
	    " FROM t ON CONFLICT (county_code, year) DO UPDATE SET last = case_counters.last + 1"     \
	    " RETURNING year, last),"                                                                 \
	    " c AS (INSERT INTO cases (id, data_key_id, number, committee_id, county_code,"           \
	    " city_code, source, referral_id, dispute_type, summary, minors_involved, dv_flag,"       \
	    " dv_risk, difficulty, lead_mediator_id, received_at)"                                    \
	    " SELECT $7, $8, $10 || '-' || n.year || '-' || CASE WHEN n.last < 10000"                 \
	    " THEN lpad(n.last::text, 4, '0') ELSE n.last::text END, $9, $10, $11,"                   \
	    " $12::case_source, $22::bigint, $13::dispute_type, $14::bytea,"                          \
	    " COALESCE($15::boolean, false), COALESCE($16::boolean, false), $17::dv_risk,"            \
	    " COALESCE($18, 'ordinary'), $19::bigint, t.received FROM n, t RETURNING *),"             \
	    " co AS (INSERT INTO case_co_mediators (case_id, mediator_id)"                            \
	    " SELECT c.id, unnest($20::bigint[]) FROM c),"                                            \
	    " ev AS (INSERT INTO case_events (case_id, actor_id, to_status)"                          \
	    " SELECT c.id, $1::bigint, 'registered' FROM c),"                                         \
	    " a AS (" SQL_AUDIT_FROM(                                                                 \
		"case.create", "case", "c.id::text", "201", "c") ")"                                  \
								 " SELECT c.id, c.number FROM c")     \
	X(SQL_PARTIES_INSERT, SQL_SERVE, false, 12,                                                   \
	    "INSERT INTO parties (id, case_id, role, name, id_number, phone, address, gender,"        \
	    " birth_year, relationship, phone_bidx, id_bidx)"                                         \
	    " SELECT u.id, $1, u.role, u.name, u.idn, u.phone, u.address, u.gender, u.byear,"         \
	    " u.rel, u.pb, u.ib FROM unnest($2::bigint[], $3::text[], $4::bytea[], $5::bytea[],"      \
	    " $6::bytea[], $7::bytea[], $8::text[], $9::integer[], $10::text[], $11::integer[],"      \
	    " $12::integer[]) AS u(id, role, name, idn, phone, address, gender, byear, rel, pb,"      \
	    " ib)")                                                                                   \
	X(SQL_CASE_GET, SQL_SERVE, true, 3,                                                           \
	    "SELECT " SQL_CASE_DOC(                                                                   \
		"c") "::text, c.data_key_id, c.version, c.purged_at IS NOT NULL"                      \
		     " FROM cases c WHERE c.id = $1 AND " SQL_CASE_SCOPE("c", "$2", "$3"))            \
	/* What a write to case $1 needs to know first. */                                            \
	X(SQL_CASE_KEY, SQL_SERVE, true, 3,                                                           \
	    "SELECT c.data_key_id, c.version, c.status, c.purged_at IS NOT NULL, c.dv_risk,"          \
	    " c.safety_referral, c.difficulty, c.result, c.agreement_form, c.due_on, "                \
	    "c.committee_id"                                                                          \
	    " FROM cases c WHERE c.id = $1 AND " SQL_CASE_SCOPE("c", "$2", "$3"))                     \
	X(SQL_CASES_LIST, SQL_SERVE, true, 14,                                                     \
	    SQL_CASES_LIST_TEXT("($1::text IS NULL OR $1 IN (c.county_code, c.city_code))"         \
				" AND $2::bigint IS NULL"))                                        \
	X(SQL_CASES_LIST_MEDIATOR, SQL_SERVE, true, 14,                                            \
	    SQL_CASES_LIST_TEXT("($1::text IS NULL OR $1 IN (c.county_code, c.city_code))"         \
				" AND c.committee_id = ANY (ARRAY(SELECT mc.committee_id"          \
				" FROM mediator_committees mc WHERE mc.mediator_id = $2::bigint"   \
				" AND mc.ended_on IS NULL))"))                                     \
	/* Are $2 (lead) and $3 (co-mediators) serving the committee of case $1? */                   \
	X(SQL_CASE_MEMBERS_OK, SQL_SERVE, true, 3,                                                    \
	    "SELECT ($2::bigint IS NULL OR EXISTS (SELECT 1 FROM mediator_committees mc"              \
	    " WHERE mc.mediator_id = $2 AND mc.committee_id = c.committee_id"                         \
	    " AND mc.ended_on IS NULL)) AND (SELECT count(*) FROM mediator_committees mc"             \
	    " WHERE mc.committee_id = c.committee_id AND mc.ended_on IS NULL"                         \
	    " AND mc.mediator_id = ANY ($3::bigint[])) = cardinality(COALESCE($3::bigint[], "         \
	    "'{}'))"                                                                                  \
	    " FROM cases c WHERE c.id = $1")                                                          \
	X(SQL_CASE_UPDATE, SQL_SERVE, false, 25,                                                      \
	    "WITH c AS (UPDATE cases c SET source = COALESCE($9::case_source, c.source),"             \
	    " dispute_type = COALESCE($10::dispute_type, c.dispute_type),"                            \
	    " summary = CASE WHEN $11::boolean THEN $12::bytea ELSE c.summary END,"                   \
	    " minors_involved = COALESCE($13::boolean, c.minors_involved),"                           \
	    " dv_flag = COALESCE($14::boolean, c.dv_flag),"                                           \
	    " dv_risk = CASE WHEN $15::boolean THEN $16::dv_risk ELSE c.dv_risk END,"                 \
	    " safety_referral = CASE WHEN $17::boolean THEN $18 ELSE c.safety_referral END,"          \
	    " safety_referred_on = CASE WHEN $17::boolean THEN $19::date"                             \
	    " ELSE c.safety_referred_on END, difficulty = COALESCE($20, c.difficulty),"               \
	    " lead_mediator_id = CASE WHEN $21::boolean THEN $22::bigint"                             \
	    " ELSE c.lead_mediator_id END, received_at = COALESCE($25::timestamptz,"                  \
	    " c.received_at), version = c.version + 1, updated_at = now()"                            \
	    " WHERE c.id = $7 AND c.version = $8::integer AND c.purged_at IS NULL RETURNING c.*),"    \
	    " d AS (DELETE FROM case_co_mediators cm USING c WHERE $23::boolean"                      \
	    " AND cm.case_id = c.id AND NOT (cm.mediator_id = ANY (COALESCE($24::bigint[], "          \
	    "'{}')))),"                                                                               \
	    " i AS (INSERT INTO case_co_mediators (case_id, mediator_id)"                             \
	    " SELECT c.id, unnest($24::bigint[]) FROM c WHERE $23::boolean ON CONFLICT DO "           \
	    "NOTHING),"                                                                               \
	    " a AS (" SQL_AUDIT_FROM(                                                                 \
		"case.update", "case", "c.id::text", "200", "c") ")"                                  \
								 " SELECT c.id FROM c")               \
	X(SQL_CASE_PARTY_ADD, SQL_SERVE, false, 8,                                                    \
	    "WITH " SQL_CASE_BUMP("") ","                                                             \
				      " a AS (" SQL_AUDIT_FROM("case.party.create", "case",           \
					  "c.id::text", "201", "c") ")"                               \
								    " SELECT c.id FROM c")            \
	/* Party $9 of case $7: $10 role; sealed members with "given?" flags and indexes. */     \
	X(SQL_CASE_PARTY_UPDATE, SQL_SERVE, false, 25,                                             \
	    "WITH t AS (SELECT 1 FROM parties WHERE id = $9 AND case_id = $7),"                    \
	    " c AS (UPDATE cases c SET version = c.version + 1, updated_at = now()"                \
	    " WHERE c.id = $7 AND c.version = $8::integer AND c.purged_at IS NULL"                 \
	    " AND EXISTS (SELECT 1 FROM t) RETURNING c.*),"                                        \
	    " p AS (UPDATE parties p SET role = COALESCE($10, p.role),"                            \
	    " name = COALESCE($11::bytea, p.name),"                                                \
	    " id_number = CASE WHEN $12::boolean THEN $13::bytea ELSE p.id_number END,"            \
	    " id_bidx = CASE WHEN $12::boolean THEN $14::integer ELSE p.id_bidx END,"              \
	    " phone = CASE WHEN $15::boolean THEN $16::bytea ELSE p.phone END,"                    \
	    " phone_bidx = CASE WHEN $15::boolean THEN $17::integer ELSE p.phone_bidx END,"        \
	    " address = CASE WHEN $18::boolean THEN $19::bytea ELSE p.address END,"                \
	    " gender = CASE WHEN $20::boolean THEN $21 ELSE p.gender END,"                         \
	    " birth_year = CASE WHEN $22::boolean THEN $23::integer ELSE p.birth_year END,"        \
	    " relationship = CASE WHEN $24::boolean THEN $25 ELSE p.relationship END,"             \
	    " updated_at = now() FROM c WHERE p.id = $9 AND p.case_id = c.id),"                    \
	    " a AS (" SQL_AUDIT_FROM("case.party.update", "case", "c.id::text", "200", "c") ")"    \
	    " SELECT EXISTS (SELECT 1 FROM t), (SELECT id FROM c)")                                \
	X(SQL_CASE_TRANSITION, SQL_SERVE, false, 17,                                                  \
	    "WITH c AS (UPDATE cases c SET status = $10::case_status,"                                \
	    " decline_reason = CASE WHEN $10::case_status = 'declined' THEN $11::decline_reason"      \
	    " ELSE c.decline_reason END,"                                                             \
	    " accepted_at = CASE WHEN $10::case_status = 'accepted' THEN now()"                       \
	    " ELSE c.accepted_at END,"                                                                \
	    " due_on = CASE WHEN $10::case_status = 'accepted' THEN (civil_today()"                   \
	    " + interval '1 month')::date ELSE c.due_on END,"                                         \
	    " closed_at = CASE WHEN $10::case_status IN ('closed', 'withdrawn', 'declined')"          \
	    " THEN now() ELSE c.closed_at END,"                                                       \
	    " result = CASE WHEN $10::case_status = 'closed' THEN $12::case_result"                   \
	    " ELSE c.result END,"                                                                     \
	    " agreement_form = CASE WHEN $10::case_status = 'closed' THEN $13"                        \
	    " ELSE c.agreement_form END,"                                                             \
	    " agreement = CASE WHEN $10::case_status = 'closed' THEN $14::bytea"                      \
	    " ELSE c.agreement END,"                                                                  \
	    " agreement_effective_on = CASE WHEN $10::case_status = 'closed' THEN $15::date"          \
	    " ELSE c.agreement_effective_on END, version = c.version + 1, updated_at = now()"         \
	    " WHERE c.id = $7 AND c.version = $8::integer AND c.status = $9::case_status"             \
	    " AND c.purged_at IS NULL RETURNING c.*),"                                                \
	    " e AS (INSERT INTO case_events (case_id, actor_id, from_status, to_status, detail)"      \
	    " SELECT c.id, $1::bigint, $9::case_status, c.status, $16 FROM c),"                       \
	    " x AS (INSERT INTO expert_requests (case_id, specialty, requested_by)"                   \
	    " SELECT c.id, $17::specialty, $1::bigint FROM c WHERE c.status = "                       \
	    "'expert_requested'),"                                                                    \
	    " a AS (" SQL_AUDIT_FROM(                                                                 \
		"case.transition", "case", "c.id::text", "200", "c") ")"                              \
								     " SELECT c.id FROM c")           \
	X(SQL_CASE_ASSIGN_EXPERT, SQL_SERVE, false, 9,                                                \
	    "WITH ok AS (SELECT EXISTS (SELECT 1 FROM mediators m WHERE m.id = $9 AND m.expert"       \
	    " AND m.active) AS fine),"                                                                \
	    " c AS (UPDATE cases c SET status = 'in_mediation', expert_id = $9,"                      \
	    " version = c.version + 1, updated_at = now() FROM ok WHERE ok.fine AND c.id = $7"        \
	    " AND c.version = $8::integer AND c.status = 'expert_requested' RETURNING c.*),"          \
	    " r AS (UPDATE expert_requests x SET expert_id = $9, assigned_at = now(),"                \
	    " assigned_by = $1::bigint FROM c WHERE x.case_id = c.id AND x.expert_id IS NULL),"       \
	    " e AS (INSERT INTO case_events (case_id, actor_id, from_status, to_status, detail)"      \
	    " SELECT c.id, $1::bigint, 'expert_requested', 'in_mediation', 'expert ' || $9 FROM "     \
	    "c),"                                                                                     \
	    " a AS (" SQL_AUDIT_FROM("case.expert", "case", "c.id::text", "200",                      \
		"c") ")"                                                                              \
		     " SELECT ok.fine, c.id FROM ok LEFT JOIN c ON true")                             \
	X(SQL_CASE_SESSION_ADD, SQL_SERVE, false, 13,                                                 \
	    "WITH " SQL_CASE_BUMP(                                                                    \
		" AND c.status IN " SQL_CASE_OPEN) ","                                                \
						   " s AS (INSERT INTO case_sessions (id, "           \
						   "case_id, held_at, place, attendees, notes,"       \
						   " created_by) SELECT $9, c.id, "                   \
						   "$10::timestamptz, $11::bytea, $12::bytea, "       \
						   "$13::bytea,"                                      \
						   " $1::bigint FROM c),"                             \
						   " a AS (" SQL_AUDIT_FROM("case.session.create",    \
						       "case", "c.id::text", "201",                   \
						       "c") ")"                                       \
							    " SELECT c.id FROM c")                    \
	X(SQL_CASE_FOLLOWUP_ADD, SQL_SERVE, false, 12,                                                \
	    "WITH " SQL_CASE_BUMP(                                                                    \
		" AND c.result = 'agreement'") ","                                                    \
					       " f AS (INSERT INTO followups (id, case_id, "          \
					       "visited_on, honoured, notes, created_by)"             \
					       " SELECT $9, c.id, $10::date, $11, $12::bytea, "       \
					       "$1::bigint FROM c),"                                  \
					       " a AS (" SQL_AUDIT_FROM("case.followup.create",       \
						   "case", "c.id::text", "201",                       \
						   "c") ")"                                           \
							" SELECT c.id FROM c")                        \
	X(SQL_CASE_CONFIRMATION, SQL_SERVE, false, 11,                                                \
	    "WITH c AS (UPDATE cases c SET confirmation = $9, confirmation_applied_on = "             \
	    "$10::date,"                                                                              \
	    " confirmation_decided_on = $11::date, version = c.version + 1, updated_at = now()"       \
	    " WHERE c.id = $7 AND c.version = $8::integer AND c.purged_at IS NULL"                    \
	    " AND c.result = 'agreement' RETURNING c.*),"                                             \
	    " a AS (" SQL_AUDIT_FROM(                                                                 \
		"case.confirmation", "case", "c.id::text", "200", "c") ")"                            \
								       " SELECT c.id FROM c")         \
	X(SQL_CASE_EXTEND, SQL_SERVE, false, 10,                                                      \
	    "WITH old AS (SELECT due_on FROM cases WHERE id = $7),"                                   \
	    " c AS (UPDATE cases c SET due_on = $9::date, version = c.version + 1,"                   \
	    " updated_at = now() WHERE c.id = $7 AND c.version = $8::integer"                         \
	    " AND c.status IN " SQL_CASE_OPEN " AND c.due_on < $9::date RETURNING c.*),"              \
	    " x AS (INSERT INTO case_extensions (case_id, actor_id, from_due, to_due, reason)"        \
	    " SELECT c.id, $1::bigint, old.due_on, c.due_on, $10 FROM c, old),"                       \
	    " a AS (" SQL_AUDIT_FROM(                                                                 \
		"case.extend", "case", "c.id::text", "200", "c") ")"                                  \
								 " SELECT c.id FROM c")               \
	/* The phones and ID numbers of case $1's parties, sealed, with the case's key. */          \
	X(SQL_CASE_OWN_PARTIES, SQL_SERVE, true, 1,                                                \
	    "SELECT c.data_key_id, p.id, p.phone, p.id_number FROM cases c"                        \
	    " JOIN parties p ON p.case_id = c.id WHERE c.id = $1 AND c.purged_at IS NULL"          \
	    " AND (p.phone IS NOT NULL OR p.id_number IS NOT NULL) ORDER BY p.id")                 \
	/*                                                                                         \
	 * Parties of other open cases whose blind indexes match one of case $1's:                 \
	 * candidates, confirmed by the server by decrypting. In scope of $2, $3?                  \
	 */                                                                                        \
	X(SQL_CASE_DUP_CANDIDATES, SQL_SERVE, true, 3,                                             \
	    "WITH mine AS (SELECT phone_bidx, id_bidx FROM parties WHERE case_id = $1),"           \
	    /* Two index look-ups, not one scan for either. */                                     \
	    " cand AS (SELECT p.id, p.case_id, p.phone, p.id_number, p.phone_bidx, p.id_bidx"      \
	    " FROM parties p WHERE p.phone_bidx IN (SELECT phone_bidx FROM mine"                   \
	    " WHERE phone_bidx IS NOT NULL) UNION SELECT p.id, p.case_id, p.phone, p.id_number,"   \
	    " p.phone_bidx, p.id_bidx FROM parties p WHERE p.id_bidx IN (SELECT id_bidx FROM mine" \
	    " WHERE id_bidx IS NOT NULL))"                                                         \
	    " SELECT c.id, c.number, c.status, c.committee_id, " SQL_CASE_SCOPE("c", "$2", "$3")   \
	    ", c.data_key_id, p.id, p.phone, p.id_number,"                                         \
	    " COALESCE(p.phone_bidx IN (SELECT phone_bidx FROM mine), false),"                     \
	    " COALESCE(p.id_bidx IN (SELECT id_bidx FROM mine), false)"                            \
	    " FROM cand p JOIN cases c ON c.id = p.case_id WHERE c.id <> $1"                       \
	    " AND c.status IN ('registered', 'accepted', 'in_mediation', 'expert_requested')"      \
	    " AND c.purged_at IS NULL ORDER BY c.id, p.id LIMIT 2000")                             \
	/*                                                                                         \
	 * Purges up to $2 cases ended more than $1 years ago: destroys their keys,                \
	 * clears every encrypted column and blind index, keeps the rest.                          \
	 */                                                                                        \
	X(SQL_CASES_PURGE, SQL_SERVE, false, 2,                                                    \
	    "WITH c AS (SELECT id, data_key_id FROM cases WHERE purged_at IS NULL"                 \
	    " AND status IN ('closed', 'declined', 'withdrawn')"                                   \
	    " AND closed_at < now() - make_interval(years => $1::integer)"                         \
	    " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),"                                       \
	    " p AS (UPDATE parties SET name = NULL, id_number = NULL, phone = NULL,"               \
	    " address = NULL, phone_bidx = NULL, id_bidx = NULL, updated_at = now()"               \
	    " WHERE case_id IN (SELECT id FROM c)),"                                               \
	    " s AS (UPDATE case_sessions SET place = NULL, attendees = NULL, notes = NULL"         \
	    " WHERE case_id IN (SELECT id FROM c)),"                                               \
	    " f AS (UPDATE followups SET notes = NULL WHERE case_id IN (SELECT id FROM c)),"       \
	    " k AS (UPDATE data_keys SET wrapped = NULL, destroyed_at = now()"                     \
	    " WHERE id IN (SELECT data_key_id FROM c) AND wrapped IS NOT NULL),"                   \
	    " u AS (UPDATE cases x SET summary = NULL, agreement = NULL, purged_at = now(),"       \
	    " version = x.version + 1, updated_at = now() FROM c WHERE x.id = c.id"                \
	    " RETURNING x.id),"                                                                    \
	    " a AS (INSERT INTO " SQL_AUDIT_COLUMNS " SELECT NULL, 'tiaojie purge-expired', NULL,"  \
	    " NULL, NULL, 'retention', 'case.purge', 'case', u.id::text, 200 FROM u)"              \
	    " SELECT count(*) FROM u")                                                             \
	/*                                                                                         \
	 * Purges up to $2 referrals: those whose case was purged, and those never                 \
	 * taken up that were opened more than $1 years ago.                                       \
	 */                                                                                        \
	X(SQL_REFERRALS_PURGE, SQL_SERVE, false, 2,                                                \
	    "WITH f AS (SELECT f.id, f.data_key_id FROM referrals f WHERE f.purged_at IS NULL"     \
	    " AND ((f.status = 'accepted' AND EXISTS (SELECT 1 FROM cases c WHERE c.id = f.case_id" \
	    " AND c.purged_at IS NOT NULL)) OR (f.status <> 'accepted'"                            \
	    " AND f.created_at < now() - make_interval(years => $1::integer)))"                    \
	    " ORDER BY f.id LIMIT $2 FOR UPDATE SKIP LOCKED),"                                     \
	    " i AS (UPDATE idempotency_keys SET response = NULL"                                   \
	    " WHERE referral_id IN (SELECT id FROM f)),"                                           \
	    " k AS (UPDATE data_keys SET wrapped = NULL, destroyed_at = now()"                     \
	    " WHERE id IN (SELECT data_key_id FROM f) AND wrapped IS NOT NULL),"                   \
	    " u AS (UPDATE referrals x SET caller_name = NULL, caller_phone = NULL,"               \
	    " caller_phone_bidx = NULL, summary = NULL, purged_at = now(), version = x.version + 1" \
	    " FROM f WHERE x.id = f.id RETURNING x.id),"                                           \
	    " a AS (INSERT INTO " SQL_AUDIT_COLUMNS " SELECT NULL, 'tiaojie purge-expired', NULL,"  \
	    " NULL, NULL, 'retention', 'referral.purge', 'referral', u.id::text, 200 FROM u)"      \
	    " SELECT count(*) FROM u")                                                             \
	X(SQL_EXPERTS, SQL_SERVE, true, 2,                                                            \
	    "SELECT json_build_object('items', COALESCE(json_agg(x ORDER BY x.open_assignments,"      \
	    " x.id), '[]'))::text FROM (SELECT m.id, m.name, m.gender, m.full_time,"                  \
	    " m.specialties, COALESCE((SELECT json_agg(mc.committee_id ORDER BY mc.committee_id)"     \
	    " FROM mediator_committees mc WHERE mc.mediator_id = m.id AND mc.ended_on IS NULL),"      \
	    " '[]') AS committees, (SELECT count(*) FROM cases c WHERE c.expert_id = m.id"            \
	    " AND c.status IN " SQL_CASE_OPEN ") AS open_assignments FROM mediators m"                \
	    " WHERE m.expert AND m.active AND ($1::specialty IS NULL OR $1 = ANY (m.specialties))"    \
	    " AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM mediator_committees mc"                  \
	    " JOIN committees k ON k.id = mc.committee_id WHERE mc.mediator_id = m.id"                \
	    " AND mc.ended_on IS NULL AND region_within(k.region_code, $2)))) x")

/* clang-format on */

#endif
