/*
 * http.h - the request as handlers see it, and the server that owns the
 * libmicrohttpd daemon. A request lives from the first byte of its headers
 * to libmicrohttpd's completion callback; its arena lives exactly as long.
 */
#ifndef TIAOJIE_HTTP_H
#define TIAOJIE_HTTP_H

#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "keyholder.h"
#include "router.h"
#include "tls.h"

struct MHD_Connection;
struct MHD_Daemon;
struct arena;
struct db_pool;
struct db_conn;
struct metrics;

struct server {
	const struct config *cfg;
	struct MHD_Daemon *daemon;
	struct tls_files tls; /* when HTTPS: held while the daemon runs */
	struct db_pool *pool;
	struct router router;
	struct metrics *metrics;
	struct keyholder keys; /* the encryption keys, reloaded for a rotation */
	atomic_uint inflight;  /* requests begun and not completed */
	atomic_bool stopping;
	sem_t hash_slots;     /* password hashes that may run at once */
	char dummy_hash[128]; /* verified for unknown users: the same cost */
	pthread_t sealer;     /* seals the audit trail into its hash chain */
	bool sealer_running;
	pthread_mutex_t sealer_lock;
	pthread_cond_t sealer_wake;
};

/* Who is calling, once authenticated (see auth.c). */
enum auth_kind { AUTH_NONE, AUTH_SESSION, AUTH_API_TOKEN };

struct principal {
	enum auth_kind kind;
	long long user_id;
	char user_id_text[24];
	char username[65];
	char role[16];           /* "admin", "federation", ... */
	unsigned role_bit;       /* ROLE_ADMIN, ... */
	char region_code[16];    /* empty when the role has no region scope */
	long long credential_id; /* session or API token id */
	char expires_at[48];     /* RFC 3339; empty when it never expires */
	char mediator_id[24];    /* a mediator's record; empty when not linked */
};

#define REQUEST_ID_MAX      64
#define REQUEST_MAX_HEADERS 8

struct request {
	struct server *srv;
	struct MHD_Connection *conn;
	struct arena *arena;
	const char *method;
	const char *path; /* decoded path, without the query */
	char id[REQUEST_ID_MAX + 1];
	struct timespec started;

	struct route_match match; /* valid when route != NULL */
	const struct route *route;

	char *body; /* NUL-terminated, in the arena */
	size_t body_len;
	size_t body_cap;
	bool body_too_large;
	size_t body_dropped; /* bytes read and dropped past the limit */
	json_t *json;        /* the parsed body of a BODY_JSON route */

	struct db_conn *db;     /* checked out on first use */
	struct held_keys *keys; /* data keys opened by this request (fields.c) */
	struct principal who;   /* kind AUTH_NONE until authenticated */
	char client_addr[48];   /* the peer's address, numeric */

	unsigned status; /* 0 until a reply is queued */
	size_t reply_bytes;
	struct {
		const char *name;
		const char *value;
	} headers[REQUEST_MAX_HEADERS]; /* extra response headers */
	unsigned nheaders;
};

/* Starts the daemon on cfg's address. Returns false after logging why. */
bool http_start(struct server *srv);
/* Stops accepting, waits up to the grace period for requests in flight, stops. */
void http_stop(struct server *srv);

/* A request header's value, or NULL. */
const char *request_header(struct request *r, const char *name);
/* A query argument's value, or NULL. */
const char *request_query(struct request *r, const char *name);
/* The path parameter name as an arena string, or NULL when absent. */
const char *request_param(struct request *r, const char *name);

/*
 * Replies 400 naming the first query argument not in allowed (a
 * NULL-terminated list) and returns false; true when all are known.
 */
bool request_query_known_or_reply(struct request *r, const char *const *allowed);

/* Replies 400 and returns false when there is a query; true without one. */
bool request_no_query_or_reply(struct request *r);

/*
 * The {id} path parameter, a positive whole number, of an operation on one
 * object; replies 400 and returns NULL for anything else, or for a query.
 */
const char *request_id_or_reply(struct request *r);

/*
 * The region the caller's reads and writes of regional objects are
 * confined to (federation staff: theirs), or NULL for no confinement.
 */
const char *request_scope(const struct request *r);

/*
 * Runs r's route for a caller already authorised: checks (and for JSON
 * parses) the body the route takes, then calls its handler; answers 500 if
 * the handler did not reply.
 */
void request_run(struct request *r);

/* Adds a response header (name and value must outlive the request). */
void request_add_header(struct request *r, const char *name, const char *value);

#endif
