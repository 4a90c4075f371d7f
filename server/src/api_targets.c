/*
 * api_targets.c - the plan's goals per year and region (new committees,
 * every county covered, pilot districts), read by administrators and
 * federation staff (theirs and those above them), set by administrators.
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

/* The {year} path parameter, 2000 to 2100, or a 400. */
static const char *
year_or_reply(struct request *r)
{
	const char *year = request_param(r, "year");
	long v;
	if (year == NULL || !parse_int_range(year, 2000, 2100, &v)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "A year is a number from 2000 to 2100.");
		return NULL;
	}
	return year;
}

static void
targets_get(struct request *r)
{
	const char *year;
	if (!request_no_query_or_reply(r) || (year = year_or_reply(r)) == NULL)
		return;
	const char *params[] = { year, request_scope(r) };
	PGresult *res = db_query_or_reply(r, SQL_TARGETS_GET, params);
	if (res != NULL)
		db_reply_json(r, 200, res);
}

/* {450202,450203} from an array of county codes; NULL if malformed. */
static const char *
districts_literal(struct request *r, json_t *array)
{
	if (array == NULL)
		return "{}";
	if (!json_is_array(array) || json_array_size(array) > 50)
		return NULL;
	const char *out = "{";
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
	{
		if (!json_is_string(v) || !region_code_valid(json_string_value(v)))
			return NULL;
		out = arena_printf(r->arena, "%s%s%s", out, i ? "," : "", json_string_value(v));
	}
	return arena_printf(r->arena, "%s}", out);
}

static void
targets_put(struct request *r)
{
	const char *year = request_no_query_or_reply(r) ? year_or_reply(r) : NULL;
	if (year == NULL)
		return;
	const char *region;
	json_int_t count;
	json_t *covered = NULL, *pilots = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:I, s:o, s?o}", "region_code", &region,
		"new_committees", &count, "every_county_covered", &covered, "pilot_districts",
		&pilots) != 0 ||
	    !region_code_valid(region) || count < 0 || count > 10000 || !json_is_boolean(covered)) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is region_code, new_committees (0 to 10000), every_county_covered "
		    "(true or false) and pilot_districts (county codes), nothing else.");
		return;
	}
	const char *districts = districts_literal(r, pilots);
	if (districts == NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "pilot_districts lists county codes.");
		return;
	}
	const char *params[] = { year, region, arena_printf(r->arena, "%lld", (long long)count),
		json_is_true(covered) ? "true" : "false", districts };
	PGresult *res = audit_exec_or_reply(r, SQL_TARGET_PUT, params, 5);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23503") == 0) {
			reply_problem(
			    r, 422, PROBLEM_UNPROCESSABLE, "There is no region %s.", region);
			return;
		}
		log_msg(LOG_ERROR, "request %s: setting a target: %s", r->id,
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The target could not be stored; this has been logged as %s.", r->id);
	} else if (PQntuples(res) == 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "Every pilot district must be a county within region %s.", region);
	} else {
		db_reply_json(r, 200, res);
	}
}

const struct route targets_routes[] = {
	{ "GET", "/api/v1/targets/{year}", targets_get, ROLE_ADMIN | ROLE_FEDERATION, BODY_NONE },
	{ "PUT", "/api/v1/targets/{year}", targets_put, ROLE_ADMIN, BODY_JSON },
	{ 0 },
};
