/*
 * api_users.c - user accounts and their API tokens, for administrators.
 * Every change is written together with its audit entry, in one statement.
 * Disabling a user or setting a password ends the user's sessions (and on
 * disabling, API tokens) in that same statement.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define USERS_PAGE_DEFAULT 100
#define USERS_PAGE_MAX     1000

static void
internal(struct request *r, const char *what, const PGresult *res)
{
	log_msg(LOG_ERROR, "request %s: %s: SQLSTATE %s: %s", r->id, what,
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
						      : "?",
	    PQresultErrorMessage(res));
	reply_problem(r, 500, PROBLEM_INTERNAL,
	    "The request could not be completed; this has been logged as %s.", r->id);
}

static bool
sqlstate_is(const PGresult *res, const char *state)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return s != NULL && strcmp(s, state) == 0;
}

/* A mediator_id member: absent, null or a positive whole number. */
static bool
mediator_id_valid(json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) > 0);
}

static const char *
id_text(struct request *r, json_t *v)
{
	return json_is_integer(v) ? arena_printf(r->arena, "%lld", (long long)json_integer_value(v))
				  : NULL;
}

/* Maps the errors a user can cause when writing a user; true if replied. */
static bool
user_write_error(struct request *r, const PGresult *res)
{
	const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	bool mediator = constraint != NULL && strstr(constraint, "mediator") != NULL;
	if (sqlstate_is(res, "23505") && mediator)
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "That mediator's record is already linked to another account.");
	else if (sqlstate_is(res, "23505"))
		reply_problem(r, 409, PROBLEM_CONFLICT, "That username is taken.");
	else if (sqlstate_is(res, "23503") && mediator)
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE, "There is no such mediator.");
	else if ((sqlstate_is(res, "23514") || sqlstate_is(res, "23503")) && mediator)
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "Only a mediator's account is linked to a mediator's record.");
	else if (sqlstate_is(res, "23514") || sqlstate_is(res, "23503"))
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "Federation staff need region_code, a county or the city, other roles none; "
		    "and one active administrator must remain.");
	else
		internal(r, "writing a user", res);
	return true;
}

static void
users_create(struct request *r)
{
	const char *username, *name, *role, *password;
	json_t *region = NULL, *mediator = NULL;
	json_error_t e;
	if (!request_no_query_or_reply(r))
		return;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:s, s:s, s:s, s?o, s?o}", "username",
		&username, "display_name", &name, "role", &role, "password", &password,
		"region_code", &region, "mediator_id", &mediator) != 0) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body needs username, display_name, role and password as strings, and "
		    "may have region_code and mediator_id, nothing else: %s.",
		    e.text);
		return;
	}
	const char *why = NULL;
	if (!username_valid(username))
		why = "username must be 3 to 64 of a-z, 0-9, '.', '_' and '-', starting with a "
		      "letter or digit";
	else if (!text_valid(name, 100))
		why = "display_name must be 1 to 100 printable characters";
	else if (!role_valid(role))
		why = "role must be admin, federation, mediator or hotline";
	else if (region != NULL && !json_is_null(region) &&
	    !(json_is_string(region) && region_code_valid(json_string_value(region))))
		why = "region_code must be a region code or null";
	else if ((strcmp(role, "federation") == 0) != json_is_string(region))
		why = "federation staff need region_code, and other roles have none";
	else if (!mediator_id_valid(mediator) ||
	    (json_is_integer(mediator) && strcmp(role, "mediator") != 0))
		why = "mediator_id is the id of a mediator's record, for mediators only, or null";
	else if (!auth_password_valid(password))
		why = "password must have 12 to 128 characters";
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	char hash[crypto_pwhash_STRBYTES];
	if (!auth_hash_password(r->srv, password, hash)) {
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "Too many passwords are being hashed at once; try again in a moment.");
		return;
	}
	const char *params[] = { username, name, role,
		json_is_string(region) ? json_string_value(region) : NULL, hash,
		id_text(r, mediator) };
	PGresult *res = audit_exec_or_reply(r, SQL_USER_CREATE, params, 6);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		user_write_error(r, res);
		return;
	}
	request_add_header(
	    r, "Location", arena_printf(r->arena, "/api/v1/users/%s", PQgetvalue(res, 0, 0)));
	reply_data(
	    r, 201, "application/json", PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
}

static void
users_list(struct request *r)
{
	static const char *const known[] = { "role", "active", "after", "limit", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *role = request_query(r, "role");
	const char *active = request_query(r, "active");
	const char *after = request_query(r, "after");
	const char *limit_s = request_query(r, "limit");
	long limit = USERS_PAGE_DEFAULT, v;
	if ((role && !role_valid(role)) ||
	    (active && strcmp(active, "true") != 0 && strcmp(active, "false") != 0) ||
	    (after && !parse_int_range(after, 0, 999999999999L, &v)) ||
	    (limit_s && !parse_int_range(limit_s, 1, USERS_PAGE_MAX, &limit))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "role is a role name, active is true or false, after is an id, and limit is 1 "
		    "to %d.",
		    USERS_PAGE_MAX);
		return;
	}
	const char *params[] = { role, active, after, arena_printf(r->arena, "%ld", limit) };
	PGresult *res = db_query_or_reply(r, SQL_USERS_LIST, params);
	if (res == NULL)
		return;
	db_reply_json(r, 200, res);
}

/* Answers what statement id shapes for the user named by {id}, or 404. */
static void
user_read(struct request *r, enum sql_id statement)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *params[] = { id };
	PGresult *res = db_query_or_reply(r, statement, params);
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no user %s.", id);
		return;
	}
	db_reply_json(r, 200, res);
}

static void
users_get(struct request *r)
{
	user_read(r, SQL_USER_GET);
}

static void
users_update(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *name = NULL, *role = NULL;
	json_t *region = NULL, *active = NULL, *mediator = NULL;
	json_error_t e;
	if (json_object_size(r->json) == 0 ||
	    json_unpack_ex(r->json, &e, JSON_STRICT, "{s?s, s?s, s?o, s?o, s?o}", "display_name",
		&name, "role", &role, "region_code", &region, "active", &active, "mediator_id",
		&mediator) != 0) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body takes display_name, role, region_code, active and mediator_id, at "
		    "least one.");
		return;
	}
	const char *why = NULL;
	if (name && !text_valid(name, 100))
		why = "display_name must be 1 to 100 printable characters";
	else if (role && !role_valid(role))
		why = "role must be admin, federation, mediator or hotline";
	else if (region && !json_is_null(region) &&
	    !(json_is_string(region) && region_code_valid(json_string_value(region))))
		why = "region_code must be a region code or null";
	else if (active && !json_is_boolean(active))
		why = "active must be true or false";
	else if (role && region && (strcmp(role, "federation") == 0) != json_is_string(region))
		why = "federation staff need region_code, and other roles have none";
	else if (!mediator_id_valid(mediator))
		why = "mediator_id is the id of a mediator's record, or null";
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	const char *params[] = { id, name, role, region ? "true" : "false",
		json_is_string(region) ? json_string_value(region) : NULL,
		active ? (json_is_true(active) ? "true" : "false") : NULL,
		mediator ? "true" : "false", id_text(r, mediator) };
	PGresult *res = audit_exec_or_reply(r, SQL_USER_UPDATE, params, 8);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		user_write_error(r, res);
		return;
	}
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no user %s.", id);
		return;
	}
	db_reply_json(r, 200, res);
}

static void
users_set_password(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *password;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s}", "password", &password) != 0 ||
	    !auth_password_valid(password)) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"password\": ...} with 12 to 128 characters.");
		return;
	}
	char hash[crypto_pwhash_STRBYTES];
	if (!auth_hash_password(r->srv, password, hash)) {
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "Too many passwords are being hashed at once; try again in a moment.");
		return;
	}
	const char *params[] = { id, hash };
	PGresult *res = audit_exec_or_reply(r, SQL_USER_PASSWORD, params, 2);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		internal(r, "setting a password", res);
	else if (PQntuples(res) == 0)
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no user %s.", id);
	else
		reply_data(r, 204, NULL, "", 0);
}

static void
tokens_create(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *name;
	json_t *expires = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s?o}", "name", &name, "expires_at",
		&expires) != 0 ||
	    !text_valid(name, 100) ||
	    (expires && !json_is_null(expires) &&
		!(json_is_string(expires) && rfc3339_valid(json_string_value(expires))))) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body needs name (1 to 100 characters) and may have expires_at, a "
		    "date-time "
		    "or null.");
		return;
	}
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX];
	auth_new_token(AUTH_TOKEN_PREFIX_API, token, hash);
	const char *params[] = { id, name,
		json_is_string(expires) ? json_string_value(expires) : NULL, hash,
		r->who.user_id_text };
	PGresult *res = audit_exec_or_reply(r, SQL_TOKEN_CREATE, params, 5);
	if (res == NULL)
		goto out;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strncmp(state, "22", 2) == 0)
			reply_problem(r, 400, PROBLEM_VALIDATION,
			    "expires_at must be a date-time such as 2027-01-31T00:00:00+08:00.");
		else if (state != NULL && strcmp(state, "23514") == 0)
			reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
			    "expires_at is in the past, or the user is disabled.");
		else
			internal(r, "creating a token", res);
		goto out;
	}
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no user %s.", id);
		goto out;
	}
	json_t *t = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	json_object_set_new(t, "token", json_string(token));
	reply_json(r, 201, t);
out:
	sodium_memzero(token, sizeof(token));
}

static void
tokens_list(struct request *r)
{
	user_read(r, SQL_TOKENS_LIST);
}

static void
tokens_revoke(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *params[] = { id };
	PGresult *res = audit_exec_or_reply(r, SQL_TOKEN_REVOKE, params, 1);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		internal(r, "revoking a token", res);
	else if (PQntuples(res) == 0)
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no live token %s.", id);
	else
		reply_data(r, 204, NULL, "", 0);
}

const struct route users_routes[] = {
	{ "POST", "/api/v1/users", users_create, ROLE_ADMIN, BODY_JSON },
	{ "GET", "/api/v1/users", users_list, ROLE_ADMIN, BODY_NONE },
	{ "GET", "/api/v1/users/{id}", users_get, ROLE_ADMIN, BODY_NONE },
	{ "PATCH", "/api/v1/users/{id}", users_update, ROLE_ADMIN, BODY_JSON },
	{ "PUT", "/api/v1/users/{id}/password", users_set_password, ROLE_ADMIN, BODY_JSON },
	{ "POST", "/api/v1/users/{id}/tokens", tokens_create, ROLE_ADMIN, BODY_JSON },
	{ "GET", "/api/v1/users/{id}/tokens", tokens_list, ROLE_ADMIN, BODY_NONE },
	{ "DELETE", "/api/v1/tokens/{id}", tokens_revoke, ROLE_ADMIN, BODY_NONE },
	{ 0 },
};
