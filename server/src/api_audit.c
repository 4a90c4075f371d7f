/*
 * api_audit.c - reading the audit trail and checking its hash chain, for
 * administrators. Entries come newest first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX     1000

static void
audit_list(struct request *r)
{
	static const char *const known[] = { "object_type", "object_id", "actor_id", "from", "to",
		"after", "limit", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *type = request_query(r, "object_type");
	const char *object = request_query(r, "object_id");
	const char *actor = request_query(r, "actor_id");
	const char *from = request_query(r, "from");
	const char *to = request_query(r, "to");
	const char *after = request_query(r, "after");
	const char *limit_s = request_query(r, "limit");
	long limit = AUDIT_PAGE_DEFAULT, v;
	if ((type && !text_valid(type, 64)) || (object && !text_valid(object, 200)) ||
	    (actor && !parse_int_range(actor, 1, 999999999999L, &v)) ||
	    (from && !rfc3339_valid(from)) || (to && !rfc3339_valid(to)) ||
	    (after && !parse_int_range(after, 1, 999999999999999L, &v)) ||
	    (limit_s && !parse_int_range(limit_s, 1, AUDIT_PAGE_MAX, &limit))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "actor_id and after are ids, limit is 1 to %d, object_type and object_id are "
		    "text.",
		    AUDIT_PAGE_MAX);
		return;
	}
	const char *params[] = { type, object, actor, from, to, after,
		arena_printf(r->arena, "%ld", limit) };
	PGresult *res = db_exec_or_reply(r, SQL_AUDIT_LIST, params);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strncmp(state, "22", 2) == 0) {
			reply_problem(r, 400, PROBLEM_BAD_REQUEST,
			    "from and to are date-times such as 2026-11-29T00:00:00+08:00.");
			return;
		}
		log_msg(LOG_ERROR, "request %s: listing audit entries: %s", r->id,
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The entries could not be read; this has been logged as %s.", r->id);
		return;
	}
	db_reply_json(r, 200, res);
}

static void
audit_verify(struct request *r)
{
	static const char *const known[] = { NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	/* Seal what is pending first, so that the answer covers everything. */
	const char *all[] = { "2147483647" };
	if (db_query_or_reply(r, SQL_AUDIT_SEAL, all) == NULL)
		return;
	const char *max[] = { "100" };
	PGresult *found = db_query_or_reply(r, SQL_AUDIT_VERIFY, max);
	if (found == NULL)
		return;
	PGresult *counts = db_query_or_reply(r, SQL_AUDIT_COUNTS, NULL);
	if (counts == NULL)
		return;
	json_t *problems = json_array();
	for (int i = 0; i < PQntuples(found); i++)
		json_array_append_new(problems,
		    json_pack("{s:I, s:I, s:s}", "seq",
			(json_int_t)strtoll(PQgetvalue(found, i, 0), NULL, 10), "id",
			(json_int_t)strtoll(PQgetvalue(found, i, 1), NULL, 10), "problem",
			PQgetvalue(found, i, 2)));
	reply_json(r, 200,
	    json_pack("{s:b, s:I, s:I, s:o}", "ok", PQntuples(found) == 0, "sealed",
		(json_int_t)strtoll(PQgetvalue(counts, 0, 0), NULL, 10), "unsealed",
		(json_int_t)strtoll(PQgetvalue(counts, 0, 1), NULL, 10), "problems", problems));
}

const struct route audit_routes[] = {
	{ "GET", "/api/v1/audit", audit_list, ROLE_ADMIN, BODY_NONE },
	{ "GET", "/api/v1/audit/verify", audit_verify, ROLE_ADMIN, BODY_NONE },
	{ 0 },
};
