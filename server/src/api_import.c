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
#include "crypt.h"
#include "csv.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "mediators.h"
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

/*
 * Reads the request's CSV roster whose first line must name columns (n of
 * them). Replies 400 and returns false for a query, a file that is not CSV
 * or a wrong first line.
 */
static bool
roster_or_reply(struct request *r, const char *const *columns, size_t n, struct csv *csv)
{
	static const char *const no_query[] = { NULL };
	if (!request_query_known_or_reply(r, no_query))
		return false;
	char err[256];
	if (!csv_parse(
		r->arena, r->body, r->body_len, IMPORT_MAX_ROWS + 1, 64, csv, err, sizeof(err))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "The file is not CSV: %s.", err);
		return false;
	}
	bool header_ok = csv->nrows > 0 && csv->rows[0].nfields == n;
	for (size_t i = 0; header_ok && i < n; i++)
		header_ok = strcmp(csv->rows[0].fields[i], columns[i]) == 0;
	if (!header_ok) {
		const char *names = "";
		for (size_t i = 0; i < n; i++)
			names = arena_printf(r->arena, "%s%s%s", names, i ? "," : "", columns[i]);
		reply_problem(
		    r, 400, PROBLEM_BAD_REQUEST, "The first line must name the columns %s.", names);
		return false;
	}
	return true;
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

/* Is item a member of the array literal list ("{1,2}")? */
static bool
list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list + 1;
	while (*p && *p != '}') {
		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '}'))
			return true;
		p += strcspn(p, ",}");
		if (*p == ',')
			p++;
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
	if (!roster_or_reply(r, committee_columns, C_COUNT, &csv))
		return;

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

static const char *const mediator_columns[] = { "name", "gender", "full_time", "specialties",
	"expert", "phone", "trained_on", "certified_on", "committees", NULL };
enum {
	M_NAME,
	M_GENDER,
	M_FULL_TIME,
	M_SPECIALTIES,
	M_EXPERT,
	M_PHONE,
	M_TRAINED,
	M_CERTIFIED,
	M_COMMITTEES,
	M_COUNT
};

/* "a;b" as an array literal {a,b} after checking each item; NULL if one is bad. */
static const char *
list_literal(struct request *r, const char *text, bool (*item_ok)(const char *), size_t max)
{
	const char *out = "{";
	size_t n = 0;
	char *copy = arena_strdup(r->arena, text), *save = NULL;
	for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		if (!item_ok(item) || ++n > max)
			return NULL;
		out = arena_printf(r->arena, "%s%s%s", out, n > 1 ? "," : "", item);
	}
	return arena_printf(r->arena, "%s}", out);
}

static bool
id_ok(const char *s)
{
	long v;
	return parse_int_range(s, 1, 999999999999L, &v);
}

/* Fills m from a row; returns why the row is not a mediator, or NULL. */
static const char *
mediator_row_problem(struct request *r, char **f, struct mediator_row *m)
{
	char norm[32];
	m->name = f[M_NAME];
	m->gender = or_null(f[M_GENDER]);
	m->full_time = strcmp(f[M_FULL_TIME], "yes") == 0 ? "true" : "false";
	m->expert = strcmp(f[M_EXPERT], "yes") == 0 ? "true" : "false";
	m->phone = or_null(f[M_PHONE]);
	m->trained = or_null(f[M_TRAINED]);
	m->certified = or_null(f[M_CERTIFIED]);
	m->specialties = list_literal(r, f[M_SPECIALTIES], mediator_specialty_valid, 6);
	m->committees = list_literal(r, f[M_COMMITTEES], id_ok, 20);
	if (!text_valid(m->name, 100))
		return "name must be 1 to 100 printable characters";
	if (m->gender && strcmp(m->gender, "female") != 0 && strcmp(m->gender, "male") != 0)
		return "gender is female, male or empty";
	if (strcmp(f[M_FULL_TIME], "yes") != 0 && strcmp(f[M_FULL_TIME], "no") != 0)
		return "full_time is yes or no";
	if (*f[M_EXPERT] && strcmp(f[M_EXPERT], "yes") != 0 && strcmp(f[M_EXPERT], "no") != 0)
		return "expert is yes, no or empty";
	if (m->specialties == NULL)
		return "specialties are some of "
		       "law;psychology;social_work;education;medicine;other";
	if (m->committees == NULL || strcmp(m->committees, "{}") == 0)
		return "committees lists 1 to 20 committee ids separated by ;";
	if (m->phone && !blind_normalise(BLIND_PHONE, m->phone, norm, sizeof(norm)))
		return "phone is a mainland phone number or empty";
	if ((m->trained && !date_exists(m->trained)) ||
	    (m->certified && !date_exists(m->certified)))
		return "trained_on and certified_on are dates that exist, or empty";
	return NULL;
}

static void
import_mediators(struct request *r)
{
	struct csv csv;
	if (!roster_or_reply(r, mediator_columns, M_COUNT, &csv))
		return;
	json_t *errors = json_array();
	struct mediator_row *rows = arena_zalloc(r->arena, csv.nrows * sizeof(*rows));
	const char *ids = "{";
	for (size_t i = 1; i < csv.nrows; i++) {
		const struct csv_row *row = &csv.rows[i];
		const char *why = row->nfields != M_COUNT
		    ? "the line does not have 9 fields"
		    : mediator_row_problem(r, row->fields, &rows[i]);
		if (why != NULL) {
			add_error(errors, row->line, why);
			rows[i].committees = NULL;
		} else {
			ids = arena_printf(r->arena, "%s%s%.*s", ids, ids[1] ? "," : "",
			    (int)(strlen(rows[i].committees) - 2), rows[i].committees + 1);
		}
	}
	ids = arena_printf(r->arena, "%s}", ids);
	const char *params[] = { ids, request_scope(r) };
	PGresult *outside = db_query_or_reply(r, SQL_COMMITTEES_OUTSIDE, params);
	if (outside == NULL) {
		json_decref(errors);
		return;
	}
	for (size_t i = 1; i < csv.nrows; i++)
		for (int k = 0; rows[i].committees != NULL && k < PQntuples(outside); k++)
			if (list_has(rows[i].committees, PQgetvalue(outside, k, 0))) {
				add_error(errors, csv.rows[i].line,
				    "committees names a committee that is not in your scope");
				break;
			}
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
