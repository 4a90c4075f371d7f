/*
 * http.h - the request as handlers see it, and the server that owns the
 * libmicrohttpd daemon. A request lives from the first byte of its headers
 * to libmicrohttpd's completion callback; its arena lives exactly as long.
 */
#ifndef TIAOJIE_HTTP_H
#define TIAOJIE_HTTP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "router.h"

struct MHD_Connection;
struct MHD_Daemon;
struct arena;
struct db_pool;
struct db_conn;
struct metrics;

struct server {
	const struct config *cfg;
	struct MHD_Daemon *daemon;
	struct db_pool *pool;
	struct router router;
	struct metrics *metrics;
	atomic_uint inflight; /* requests begun and not completed */
	atomic_bool stopping;
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

	struct db_conn *db; /* checked out on first use */

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

/* Adds a response header (name and value must outlive the request). */
void request_add_header(struct request *r, const char *name, const char *value);

#endif
