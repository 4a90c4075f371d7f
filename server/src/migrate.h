/*
 * migrate.h - schema migrations: the numbered SQL files compiled into the
 * binary, applied in order, each in its own transaction, recorded with a
 * SHA-256 checksum in schema_migrations. Concurrent runs are serialised
 * by an advisory lock.
 */
#ifndef TIAOJIE_MIGRATE_H
#define TIAOJIE_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

enum schema_state {
	SCHEMA_CURRENT, /* every migration applied, none changed */
	SCHEMA_BEHIND,  /* some not applied yet: run migrate */
	SCHEMA_CHANGED, /* an applied file differs from the binary's */
	SCHEMA_AHEAD,   /* the database has migrations this binary lacks */
	SCHEMA_UNKNOWN, /* could not be read */
};

/* The highest migration version this binary carries. */
int migrate_latest(void);

/*
 * Applies what is pending. Returns false with the reason in err; a
 * migration that fails leaves no trace (its transaction is rolled back).
 */
bool migrate_run(PGconn *pg, char *err, size_t errlen);

/*
 * Compares a result of SQL_SCHEMA_VERSIONS (version, name, checksum rows)
 * with the embedded migrations; err says what differs.
 */
enum schema_state migrate_compare(const PGresult *res, char *err, size_t errlen);

/* Reads schema_migrations on pg and compares it (see migrate_compare). */
enum schema_state migrate_check(PGconn *pg, char *err, size_t errlen);

#endif
