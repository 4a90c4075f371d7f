/*
 * fuzz_server.c - see fuzz_server.h. libmicrohttpd runs without a thread
 * or a listening socket: each request is written into one end of a socket
 * pair whose other end the daemon serves, and MHD_run() is turned by hand
 * until the answer has come back and the daemon has closed the connection
 * (every request says Connection: close).
 */
#include "fuzz_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "arena.h"
#include "db.h"
#include "fuzz_keys.h"
#include "log.h"
#include "reply.h"

/* Turns of MHD_run() after which a request without an answer is a hang. */
#define ROUNDS_MAX 100000

static struct config cfg;
static struct server srv = { .cfg = &cfg };
static struct db_conn *offline; /* set once the server is made */
static struct MHD_Daemon *mhd;
static const char *http_role; /* the role of the request fuzz_http() is sending */

static const char *
setting(const char *name)
{
	/* Only what has no default; the database named is never reached. */
	return strcmp(name, "DATABASE_URL") == 0 ? "postgresql:///nowhere" : NULL;
}

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

struct server *
fuzz_server(void)
{
	if (offline != NULL)
		return &srv;
	char err[256];
	if (sodium_init() < 0 || !config_load(&cfg, setting, err, sizeof(err)))
		fail("cannot set the server up");
	log_set_level(LOG_ERROR);
	struct keyring *k = keyring_parse(FUZZ_KEY_TEXT, err, sizeof(err));
	if (k == NULL)
		fail(err);
	keyholder_init(&srv.keys, k, setting);
	if (sem_init(&srv.hash_slots, 0, 0) != 0)
		fail("cannot make the hashing semaphore");
	router_init(&srv.router, api_routes);
	offline = db_conn_offline();
	return &srv;
}

const struct route *
fuzz_route_line(const char *text, size_t len, char role[16], const char **rest)
{
	struct server *s = fuzz_server();
	const char *nl = memchr(text, '\n', len);
	size_t n = nl ? (size_t)(nl - text) : len;
	char line[256], method[16], pattern[200];
	*rest = nl ? nl + 1 : text + len;
	role[0] = '\0';
	if (n >= sizeof(line))
		return NULL;
	memcpy(line, text, n);
	line[n] = '\0';
	if (sscanf(line, "%15s %199s %15s", method, pattern, role) < 2)
		return NULL;
	for (size_t i = 0; i < s->router.count; i++) {
		const struct route *route = s->router.routes[i];
		if (strcmp(route->method, method) == 0 && strcmp(route->pattern, pattern) == 0)
			return route;
	}
	return NULL;
}

bool
fuzz_route_is_ops(const struct route *route)
{
	for (const struct route *o = ops_routes; o->method; o++)
		if (o == route)
			return true;
	return false;
}

/* A value the parameter's handler accepts: an id, a year of the plan, a county. */
static const char *
param_value(const char *name, size_t len)
{
	if (len == 4 && memcmp(name, "year", 4) == 0)
		return "2026";
	if (len == 4 && memcmp(name, "code", 4) == 0)
		return "450102";
	return "1";
}

const char *
fuzz_path(struct arena *a, const struct route *route)
{
	const char *path = "";
	for (const char *p = route->pattern; *p;) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			path = arena_printf(
			    a, "%s%s", path, param_value(p + 1, (size_t)(close - p - 1)));
			p = close + 1;
		} else {
			size_t n = strcspn(p, "{");
			path = arena_printf(a, "%s%.*s", path, (int)n, p);
			p += n;
		}
	}
	return path;
}

struct request *
fuzz_request(struct MHD_Connection *conn, const char *method, const char *path)
{
	struct arena *a = arena_new();
	struct request *r = arena_zalloc(a, sizeof(*r));
	r->srv = fuzz_server();
	r->conn = conn;
	r->arena = a;
	r->method = arena_strdup(a, method);
	r->path = arena_strdup(a, path);
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	snprintf(r->id, sizeof(r->id), "fuzz");
	snprintf(r->client_addr, sizeof(r->client_addr), "127.0.0.1");
	return r;
}

/* The callers of each role; a mediator's account is linked to a mediator's record. */
static const struct caller {
	unsigned bit;
	const char *role, *region, *mediator;
} callers[] = {
	{ ROLE_ADMIN, "admin", "", "" },
	{ ROLE_FEDERATION, "federation", "450102", "" },
	{ ROLE_MEDIATOR, "mediator", "", "1" },
	{ ROLE_HOTLINE, "hotline", "", "" },
};

/* What auth_authenticate_or_reply() would find for a caller of the role (named, or the first). */
static void
authorise(struct request *r, const char *role)
{
	if (r->route->roles & ROLE_PUBLIC)
		return; /* dispatch() authenticates nobody */
	const struct caller *c = NULL;
	for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++)
		if ((r->route->roles & callers[i].bit) &&
		    (c == NULL || strcmp(role, callers[i].role) == 0))
			c = &callers[i];
	if (c == NULL)
		fail("a route that admits no role");
	struct principal *w = &r->who;
	w->kind = AUTH_SESSION;
	w->user_id = (long long)(c - callers) + 1;
	snprintf(w->user_id_text, sizeof(w->user_id_text), "%lld", w->user_id);
	snprintf(w->username, sizeof(w->username), "fuzz-%s", c->role);
	snprintf(w->role, sizeof(w->role), "%s", c->role);
	w->role_bit = c->bit;
	snprintf(w->region_code, sizeof(w->region_code), "%s", c->region);
	w->credential_id = 1;
	snprintf(w->mediator_id, sizeof(w->mediator_id), "%s", c->mediator);
}

void
fuzz_run(struct request *r, const char *role)
{
	r->route = r->match.route;
	authorise(r, role);
	r->db = offline;
	request_run(r);
	if ((r->status < 400 || r->status >= 500) && r->status != 503) {
		fprintf(stderr, "fuzz: %s %s as %s answered %u without a database\n",
		    r->route->method, r->route->pattern, r->who.role, r->status);
		abort();
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct request *r = *con_cls;
	if (r == NULL) {
		*con_cls = fuzz_request(conn, method, url);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* NUL-terminated, as take_body() keeps it. */
		char *body = arena_alloc(r->arena, r->body_len + *upload_data_size + 1);
		if (r->body_len > 0)
			memcpy(body, r->body, r->body_len);
		memcpy(body + r->body_len, upload_data, *upload_data_size);
		r->body = body;
		r->body_len += *upload_data_size;
		r->body[r->body_len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (reply_sent(r))
		return MHD_YES;
	if (router_match(&srv.router, method, r->path, &r->match) == ROUTE_FOUND)
		fuzz_run(r, http_role);
	else
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is nothing at this path.");
	return MHD_YES;
}

static void
on_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct request *r = *con_cls;
	if (r != NULL)
		arena_free(r->arena);
	*con_cls = NULL;
}

static void
start_daemon(void)
{
	/* As http_start() sets libmicrohttpd up, but served by hand. */
	/* clang-format off */
	mhd = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg.conn_memory,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_END);
	/* clang-format on */
	if (mhd == NULL)
		fail("cannot start libmicrohttpd");
}

unsigned
fuzz_http(const char *text, size_t len, const char *role)
{
	fuzz_server();
	if (mhd == NULL)
		start_daemon();
	http_role = role;
	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s) != 0)
		fail("cannot make a socket pair");
	struct sockaddr_in peer = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (MHD_add_connection(mhd, s[1], (struct sockaddr *)&peer, sizeof(peer)) != MHD_YES)
		fail("libmicrohttpd refuses the connection");

	char status[16] = "";
	size_t sent = 0, got = 0;
	bool closed = false;
	for (unsigned round = 0; !closed && round < ROUNDS_MAX; round++) {
		if (sent < len) {
			ssize_t n = send(s[0], text + sent, len - sent, MSG_NOSIGNAL);
			sent += n > 0 ? (size_t)n : 0;
		}
		MHD_run(mhd);
		char buf[4096];
		ssize_t n;
		while ((n = recv(s[0], buf, sizeof(buf), 0)) > 0) {
			size_t keep = sizeof(status) - 1 - got;
			keep = (size_t)n < keep ? (size_t)n : keep;
			memcpy(status + got, buf, keep);
			got += keep;
		}
		closed = n == 0;
	}
	close(s[0]);
	MHD_run(mhd); /* the daemon lets go of its end */
	if (!closed)
		fail("no answer from libmicrohttpd");
	/* "HTTP/1.1 404 ..." */
	return got >= 12 ? (unsigned)strtoul(status + 9, NULL, 10) : 0;
}
