/*
 * auth.c - tokens and passwords. A token is 32 random bytes behind a
 * prefix that says what it is; the database holds only BLAKE2b(token), a
 * fast hash, which is enough for 256 random bits and keeps the per-request
 * check cheap. Passwords get Argon2id at libsodium's interactive limits
 * (about 50 ms and 64 MiB each), so hashing is bounded by a semaphore.
 */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"

bool
auth_init(struct server *srv)
{
	if (sem_init(&srv->hash_slots, 0, srv->cfg->hash_slots) != 0)
		return false;
	/* A hash of a random password nobody knows, verified for unknown users. */
	unsigned char junk[32];
	char password[2 * sizeof(junk) + 1];
	randombytes_buf(junk, sizeof(junk));
	sodium_bin2hex(password, sizeof(password), junk, sizeof(junk));
	return crypto_pwhash_str(srv->dummy_hash, password, strlen(password),
		   crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

void
auth_free(struct server *srv)
{
	sem_destroy(&srv->hash_slots);
}

static void
hash_hex(const char *token, char *hex)
{
	unsigned char digest[32];
	crypto_generichash(
	    digest, sizeof(digest), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(hex, AUTH_HASH_HEX, digest, sizeof(digest));
}

void
auth_new_token(const char *prefix, char *token, char *hash)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	randombytes_buf(raw, sizeof(raw));
	size_t plen = strlen(prefix);
	memcpy(token, prefix, plen);
	sodium_bin2base64(token + plen, AUTH_TOKEN_LEN + 1 - plen, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	hash_hex(token, hash);
}

bool
auth_token_hash(const char *token, char *hash)
{
	if (strlen(token) != AUTH_TOKEN_LEN)
		return false;
	for (const char *p = token + 4; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	hash_hex(token, hash);
	return true;
}

static bool
unauthorized(struct request *r, const char *detail)
{
	request_add_header(r, "WWW-Authenticate", "Bearer realm=\"tiaojie\"");
	reply_problem(r, 401, PROBLEM_UNAUTHORIZED, "%s", detail);
	return false;
}

static unsigned
role_bit(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return ROLE_ADMIN;
	if (strcmp(role, "federation") == 0)
		return ROLE_FEDERATION;
	if (strcmp(role, "mediator") == 0)
		return ROLE_MEDIATOR;
	if (strcmp(role, "hotline") == 0)
		return ROLE_HOTLINE;
	return 0;
}

bool
auth_authenticate_or_reply(struct request *r)
{
	const char *header = request_header(r, "Authorization");
	if (header == NULL)
		return unauthorized(r, "This operation needs a bearer token.");
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return unauthorized(r, "Only bearer tokens are accepted.");
	const char *token = header + 7;
	while (*token == ' ')
		token++;

	char hash[AUTH_HASH_HEX];
	enum auth_kind kind = AUTH_NONE;
	if (strncmp(token, AUTH_TOKEN_PREFIX_SESSION, 4) == 0)
		kind = AUTH_SESSION;
	else if (strncmp(token, AUTH_TOKEN_PREFIX_API, 4) == 0)
		kind = AUTH_API_TOKEN;
	if (kind == AUTH_NONE || !auth_token_hash(token, hash))
		return unauthorized(r, "The token is not valid.");

	PGresult *res;
	if (kind == AUTH_SESSION) {
		const struct config *cfg = r->srv->cfg;
		char idle[16], touch[16];
		snprintf(idle, sizeof(idle), "%u", cfg->session_idle);
		/* last_used_at is refreshed at most every tenth of the idle time. */
		snprintf(touch, sizeof(touch), "%u", cfg->session_idle < 300 ? 0u : 30u);
		const char *params[] = { hash, idle, touch };
		res = db_query_or_reply(r, SQL_AUTH_SESSION, params);
	} else {
		const char *params[] = { hash };
		res = db_query_or_reply(r, SQL_AUTH_API_TOKEN, params);
	}
	if (res == NULL)
		return false;
	if (PQntuples(res) == 0)
		return unauthorized(r, "The token is not valid, has expired or was revoked.");

	struct principal *w = &r->who;
	w->kind = kind;
	w->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(w->user_id_text, sizeof(w->user_id_text), "%lld", w->user_id);
	snprintf(w->username, sizeof(w->username), "%s", PQgetvalue(res, 0, 1));
	snprintf(w->role, sizeof(w->role), "%s", PQgetvalue(res, 0, 2));
	w->role_bit = role_bit(w->role);
	snprintf(w->region_code, sizeof(w->region_code), "%s", PQgetvalue(res, 0, 3));
	w->credential_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	snprintf(w->expires_at, sizeof(w->expires_at), "%s", PQgetvalue(res, 0, 5));
	snprintf(w->mediator_id, sizeof(w->mediator_id), "%s", PQgetvalue(res, 0, 6));
	return true;
}

bool
auth_password_valid(const char *password)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)password; *p; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	return chars >= 12 && chars <= 128;
}

static bool
slot_take(struct server *srv)
{
	return srv == NULL || sem_trywait(&srv->hash_slots) == 0;
}

static void
slot_give(struct server *srv)
{
	if (srv != NULL)
		sem_post(&srv->hash_slots);
}

bool
auth_hash_password(struct server *srv, const char *password, char *out)
{
	if (!slot_take(srv))
		return false;
	int rc = crypto_pwhash_str(out, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	slot_give(srv);
	return rc == 0;
}

bool
auth_verify_password(
    struct server *srv, const char *hash, const char *password, bool *busy, bool *rehash)
{
	*busy = false;
	*rehash = false;
	if (!slot_take(srv)) {
		*busy = true;
		return false;
	}
	/* libsodium reads a whole crypto_pwhash_STRBYTES buffer: copy into one. */
	char against[crypto_pwhash_STRBYTES] = { 0 };
	snprintf(against, sizeof(against), "%s", hash != NULL ? hash : srv->dummy_hash);
	bool ok = crypto_pwhash_str_verify(against, password, strlen(password)) == 0;
	slot_give(srv);
	if (ok && hash != NULL)
		*rehash =
		    crypto_pwhash_str_needs_rehash(against, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
	return ok && hash != NULL;
}
