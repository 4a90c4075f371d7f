/*
 * api_import.c - rosters from spreadsheets. A CSV file is checked whole
 * first and every error is reported with its line; only a file without
 * errors is stored, all of it in one transaction, each row audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "csv.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define IMPORT_MAX_ROWS   5000
#define IMPORT_MAX_ERRORS 100

static const char *const committee_columns[] = { "name", "kind", "region_code", "host_org",
	"address", "phone", "purchased_service", "established_on", "closed_on", NULL };
enum {
	C_NAME,
	C_KIND,
	C_REGION,
	C_HOST,
	C_ADDRESS,
	C_PHONE,
	C_PURCHASED,
	C_ESTABLISHED,
	C_CLOSED,
	C_COUNT
};

static void
add_error(json_t *errors, size_t line, const char *message)
{
	if (json_array_size(errors) < IMPORT_MAX_ERRORS)
		json_array_append_new(
		    errors, json_pack("{s:I, s:s}", "line", (json_int_t)line, "message", message));
}

static bool
phone_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 3 && n <= 30 && strspn(s, "0123456789+() -") == n;
}

/* What is wrong with a committee row, or NULL. */
static const char *
committee_row_problem(char **f)
{
	if (!text_valid(f[C_NAME], 200))
		return "name must be 1 to 200 printable characters";
	if (strcmp(f[C_KIND], "committee") != 0 && strcmp(f[C_KIND], "room") != 0 &&
	    strcmp(f[C_KIND], "guidance") != 0)
		return "kind must be committee, room or guidance";
	if (!region_code_valid(f[C_REGION]))
		return "region_code must be a region code";
	if ((*f[C_HOST] && !text_valid(f[C_HOST], 200)) ||
	    (*f[C_ADDRESS] && !text_valid(f[C_ADDRESS], 300)))
		return "host_org and address are text (200 and 300 characters at most) or empty";
	if (*f[C_PHONE] && !phone_ok(f[C_PHONE]))
		return "phone has 3 to 30 of 0-9 + ( ) - and spaces, or is empty";
	if (*f[C_PURCHASED] && strcmp(f[C_PURCHASED], "yes") != 0 &&
	    strcmp(f[C_PURCHASED], "no") != 0)
		return "purchased_service is yes, no or empty";
	if (!date_exists(f[C_ESTABLISHED]))
		return "established_on must be a date that exists, such as 2020-06-18";
	if (*f[C_CLOSED] &&
	    (!date_exists(f[C_CLOSED]) || strcmp(f[C_CLOSED], f[C_ESTABLISHED]) < 0))
		return "closed_on must be empty or a date not before established_on";
	return NULL;
}

static const char *
or_null(const char *s)
{
	return *s ? s : NULL;
}

/* Stores every row in one transaction; false after replying. */
static bool
store_committees(struct request *r, const struct csv *csv, json_t *ids)
{
	PGconn *pg = db_conn_pg(db_request_conn(r));
	PGresult *begin = PQexec(pg, "BEGIN");
	bool began = PQresultStatus(begin) == PGRES_COMMAND_OK;
	PQclear(begin);
	if (!began) {
		reply_problem(
		    r, 503, PROBLEM_UNAVAILABLE, "The database is not reachable; try again.");
		return false;
	}
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
	PGresult *commit = PQexec(pg, "COMMIT");
	bool committed = PQresultStatus(commit) == PGRES_COMMAND_OK;
	PQclear(commit);
	if (!committed)
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "The import could not be committed; nothing was stored.");
	return committed;
}

static void
import_committees(struct request *r)
{
	static const char *const no_query[] = { NULL };
	if (!request_query_known_or_reply(r, no_query))
		return;
	struct csv csv;
	char err[256];
	if (!csv_parse(
		r->arena, r->body, r->body_len, IMPORT_MAX_ROWS + 1, 64, &csv, err, sizeof(err))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "The file is not CSV: %s.", err);
		return;
	}
	bool header_ok = csv.nrows > 0 && csv.rows[0].nfields == C_COUNT;
	for (size_t i = 0; header_ok && i < C_COUNT; i++)
		header_ok = strcmp(csv.rows[0].fields[i], committee_columns[i]) == 0;
	if (!header_ok) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "The first line must name the columns "
		    "name,kind,region_code,host_org,address,phone,"
		    "purchased_service,established_on,closed_on.");
		return;
	}

	json_t *errors = json_array();
	const char *codes = "{";
	for (size_t i = 1; i < csv.nrows; i++) {
		const struct csv_row *row = &csv.rows[i];
		const char *why = row->nfields != C_COUNT ? "the line does not have 9 fields"
							  : committee_row_problem(row->fields);
		if (why != NULL)
			add_error(errors, row->line, why);
		else
			codes = arena_printf(
			    r->arena, "%s%s%s", codes, codes[1] ? "," : "", row->fields[C_REGION]);
	}
	codes = arena_printf(r->arena, "%s}", codes);
	const char *params[] = { codes, request_scope(r) };
	PGresult *outside = db_query_or_reply(r, SQL_REGIONS_OUTSIDE, params);
	if (outside == NULL) {
		json_decref(errors);
		return;
	}
	for (int k = 0; k < PQntuples(outside); k++)
		for (size_t i = 1; i < csv.nrows; i++)
			if (csv.rows[i].nfields == C_COUNT &&
			    strcmp(csv.rows[i].fields[C_REGION], PQgetvalue(outside, k, 0)) == 0)
				add_error(errors, csv.rows[i].line,
				    "region_code names no region in your scope");
	if (json_array_size(errors) > 0) {
		reply_problem_with(r, 422, PROBLEM_UNPROCESSABLE,
		    "The file has errors, listed by line; nothing was stored.",
		    json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	json_t *ids = json_array();
	if (!store_committees(r, &csv, ids)) {
		json_decref(ids);
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:I, s:o}", "imported", (json_int_t)json_array_size(ids), "ids", ids));
}

const struct route import_routes[] = {
	{ "POST", "/api/v1/import/committees", import_committees, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_CSV },
	{ 0 },
};
