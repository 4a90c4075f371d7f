/*
 * api_committees.c - the registry of mediation committees (婚调委), rooms
 * (婚调室) and the guidance committee (指导委). Everyone signed in may read
 * it; administrators and federation staff keep it, staff only within their
 * own region: the scope is part of every statement, and a committee outside
 * it is answered 404, as if it did not exist. Never deleted: closing sets
 * closed_on.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define COMMITTEES_PAGE_DEFAULT 100
#define COMMITTEES_PAGE_MAX     1000

static bool
kind_valid(const char *s)
{
	return strcmp(s, "committee") == 0 || strcmp(s, "room") == 0 || strcmp(s, "guidance") == 0;
}

/* A committee's fields from a body; absent ones stay NULL / unset. */
struct committee_input {
	const char *name, *kind, *region, *established;
	json_t *host, *address, *phone, *purchased, *closed;
};

static bool
nullable_text(json_t *v, size_t max)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) && text_valid(json_string_value(v), max));
}

static bool
committee_input_or_reply(struct request *r, struct committee_input *in, bool create)
{
	memset(in, 0, sizeof(*in));
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT,
		"{s?s, s?s, s?s, s?o, s?o, s?o, s?o, s?s, s?o}", "name", &in->name, "kind",
		&in->kind, "region_code", &in->region, "host_org", &in->host, "address",
		&in->address, "phone", &in->phone, "purchased_service", &in->purchased,
		"established_on", &in->established, "closed_on", &in->closed) != 0) {
		reply_problem(
		    r, 400, PROBLEM_VALIDATION, "The body does not fit a committee: %s.", e.text);
		return false;
	}
	const char *why = NULL;
	if (create && (!in->name || !in->kind || !in->region || !in->established))
		why = "name, kind, region_code and established_on are required";
	else if (!create && json_object_size(r->json) == 0)
		why = "give at least one field to change";
	else if (in->name && !text_valid(in->name, 200))
		why = "name must be 1 to 200 printable characters";
	else if (in->kind && !kind_valid(in->kind))
		why = "kind must be committee, room or guidance";
	else if (in->region && !region_code_valid(in->region))
		why = "region_code must be a region code";
	else if (!nullable_text(in->host, 200) || !nullable_text(in->address, 300))
		why = "host_org and address are text (200 and 300 characters at most) or null";
	else if (!nullable_text(in->phone, 30))
		why = "phone is text or null";
	else if (in->purchased && !json_is_boolean(in->purchased))
		why = "purchased_service is true or false";
	else if (in->established && !date_valid(in->established))
		why = "established_on is a date such as 2026-03-08";
	else if (in->closed && !json_is_null(in->closed) &&
	    !(json_is_string(in->closed) && date_valid(json_string_value(in->closed))))
		why = "closed_on is a date such as 2026-12-31, or null";
	if (why == NULL)
		return true;
	reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
	return false;
}

static const char *
text_or_null(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *
bool_text(json_t *v)
{
	return v == NULL ? NULL : json_is_true(v) ? "true" : "false";
}

/* Maps what a user can get wrong when writing a committee. */
static void
committee_write_error(struct request *r, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && strcmp(state, "23503") == 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE, "There is no such region.");
	} else if (state != NULL && (strcmp(state, "23514") == 0 || strncmp(state, "22", 2) == 0)) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "The dates or the phone do not hold: closed_on must not be before "
		    "established_on, and a phone has 3 to 30 of 0-9 + ( ) - and spaces.");
	} else {
		log_msg(LOG_ERROR, "request %s: writing a committee: SQLSTATE %s: %s", r->id,
		    state ? state : "?", PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The committee could not be stored; this has been logged as %s.", r->id);
	}
}

static void
committees_create(struct request *r)
{
	struct committee_input in;
	if (!request_no_query_or_reply(r) || !committee_input_or_reply(r, &in, true))
		return;
	const char *params[] = { in.name, in.kind, in.region, text_or_null(in.host),
		text_or_null(in.address), text_or_null(in.phone), bool_text(in.purchased),
		in.established, text_or_null(in.closed), request_scope(r) };
	PGresult *res = audit_exec_or_reply(r, SQL_COMMITTEE_CREATE, params, 10);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		committee_write_error(r, res);
		return;
	}
	if (PQntuples(res) == 0) {
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "There is no region %s in your scope.", in.region);
		return;
	}
	request_add_header(
	    r, "Location", arena_printf(r->arena, "/api/v1/committees/%s", PQgetvalue(res, 0, 0)));
	reply_data(
	    r, 201, "application/json", PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
}

static void
committees_list(struct request *r)
{
	static const char *const known[] = { "region", "kind", "level", "active_on", "after",
		"limit", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *region = request_query(r, "region"), *kind = request_query(r, "kind");
	const char *level = request_query(r, "level"), *on = request_query(r, "active_on");
	const char *after = request_query(r, "after"), *limit_s = request_query(r, "limit");
	long limit = COMMITTEES_PAGE_DEFAULT, v;
	if ((region && !region_code_valid(region)) || (kind && !kind_valid(kind)) ||
	    (level && !region_level_valid(level)) || (on && !date_exists(on)) ||
	    (after && !parse_int_range(after, 0, 999999999999L, &v)) ||
	    (limit_s && !parse_int_range(limit_s, 1, COMMITTEES_PAGE_MAX, &limit))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "region is a region code, kind committee, room or guidance, level a region "
		    "level, "
		    "active_on a date, after an id, limit 1 to %d.",
		    COMMITTEES_PAGE_MAX);
		return;
	}
	const char *params[] = { request_scope(r), region, kind, on, after,
		arena_printf(r->arena, "%ld", limit), level };
	PGresult *res = db_query_or_reply(r, SQL_COMMITTEES_LIST, params);
	if (res != NULL)
		db_reply_json(r, 200, res);
}

static void
committees_get(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *params[] = { id, request_scope(r) };
	PGresult *res = db_query_or_reply(r, SQL_COMMITTEE_GET, params);
	if (res == NULL)
		return;
	if (PQntuples(res) == 0)
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no committee %s.", id);
	else
		db_reply_json(r, 200, res);
}

static void
committees_update(struct request *r)
{
	const char *id = request_id_or_reply(r);
	struct committee_input in;
	if (id == NULL || !committee_input_or_reply(r, &in, false))
		return;
	const char *params[] = { id, request_scope(r), in.name, in.kind, in.region,
		in.host ? "true" : "false", text_or_null(in.host), in.address ? "true" : "false",
		text_or_null(in.address), in.phone ? "true" : "false", text_or_null(in.phone),
		bool_text(in.purchased), in.established, in.closed ? "true" : "false",
		text_or_null(in.closed) };
	PGresult *res = audit_exec_or_reply(r, SQL_COMMITTEE_UPDATE, params, 15);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		committee_write_error(r, res);
	else if (PQntuples(res) == 0)
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "There is no committee %s in your scope.", id);
	else
		db_reply_json(r, 200, res);
}

const struct route committees_routes[] = {
	{ "POST", "/api/v1/committees", committees_create, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_JSON },
	{ "GET", "/api/v1/committees", committees_list, ROLE_ANY_USER, BODY_NONE },
	{ "GET", "/api/v1/committees/{id}", committees_get, ROLE_ANY_USER, BODY_NONE },
	{ "PATCH", "/api/v1/committees/{id}", committees_update, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_JSON },
	{ 0 },
};
