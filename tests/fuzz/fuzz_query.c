/*
 * fuzz_query.c - the query string: split into arguments and percent-decoded
 * by libmicrohttpd (the server has no parser of its own), then checked by
 * the server: unknown, repeated and valueless arguments
 * (request_query_known_or_reply) and each route's checks of the values,
 * up to its first statement (the database cannot be reached: 503).
 *
 * Input: a first line naming a route without a body and the caller's
 * role, then the query string:
 *
 *   GET /api/v1/cases admin
 *   status=in_mediation&region=450102&limit=20
 *
 * Bytes that cannot stand in a request line (controls, space, '#', and
 * bytes above 0x7e) are sent percent-encoded, as a client would send them.
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *query;
	char role[16];
	const struct route *route = fuzz_route_line(text, size, role, &query);
	if (route == NULL || route->body != BODY_NONE || fuzz_route_is_ops(route))
		return 0;
	struct arena *a = arena_new();
	struct sbuf req = { 0 };
	sbuf_printf(&req, "%s %s?", route->method, fuzz_path(a, route));
	for (const char *p = query; p < text + size; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || c == '#')
			sbuf_printf(&req, "%%%02X", c);
		else
			sbuf_append(&req, p, 1);
	}
	sbuf_printf(&req, " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
	fuzz_http(req.data, req.len, role);
	sbuf_free(&req);
	arena_free(a);
	return 0;
}
