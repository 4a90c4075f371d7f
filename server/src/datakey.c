/*
 * datakey.c - data keys over the connection pool's prepared statements.
 * Plain data keys only ever live in the caller's buffers; wrapped keys
 * travel as bytea in hex text form.
 */
#include "datakey.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "keyholder.h"

const char *
datakey_status_text(enum datakey_status s)
{
	switch (s) {
	case DATAKEY_OK:
		return "ok";
	case DATAKEY_MISSING:
		return "no such data key";
	case DATAKEY_SHREDDED:
		return "destroyed";
	case DATAKEY_NO_VERSION:
		return "wrapped under a master key version the keys lack";
	case DATAKEY_CORRUPT:
		return "does not unwrap (altered, or the wrong master key)";
	case DATAKEY_DB_ERROR:
		return "database error";
	}
	return "?";
}

/* "\x" and the hex of a wrapped key: bytea's text input form. */
static void
wrapped_text(
    const unsigned char wrapped[CRYPT_WRAPPED_BYTES], char out[2 * CRYPT_WRAPPED_BYTES + 3])
{
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 2 * CRYPT_WRAPPED_BYTES + 1, wrapped, CRYPT_WRAPPED_BYTES);
}

static bool
wrapped_parse(const char *text, unsigned char wrapped[CRYPT_WRAPPED_BYTES])
{
	size_t got = 0;
	return strncmp(text, "\\x", 2) == 0 &&
	    sodium_hex2bin(
		wrapped, CRYPT_WRAPPED_BYTES, text + 2, strlen(text + 2), NULL, &got, NULL) == 0 &&
	    got == CRYPT_WRAPPED_BYTES;
}

static bool
ok(PGresult *res, ExecStatusType want)
{
	return res != NULL && PQresultStatus(res) == want;
}

enum datakey_status
datakey_create(
    struct db_conn *c, const struct keyring *k, long long *id, unsigned char dek[CRYPT_KEY_BYTES])
{
	PGresult *res = db_exec(c, SQL_DATAKEY_NEXT_ID, NULL);
	if (!ok(res, PGRES_TUPLES_OK)) {
		PQclear(res);
		return DATAKEY_DB_ERROR;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	unsigned version = keyring_current(k);
	unsigned char wrapped[CRYPT_WRAPPED_BYTES];
	crypt_new_data_key(dek);
	if (!crypt_wrap(k, version, *id, dek, wrapped))
		return DATAKEY_NO_VERSION;
	char id_text[24], version_text[16], hex[2 * CRYPT_WRAPPED_BYTES + 3];
	snprintf(id_text, sizeof(id_text), "%lld", *id);
	snprintf(version_text, sizeof(version_text), "%u", version);
	wrapped_text(wrapped, hex);
	const char *params[] = { id_text, version_text, hex };
	res = db_exec(c, SQL_DATAKEY_INSERT, params);
	bool stored = ok(res, PGRES_COMMAND_OK);
	PQclear(res);
	if (!stored)
		sodium_memzero(dek, CRYPT_KEY_BYTES);
	return stored ? DATAKEY_OK : DATAKEY_DB_ERROR;
}

enum datakey_status
datakey_unwrap_row(const struct keyring *k, long long id, const char *version_text,
    const char *wrapped_hex, unsigned char dek[CRYPT_KEY_BYTES])
{
	unsigned version = (unsigned)strtoul(version_text, NULL, 10);
	unsigned char wrapped[CRYPT_WRAPPED_BYTES];
	if (!keyring_has(k, version))
		return DATAKEY_NO_VERSION;
	if (!wrapped_parse(wrapped_hex, wrapped) ||
	    !crypt_unwrap(k, version, id, wrapped, sizeof(wrapped), dek))
		return DATAKEY_CORRUPT;
	return DATAKEY_OK;
}

/* Fetches and unwraps data key id with k, or with h's keys (reloading them). */
static enum datakey_status
open_common(struct db_conn *c, const struct keyring *k, struct keyholder *h, long long id,
    unsigned char dek[CRYPT_KEY_BYTES])
{
	char id_text[24];
	snprintf(id_text, sizeof(id_text), "%lld", id);
	const char *params[] = { id_text };
	PGresult *res = db_exec(c, SQL_DATAKEY_GET, params);
	enum datakey_status st;
	if (!ok(res, PGRES_TUPLES_OK)) {
		st = DATAKEY_DB_ERROR;
	} else if (PQntuples(res) == 0) {
		st = DATAKEY_MISSING;
	} else if (PQgetisnull(res, 0, 1)) {
		st = DATAKEY_SHREDDED;
	} else {
		const char *version = PQgetvalue(res, 0, 0);
		if (h != NULL)
			k = keyholder_with(h, (unsigned)strtoul(version, NULL, 10));
		st = k == NULL ? DATAKEY_NO_VERSION
			       : datakey_unwrap_row(k, id, version, PQgetvalue(res, 0, 1), dek);
	}
	PQclear(res);
	return st;
}

enum datakey_status
datakey_open(
    struct db_conn *c, const struct keyring *k, long long id, unsigned char dek[CRYPT_KEY_BYTES])
{
	return open_common(c, k, NULL, id, dek);
}

enum datakey_status
datakey_open_held(
    struct db_conn *c, struct keyholder *h, long long id, unsigned char dek[CRYPT_KEY_BYTES])
{
	return open_common(c, NULL, h, id, dek);
}

enum datakey_status
datakey_shred(struct db_conn *c, long long id)
{
	char id_text[24];
	snprintf(id_text, sizeof(id_text), "%lld", id);
	const char *params[] = { id_text };
	PGresult *res = db_exec(c, SQL_DATAKEY_SHRED, params);
	enum datakey_status st = !ok(res, PGRES_TUPLES_OK) ? DATAKEY_DB_ERROR
	    : PQntuples(res) == 0                          ? DATAKEY_MISSING
							   : DATAKEY_OK;
	PQclear(res);
	return st;
}

enum datakey_status
datakey_rotate_batch(struct db_conn *c, const struct keyring *k, int batch, long long *moved)
{
	char newest[16], limit[16];
	unsigned version = keyring_current(k);
	snprintf(newest, sizeof(newest), "%u", version);
	snprintf(limit, sizeof(limit), "%d", batch);
	*moved = 0;
	if (!db_run_fixed(c, "BEGIN"))
		return DATAKEY_DB_ERROR;
	const char *params[] = { newest, limit };
	PGresult *rows = db_exec(c, SQL_DATAKEY_STALE, params);
	enum datakey_status st = ok(rows, PGRES_TUPLES_OK) ? DATAKEY_OK : DATAKEY_DB_ERROR;
	for (int i = 0; st == DATAKEY_OK && i < PQntuples(rows); i++) {
		long long id = strtoll(PQgetvalue(rows, i, 0), NULL, 10);
		unsigned char dek[CRYPT_KEY_BYTES], wrapped[CRYPT_WRAPPED_BYTES];
		st = datakey_unwrap_row(k, id, PQgetvalue(rows, i, 1), PQgetvalue(rows, i, 2), dek);
		if (st != DATAKEY_OK)
			break;
		bool wrapped_ok = crypt_wrap(k, version, id, dek, wrapped);
		sodium_memzero(dek, sizeof(dek));
		if (!wrapped_ok) {
			st = DATAKEY_NO_VERSION;
			break;
		}
		char hex[2 * CRYPT_WRAPPED_BYTES + 3];
		wrapped_text(wrapped, hex);
		const char *up[] = { PQgetvalue(rows, i, 0), newest, hex };
		PGresult *res = db_exec(c, SQL_DATAKEY_REWRAP, up);
		if (!ok(res, PGRES_COMMAND_OK))
			st = DATAKEY_DB_ERROR;
		PQclear(res);
		(*moved)++;
	}
	PQclear(rows);
	if (st == DATAKEY_OK && db_run_fixed(c, "COMMIT"))
		return DATAKEY_OK;
	db_run_fixed(c, "ROLLBACK");
	*moved = 0;
	return st == DATAKEY_OK ? DATAKEY_DB_ERROR : st;
}

bool
datakey_counts(struct db_conn *c, const struct keyring *k, long long *stale, long long *current)
{
	char newest[16];
	snprintf(newest, sizeof(newest), "%u", keyring_current(k));
	const char *params[] = { newest };
	PGresult *res = db_exec(c, SQL_DATAKEY_COUNTS, params);
	bool good = ok(res, PGRES_TUPLES_OK);
	if (good) {
		*stale = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*current = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return good;
}
