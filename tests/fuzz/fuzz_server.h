/*
 * fuzz_server.h - what the fuzz targets that run route handlers share: the
 * server without a database, requests run as dispatch() runs them once a
 * caller is authorised, and one HTTP request at a time through a real
 * libmicrohttpd connection, so that headers, the query string and the body
 * arrive as they do in the server.
 *
 * Inputs of these targets start with a line naming the route and the
 * caller's role: "POST /api/v1/cases mediator".
 */
#ifndef TIAOJIE_FUZZ_SERVER_H
#define TIAOJIE_FUZZ_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct arena;

/*
 * The server: the route table, the fixed keys, no slot for password
 * hashes (a hash is refused at once: 503), no pool and no metrics. Made
 * on first use, with logging only of errors.
 */
struct server *fuzz_server(void);

/*
 * The route named by the first line of text ("METHOD PATTERN [ROLE]", len
 * bytes at most), its role word in role (empty when none), and in *rest
 * what follows the line. NULL when the line names no route.
 */
const struct route *fuzz_route_line(const char *text, size_t len, char role[16], const char **rest);

/* Is route one of the operational ones (ops_routes: health, metrics, the API description)? */
bool fuzz_route_is_ops(const struct route *route);

/* route's pattern with every parameter filled in with a value its handler accepts. */
const char *fuzz_path(struct arena *a, const struct route *route);

/*
 * A new request for method and path on conn (NULL: no connection, and so
 * no headers, query or body), in its own arena: arena_free(r->arena) ends
 * it.
 */
struct request *fuzz_request(struct MHD_Connection *conn, const char *method, const char *path);

/*
 * Runs the route r->match names as dispatch() does once a caller with the
 * role named (or else the route's first role) is authorised, on a
 * connection to no database. Aborts unless the answer is a refusal (4xx)
 * or 503 (the database): nothing else can come before the database, and
 * a 500 there is a bug.
 */
void fuzz_run(struct request *r, const char *role);

/*
 * Sends text, a whole HTTP/1.1 request, through a libmicrohttpd connection
 * to the server, where the route it names runs by fuzz_run(). Returns the
 * status of the answer (from libmicrohttpd itself when it refused the
 * request). Aborts when no answer comes.
 */
unsigned fuzz_http(const char *text, size_t len, const char *role);

#endif
