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

#define SQL_STATEMENTS(X)                                                                          \
	X(SQL_MIGRATE_LOCK, SQL_MIGRATE, false, 1, "SELECT pg_advisory_lock($1::bigint)")          \
	X(SQL_MIGRATE_UNLOCK, SQL_MIGRATE, false, 1, "SELECT pg_advisory_unlock($1::bigint)")      \
	X(SQL_MIGRATE_TABLE, SQL_MIGRATE, false, 0,                                                \
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("                                       \
	    " version integer PRIMARY KEY,"                                                        \
	    " name text NOT NULL,"                                                                 \
	    " checksum text NOT NULL,"                                                             \
	    " applied_at timestamptz NOT NULL DEFAULT now())")                                     \
	X(SQL_MIGRATE_TABLE_EXISTS, SQL_MIGRATE, true, 0,                                          \
	    "SELECT to_regclass('schema_migrations') IS NOT NULL")                                 \
	X(SQL_MIGRATE_RECORD, SQL_MIGRATE, false, 3,                                               \
	    "INSERT INTO schema_migrations (version, name, checksum)"                              \
	    " VALUES ($1, $2, $3)")                                                                \
	X(SQL_SCHEMA_VERSIONS, SQL_SERVE, true, 0,                                                 \
	    "SELECT version, name, checksum FROM schema_migrations"                                \
	    " ORDER BY version")                                                                   \
	X(SQL_REGIONS_LIST, SQL_SERVE, true, 4,                                                    \
	    "SELECT code, name, level, parent_code FROM regions"                                   \
	    " WHERE ($1::text IS NULL OR parent_code = $1)"                                        \
	    " AND ($2::region_level IS NULL OR level = $2)"                                        \
	    " AND ($3::text IS NULL OR code > $3)"                                                 \
	    " ORDER BY code LIMIT $4")                                                             \
	X(SQL_REGION_GET, SQL_SERVE, true, 1,                                                      \
	    "WITH RECURSIVE up AS ("                                                               \
	    " SELECT code, name, level, parent_code, 0 AS depth"                                   \
	    " FROM regions WHERE code = $1"                                                        \
	    " UNION ALL"                                                                           \
	    " SELECT p.code, p.name, p.level, p.parent_code, up.depth + 1"                         \
	    " FROM regions p JOIN up ON p.code = up.parent_code"                                   \
	    " WHERE up.depth < 16)"                                                                \
	    " SELECT json_build_object("                                                           \
	    " 'code', r.code, 'name', r.name, 'level', r.level,"                                   \
	    " 'parent_code', r.parent_code,"                                                       \
	    " 'ancestors', COALESCE((SELECT json_agg(json_build_object("                           \
	    "  'code', u.code, 'name', u.name, 'level', u.level)"                                  \
	    "  ORDER BY u.depth DESC) FROM up u WHERE u.depth > 0), '[]'),"                        \
	    " 'children', COALESCE((SELECT json_agg(json_build_object("                            \
	    "  'code', c.code, 'name', c.name, 'level', c.level)"                                  \
	    "  ORDER BY c.code) FROM regions c WHERE c.parent_code = r.code),"                     \
	    "  '[]'))::text"                                                                       \
	    " FROM regions r WHERE r.code = $1")                                                   \
	X(SQL_REGION_INSERT, SQL_SERVE, false, 4,                                                  \
	    "INSERT INTO regions (code, name, level, parent_code)"                                 \
	    " VALUES ($1, $2, $3::region_level, $4)"                                               \
	    " RETURNING code, name, level, parent_code")

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
