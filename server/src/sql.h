/*
 * sql.h - every SQL statement the server runs, listed once. The pool
 * prepares the SERVE group on each connection when it opens (and again
 * after a reset); the migrator runs its own group on its own connection.
 * Columns: id, group, retry (read-only: safe to re-run after a reconnect),
 * number of parameters, text.
 */
#ifndef TIAOJIE_SQL_H
#define TIAOJIE_SQL_H

#include <stdbool.h>

#include "sql_cases.h"
#include "sql_referrals.h"
#include "sql_stats.h"

/*
 * Run on each pooled connection before anything else: the server's
 * statements run with the rights of tiaojie_app (see 0002_identity.sql),
 * which cannot change or delete audit entries. Not preparable, so sent
 * as is.
 */
#define SQL_SET_ROLE "SET ROLE tiaojie_app"

/* RFC 3339 text of a timestamptz (sessions run with TimeZone UTC). */
#define SQL_TS(x) "(to_json(" x ")#>>'{}')"

/* A user as the API shows it (never the password hash). */
#define SQL_USER_JSON(u)                                                                           \
	"json_build_object('id', " u ".id, 'username', " u ".username, 'display_name', " u         \
	".display_name, 'role', " u ".role, 'region_code', " u ".region_code, 'active', " u        \
	".active, 'mediator_id', " u ".mediator_id, 'created_at', " u ".created_at,"               \
	" 'updated_at', " u ".updated_at)"

#define SQL_TOKEN_JSON(t)                                                                          \
	"json_build_object('id', " t ".id, 'user_id', " t ".user_id, 'name', " t                   \
	".name, 'created_at', " t ".created_at, 'expires_at', " t                                  \
	".expires_at, 'last_used_at', " t ".last_used_at, 'revoked_at', " t ".revoked_at)"

#define SQL_COMMITTEE_JSON(c)                                                                      \
	"json_build_object('id', " c ".id, 'name', " c ".name, 'kind', " c ".kind,"                \
	" 'level', (SELECT level FROM regions WHERE code = " c ".region_code),"                    \
	" 'region_code', " c ".region_code, 'host_org', " c ".host_org, 'address', " c ".address," \
	" 'phone', " c ".phone, 'purchased_service', " c ".purchased_service,"                     \
	" 'established_on', " c ".established_on, 'closed_on', " c ".closed_on,"                   \
	" 'active', (" c ".established_on <= civil_today() AND (" c ".closed_on IS NULL OR " c     \
	".closed_on > civil_today())),"                                                            \
	" 'created_at', " c ".created_at, 'updated_at', " c ".updated_at)"

/* A mediator without the phone; committees as given (created) or as served. */
#define SQL_MEDIATOR_JSON(m, committees)                                                           \
	"json_build_object('id', " m ".id, 'name', " m ".name, 'gender', " m ".gender,"            \
	" 'full_time', " m ".full_time, 'specialties', " m ".specialties, 'expert', " m ".expert," \
	" 'phone_on_file', " m ".phone IS NOT NULL, 'trained_on', " m ".trained_on,"               \
	" 'certified_on', " m ".certified_on, 'active', " m ".active, 'committees', " committees   \
	", 'created_at', " m ".created_at, 'updated_at', " m ".updated_at)"
#define SQL_MEDIATOR_SERVES(m)                                                                     \
	"COALESCE((SELECT json_agg(mc.committee_id ORDER BY mc.committee_id)"                      \
	" FROM mediator_committees mc WHERE mc.mediator_id = " m                                   \
	".id AND mc.ended_on IS NULL), '[]')"

#define SQL_MEDIATOR_MEMBERSHIPS(m)                                                                \
	"COALESCE((SELECT json_agg(json_build_object('committee_id', mc.committee_id,"             \
	" 'started_on', mc.started_on, 'ended_on', mc.ended_on)"                                   \
	" ORDER BY mc.started_on, mc.committee_id) FROM mediator_committees mc"                    \
	" WHERE mc.mediator_id = " m ".id), '[]')"

/*
 * Audited statements take the audit context as their first six
 * parameters (see audit_context()): actor id, actor username, actor role,
 * request id, client address, stated purpose. SQL_AUDIT_FROM appends the
 * entry for each row of from.
 */
#define SQL_AUDIT_COLUMNS                                                                          \
	"audit_log (actor_id, actor_username, actor_role, request_id, client_addr, purpose, "      \
	"action, object_type, object_id, status)"
#define SQL_AUDIT_FROM(action, type, id_expr, status, from)                                        \
	"INSERT INTO " SQL_AUDIT_COLUMNS                                                           \
	" SELECT $1::bigint, $2, $3::user_role, $4, $5::inet, $6, '" action "', '" type            \
	"', " id_expr ", " status " FROM " from

#define SQL_STATEMENTS(X)                                                                            \
	X(SQL_MIGRATE_LOCK, SQL_MIGRATE, false, 1, "SELECT pg_advisory_lock($1::bigint)")            \
	X(SQL_MIGRATE_UNLOCK, SQL_MIGRATE, false, 1, "SELECT pg_advisory_unlock($1::bigint)")        \
	X(SQL_MIGRATE_TABLE, SQL_MIGRATE, false, 0,                                                  \
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("                                         \
	    " version integer PRIMARY KEY,"                                                          \
	    " name text NOT NULL,"                                                                   \
	    " checksum text NOT NULL,"                                                               \
	    " applied_at timestamptz NOT NULL DEFAULT now())")                                       \
	X(SQL_MIGRATE_TABLE_EXISTS, SQL_MIGRATE, true, 0,                                            \
	    "SELECT to_regclass('schema_migrations') IS NOT NULL")                                   \
	X(SQL_MIGRATE_RECORD, SQL_MIGRATE, false, 3,                                                 \
	    "INSERT INTO schema_migrations (version, name, checksum)"                                \
	    " VALUES ($1, $2, $3)")                                                                  \
	X(SQL_SCHEMA_VERSIONS, SQL_SERVE, true, 0,                                                   \
	    "SELECT version, name, checksum FROM schema_migrations"                                  \
	    " ORDER BY version")                                                                     \
	X(SQL_REGIONS_LIST, SQL_SERVE, true, 4,                                                      \
	    "SELECT code, name, level, parent_code FROM regions"                                     \
	    " WHERE ($1::text IS NULL OR parent_code = $1)"                                          \
	    " AND ($2::region_level IS NULL OR level = $2)"                                          \
	    " AND ($3::text IS NULL OR code > $3)"                                                   \
	    " ORDER BY code LIMIT $4")                                                               \
	X(SQL_REGION_GET, SQL_SERVE, true, 1,                                                        \
	    "WITH RECURSIVE up AS ("                                                                 \
	    " SELECT code, name, level, parent_code, 0 AS depth"                                     \
	    " FROM regions WHERE code = $1"                                                          \
	    " UNION ALL"                                                                             \
	    " SELECT p.code, p.name, p.level, p.parent_code, up.depth + 1"                           \
	    " FROM regions p JOIN up ON p.code = up.parent_code"                                     \
	    " WHERE up.depth < 16)"                                                                  \
	    " SELECT json_build_object("                                                             \
	    " 'code', r.code, 'name', r.name, 'level', r.level,"                                     \
	    " 'parent_code', r.parent_code,"                                                         \
	    " 'ancestors', COALESCE((SELECT json_agg(json_build_object("                             \
	    "  'code', u.code, 'name', u.name, 'level', u.level)"                                    \
	    "  ORDER BY u.depth DESC) FROM up u WHERE u.depth > 0), '[]'),"                          \
	    " 'children', COALESCE((SELECT json_agg(json_build_object("                              \
	    "  'code', c.code, 'name', c.name, 'level', c.level)"                                    \
	    "  ORDER BY c.code) FROM regions c WHERE c.parent_code = r.code),"                       \
	    "  '[]'))::text"                                                                         \
	    " FROM regions r WHERE r.code = $1")                                                     \
	X(SQL_AUDIT, SQL_SERVE, false, 10,                                                           \
	    "INSERT INTO " SQL_AUDIT_COLUMNS                                                         \
	    " VALUES ($1::bigint, $2, $3::user_role, $4, $5::inet,"                                  \
	    " $6, $7, $8, $9, $10::integer)")                                                        \
	X(SQL_AUDIT_SEAL, SQL_SERVE, false, 1, "SELECT audit_seal($1::integer)")                     \
	X(SQL_AUDIT_VERIFY, SQL_SERVE, true, 1,                                                      \
	    "SELECT seq, id, problem FROM audit_verify($1::integer)")                                \
	X(SQL_AUDIT_COUNTS, SQL_SERVE, true, 0,                                                      \
	    "SELECT count(seq), count(*) - count(seq) FROM audit_log")                               \
	X(SQL_AUDIT_LIST, SQL_SERVE, true, 7,                                                        \
	    "WITH page AS (SELECT * FROM audit_log"                                                  \
	    " WHERE ($1::text IS NULL OR object_type = $1) AND ($2::text IS NULL OR object_id = "    \
	    "$2)"                                                                                    \
	    " AND ($3::bigint IS NULL OR actor_id = $3)"                                             \
	    " AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)"    \
	    " AND ($6::bigint IS NULL OR id < $6) ORDER BY id DESC LIMIT $7::integer + 1),"          \
	    " shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $7)"                               \
	    " SELECT json_build_object('items', COALESCE((SELECT json_agg(json_build_object("        \
	    " 'id', a.id, 'seq', a.seq, 'at', a.at, 'actor_id', a.actor_id,"                         \
	    " 'actor_username', a.actor_username, 'actor_role', a.actor_role, 'action', a.action,"   \
	    " 'object_type', a.object_type, 'object_id', a.object_id, 'fields', a.fields,"           \
	    " 'purpose', a.purpose, 'request_id', a.request_id, 'client_addr', "                     \
	    "host(a.client_addr),"                                                                   \
	    " 'status', a.status, 'hash', encode(a.hash, 'hex'), 'prev_hash', "                      \
	    "encode(a.prev_hash, 'hex'))"                                                            \
	    " ORDER BY a.id DESC) FROM shown a), '[]'),"                                             \
	    " 'next_after', CASE WHEN (SELECT count(*) FROM page) > $7 THEN (SELECT min(id) FROM "   \
	    "shown) END)::text")                                                                     \
	X(SQL_AUTH_SESSION, SQL_SERVE, true, 3,                                                      \
	    "WITH s AS (SELECT id, user_id, expires_at, last_used_at FROM sessions"                  \
	    " WHERE token_hash = decode($1, 'hex') AND ended_at IS NULL AND expires_at > now()"      \
	    " AND last_used_at > now() - make_interval(secs => $2::integer)),"                       \
	    " touch AS (UPDATE sessions t SET last_used_at = now() FROM s WHERE t.id = s.id"         \
	    " AND s.last_used_at < now() - make_interval(secs => $3::integer))"                      \
	    " SELECT u.id, u.username, u.role, u.region_code, s.id, " SQL_TS(                        \
		"s.expires_at") ", u.mediator_id FROM s JOIN users u ON u.id = s.user_id WHERE "     \
				"u.active")                                                          \
	X(SQL_AUTH_API_TOKEN, SQL_SERVE, true, 1,                                                    \
	    "WITH t AS (SELECT id, user_id, expires_at, last_used_at FROM api_tokens"                \
	    " WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL"                           \
	    " AND (expires_at IS NULL OR expires_at > now())),"                                      \
	    " touch AS (UPDATE api_tokens k SET last_used_at = now() FROM t WHERE k.id = t.id"       \
	    " AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 seconds'))"       \
	    " SELECT u.id, u.username, u.role, u.region_code, t.id, " SQL_TS(                        \
		"t.expires_at") ", u.mediator_id FROM t JOIN users u ON u.id = t.user_id WHERE "     \
				"u.active")                                                          \
	X(SQL_LOGIN_THROTTLE, SQL_SERVE, true, 4,                                                    \
	    "SELECT COALESCE(max(wait), 0)::integer FROM (SELECT CASE WHEN count(*) >= $3"           \
	    " THEN ceil(extract(epoch FROM min(at) + make_interval(secs => $4::integer) - "          \
	    "now())) END AS wait"                                                                    \
	    " FROM (SELECT key, at, row_number() OVER (PARTITION BY key ORDER BY at DESC) AS n"      \
	    " FROM login_failures WHERE key IN ($1, $2)"                                             \
	    " AND at > now() - make_interval(secs => $4::integer)) f WHERE n <= $3 GROUP BY key) "   \
	    "w")                                                                                     \
	X(SQL_LOGIN_USER, SQL_SERVE, true, 1,                                                        \
	    "SELECT id, username, role, region_code, active, password_hash, " SQL_USER_JSON(         \
		"u") "::text FROM users u WHERE username = $1")                                      \
	X(SQL_LOGIN_FAILED, SQL_SERVE, false, 9,                                                     \
	    "WITH f AS (INSERT INTO login_failures (key) VALUES ($7), ($8))"                         \
	    " INSERT INTO " SQL_AUDIT_COLUMNS " VALUES ($1::bigint, $2, $3::user_role, $4,"          \
	    " $5::inet, $6, 'session.create', 'user', $9, 401)")                                     \
	X(SQL_USER_REHASH, SQL_SERVE, false, 2,                                                      \
	    "UPDATE users SET password_hash = $2 WHERE id = $1")                                     \
	X(SQL_SESSION_CREATE, SQL_SERVE, false, 10,                                                  \
	    "WITH s AS (INSERT INTO sessions (token_hash, user_id, expires_at)"                      \
	    " VALUES (decode($7, 'hex'), $8, now() + make_interval(secs => $9::integer))"            \
	    " RETURNING id, expires_at),"                                                            \
	    " c AS (DELETE FROM login_failures WHERE key = $10),"                                    \
	    " a AS (" SQL_AUDIT_FROM("session.create", "session", "s.id::text", "201",               \
		"s") ")"                                                                             \
		     " SELECT " SQL_TS("s.expires_at") " FROM s")                                    \
	X(SQL_SESSION_END, SQL_SERVE, false, 7,                                                      \
	    "WITH e AS (UPDATE sessions SET ended_at = now() WHERE id = $7 AND ended_at IS NULL"     \
	    " RETURNING id),"                                                                        \
	    " a AS (" SQL_AUDIT_FROM(                                                                \
		"session.delete", "session", "e.id::text", "204", "e") ")"                           \
								       " SELECT id FROM e")          \
	X(SQL_USER_GET, SQL_SERVE, true, 1,                                                          \
	    "SELECT " SQL_USER_JSON("u") "::text FROM users u WHERE id = $1")                        \
	X(SQL_USERS_LIST, SQL_SERVE, true, 4,                                                        \
	    "WITH page AS (SELECT * FROM users WHERE ($1::user_role IS NULL OR role = $1)"           \
	    " AND ($2::boolean IS NULL OR active = $2) AND ($3::bigint IS NULL OR id > $3)"          \
	    " ORDER BY id LIMIT $4::integer + 1),"                                                   \
	    " shown AS (SELECT * FROM page ORDER BY id LIMIT $4)"                                    \
	    " SELECT json_build_object('items', COALESCE((SELECT json_agg(" SQL_USER_JSON(           \
		"s") " ORDER BY s.id) FROM shown s), '[]'), 'next_after', CASE WHEN"                 \
		     " (SELECT count(*) FROM page) > $4 THEN (SELECT max(id) FROM shown) "           \
		     "END)::text")                                                                   \
	X(SQL_USER_CREATE, SQL_SERVE, false, 12,                                                     \
	    "WITH u AS (INSERT INTO users (username, display_name, role, region_code, "              \
	    "password_hash, mediator_id)"                                                            \
	    " VALUES ($7, $8, $9::user_role, $10, $11, $12::bigint) RETURNING *),"                   \
	    " a AS (" SQL_AUDIT_FROM("user.create", "user", "u.id::text", "201",                     \
		"u") ")"                                                                             \
		     " SELECT u.id, " SQL_USER_JSON("u") "::text FROM u")                            \
	X(SQL_USER_UPDATE, SQL_SERVE, false, 14,                                                     \
	    "WITH u AS (UPDATE users SET display_name = COALESCE($8, display_name),"                 \
	    " role = COALESCE($9::user_role, role),"                                                 \
	    " region_code = CASE WHEN $10::boolean THEN $11 ELSE region_code END,"                   \
	    " mediator_id = CASE WHEN $13::boolean THEN $14::bigint ELSE mediator_id END,"           \
	    " active = COALESCE($12::boolean, active), updated_at = now()"                           \
	    " WHERE id = $7 RETURNING *),"                                                           \
	    " e AS (UPDATE sessions SET ended_at = now() WHERE ended_at IS NULL"                     \
	    " AND user_id IN (SELECT id FROM u WHERE NOT active)),"                                  \
	    " t AS (UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL"               \
	    " AND user_id IN (SELECT id FROM u WHERE NOT active)),"                                  \
	    " a AS (" SQL_AUDIT_FROM("user.update", "user", "u.id::text", "200",                     \
		"u") ")"                                                                             \
		     " SELECT " SQL_USER_JSON("u") "::text FROM u")                                  \
	X(SQL_USER_PASSWORD, SQL_SERVE, false, 8,                                                    \
	    "WITH u AS (UPDATE users SET password_hash = $8, updated_at = now() WHERE id = $7"       \
	    " RETURNING id),"                                                                        \
	    " e AS (UPDATE sessions SET ended_at = now() WHERE ended_at IS NULL"                     \
	    " AND user_id IN (SELECT id FROM u)),"                                                   \
	    " a AS (" SQL_AUDIT_FROM(                                                                \
		"user.password", "user", "u.id::text", "204", "u") ")"                               \
								   " SELECT id FROM u")              \
	X(SQL_TOKEN_CREATE, SQL_SERVE, false, 11,                                                    \
	    "WITH k AS (INSERT INTO api_tokens (token_hash, user_id, name, created_by, "             \
	    "expires_at)"                                                                            \
	    " SELECT decode($10, 'hex'), u.id, $8, $11, $9::timestamptz FROM users u WHERE u.id "    \
	    "= $7"                                                                                   \
	    " RETURNING *),"                                                                         \
	    " a AS (" SQL_AUDIT_FROM("token.create", "api_token", "k.id::text", "201",               \
		"k") ")"                                                                             \
		     " SELECT " SQL_TOKEN_JSON("k") "::text FROM k")                                 \
	X(SQL_TOKENS_LIST, SQL_SERVE, true, 1,                                                       \
	    "SELECT json_build_object('items', COALESCE(json_agg(" SQL_TOKEN_JSON(                   \
		"t") " ORDER BY t.id) FILTER (WHERE t.id IS NOT NULL), '[]'))::text"                 \
		     " FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id WHERE u.id = $1 "     \
		     "GROUP BY u.id")                                                                \
	X(SQL_TOKEN_REVOKE, SQL_SERVE, false, 7,                                                     \
	    "WITH k AS (UPDATE api_tokens SET revoked_at = now() WHERE id = $7"                      \
	    " AND revoked_at IS NULL RETURNING id),"                                                 \
	    " a AS (" SQL_AUDIT_FROM(                                                                \
		"token.revoke", "api_token", "k.id::text", "204", "k") ")"                           \
								       " SELECT id FROM k")          \
	X(SQL_DATAKEY_NEXT_ID, SQL_SERVE, false, 0, "SELECT nextval('data_keys_id_seq')")            \
	X(SQL_DATAKEY_INSERT, SQL_SERVE, false, 3,                                                   \
	    "INSERT INTO data_keys (id, master_version, wrapped) VALUES ($1, $2, $3)")               \
	X(SQL_DATAKEY_GET, SQL_SERVE, true, 1,                                                       \
	    "SELECT master_version, wrapped FROM data_keys WHERE id = $1")                           \
	X(SQL_DATAKEY_SHRED, SQL_SERVE, false, 1,                                                    \
	    "UPDATE data_keys SET wrapped = NULL, destroyed_at = now()"                              \
	    " WHERE id = $1 AND wrapped IS NOT NULL RETURNING id")                                   \
	X(SQL_DATAKEY_STALE, SQL_SERVE, true, 2,                                                     \
	    "SELECT id, master_version, wrapped FROM data_keys"                                      \
	    " WHERE master_version < $1 AND wrapped IS NOT NULL ORDER BY id LIMIT $2"                \
	    " FOR UPDATE SKIP LOCKED")                                                               \
	X(SQL_DATAKEY_REWRAP, SQL_SERVE, false, 3,                                                   \
	    "UPDATE data_keys SET master_version = $2, wrapped = $3, rewrapped_at = now()"           \
	    " WHERE id = $1 AND wrapped IS NOT NULL")                                                \
	X(SQL_DATAKEY_COUNTS, SQL_SERVE, true, 1,                                                    \
	    "SELECT count(*) FILTER (WHERE master_version < $1),"                                    \
	    " count(*) FILTER (WHERE master_version >= $1) FROM data_keys WHERE wrapped IS NOT "     \
	    "NULL")                                                                                  \
	X(SQL_COMMITTEE_CREATE, SQL_SERVE, false, 16,                                                \
	    "WITH c AS (INSERT INTO committees (name, kind, region_code, host_org, address, "        \
	    "phone,"                                                                                 \
	    " purchased_service, established_on, closed_on)"                                         \
	    " SELECT $7, $8::committee_kind, $9, $10, $11, $12, COALESCE($13::boolean, false),"      \
	    " $14::date, $15::date WHERE $16::text IS NULL OR region_within($9, $16) RETURNING "     \
	    "*),"                                                                                    \
	    " a AS (" SQL_AUDIT_FROM("committee.create", "committee", "c.id::text", "201",           \
		"c") ")"                                                                             \
		     " SELECT c.id, " SQL_COMMITTEE_JSON("c") "::text FROM c")                       \
	X(SQL_COMMITTEE_GET, SQL_SERVE, true, 2,                                                     \
	    "SELECT " SQL_COMMITTEE_JSON(                                                            \
		"c") "::text FROM committees c WHERE c.id = $1"                                      \
		     " AND ($2::text IS NULL OR region_within(c.region_code, $2))")                  \
	X(SQL_COMMITTEES_LIST, SQL_SERVE, true, 7,                                                   \
	    "WITH page AS (SELECT c.* FROM committees c JOIN regions g ON g.code = c.region_code"    \
	    " WHERE ($1::text IS NULL OR region_within(c.region_code, $1))"                          \
	    " AND ($2::text IS NULL OR region_within(c.region_code, $2))"                            \
	    " AND ($3::committee_kind IS NULL OR c.kind = $3)"                                       \
	    " AND ($4::date IS NULL OR (c.established_on <= $4"                                      \
	    " AND (c.closed_on IS NULL OR c.closed_on > $4)))"                                       \
	    " AND ($5::bigint IS NULL OR c.id > $5) AND ($7::region_level IS NULL OR g.level = "     \
	    "$7)"                                                                                    \
	    " ORDER BY c.id LIMIT $6::integer + 1),"                                                 \
	    " shown AS (SELECT * FROM page ORDER BY id LIMIT $6)"                                    \
	    " SELECT json_build_object('items', COALESCE((SELECT json_agg(" SQL_COMMITTEE_JSON(      \
		"s") " ORDER BY s.id) FROM shown s), '[]'), 'next_after', CASE WHEN"                 \
		     " (SELECT count(*) FROM page) > $6 THEN (SELECT max(id) FROM shown) "           \
		     "END)::text")                                                                   \
	X(SQL_COMMITTEE_UPDATE, SQL_SERVE, false, 21,                                                \
	    "WITH u AS (UPDATE committees t SET name = COALESCE($9, t.name),"                        \
	    " kind = COALESCE($10::committee_kind, t.kind), region_code = COALESCE($11, "            \
	    "t.region_code),"                                                                        \
	    " host_org = CASE WHEN $12::boolean THEN $13 ELSE t.host_org END,"                       \
	    " address = CASE WHEN $14::boolean THEN $15 ELSE t.address END,"                         \
	    " phone = CASE WHEN $16::boolean THEN $17 ELSE t.phone END,"                             \
	    " purchased_service = COALESCE($18::boolean, t.purchased_service),"                      \
	    " established_on = COALESCE($19::date, t.established_on),"                               \
	    " closed_on = CASE WHEN $20::boolean THEN $21::date ELSE t.closed_on END,"               \
	    " updated_at = now() WHERE t.id = $7 AND ($8::text IS NULL"                              \
	    " OR (region_within(t.region_code, $8) AND region_within(COALESCE($11, "                 \
	    "t.region_code), $8)))"                                                                  \
	    " RETURNING t.*),"                                                                       \
	    " a AS (" SQL_AUDIT_FROM("committee.update", "committee", "u.id::text", "200",           \
		"u") ")"                                                                             \
		     " SELECT " SQL_COMMITTEE_JSON("u") "::text FROM u")                             \
	X(SQL_MEDIATOR_NEXT_ID, SQL_SERVE, false, 0, "SELECT nextval('mediators_id_seq')")           \
	X(SQL_MEDIATOR_CREATE, SQL_SERVE, false, 19,                                                 \
	    "WITH ok AS (SELECT count(*) = cardinality($18::bigint[]) AS fine FROM committees c"     \
	    " WHERE c.id = ANY ($18::bigint[]) AND ($19::text IS NULL OR "                           \
	    "region_within(c.region_code, $19))),"                                                   \
	    " m AS (INSERT INTO mediators (id, data_key_id, name, gender, full_time, specialties,"   \
	    " expert, phone, phone_bidx, trained_on, certified_on)"                                  \
	    " SELECT $7, $8, $9, $10, $11::boolean, $12::specialty[], COALESCE($13::boolean, "       \
	    "false),"                                                                                \
	    " $14::bytea, $15::integer, $16::date, $17::date FROM ok WHERE ok.fine RETURNING *),"    \
	    " mc AS (INSERT INTO mediator_committees (mediator_id, committee_id, started_on)"        \
	    " SELECT m.id, unnest($18::bigint[]), civil_today() FROM m),"                            \
	    " a AS (" SQL_AUDIT_FROM("mediator.create", "mediator", "m.id::text", "201",             \
		"m") ")"                                                                             \
		     " SELECT " SQL_MEDIATOR_JSON(                                                   \
			 "m", "to_json($18::bigint[])") "::text, m.id FROM m")                       \
	X(SQL_MEDIATOR_GET, SQL_SERVE, true, 2,                                                      \
	    "SELECT (" SQL_MEDIATOR_JSON("m",                                                        \
		SQL_MEDIATOR_SERVES(                                                                 \
		    "m")) "::jsonb"                                                                  \
			  " || jsonb_build_object('memberships', " SQL_MEDIATOR_MEMBERSHIPS(         \
			      "m") "))::text,"                                                       \
				   " m.data_key_id, m.phone FROM mediators m WHERE m.id = $1"        \
				   " AND ($2::text IS NULL OR mediator_within(m.id, $2))")           \
	/* Committees outside the scope ($8) are neither joined nor left. */                         \
	X(SQL_MEDIATOR_UPDATE, SQL_SERVE, false, 23,                                                 \
	    "WITH ok AS (SELECT $23::bigint[] IS NULL OR (SELECT count(*) FROM committees c"         \
	    " WHERE c.id = ANY ($23::bigint[]) AND ($8::text IS NULL"                                \
	    " OR region_within(c.region_code, $8))) = cardinality($23::bigint[]) AS fine),"          \
	    " u AS (UPDATE mediators t SET name = COALESCE($9, t.name),"                             \
	    " gender = CASE WHEN $10::boolean THEN $11 ELSE t.gender END,"                           \
	    " full_time = COALESCE($12::boolean, t.full_time),"                                      \
	    " specialties = COALESCE($13::specialty[], t.specialties),"                              \
	    " expert = COALESCE($14::boolean, t.expert),"                                            \
	    " phone = CASE WHEN $15::boolean THEN $16::bytea ELSE t.phone END,"                      \
	    " phone_bidx = CASE WHEN $15::boolean THEN $17::integer ELSE t.phone_bidx END,"          \
	    " trained_on = CASE WHEN $18::boolean THEN $19::date ELSE t.trained_on END,"             \
	    " certified_on = CASE WHEN $20::boolean THEN $21::date ELSE t.certified_on END,"         \
	    " active = COALESCE($22::boolean, t.active), updated_at = now() FROM ok"                 \
	    " WHERE ok.fine AND t.id = $7 AND ($8::text IS NULL OR mediator_within(t.id, $8))"       \
	    " RETURNING t.id),"                                                                      \
	    " left_ AS (UPDATE mediator_committees mc SET ended_on = civil_today()"                  \
	    " FROM u, committees c WHERE $23::bigint[] IS NOT NULL AND mc.mediator_id = u.id"        \
	    " AND mc.ended_on IS NULL AND c.id = mc.committee_id AND NOT (mc.committee_id = ANY "    \
	    "($23::bigint[]))"                                                                       \
	    " AND ($8::text IS NULL OR region_within(c.region_code, $8)) RETURNING 1),"              \
	    " joined AS (INSERT INTO mediator_committees (mediator_id, committee_id, started_on)"    \
	    " SELECT u.id, x, civil_today() FROM u, unnest($23::bigint[]) AS x"                      \
	    " WHERE NOT EXISTS (SELECT 1 FROM mediator_committees mc WHERE mc.mediator_id = u.id"    \
	    " AND mc.committee_id = x AND mc.ended_on IS NULL)"                                      \
	    " ON CONFLICT (mediator_id, committee_id, started_on) DO UPDATE SET ended_on = NULL"     \
	    " RETURNING 1),"                                                                         \
	    " a AS (" SQL_AUDIT_FROM("mediator.update", "mediator", "u.id::text", "200",             \
		"u") ")"                                                                             \
		     " SELECT ok.fine, u.id FROM ok LEFT JOIN u ON true")                            \
	X(SQL_MEDIATORS_LIST, SQL_SERVE, true, 6,                                                    \
	    "WITH page AS (SELECT m.* FROM mediators m"                                              \
	    " WHERE ($1::text IS NULL OR mediator_within(m.id, $1))"                                 \
	    " AND ($2::bigint IS NULL OR EXISTS (SELECT 1 FROM mediator_committees mc"               \
	    " WHERE mc.mediator_id = m.id AND mc.committee_id = $2 AND mc.ended_on IS NULL))"        \
	    " AND ($3::boolean IS NULL OR m.expert = $3)"                                            \
	    " AND ($4::specialty IS NULL OR $4 = ANY (m.specialties))"                               \
	    " AND ($5::bigint IS NULL OR m.id > $5) ORDER BY m.id LIMIT $6::integer + 1),"           \
	    " shown AS (SELECT * FROM page ORDER BY id LIMIT $6)"                                    \
	    " SELECT json_build_object('items', COALESCE((SELECT json_agg(" SQL_MEDIATOR_JSON("s",   \
		SQL_MEDIATOR_SERVES(                                                                 \
		    "s")) " ORDER BY s.id) FROM shown s), '[]'),"                                    \
			  " 'next_after', CASE WHEN (SELECT count(*) FROM page) > $6"                \
			  " THEN (SELECT max(id) FROM shown) END)::text")                            \
	X(SQL_AUDIT_READ, SQL_SERVE, false, 10,                                                      \
	    "INSERT INTO audit_log (actor_id, actor_username, actor_role, request_id, "              \
	    "client_addr,"                                                                           \
	    " purpose, action, object_type, object_id, fields, status) VALUES ($1::bigint, $2,"      \
	    " $3::user_role, $4, $5::inet, $6, $7, $8, $9, $10::text[], 200)")                       \
	X(SQL_TARGETS_GET, SQL_SERVE, true, 2,                                                       \
	    "SELECT json_build_object('year', $1::integer, 'targets', COALESCE(json_agg("            \
	    "json_build_object('region_code', t.region_code, 'new_committees', t.new_committees,"    \
	    " 'every_county_covered', t.every_county_covered, 'pilot_districts', "                   \
	    "t.pilot_districts,"                                                                     \
	    " 'updated_at', t.updated_at) ORDER BY t.region_code), '[]'))::text FROM targets t"      \
	    " WHERE t.year = $1 AND ($2::text IS NULL OR region_within(t.region_code, $2)"           \
	    " OR region_within($2, t.region_code))")                                                 \
	X(SQL_TARGET_PUT, SQL_SERVE, false, 11,                                                      \
	    "WITH bad AS (SELECT count(*) AS n FROM unnest($11::text[]) d LEFT JOIN regions g"       \
	    " ON g.code = d WHERE g.code IS NULL OR g.level <> 'county' OR NOT region_within(d, "    \
	    "$8)),"                                                                                  \
	    " t AS (INSERT INTO targets (year, region_code, new_committees, every_county_covered,"   \
	    " pilot_districts) SELECT $7, $8, $9, $10::boolean, $11::text[] FROM bad WHERE bad.n "   \
	    "= 0"                                                                                    \
	    " ON CONFLICT (year, region_code) DO UPDATE SET new_committees = "                       \
	    "EXCLUDED.new_committees,"                                                               \
	    " every_county_covered = EXCLUDED.every_county_covered,"                                 \
	    " pilot_districts = EXCLUDED.pilot_districts, updated_at = now() RETURNING *),"          \
	    " a AS (" SQL_AUDIT_FROM("target.put", "target", "t.year || '/' || t.region_code",       \
		"200", "t") ")"                                                                      \
			    " SELECT json_build_object('region_code', t.region_code, "               \
			    "'new_committees', t.new_committees,"                                    \
			    " 'every_county_covered', t.every_county_covered, 'pilot_districts', "   \
			    "t.pilot_districts,"                                                     \
			    " 'updated_at', t.updated_at)::text FROM t")                             \
	/*                                                                                         \
	 * The regions under $2 are walked once, each knowing its county and                       \
	 * township; committees, mediators and referrals are then grouped by                       \
	 * county (no per-pair ancestry checks: fast with thousands of counties).                  \
	 */ \
	X(SQL_COVERAGE, SQL_SERVE, true, 3,                                                          \
	    "WITH RECURSIVE d AS (SELECT COALESCE($1::date, civil_today()) AS on_day, $2::text "     \
	    "AS top"                                                                                 \
	    " WHERE EXISTS (SELECT 1 FROM regions WHERE code = $2)"                                  \
	    " AND ($3::text IS NULL OR region_within($2, $3))),"                                     \
	    " down AS (SELECT g.code, g.level, CASE WHEN g.level = 'county' THEN g.code END"         \
	    " AS county, CASE WHEN g.level = 'township' THEN g.code END AS township, 0 AS depth"     \
	    " FROM regions g, d WHERE g.code = d.top"                                                \
	    " UNION ALL SELECT g.code, g.level, COALESCE(w.county, CASE WHEN g.level = 'county'"     \
	    " THEN g.code END), COALESCE(w.township, CASE WHEN g.level = 'township' THEN g.code"     \
	    " END), w.depth + 1 FROM regions g JOIN down w ON g.parent_code = w.code"                \
	    " WHERE w.depth < 16),"                                                                  \
	    " live AS (SELECT c.id, c.kind, c.established_on, w.county, w.township"                  \
	    " FROM committees c JOIN down w ON w.code = c.region_code, d"                            \
	    " WHERE c.established_on <= d.on_day AND (c.closed_on IS NULL OR c.closed_on > "         \
	    "d.on_day)),"                                                                            \
	    " serving AS (SELECT DISTINCT mc.mediator_id, m.expert, c.county"                        \
	    " FROM mediator_committees mc JOIN live c ON c.id = mc.committee_id"                     \
	    " JOIN mediators m ON m.id = mc.mediator_id, d WHERE m.active"                           \
	    " AND mc.started_on <= d.on_day AND (mc.ended_on IS NULL OR mc.ended_on > d.on_day)),"   \
	    " counties AS (SELECT w.code, g.name FROM down w JOIN regions g ON g.code = w.code"      \
	    " WHERE w.level = 'county'),"                                                            \
	    " lc AS (SELECT county, count(*) FILTER (WHERE kind = 'committee') AS committees,"       \
	    " count(*) FILTER (WHERE kind = 'room') AS rooms,"                                       \
	    " count(*) FILTER (WHERE kind = 'guidance') AS guidance FROM live GROUP BY county),"     \
	    " sc AS (SELECT county, count(DISTINCT mediator_id) AS mediators,"                       \
	    " count(DISTINCT mediator_id) FILTER (WHERE expert) AS experts"                          \
	    " FROM serving GROUP BY county),"                                                        \
	    " rf AS (SELECT f.county_code AS county, count(*) AS n FROM referrals f, d"              \
	    " WHERE f.county_code IN (SELECT code FROM counties) AND f.guidance_routed"              \
	    " AND (f.created_at AT TIME ZONE 'Asia/Shanghai')::date <= d.on_day GROUP BY 1),"        \
	    " per AS (SELECT k.code, k.name, COALESCE(lc.committees, 0) AS committees,"              \
	    " COALESCE(lc.rooms, 0) AS rooms, COALESCE(lc.guidance, 0) AS guidance,"                 \
	    " COALESCE(sc.mediators, 0) AS mediators, COALESCE(sc.experts, 0) AS experts,"           \
	    " COALESCE(rf.n, 0) AS to_guidance FROM counties k"                                      \
	    " LEFT JOIN lc ON lc.county = k.code LEFT JOIN sc ON sc.county = k.code"                 \
	    " LEFT JOIN rf ON rf.county = k.code),"                                                  \
	    " target AS (SELECT t.* FROM targets t, d WHERE t.region_code = d.top"                   \
	    " AND t.year = extract(year FROM d.on_day)),"                                            \
	    " pilots AS (SELECT p.code, p.name,"                                                     \
	    " (SELECT count(*) FROM regions s WHERE s.parent_code = p.code"                          \
	    " AND s.level = 'township') AS streets,"                                                 \
	    " (SELECT count(*) FROM regions s WHERE s.parent_code = p.code"                          \
	    " AND s.level = 'township' AND EXISTS (SELECT 1 FROM live c"                             \
	    " WHERE c.kind IN ('committee', 'room') AND c.township = s.code)) AS covered"            \
	    " FROM target t CROSS JOIN LATERAL unnest(t.pilot_districts) AS u(code)"                 \
	    " JOIN regions p ON p.code = u.code)"                                                    \
	    " SELECT json_build_object('as_of', d.on_day, 'region_code', d.top,"                     \
	    " 'counties', COALESCE((SELECT json_agg(json_build_object('region_code', per.code,"      \
	    " 'name', per.name, 'committees', per.committees, 'rooms', per.rooms,"                   \
	    " 'guidance', per.guidance, 'covered', per.committees + per.rooms > 0,"                  \
	    " 'mediators', per.mediators, 'experts', per.experts, 'referrals_to_guidance',"          \
	    " per.to_guidance) ORDER BY per.code) FROM per), '[]'),"                                 \
	    " 'totals', json_build_object('counties', (SELECT count(*) FROM per),"                   \
	    " 'counties_covered', (SELECT count(*) FROM per"                                         \
	    " WHERE per.committees + per.rooms > 0),"                                                \
	    " 'new_committees', (SELECT count(*) FROM live c WHERE c.kind = 'committee'"             \
	    " AND extract(year FROM c.established_on) = extract(year FROM d.on_day)),"               \
	    " 'target_new_committees', (SELECT new_committees FROM target),"                         \
	    " 'every_county_covered_required', (SELECT every_county_covered FROM target)),"          \
	    " 'pilot_districts', COALESCE((SELECT json_agg(json_build_object('region_code',"         \
	    " p.code, 'name', p.name, 'streets', p.streets, 'streets_covered', p.covered,"           \
	    " 'share', CASE WHEN p.streets > 0 THEN round(p.covered::numeric / p.streets, 4) END)"   \
	    " ORDER BY p.code) FROM pilots p), '[]'))::text FROM d")                                 \
	X(SQL_COMMITTEES_OUTSIDE, SQL_SERVE, true, 2,                                                \
	    "SELECT u.id FROM unnest($1::bigint[]) AS u(id) WHERE NOT EXISTS (SELECT 1"              \
	    " FROM committees c WHERE c.id = u.id"                                                   \
	    " AND ($2::text IS NULL OR region_within(c.region_code, $2)))")                          \
	X(SQL_REGIONS_OUTSIDE, SQL_SERVE, true, 2,                                                   \
	    "SELECT u.code FROM unnest($1::text[]) AS u(code)"                                       \
	    " WHERE NOT EXISTS (SELECT 1 FROM regions g WHERE g.code = u.code)"                      \
	    " OR ($2::text IS NOT NULL AND NOT region_within(u.code, $2))")                          \
	X(SQL_REGION_INSERT, SQL_SERVE, false, 10,                                                   \
	    "WITH r AS (INSERT INTO regions (code, name, level, parent_code)"                        \
	    " VALUES ($7, $8, $9::region_level, $10) RETURNING code, name, level, parent_code),"     \
	    " a AS (" SQL_AUDIT_FROM("region.create", "region", "r.code", "201",                     \
		"r") ")"                                                                             \
		     " SELECT code, name, level, parent_code FROM r")                                \
	SQL_CASE_STATEMENTS(X)                                                                       \
	SQL_REFERRAL_STATEMENTS(X)                                                                   \
	SQL_STATS_STATEMENTS(X)

enum sql_group { SQL_SERVE, SQL_MIGRATE };

#define SQL_ENUM(id, group, retry, nparams, text) id,
enum sql_id { SQL_STATEMENTS(SQL_ENUM) SQL__COUNT };
#undef SQL_ENUM

struct sql_statement {
	const char *name; /* the prepared statement's name: the id */
	enum sql_group group;
	bool retry;
	int nparams;
	const char *text;
};

extern const struct sql_statement sql_statements[SQL__COUNT];

#endif
