/*
 * api_sessions.c - signing in and out, and "who am I". A failed sign-in
 * says the same whatever failed (unknown user, wrong password, disabled
 * account) and costs the same; failures are counted per account and per
 * address, and past the limit every attempt gets 429 until the window
 * has passed.
 */
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

#define USERNAME_MAX 64
#define PASSWORD_MAX 1024

static const char *
lower_key(struct request *r, const char *prefix, const char *s)
{
	char *k = arena_printf(r->arena, "%s%s", prefix, s);
	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

/* Replies 429 when the account or the address is locked out. */
static bool
throttle_or_reply(struct request *r, const char *user_key, const char *addr_key)
{
	char max[16], window[16];
	snprintf(max, sizeof(max), "%u", r->srv->cfg->login_max_failures);
	snprintf(window, sizeof(window), "%u", r->srv->cfg->login_window);
	const char *params[] = { user_key, addr_key, max, window };
	PGresult *res = db_query_or_reply(r, SQL_LOGIN_THROTTLE, params);
	if (res == NULL)
		return false;
	long wait = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	if (wait <= 0)
		return true;
	audit_event(r, "session.create", "user", NULL, 429);
	request_add_header(r, "Retry-After", arena_printf(r->arena, "%ld", wait));
	reply_problem(r, 429, PROBLEM_TOO_MANY_REQUESTS,
	    "Too many failed sign-ins for this account or from this address; try again in %ld "
	    "seconds.",
	    wait);
	return false;
}

static void
login_failed(struct request *r, const char *user_key, const char *addr_key, const char *user_id)
{
	const char *params[] = { user_key, addr_key, user_id };
	PGresult *res = audit_exec_or_reply(r, SQL_LOGIN_FAILED, params, 3);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(LOG_ERROR, "request %s: recording a failed sign-in: %s", r->id,
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The sign-in could not be checked; this has been logged as %s.", r->id);
		return;
	}
	request_add_header(r, "WWW-Authenticate", "Bearer realm=\"tiaojie\"");
	reply_problem(
	    r, 401, PROBLEM_INVALID_CREDENTIALS, "The username or the password is wrong.");
}

static void
sessions_create(struct request *r)
{
	const char *username, *password;
	json_error_t e;
	if (!request_no_query_or_reply(r))
		return;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:s}", "username", &username,
		"password", &password) != 0 ||
	    strlen(username) == 0 || strlen(username) > USERNAME_MAX || strlen(password) == 0 ||
	    strlen(password) > PASSWORD_MAX) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body needs username (1 to %d bytes) and password (1 to %d bytes), nothing "
		    "else.",
		    USERNAME_MAX, PASSWORD_MAX);
		return;
	}
	const char *user_key = lower_key(r, "user:", username);
	const char *addr_key = arena_printf(r->arena, "addr:%s", r->client_addr);
	if (!throttle_or_reply(r, user_key, addr_key))
		return;

	const char *params[] = { username };
	PGresult *user = db_query_or_reply(r, SQL_LOGIN_USER, params);
	if (user == NULL)
		return;
	bool found = PQntuples(user) == 1;
	bool busy, rehash;
	bool ok = auth_verify_password(
	    r->srv, found ? PQgetvalue(user, 0, 5) : NULL, password, &busy, &rehash);
	if (busy) {
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "Too many sign-ins are being checked at once; try again in a moment.");
		return;
	}
	if (!ok || strcmp(PQgetvalue(user, 0, 4), "t") != 0) {
		login_failed(r, user_key, addr_key, found ? PQgetvalue(user, 0, 0) : NULL);
		return;
	}

	struct principal *w = &r->who;
	w->user_id = strtoll(PQgetvalue(user, 0, 0), NULL, 10);
	snprintf(w->user_id_text, sizeof(w->user_id_text), "%s", PQgetvalue(user, 0, 0));
	snprintf(w->username, sizeof(w->username), "%s", PQgetvalue(user, 0, 1));
	snprintf(w->role, sizeof(w->role), "%s", PQgetvalue(user, 0, 2));

	char fresh[crypto_pwhash_STRBYTES];
	if (rehash && auth_hash_password(r->srv, password, fresh)) {
		const char *p[] = { w->user_id_text, fresh };
		PQclear(db_exec(db_request_conn(r), SQL_USER_REHASH, p));
	}

	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX], max[16];
	auth_new_token(AUTH_TOKEN_PREFIX_SESSION, token, hash);
	snprintf(max, sizeof(max), "%u", r->srv->cfg->session_max);
	const char *sp[] = { hash, w->user_id_text, max, user_key };
	PGresult *res = audit_exec_or_reply(r, SQL_SESSION_CREATE, sp, 4);
	if (res == NULL)
		goto out;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_msg(LOG_ERROR, "request %s: creating a session: %s", r->id,
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The session could not be created; this has been logged as %s.", r->id);
		goto out;
	}
	json_t *u = json_loads(PQgetvalue(user, 0, 6), 0, NULL);
	reply_json(r, 201,
	    json_pack("{s:s, s:s, s:s, s:I, s:o}", "token", token, "token_type", "Bearer",
		"expires_at", PQgetvalue(res, 0, 0), "idle_timeout_seconds",
		(json_int_t)r->srv->cfg->session_idle, "user", u));
out:
	sodium_memzero(token, sizeof(token));
}

static void
sessions_delete_current(struct request *r)
{
	if (!request_no_query_or_reply(r))
		return;
	if (r->who.kind != AUTH_SESSION) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "This is an API token, not a session: revoke it with DELETE "
		    "/api/v1/tokens/{id}.");
		return;
	}
	char id[24];
	snprintf(id, sizeof(id), "%lld", r->who.credential_id);
	const char *params[] = { id };
	PGresult *res = audit_exec_or_reply(r, SQL_SESSION_END, params, 1);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_ERROR, "request %s: ending a session: %s", r->id,
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The session could not be ended; this has been logged as %s.", r->id);
		return;
	}
	reply_data(r, 204, NULL, "", 0);
}

static void
me(struct request *r)
{
	if (!request_no_query_or_reply(r))
		return;
	const char *params[] = { r->who.user_id_text };
	PGresult *res = db_query_or_reply(r, SQL_USER_GET, params);
	if (res == NULL)
		return;
	if (PQntuples(res) != 1) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "Your account no longer exists.");
		return;
	}
	json_t *u = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	const char *expires = r->who.expires_at[0] ? r->who.expires_at : NULL;
	reply_json(r, 200,
	    json_pack("{s:o, s:{s:s, s:s?}}", "user", u, "auth", "kind",
		r->who.kind == AUTH_SESSION ? "session" : "api_token", "expires_at", expires));
}

const struct route sessions_routes[] = {
	{ "POST", "/api/v1/sessions", sessions_create, ROLE_PUBLIC, BODY_JSON },
	{ "DELETE", "/api/v1/sessions/current", sessions_delete_current, ROLE_ANY_USER, BODY_NONE },
	{ "GET", "/api/v1/me", me, ROLE_ANY_USER, BODY_NONE },
	{ 0 },
};
