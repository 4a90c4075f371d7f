/*
 * cases.h - what the case files (api_cases.c, api_case_flow.c,
 * api_case_records.c) share: the caller's scope, versions, the case's key,
 * and the one way a case is answered.
 */
#ifndef TIAOJIE_CASES_H
#define TIAOJIE_CASES_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "crypt.h"
#include "sql.h"

struct request;

/* The caller's scope as statement parameters: region, mediator record. */
void case_scope(struct request *r, const char *scope[2]);

/* What a write needs to know of a case before it writes (SQL_CASE_KEY). */
struct case_head {
	const char *id, *version, *status, *dv_risk, *safety_referral, *difficulty, *result,
	    *agreement_form, *due_on, *committee_id;
	long long data_key_id;
};

/*
 * The version in If-Match and the case it names, in the caller's scope
 * and not purged; false after replying 428, 400, 404, 409 or 412.
 */
bool case_head_or_reply(struct request *r, struct case_head *h);

/* Opens the case's data key; false after replying 503. */
bool
case_key_or_reply(struct request *r, const struct case_head *h, unsigned char dek[CRYPT_KEY_BYTES]);

/*
 * Runs a write to a case in a transaction that case_reply() commits;
 * false after replying (see case_written_or_reply).
 */
bool
case_write_or_reply(struct request *r, enum sql_id statement, const char *const *params, size_t n);

/*
 * Answers a write's result: no row means the case moved on meanwhile
 * (412); an error is logged and answered 500. True when a row came back.
 */
bool case_written_or_reply(struct request *r, const PGresult *res);

/*
 * Answers case id as the caller may see it, with its ETag, committing the
 * write's transaction if one is open (so a read that cannot be audited
 * undoes the write): personal data
 * decrypted for mediators, and for administrators who state a purpose,
 * each such read audited with the fields read; left out for everyone else.
 * extra's members (if any) are added to the answer; the reference is taken.
 */
void case_reply(struct request *r, const char *id, unsigned status, json_t *extra);

/* Parties from a JSON array, sealed and stored for case id (in a transaction). */
bool parties_store_or_reply(struct request *r, const unsigned char dek[CRYPT_KEY_BYTES],
    const char *case_id, json_t *parties);
/* Why a JSON array is not 1 to 20 parties, or NULL when it is. */
const char *parties_problem(json_t *parties);

/*
 * Other open cases with a party of the same phone or ID number as one of
 * case id's: {"cases": [...in scope...], "elsewhere": N}. NULL after replying.
 */
json_t *case_duplicates(struct request *r, const char *id);

/* A timestamp member with a zone (RFC 3339). */
bool case_time_valid(json_t *v);

#endif
