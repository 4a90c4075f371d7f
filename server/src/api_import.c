/*
 * api_import.c - rosters from spreadsheets. A CSV file is checked whole
 * first (roster.c) and every error is reported with its line; only a file
 * without errors is stored, all of it in one transaction, each row audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "mediators.h"
#include "reply.h"
#include "roster.h"

/*
 * Reads the request's CSV roster whose first line must name columns.
 * Replies 400 and returns false for a query, a file that is not CSV or a
 * wrong first line.
 */
static bool
roster_or_reply(struct request *r, const char *const *columns, struct csv *csv)
{
	if (!request_no_query_or_reply(r))
		return false;
	char err[256];
	switch (roster_read(r->arena, r->body, r->body_len, columns, csv, err, sizeof(err))) {
	case ROSTER_OK:
		return true;
	case ROSTER_NOT_CSV:
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "The file is not CSV: %s.", err);
		return false;
	case ROSTER_WRONG_COLUMNS:
		break;
	}
	const char *names = "";
	for (size_t i = 0; columns[i]; i++)
		names = arena_printf(r->arena, "%s%s%s", names, i ? "," : "", columns[i]);
	reply_problem(
	    r, 400, PROBLEM_BAD_REQUEST, "The first line must name the columns %s.", names);
	return false;
}

/*
 * Takes errors (stolen): when there are any, replies 422 listing them by
 * line and returns false.
 */
static bool
clean_or_reply(struct request *r, json_t *errors)
{
	if (json_array_size(errors) == 0) {
		json_decref(errors);
		return true;
	}
	reply_problem_with(r, 422, PROBLEM_UNPROCESSABLE,
	    "The file has errors, listed by line; nothing was stored.",
	    json_pack("{s:o}", "errors", errors));
	return false;
}

static const char *
or_null(const char *s)
{
	return *s ? s : NULL;
}

/*
 * The values in the first column of res, sorted, so that a roster's rows
 * are each looked up in them (a loop over both took seconds for a roster
 * whose thousands of rows named tens of thousands of committees).
 */
static int
text_order(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **
sorted_texts(struct arena *a, const PGresult *res)
{
	int n = PQntuples(res);
	const char **out = arena_alloc(a, ((size_t)n + 1) * sizeof(*out));
	for (int k = 0; k < n; k++)
		out[k] = PQgetvalue(res, k, 0);
	qsort(out, (size_t)n, sizeof(*out), text_order);
	return out;
}

static bool
among(const char *item, const char **sorted, const PGresult *res)
{
	return bsearch(&item, sorted, (size_t)PQntuples(res), sizeof(*sorted), text_order) != NULL;
}

static int
id_order(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static long long *
sorted_ids(struct arena *a, const PGresult *res)
{
	int n = PQntuples(res);
	long long *out = arena_alloc(a, ((size_t)n + 1) * sizeof(*out));
	for (int k = 0; k < n; k++)
		out[k] = strtoll(PQgetvalue(res, k, 0), NULL, 10);
	qsort(out, (size_t)n, sizeof(*out), id_order);
	return out;
}

/* Does the array literal list ("{1,2}") name one of the ids in res? */
static bool
list_meets(const char *list, const long long *sorted, const PGresult *res)
{
	for (const char *p = list + 1; *p != '\0' && *p != '}';) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p)
			break; /* not a list of ids: roster.c made it, so never */
		if (bsearch(&id, sorted, (size_t)PQntuples(res), sizeof(*sorted), id_order))
			return true;
		p = end + (*end == ',');
	}
	return false;
}

/* Stores every row in one transaction; false after replying. */
static bool
store_committees(struct request *r, const struct csv *csv, json_t *ids)
{
	if (!db_begin_or_reply(r))
		return false;
	for (size_t i = 1; i < csv->nrows; i++) {
		char **f = csv->rows[i].fields;
		const char *purchased = strcmp(f[C_PURCHASED], "yes") == 0 ? "true" : "false";
		const char *params[] = { f[C_NAME], f[C_KIND], f[C_REGION], or_null(f[C_HOST]),
			or_null(f[C_ADDRESS]), or_null(f[C_PHONE]), purchased, f[C_ESTABLISHED],
			or_null(f[C_CLOSED]), request_scope(r) };
		PGresult *res = audit_exec_or_reply(r, SQL_COMMITTEE_CREATE, params, 10);
		if (res == NULL)
			return false; /* the pool rolls the transaction back */
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			log_msg(LOG_ERROR, "request %s: importing line %zu: %s", r->id,
			    csv->rows[i].line, PQresultErrorMessage(res));
			reply_problem(r, 500, PROBLEM_INTERNAL,
			    "Line %zu could not be stored, so nothing was; this has been logged as "
			    "%s.",
			    csv->rows[i].line, r->id);
			return false;
		}
		json_array_append_new(ids, json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
	}
	return db_commit_or_reply(r);
}

static void
import_committees(struct request *r)
{
	struct csv csv;
	if (!roster_or_reply(r, roster_committee_columns, &csv))
		return;

	json_t *errors = json_array();
	const char *codes = roster_committees_check(r->arena, &csv, errors);
	const char *params[] = { codes, request_scope(r) };
	PGresult *outside = db_query_or_reply(r, SQL_REGIONS_OUTSIDE, params);
	if (outside == NULL) {
		json_decref(errors);
		return;
	}
	const char **unknown = sorted_texts(r->arena, outside);
	for (size_t i = 1; i < csv.nrows; i++)
		if (csv.rows[i].nfields == C_COUNT &&
		    among(csv.rows[i].fields[C_REGION], unknown, outside))
			roster_error(
			    errors, csv.rows[i].line, "region_code names no region in your scope");
	if (!clean_or_reply(r, errors))
		return;
	json_t *ids = json_array();
	if (!store_committees(r, &csv, ids)) {
		json_decref(ids);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:I, s:o}", "imported", (json_int_t)json_array_size(ids), "ids", ids));
}

static void
import_mediators(struct request *r)
{
	struct csv csv;
	if (!roster_or_reply(r, roster_mediator_columns, &csv))
		return;
	json_t *errors = json_array();
	struct mediator_row *rows = arena_zalloc(r->arena, csv.nrows * sizeof(*rows));
	const char *ids = roster_mediators_check(r->arena, &csv, errors, rows);
	const char *params[] = { ids, request_scope(r) };
	PGresult *outside = db_query_or_reply(r, SQL_COMMITTEES_OUTSIDE, params);
	if (outside == NULL) {
		json_decref(errors);
		return;
	}
	const long long *unknown = sorted_ids(r->arena, outside);
	for (size_t i = 1; i < csv.nrows; i++)
		if (rows[i].committees != NULL && list_meets(rows[i].committees, unknown, outside))
			roster_error(errors, csv.rows[i].line,
			    "committees names a committee that is not in your scope");
	if (!clean_or_reply(r, errors))
		return;
	if (!db_begin_or_reply(r))
		return;
	json_t *stored = json_array();
	for (size_t i = 1; i < csv.nrows; i++) {
		long long dk;
		PGresult *res = mediator_store(r, &rows[i], &dk);
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			json_decref(stored);
			if (!reply_sent(r))
				reply_problem(r, 500, PROBLEM_INTERNAL,
				    "Line %zu could not be stored, so nothing was; this has been "
				    "logged as %s.",
				    csv.rows[i].line, r->id);
			return; /* the pool rolls the transaction back, data keys included */
		}
		json_array_append_new(
		    stored, json_integer(strtoll(PQgetvalue(res, 0, 1), NULL, 10)));
	}
	if (!db_commit_or_reply(r)) {
		json_decref(stored);
		return;
	}
	reply_json(r, 200,
	    json_pack(
		"{s:I, s:o}", "imported", (json_int_t)json_array_size(stored), "ids", stored));
}

const struct route import_routes[] = {
	{ "POST", "/api/v1/import/committees", import_committees, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_CSV },
	{ "POST", "/api/v1/import/mediators", import_mediators, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_CSV },
	{ 0 },
};
