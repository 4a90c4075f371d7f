/*
 * api_coverage.c - how far the city is from the plan's coverage goal, on
 * any date: per county the committees, rooms and guidance committees open
 * that day, whether the county is covered, and the mediators and experts
 * serving there; totals against the year's target; and the street-level
 * coverage of the pilot districts. As JSON, or as CSV for Excel (UTF-8
 * with a byte-order mark, so Chinese names open intact).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "arena.h"
#include "csv.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

static void
reply_csv(struct request *r, json_t *coverage)
{
	static const char *const columns[] = { "region_code", "name", "committees", "rooms",
		"guidance", "covered", "mediators", "experts", "referrals_to_guidance", NULL };
	struct sbuf b = { 0 };
	sbuf_append(&b, "\xEF\xBB\xBF", 3); /* the byte-order mark Excel needs for UTF-8 */
	for (size_t i = 0; columns[i]; i++)
		csv_write_field(&b, columns[i], columns[i + 1] == NULL);
	size_t n;
	json_t *county;
	json_array_foreach(json_object_get(coverage, "counties"), n, county)
	{
		for (size_t i = 0; columns[i]; i++) {
			json_t *v = json_object_get(county, columns[i]);
			char num[32];
			const char *text = json_is_string(v) ? json_string_value(v)
			    : json_is_boolean(v)
			    ? (json_is_true(v) ? "yes" : "no")
			    : (snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)),
				  num);
			csv_write_field(&b, text, columns[i + 1] == NULL);
		}
	}
	json_decref(coverage);
	size_t len = b.len;
	reply_take(r, 200, "text/csv; charset=utf-8", sbuf_steal(&b), len);
}

static void
coverage(struct request *r)
{
	static const char *const known[] = { "as_of", "region", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *as_of = request_query(r, "as_of");
	const char *region = request_query(r, "region");
	if (region == NULL)
		region = request_scope(r);
	if ((as_of && !date_valid(as_of)) || region == NULL || !region_code_valid(region)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "as_of is a date such as 2026-06-30 (default today), and region a region code "
		    "(required for administrators).");
		return;
	}
	const char *params[] = { as_of, region, request_scope(r) };
	PGresult *res = db_exec_or_reply(r, SQL_COVERAGE, params);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strncmp(state, "22", 2) == 0) {
			reply_problem(
			    r, 400, PROBLEM_BAD_REQUEST, "as_of is not a date that exists.");
			return;
		}
		log_msg(LOG_ERROR, "request %s: coverage: %s", r->id, PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The coverage could not be computed; this has been logged as %s.", r->id);
		return;
	}
	if (PQntuples(res) == 0) {
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "There is no region %s in your scope.", region);
		return;
	}
	if (csv_wanted(request_header(r, "Accept")))
		reply_csv(r, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
	else
		db_reply_json(r, 200, res);
}

const struct route coverage_routes[] = {
	{ "GET", "/api/v1/coverage", coverage, ROLE_ADMIN | ROLE_FEDERATION, BODY_NONE },
	{ 0 },
};
