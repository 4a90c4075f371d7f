/*
 * audit.h - the audit trail: who did what, to which object, when, from
 * where and why. Entries are written in the same statement as the change
 * they record (SQL_AUDIT_FROM in sql.h) or alone (audit_refusal); a
 * background thread seals them into a hash chain (audit_seal() in SQL).
 */
#ifndef TIAOJIE_AUDIT_H
#define TIAOJIE_AUDIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "sql.h"

struct request;
struct server;

#define AUDIT_CONTEXT_PARAMS 6

/* The six context parameters of an audited statement, for request r. */
void audit_context(struct request *r, const char *ctx[AUDIT_CONTEXT_PARAMS]);

/*
 * Runs audited statement id with the context followed by n parameters.
 * Returns the result (any status: the caller maps SQLSTATEs) or NULL after
 * replying 503.
 */
PGresult *
audit_exec_or_reply(struct request *r, enum sql_id id, const char *const *params, size_t n);

/*
 * Records an event that changes nothing: a refusal, a throttled sign-in.
 * object_type and object_id may be NULL. Never replies; a failure is
 * logged.
 */
void audit_event(struct request *r, const char *action, const char *object_type,
    const char *object_id, unsigned status);

/* Records that r was refused with status (401 or 403). Never replies. */
void audit_refusal(struct request *r, unsigned status);

/* Starts and stops the sealing thread (its own database connection). */
bool audit_sealer_start(struct server *srv);
void audit_sealer_stop(struct server *srv);

/*
 * Seals what is pending, then checks the whole chain on pg (a connection
 * with the server's role or the owner's). Prints each problem to out.
 * Returns 0 when the chain is whole, 1 when it is not, -1 on error.
 */
int audit_verify_print(PGconn *pg, void *out);

#endif
