/*
 * migrate.c - the migrator. SQL files are trusted input compiled into the
 * binary and sent with PQexec inside BEGIN/COMMIT; everything else goes
 * through the parameterised statements of sql.h.
 */
#include "migrate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "log.h"
#include "sql.h"

/* "tiaojie" in ASCII, as a 64-bit advisory lock key. */
#define MIGRATE_LOCK_KEY "32766964500425061"

static int
version_of(const struct embedded_file *f)
{
	return atoi(f->name);
}

int
migrate_latest(void)
{
	if (embedded_migrations_count == 0)
		return 0;
	return version_of(&embedded_migrations[embedded_migrations_count - 1]);
}

static void
checksum(const struct embedded_file *f, char hex[2 * crypto_hash_sha256_BYTES + 1])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, f->data, f->size);
	sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, digest, sizeof(digest));
}

static PGresult *
run(PGconn *pg, enum sql_id id, const char *const *params)
{
	const struct sql_statement *s = &sql_statements[id];
	return PQexecParams(pg, s->text, s->nparams, NULL, params, NULL, NULL, 0);
}

static bool
ok(PGresult *res, const char *what, PGconn *pg, char *err, size_t errlen)
{
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
	err[strcspn(err, "\n")] = '\0';
	return false;
}

enum schema_state
migrate_compare(const PGresult *res, char *err, size_t errlen)
{
	int rows = PQntuples(res);
	size_t i = 0;
	for (int row = 0; row < rows; row++, i++) {
		int version = atoi(PQgetvalue(res, row, 0));
		const char *name = PQgetvalue(res, row, 1);
		if (i >= embedded_migrations_count ||
		    version_of(&embedded_migrations[i]) != version) {
			snprintf(err, errlen,
			    "the database has migration %s, which this binary does not know: "
			    "it was migrated by a newer version",
			    name);
			return SCHEMA_AHEAD;
		}
		char hex[2 * crypto_hash_sha256_BYTES + 1];
		checksum(&embedded_migrations[i], hex);
		if (strcmp(hex, PQgetvalue(res, row, 2)) != 0) {
			snprintf(err, errlen,
			    "migration %s was changed after it was applied "
			    "(recorded checksum %.12s..., file %.12s...); "
			    "never edit an applied migration, add a new one",
			    embedded_migrations[i].name, PQgetvalue(res, row, 2), hex);
			return SCHEMA_CHANGED;
		}
	}
	if (i < embedded_migrations_count) {
		snprintf(err, errlen,
		    "the schema is at version %d, this binary needs %d: run 'tiaojie migrate'",
		    i == 0 ? 0 : version_of(&embedded_migrations[i - 1]), migrate_latest());
		return SCHEMA_BEHIND;
	}
	return SCHEMA_CURRENT;
}

enum schema_state
migrate_check(PGconn *pg, char *err, size_t errlen)
{
	PGresult *res = run(pg, SQL_MIGRATE_TABLE_EXISTS, NULL);
	if (!ok(res, "reading the schema version", pg, err, errlen)) {
		PQclear(res);
		return SCHEMA_UNKNOWN;
	}
	bool exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!exists) {
		snprintf(err, errlen, "the database has no schema yet: run 'tiaojie migrate'");
		return SCHEMA_BEHIND;
	}
	res = run(pg, SQL_SCHEMA_VERSIONS, NULL);
	if (!ok(res, "reading schema_migrations", pg, err, errlen)) {
		PQclear(res);
		return SCHEMA_UNKNOWN;
	}
	enum schema_state state = migrate_compare(res, err, errlen);
	PQclear(res);
	return state;
}

static bool
exec_simple(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	bool good = ok(res, what, pg, err, errlen);
	PQclear(res);
	return good;
}

static bool
apply(PGconn *pg, const struct embedded_file *f, char *err, size_t errlen)
{
	char version[16], hex[2 * crypto_hash_sha256_BYTES + 1];
	snprintf(version, sizeof(version), "%d", version_of(f));
	checksum(f, hex);
	const char *params[] = { version, f->name, hex };
	char what[128];
	snprintf(what, sizeof(what), "migration %s", f->name);

	/* A migration of a large database may take long: no statement timeout. */
	if (!exec_simple(pg, "BEGIN; SET LOCAL statement_timeout = 0", what, err, errlen))
		return false;
	if (exec_simple(pg, (const char *)f->data, what, err, errlen)) {
		PGresult *res = run(pg, SQL_MIGRATE_RECORD, params);
		bool recorded = ok(res, what, pg, err, errlen);
		PQclear(res);
		if (recorded && exec_simple(pg, "COMMIT", what, err, errlen)) {
			log_msg(LOG_INFO, "applied migration %s", f->name);
			return true;
		}
	}
	PQclear(PQexec(pg, "ROLLBACK"));
	return false;
}

bool
migrate_run(PGconn *pg, char *err, size_t errlen)
{
	const char *key[] = { MIGRATE_LOCK_KEY };
	PGresult *res = run(pg, SQL_MIGRATE_LOCK, key);
	if (!ok(res, "taking the migration lock", pg, err, errlen)) {
		PQclear(res);
		return false;
	}
	PQclear(res);

	bool good = false;
	res = run(pg, SQL_MIGRATE_TABLE, NULL);
	if (!ok(res, "creating schema_migrations", pg, err, errlen))
		goto out;
	PQclear(res);
	res = run(pg, SQL_SCHEMA_VERSIONS, NULL);
	if (!ok(res, "reading schema_migrations", pg, err, errlen))
		goto out;

	enum schema_state state = migrate_compare(res, err, errlen);
	if (state == SCHEMA_CURRENT) {
		good = true;
		goto out;
	}
	if (state != SCHEMA_BEHIND)
		goto out;
	for (size_t i = (size_t)PQntuples(res); i < embedded_migrations_count; i++)
		if (!apply(pg, &embedded_migrations[i], err, errlen))
			goto out;
	good = true;
out:
	PQclear(res);
	res = run(pg, SQL_MIGRATE_UNLOCK, key);
	PQclear(res);
	return good;
}
