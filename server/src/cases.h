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

/* A JSON member's text, or NULL when it is absent, null or not a string. */
static inline const char *
json_text(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

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

/* A new case's members as statement parameters (NULL: none, or the default). */
struct case_new {
	const char *committee, *source, *dispute, *summary, *minors, *dv_flag, *dv_risk,
	    *difficulty, *lead, *co, *received;
	json_t *parties;      /* checked by parties_problem() */
	const char *county;   /* for a committee above the counties: the case's county */
	const char *referral; /* the referral the case takes up, or NULL */
	/* Run in the case's transaction once it is stored; false after replying. */
	bool (*on_stored)(struct request *r, const char *case_id, void *context);
	void *context;
};

/*
 * Places a new case (404 outside the caller's scope, 422 where it cannot
 * go), stores it with its parties, and answers 201 with the case and the
 * duplicates found, all in one transaction.
 */
void case_create_and_reply(struct request *r, const struct case_new *n);

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

/* One of the dispute types of a case (divorce, custody, ...). */
bool case_dispute_type_valid(const char *s);

/* A timestamp member with a zone (RFC 3339). */
bool case_time_valid(json_t *v);

#endif
