/*
 * api_regions.c - the region hierarchy (province > city > county >
 * township), keyed by GB/T 2260 code. Read by everyone; extended by admins
 * so another city or a whole province can load its own divisions.
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

#define REGIONS_PAGE_DEFAULT 100
#define REGIONS_PAGE_MAX     1000

static json_t *
region_json(const PGresult *res, int row)
{
	return json_pack("{s:s, s:s, s:s, s:s?}", "code", PQgetvalue(res, row, 0), "name",
	    PQgetvalue(res, row, 1), "level", PQgetvalue(res, row, 2), "parent_code",
	    PQgetisnull(res, row, 3) ? NULL : PQgetvalue(res, row, 3));
}

/* A query argument that must be a region code, or NULL when absent. */
static bool
code_arg_or_reply(struct request *r, const char *name, const char **out)
{
	*out = request_query(r, name);
	if (*out == NULL || region_code_valid(*out))
		return true;
	reply_problem(r, 400, PROBLEM_BAD_REQUEST,
	    "Query parameter '%s' must be a region code of 6, 9 or 12 digits.", name);
	return false;
}

static void
regions_list(struct request *r)
{
	static const char *const known[] = { "parent", "level", "after", "limit", NULL };
	const char *parent, *after, *level, *limit_s;
	long limit = REGIONS_PAGE_DEFAULT;

	if (!request_query_known_or_reply(r, known) || !code_arg_or_reply(r, "parent", &parent) ||
	    !code_arg_or_reply(r, "after", &after))
		return;
	level = request_query(r, "level");
	if (level != NULL && !region_level_valid(level)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "Query parameter 'level' must be province, city, county or township.");
		return;
	}
	limit_s = request_query(r, "limit");
	if (limit_s != NULL && !parse_int_range(limit_s, 1, REGIONS_PAGE_MAX, &limit)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "Query parameter 'limit' must be a whole number from 1 to %d.",
		    REGIONS_PAGE_MAX);
		return;
	}

	/* One row more than asked tells whether another page follows. */
	const char *params[] = { parent, level, after, arena_printf(r->arena, "%ld", limit + 1) };
	PGresult *res = db_query_or_reply(r, SQL_REGIONS_LIST, params);
	if (res == NULL)
		return;

	int rows = PQntuples(res);
	int shown = rows > limit ? (int)limit : rows;
	json_t *items = json_array();
	for (int i = 0; i < shown; i++)
		json_array_append_new(items, region_json(res, i));
	reply_json(r, 200,
	    json_pack("{s:o, s:s?}", "items", items, "next_after",
		rows > limit ? PQgetvalue(res, shown - 1, 0) : NULL));
}

static void
regions_get(struct request *r)
{
	static const char *const known[] = { NULL };
	const char *code = request_param(r, "code");

	if (!request_query_known_or_reply(r, known))
		return;
	if (!region_code_valid(code)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "A region code has 6, 9 or 12 digits.");
		return;
	}
	const char *params[] = { code };
	PGresult *res = db_query_or_reply(r, SQL_REGION_GET, params);
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no region %s.", code);
		return;
	}
	/* PostgreSQL shaped this answer (ancestors and children in one trip). */
	db_reply_json(r, 200, res);
}

struct region_input {
	const char *code;
	const char *name;
	const char *level;
	const char *parent; /* NULL for a province */
};

static bool
region_input_or_reply(struct request *r, struct region_input *in)
{
	json_t *parent = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:s, s:s, s?o}", "code", &in->code,
		"name", &in->name, "level", &in->level, "parent_code", &parent) != 0) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body needs code, name and level as strings and parent_code "
		    "as a string or null, nothing else: %s.",
		    e.text);
		return false;
	}
	const char *why = NULL;
	in->parent = json_is_string(parent) ? json_string_value(parent) : NULL;
	if (!region_code_valid(in->code))
		why = "code must have 6, 9 or 12 digits";
	else if (!text_valid(in->name, 100))
		why = "name must be 1 to 100 printable characters without surrounding spaces";
	else if (!region_level_valid(in->level))
		why = "level must be province, city, county or township";
	else if (parent != NULL && !json_is_null(parent) && !json_is_string(parent))
		why = "parent_code must be a string or null";
	else if (in->parent != NULL && !region_code_valid(in->parent))
		why = "parent_code must have 6, 9 or 12 digits";
	else if ((strcmp(in->level, "province") == 0) != (in->parent == NULL))
		why = "a province has no parent_code, and every other level has one";
	if (why == NULL)
		return true;
	reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
	return false;
}

static void
regions_create(struct request *r)
{
	struct region_input in;
	if (!request_no_query_or_reply(r) || !region_input_or_reply(r, &in))
		return;
	const char *params[] = { in.code, in.name, in.level, in.parent };
	PGresult *res = audit_exec_or_reply(r, SQL_REGION_INSERT, params, 4);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "23505") == 0) {
			reply_problem(
			    r, 409, PROBLEM_CONFLICT, "Region %s exists already.", in.code);
		} else if (state && strcmp(state, "23503") == 0) {
			reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
			    "The parent region %s does not exist.", in.parent);
		} else if (state && strcmp(state, "23514") == 0) {
			reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
			    "A %s cannot be placed under region %s: the parent's level must be "
			    "above it.",
			    in.level, in.parent);
		} else {
			log_msg(LOG_ERROR, "request %s: inserting a region: SQLSTATE %s: %s", r->id,
			    state ? state : "?", PQresultErrorMessage(res));
			reply_problem(r, 500, PROBLEM_INTERNAL,
			    "The region could not be stored; this has been logged as %s.", r->id);
		}
		return;
	}
	request_add_header(r, "Location", arena_printf(r->arena, "/api/v1/regions/%s", in.code));
	reply_json(r, 201, region_json(res, 0));
}

const struct route regions_routes[] = {
	{ "GET", "/api/v1/regions", regions_list, ROLE_PUBLIC, BODY_NONE },
	{ "GET", "/api/v1/regions/{code}", regions_get, ROLE_PUBLIC, BODY_NONE },
	{ "POST", "/api/v1/regions", regions_create, ROLE_ADMIN, BODY_JSON },
	{ 0 },
};
