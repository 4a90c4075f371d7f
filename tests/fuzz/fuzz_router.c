/*
 * fuzz_router.c - how a method and a path find a route: the path
 * percent-decoded as libmicrohttpd decodes it (MHD_http_unescape, after the
 * query is cut off), matched against the server's route table, its
 * parameters taken out, and the route run (without a connection, so
 * without a body) up to its first statement, so that handlers decode their
 * path parameters ({id}, {year}, {code}, {party}).
 *
 * Input: "METHOD request-target", e.g. "GET /api/v1/regions/450102".
 *
 * What the match promises is checked: the route found has the method (GET
 * for HEAD) and the pattern spells the path with the parameters put back;
 * a 405 lists the methods that would do, each once and never the one
 * asked for.
 */
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz_check.h"
#include "fuzz_server.h"
#include "router.h"

/* Does the pattern, with m's parameters put back, spell path? */
static bool
spells(const char *pattern, const struct route_match *m, const char *path)
{
	const char *p = pattern, *s = path;
	unsigned i = 0;
	while (*p) {
		if (*p != '{') {
			if (*p++ != *s++)
				return false;
			continue;
		}
		const char *close = strchr(p, '}');
		const struct route_param *rp = &m->params[i++];
		if (i > m->nparams || rp->name != p + 1 ||
		    rp->name_len != (size_t)(close - p - 1) || rp->value != s ||
		    rp->value_len == 0 || memchr(s, '/', rp->value_len) != NULL)
			return false;
		p = close + 1;
		s += rp->value_len;
	}
	return *s == '\0' && i == m->nparams;
}

static void
check_params(struct request *r)
{
	const struct route_match *m = &r->match;
	for (unsigned i = 0; i < m->nparams; i++) {
		const struct route_param *rp = &m->params[i];
		char name[32], small[8];
		CHECK(rp->name_len < sizeof(name));
		memcpy(name, rp->name, rp->name_len);
		name[rp->name_len] = '\0';
		const char *value = request_param(r, name);
		CHECK(value != NULL && strlen(value) == rp->value_len &&
		    memcmp(value, rp->value, rp->value_len) == 0);
		const char *copied = route_param_copy(m, name, small, sizeof(small));
		CHECK(copied == NULL ? rp->value_len >= sizeof(small) : strcmp(copied, value) == 0);
	}
}

/* Is the method among the comma-separated list, and is every item there once? */
static bool
listed_once(const char *allow, const char *method, bool *seen)
{
	char items[64][16];
	size_t n = 0;
	*seen = false;
	for (const char *p = allow; *p && n < 64;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(items[0]))
			return false;
		memcpy(items[n], p, len);
		items[n][len] = '\0';
		for (size_t j = 0; j < n; j++)
			if (strcmp(items[j], items[n]) == 0)
				return false;
		*seen = *seen || strcmp(items[n], method) == 0;
		n++;
		p += len;
		if (*p == ',')
			p += 2; /* ", " */
	}
	return n > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server *srv = fuzz_server();
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	char *space = strchr(line, ' ');
	if (space == NULL) {
		free(line);
		return 0;
	}
	*space = '\0';
	const char *method = line;
	char *path = space + 1;
	path[strcspn(path, "?")] = '\0';
	MHD_http_unescape(path);

	struct request *r = fuzz_request(NULL, method, path);
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	bool seen;
	switch (router_match(&srv->router, r->method, r->path, &r->match)) {
	case ROUTE_FOUND:
		CHECK(r->match.index < srv->router.count &&
		    srv->router.routes[r->match.index] == r->match.route);
		CHECK(strcmp(r->match.route->method, want) == 0);
		CHECK(spells(r->match.route->pattern, &r->match, r->path));
		check_params(r);
		if (!fuzz_route_is_ops(r->match.route))
			fuzz_run(r, "");
		break;
	case ROUTE_METHOD_NOT_ALLOWED:
		CHECK(listed_once(r->match.allow, want, &seen) && !seen);
		break;
	case ROUTE_NOT_FOUND:
		CHECK(r->match.route == NULL && r->match.allow[0] == '\0');
		break;
	}
	arena_free(r->arena);
	free(line);
	return 0;
}
