/*
 * router.c - matching "METHOD /path" against patterns such as
 * "/api/v1/regions/{code}". A parameter matches one non-empty segment.
 * Paths must match exactly: no trailing slash, no empty segments.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* "/literal/{name}/...": names are [a-z_]+ and fill a whole segment. */
static bool
pattern_valid(const char *p)
{
	if (p[0] != '/')
		return false;
	unsigned params = 0;
	for (const char *s = p; *s; s++) {
		if (*s == '}')
			return false;
		if (*s != '{')
			continue;
		if (s[-1] != '/' || ++params > ROUTE_MAX_PARAMS)
			return false;
		const char *name = ++s;
		while ((*s >= 'a' && *s <= 'z') || *s == '_')
			s++;
		if (s == name || *s != '}' || (s[1] != '/' && s[1] != '\0'))
			return false;
	}
	return true;
}

void
router_init(struct router *rt, const struct route *const *tables)
{
	size_t n = 0;
	for (const struct route *const *t = tables; *t; t++)
		for (const struct route *r = *t; r->method; r++)
			n++;
	rt->routes = xcalloc(n ? n : 1, sizeof(*rt->routes));
	rt->count = 0;
	for (const struct route *const *t = tables; *t; t++) {
		for (const struct route *r = *t; r->method; r++) {
			if (!pattern_valid(r->pattern) || r->handler == NULL) {
				fprintf(stderr, "router: bad route %s %s\n", r->method, r->pattern);
				abort();
			}
			rt->routes[rt->count++] = r;
		}
	}
}

void
router_free(struct router *rt)
{
	free(rt->routes);
	rt->routes = NULL;
	rt->count = 0;
}

/* Does path match pattern? Fills m's params on success. */
static bool
match_path(const char *pattern, const char *path, struct route_match *m)
{
	const char *p = pattern, *s = path;
	m->nparams = 0;
	while (*p && *s) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			const char *end = strchr(s, '/');
			if (end == NULL)
				end = s + strlen(s);
			if (end == s)
				return false;
			struct route_param *rp = &m->params[m->nparams++];
			rp->name = p + 1;
			rp->name_len = (size_t)(close - p - 1);
			rp->value = s;
			rp->value_len = (size_t)(end - s);
			p = close + 1;
			s = end;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

static void
allow_add(char *allow, size_t len, const char *method)
{
	/* Each method once. */
	size_t mlen = strlen(method);
	for (const char *a = allow; (a = strstr(a, method)) != NULL; a += mlen)
		if ((a == allow || a[-1] == ' ') && (a[mlen] == ',' || a[mlen] == '\0'))
			return;
	size_t used = strlen(allow);
	snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

enum route_result
router_match(const struct router *rt, const char *method, const char *path, struct route_match *m)
{
	bool path_known = false;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	struct route_match scratch;
	memset(m, 0, sizeof(*m));
	memset(&scratch, 0, sizeof(scratch));

	for (size_t i = 0; i < rt->count; i++) {
		const struct route *r = rt->routes[i];
		if (!match_path(r->pattern, path, &scratch))
			continue;
		if (strcmp(r->method, want) == 0) {
			*m = scratch;
			m->route = r;
			m->index = i;
			return ROUTE_FOUND;
		}
		path_known = true;
	}
	if (!path_known)
		return ROUTE_NOT_FOUND;

	for (size_t i = 0; i < rt->count; i++) {
		const struct route *r = rt->routes[i];
		if (!match_path(r->pattern, path, &scratch))
			continue;
		allow_add(m->allow, sizeof(m->allow), r->method);
		if (strcmp(r->method, "GET") == 0)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	return ROUTE_METHOD_NOT_ALLOWED;
}

const char *
route_param_copy(const struct route_match *m, const char *name, char *buf, size_t buflen)
{
	size_t nlen = strlen(name);
	for (unsigned i = 0; i < m->nparams; i++) {
		const struct route_param *rp = &m->params[i];
		if (rp->name_len != nlen || memcmp(rp->name, name, nlen) != 0)
			continue;
		if (rp->value_len >= buflen)
			return NULL;
		memcpy(buf, rp->value, rp->value_len);
		buf[rp->value_len] = '\0';
		return buf;
	}
	return NULL;
}
