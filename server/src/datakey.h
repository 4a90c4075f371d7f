/*
 * datakey.h - records' data keys in the data_keys table: created wrapped
 * under the newest master key version, unwrapped on use, re-wrapped by a
 * rotation, destroyed (crypto-shredding) when a record's retention ends.
 */
#ifndef TIAOJIE_DATAKEY_H
#define TIAOJIE_DATAKEY_H

#include <stdbool.h>

#include "crypt.h"

struct db_conn;

enum datakey_status {
	DATAKEY_OK,
	DATAKEY_MISSING,    /* no such data key */
	DATAKEY_SHREDDED,   /* destroyed: its fields are gone for good */
	DATAKEY_NO_VERSION, /* wrapped under a master version the keys lack */
	DATAKEY_CORRUPT,    /* does not unwrap: altered, or the wrong master key */
	DATAKEY_DB_ERROR,   /* the database failed or is unreachable */
};

/* A human word for a status, for messages. */
const char *datakey_status_text(enum datakey_status s);

/*
 * Creates a data key: *id and dek are filled on DATAKEY_OK. The wrapping
 * is bound to the id, so a wrapped key copied to another row fails.
 */
enum datakey_status datakey_create(
    struct db_conn *c, const struct keyring *k, long long *id, unsigned char dek[CRYPT_KEY_BYTES]);

/* Unwraps data key id into dek. */
enum datakey_status datakey_open(
    struct db_conn *c, const struct keyring *k, long long id, unsigned char dek[CRYPT_KEY_BYTES]);

/*
 * Unwraps data key id from its row as the database gives it: the master
 * key version and the wrapped key as bytea hex text. DATAKEY_NO_VERSION
 * when k lacks the version, DATAKEY_CORRUPT when the text is malformed or
 * does not unwrap.
 */
enum datakey_status datakey_unwrap_row(const struct keyring *k, long long id,
    const char *version_text, const char *wrapped_hex, unsigned char dek[CRYPT_KEY_BYTES]);

struct keyholder;

/*
 * As datakey_open, reloading h's keys once when the data key was wrapped
 * under a master version they lack (a rotation under way).
 */
enum datakey_status datakey_open_held(
    struct db_conn *c, struct keyholder *h, long long id, unsigned char dek[CRYPT_KEY_BYTES]);

/* Destroys data key id; DATAKEY_MISSING when there is none left to destroy. */
enum datakey_status datakey_shred(struct db_conn *c, long long id);

/*
 * Re-wraps up to batch data keys that use a master version older than the
 * newest, in one transaction. *moved is how many were re-wrapped (0: none
 * left). Keys wrapped under a version the keyring lacks are an error.
 */
enum datakey_status
datakey_rotate_batch(struct db_conn *c, const struct keyring *k, int batch, long long *moved);

/* Data keys below the newest master version, and at it. */
bool
datakey_counts(struct db_conn *c, const struct keyring *k, long long *stale, long long *current);

#endif
