/*
 * http.c - libmicrohttpd glue. The access handler is called once with the
 * headers, once per piece of body, and once more when the request is
 * complete; we answer only on that last call, which keeps connections
 * alive. The completion callback logs the request, counts it and frees
 * its arena: nothing a request allocates outlives it.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "validate.h"

#define HTTP_PATH_LIMIT  2048 /* bytes of decoded path */
#define HTTP_QUERY_LIMIT 4096 /* bytes of query keys and values together */

static double
seconds_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static bool
request_id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && strchr("._:-", s[n]) == NULL)
			return false;
	return n >= 1 && n <= REQUEST_ID_MAX;
}

static void
free_body(void *p)
{
	struct request *r = p;
	xfree_wiped(r->body);
}

static void
decref_json(void *p)
{
	json_decref(p);
}

static struct request *
request_new(struct server *srv, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct arena *a = arena_new();
	struct request *r = arena_zalloc(a, sizeof(*r));
	r->srv = srv;
	r->conn = conn;
	r->arena = a;
	r->method = method;
	r->path = url;
	clock_gettime(CLOCK_MONOTONIC, &r->started);

	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
			    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			    r->client_addr, sizeof(r->client_addr));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			    r->client_addr, sizeof(r->client_addr));
	}

	const char *given = request_header(r, "X-Request-Id");
	if (given != NULL && request_id_valid(given)) {
		strcpy(r->id, given);
	} else {
		unsigned char raw[16];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(r->id, sizeof(r->id), raw, sizeof(raw));
	}
	return r;
}

const char *
request_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
request_query(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
request_param(struct request *r, const char *name)
{
	size_t nlen = strlen(name);
	for (unsigned i = 0; i < r->match.nparams; i++) {
		const struct route_param *p = &r->match.params[i];
		if (p->name_len == nlen && memcmp(p->name, name, nlen) == 0)
			return arena_strndup(r->arena, p->value, p->value_len);
	}
	return NULL;
}

bool
request_no_query_or_reply(struct request *r)
{
	static const char *const none[] = { NULL };
	return request_query_known_or_reply(r, none);
}

const char *
request_id_or_reply(struct request *r)
{
	if (!request_no_query_or_reply(r))
		return NULL;
	const char *id = request_param(r, "id");
	long v;
	if (id == NULL || !parse_int_range(id, 1, 999999999999L, &v)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "An id is a positive whole number.");
		return NULL;
	}
	return id;
}

const char *
request_scope(const struct request *r)
{
	return r->who.role_bit == ROLE_FEDERATION ? r->who.region_code : NULL;
}

void
request_add_header(struct request *r, const char *name, const char *value)
{
	if (r->nheaders == REQUEST_MAX_HEADERS) {
		log_msg(LOG_ERROR, "request %s: too many response headers", r->id);
		return;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
}

struct query_scan {
	const char *const *allowed;
	const char *bad; /* first unknown or repeated key */
	bool repeated;
	bool no_value;
	unsigned long seen;
	size_t bytes;
};

static enum MHD_Result
scan_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct query_scan *q = cls;
	/* "key=value" and the "&" before it; dispatch() discounts the first. */
	q->bytes += 1 + strlen(key) + (value ? 1 + strlen(value) : 0);
	if (value == NULL && q->allowed != NULL && q->bad == NULL) {
		q->bad = key;
		q->no_value = true;
	}
	if (q->allowed == NULL || q->bad != NULL)
		return MHD_YES;
	for (unsigned i = 0; q->allowed[i]; i++) {
		if (strcmp(q->allowed[i], key) != 0)
			continue;
		if (q->seen & (1ul << i)) {
			q->bad = key;
			q->repeated = true;
		}
		q->seen |= 1ul << i;
		return MHD_YES;
	}
	q->bad = key;
	return MHD_YES;
}

bool
request_query_known_or_reply(struct request *r, const char *const *allowed)
{
	struct query_scan q = { .allowed = allowed };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, scan_query, &q);
	if (q.bad == NULL)
		return true;
	char *key = arena_strdup(r->arena, q.bad);
	for (char *k = key; *k; k++) /* keep the detail printable */
		if (!isprint((unsigned char)*k))
			*k = '?';
	if (q.no_value)
		reply_problem(
		    r, 400, PROBLEM_BAD_REQUEST, "Query parameter '%.64s' has no value.", key);
	else if (q.repeated)
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "Query parameter '%.64s' is given more than once.", key);
	else
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "Unknown query parameter '%.64s'.", key);
	return false;
}

/* Is ct the media type want, optionally with charset utf-8 (any case)? */
static bool
content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	const char *rest = ct + n;
	while (*rest == ' ')
		rest++;
	if (*rest == '\0')
		return true;
	if (*rest++ != ';')
		return false;
	while (*rest == ' ')
		rest++;
	return strcasecmp(rest, "charset=utf-8") == 0 || strcasecmp(rest, "charset=\"utf-8\"") == 0;
}

/* Checks the media type of a BODY_CSV route and that there is a body. */
static bool
csv_body_or_reply(struct request *r)
{
	if (!content_type_is(request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), "text/csv")) {
		reply_problem(r, 415, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
		    "This operation takes a body of type text/csv (UTF-8).");
		return false;
	}
	if (r->body_len == 0) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "This operation needs a CSV body.");
		return false;
	}
	return true;
}

/* Checks the media type and parses the body of a BODY_JSON route. */
static bool
parse_body_or_reply(struct request *r)
{
	if (!content_type_is(request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), "application/json")) {
		reply_problem(r, 415, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
		    "This operation takes a body of type application/json.");
		return false;
	}
	if (r->body_len == 0) {
		reply_problem(r, 400, PROBLEM_MALFORMED_JSON, "This operation needs a JSON body.");
		return false;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		reply_problem(r, 400, PROBLEM_MALFORMED_JSON,
		    "The body is not valid JSON: %s at line %d, column %d.", jerr.text, jerr.line,
		    jerr.column);
		return false;
	}
	arena_defer(r->arena, decref_json, doc);
	if (!json_is_object(doc)) {
		reply_problem(r, 400, PROBLEM_MALFORMED_JSON, "The body must be a JSON object.");
		return false;
	}
	r->json = doc;
	return true;
}

/*
 * Deny by default: a route admits the roles it names. An anonymous caller
 * gets 401, a signed-in one outside those roles 403; both are audited.
 */
static bool
authorize_or_reply(struct request *r)
{
	if (r->route->roles & ROLE_PUBLIC)
		return true;
	if (request_query(r, "access_token") != NULL || request_query(r, "token") != NULL) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "Credentials are not accepted in the URL; send them in the Authorization "
		    "header.");
		return false;
	}
	if (!auth_authenticate_or_reply(r)) {
		if (r->status == 401)
			audit_refusal(r, 401);
		return false;
	}
	if (r->who.role_bit & r->route->roles)
		return true;
	audit_refusal(r, 403);
	reply_problem(r, 403, PROBLEM_FORBIDDEN, "The role %s may not do this.", r->who.role);
	return false;
}

void
request_run(struct request *r)
{
	if (r->route->body == BODY_JSON && !parse_body_or_reply(r))
		return;
	if (r->route->body == BODY_CSV && !csv_body_or_reply(r))
		return;
	r->route->handler(r);
	if (!reply_sent(r)) {
		log_msg(LOG_ERROR, "request %s: %s %s returned without a reply", r->id,
		    r->route->method, r->route->pattern);
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The request could not be completed; it has been logged as %s.", r->id);
	}
}

static void
dispatch(struct request *r)
{
	struct query_scan q = { 0 };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, scan_query, &q);
	if (strlen(r->path) > HTTP_PATH_LIMIT || q.bytes > HTTP_QUERY_LIMIT + 1) {
		reply_problem(r, 414, PROBLEM_URI_TOO_LONG,
		    "The path may have %d bytes and the query %d at most.", HTTP_PATH_LIMIT,
		    HTTP_QUERY_LIMIT);
		return;
	}
	switch (router_match(&r->srv->router, r->method, r->path, &r->match)) {
	case ROUTE_NOT_FOUND:
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is nothing at this path.");
		return;
	case ROUTE_METHOD_NOT_ALLOWED:
		request_add_header(
		    r, MHD_HTTP_HEADER_ALLOW, arena_strdup(r->arena, r->match.allow));
		reply_problem(r, 405, PROBLEM_METHOD_NOT_ALLOWED, "This path answers %s only.",
		    r->match.allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	r->route = r->match.route;
	/* Who may call comes first: a refused caller's body is never parsed. */
	if (authorize_or_reply(r))
		request_run(r);
}

/*
 * Takes a piece of body. Past the limit the rest is read and dropped, so the
 * 413 can be sent once the request is complete (libmicrohttpd queues no
 * response in mid-body); a sender that goes on for as much again is cut
 * off. Returns false to close the connection.
 */
static bool
take_body(struct request *r, const char *data, size_t len)
{
	size_t limit = r->srv->cfg->body_limit;
	if (reply_sent(r))
		return true;
	if (r->body_too_large || r->body_len + len > limit) {
		r->body_too_large = true;
		r->body_dropped += len;
		return r->body_dropped <= limit;
	}
	if (r->body == NULL)
		arena_defer(r->arena, free_body, r);
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		while (cap < r->body_len + len + 1)
			cap *= 2;
		r->body = xrealloc(r->body, cap);
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return true;
}

/*
 * Content-Length headers that differ frame the body in two ways; a server
 * must refuse such a request (RFC 9112, 6.3), and libmicrohttpd takes the
 * first and reads what follows as the next request.
 */
struct length_scan {
	const char *first;
	bool differ;
};

static enum MHD_Result
scan_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct length_scan *l = cls;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0 && value != NULL &&
	    strcmp(value, l->first) != 0)
		l->differ = true;
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct server *srv = cls;
	struct request *r = *con_cls;

	if (r == NULL) {
		r = request_new(srv, conn, url, method);
		*con_cls = r;
		atomic_fetch_add(&srv->inflight, 1);
		/* A declared length over the limit is refused before it is sent. */
		const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		struct length_scan lengths = { .first = cl };
		MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_length, &lengths);
		if (lengths.differ) {
			reply_problem(r, 400, PROBLEM_BAD_REQUEST,
			    "Content-Length is given more than once, with different values.");
		} else if (cl != NULL) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno != 0 || *end != '\0' || n > srv->cfg->body_limit) {
				r->body_too_large = true;
				reply_problem(r, 413, PROBLEM_TOO_LARGE,
				    "The body may have %zu bytes at most.", srv->cfg->body_limit);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		bool more = take_body(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return more ? MHD_YES : MHD_NO;
	}
	if (reply_sent(r))
		return MHD_YES;
	if (r->body_too_large) {
		reply_problem(r, 413, PROBLEM_TOO_LARGE, "The body may have %zu bytes at most.",
		    srv->cfg->body_limit);
		return MHD_YES;
	}
	dispatch(r);
	/*
	 * The answer is queued: the database connection goes back now, not once
	 * the answer is sent. A worker serves its other connections meanwhile,
	 * and one that waited for a connection held by its own unsent answer
	 * would wait forever (and, with every worker doing so, so would the
	 * server).
	 */
	if (r->db != NULL) {
		db_release(srv->pool, r->db);
		r->db = NULL;
	}
	return MHD_YES;
}

static void
on_completed(
    void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	struct server *srv = cls;
	struct request *r = *con_cls;
	if (r == NULL)
		return;
	*con_cls = NULL;

	double elapsed = seconds_since(&r->started);
	size_t route = r->route ? r->match.index : (size_t)-1;
	if (r->status != 0)
		metrics_observe(srv->metrics, route, r->status, elapsed);

	enum log_level level =
	    r->status >= 500 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_WARN : LOG_INFO;
	if (log_enabled(level)) {
		json_t *line = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I}", "request_id", r->id,
		    "method", r->method, "route", r->route ? r->route->pattern : NULL, "status",
		    (json_int_t)r->status, "duration_us", (json_int_t)(elapsed * 1e6), "bytes",
		    (json_int_t)r->reply_bytes);
		json_t *path = json_string(r->path);
		json_object_set_new(line, "path", path ? path : json_string("(not UTF-8)"));
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			json_object_set_new(line, "aborted", json_true());
		log_json(level, line);
	}

	if (r->db != NULL)
		db_release(srv->pool, r->db);
	arena_free(r->arena);
	atomic_fetch_sub(&srv->inflight, 1);
}

static int
hex_value(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/*
 * Decodes %XX in the path and the query, as libmicrohttpd does, except
 * %00: a NUL would end the value there, so that "/api/v1/tokens/5%00x"
 * named token 5 and "limit=5%00x" asked for 5. It is left as sent, and
 * fails the checks of whatever it is in.
 */
static size_t
unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	char *out = s;
	for (const char *in = s; *in != '\0';) {
		if (in[0] == '%' && isxdigit((unsigned char)in[1]) &&
		    isxdigit((unsigned char)in[2]) && !(in[1] == '0' && in[2] == '0')) {
			*out++ = (char)(hex_value(in[1]) * 16 + hex_value(in[2]));
			in += 3;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

/* libmicrohttpd's messages are printf formats (clang checks what is done with them). */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_msg(LOG_WARN, "http: %s", msg);
}

bool
http_start(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(cfg->listen_port) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(cfg->listen_port) };
	struct sockaddr *addr;
	/*
	 * poll(), not epoll: with a thread pool on epoll, MHD_quiesce_daemon()
	 * in 0.9.75 races the workers removing the listening socket from their
	 * epoll sets and can abort the process ("Failed to remove listen FD
	 * from epoll set"), which a shutdown must never do.
	 */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem plain[] = { { MHD_OPTION_END, 0, NULL } };
	struct MHD_OptionItem https[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, NULL },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, NULL },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)tls_priorities },
		{ MHD_OPTION_END, 0, NULL },
	};
	bool tls = cfg->tls_cert[0] != '\0';
	if (tls) {
		char err[512];
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_msg(LOG_ERROR,
			    "TIAOJIE_TLS_CERT is set, but this libmicrohttpd was "
			    "built without HTTPS");
			return false;
		}
		if (!tls_load(cfg, &srv->tls, err, sizeof(err))) {
			log_msg(LOG_ERROR, "%s", err);
			return false;
		}
		https[0].ptr_value = srv->tls.cert;
		https[1].ptr_value = srv->tls.key;
		flags |= MHD_USE_TLS;
	}

	if (inet_pton(AF_INET, cfg->listen_host, &v4.sin_addr) == 1) {
		addr = (struct sockaddr *)&v4;
	} else {
		inet_pton(AF_INET6, cfg->listen_host, &v6.sin6_addr);
		addr = (struct sockaddr *)&v6;
		flags |= MHD_USE_IPv6;
	}

	/* One option per line; the logger first, so that it gets every message. */
	/* clang-format off */
	srv->daemon = MHD_start_daemon(flags, cfg->listen_port, NULL, NULL, on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->workers,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->conn_memory,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	    MHD_OPTION_ARRAY, tls ? https : plain,
	    MHD_OPTION_END);
	/* clang-format on */
	if (srv->daemon == NULL) {
		log_msg(LOG_ERROR,
		    tls ? "cannot listen on %s port %u (in use, not an address of this host, or "
			  "a certificate and key that GnuTLS refuses: see the message before)"
			: "cannot listen on %s port %u (in use, or not an address of this host?)",
		    cfg->listen_host, cfg->listen_port);
		tls_free(&srv->tls);
		return false;
	}
	log_msg(LOG_INFO, "listening on %s port %u with %u workers%s", cfg->listen_host,
	    cfg->listen_port, cfg->workers, tls ? ", HTTPS only" : "");
	return true;
}

void
http_stop(struct server *srv)
{
	atomic_store(&srv->stopping, true);
	MHD_socket s = MHD_quiesce_daemon(srv->daemon);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	unsigned waiting = atomic_load(&srv->inflight);
	if (waiting > 0)
		log_msg(LOG_INFO, "finishing %u requests in flight", waiting);
	while (atomic_load(&srv->inflight) > 0 &&
	    seconds_since(&start) < (double)srv->cfg->shutdown_grace) {
		struct timespec pause = { 0, 20 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	if (atomic_load(&srv->inflight) > 0)
		log_msg(LOG_WARN, "grace period over: %u requests cut short",
		    atomic_load(&srv->inflight));
	MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
	tls_free(&srv->tls);
}
