/*
 * fields.h - personal data fields of a request: sealed for their table,
 * column and row under a record's data key, as PostgreSQL's bytea text,
 * and opened again; blind indexes for equality look-ups. Results live in
 * the request's arena, which is wiped when the request ends.
 */
#ifndef TIAOJIE_FIELDS_H
#define TIAOJIE_FIELDS_H

#include "crypt.h"
#include "datakey.h"

struct request;

/* plain sealed as bytea text ("\x..."), or NULL when it is too long. */
const char *field_seal(struct request *r, const unsigned char dek[CRYPT_KEY_BYTES],
    const char *table, const char *column, const char *row, const char *plain);

/* What field_seal sealed for the same place, or NULL when it does not open. */
const char *field_open(struct request *r, const unsigned char dek[CRYPT_KEY_BYTES],
    const char *table, const char *column, const char *row, const char *hex);

/*
 * Data key id, opened once per request: a request that seals and then
 * answers with what it sealed unwraps the key once. Held in the request's
 * arena, wiped when the request ends.
 */
enum datakey_status field_key(struct request *r, long long id, unsigned char dek[CRYPT_KEY_BYTES]);

/* Holds a data key just created, for the rest of the request. */
void field_key_hold(struct request *r, long long id, const unsigned char dek[CRYPT_KEY_BYTES]);

/* The blind index of plain as text, or NULL when plain is not of kind. */
const char *field_blind(struct request *r, enum blind_kind kind, const char *plain);

#endif
