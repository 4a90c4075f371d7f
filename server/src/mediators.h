/*
 * mediators.h - what the roster import shares with api_mediators.c.
 */
#ifndef TIAOJIE_MEDIATORS_H
#define TIAOJIE_MEDIATORS_H

#include <libpq-fe.h>
#include <stdbool.h>

struct request;

/* A mediator's fields as statement parameters (NULL: none). */
struct mediator_row {
	const char *name, *gender, *full_time, *specialties, *expert, *phone, *trained, *certified,
	    *committees; /* specialties and committees as array literals */
};

/* One of law, psychology, social_work, education, medicine, other. */
bool mediator_specialty_valid(const char *s);

/*
 * Stores a mediator: a data key (its id in *dk), the phone sealed under it,
 * the row and its memberships, audited, on the request's connection.
 * Returns the statement's result (no row: a committee outside the caller's
 * scope) or NULL after replying.
 */
PGresult *mediator_store(struct request *r, const struct mediator_row *m, long long *dk);

#endif
