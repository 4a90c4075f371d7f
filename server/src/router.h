/*
 * router.h - the route table. Each api_*.c file exports an array of
 * struct route ending with an all-zero entry; routes.c lists those arrays.
 * Authorisation is part of the route: the roles that may call it.
 */
#ifndef TIAOJIE_ROUTER_H
#define TIAOJIE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

struct request;

/* Roles, as a bit set. Deny by default: a route with no bit set is unreachable. */
#define ROLE_PUBLIC     (1u << 0) /* no credentials needed */
#define ROLE_ADMIN      (1u << 1)
#define ROLE_FEDERATION (1u << 2)
#define ROLE_MEDIATOR   (1u << 3)
#define ROLE_HOTLINE    (1u << 4)
#define ROLE_ANY_USER   (ROLE_ADMIN | ROLE_FEDERATION | ROLE_MEDIATOR | ROLE_HOTLINE)

enum route_body {
	BODY_NONE, /* any body is ignored */
	BODY_JSON, /* application/json, parsed before the handler runs */
	BODY_CSV,  /* text/csv, handed to the handler as text */
};

struct route {
	const char *method;  /* "GET", "POST", ...; GET routes also answer HEAD */
	const char *pattern; /* "/api/v1/regions/{code}" */
	void (*handler)(struct request *r);
	unsigned roles;
	enum route_body body;
};

#define ROUTE_MAX_PARAMS 4

struct route_param {
	const char *name; /* points into the pattern, not NUL-terminated */
	size_t name_len;
	const char *value; /* points into the path */
	size_t value_len;
};

enum route_result {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,          /* no pattern matches the path */
	ROUTE_METHOD_NOT_ALLOWED, /* a pattern matches, not with this method */
};

struct route_match {
	const struct route *route;
	size_t index; /* position in the router's flat list */
	struct route_param params[ROUTE_MAX_PARAMS];
	unsigned nparams;
	char allow[64]; /* for 405: "GET, HEAD, POST" */
};

struct router {
	const struct route **routes;
	size_t count;
};

/*
 * Builds a router from NULL-terminated tables of zero-terminated arrays.
 * A malformed pattern is a programming error: the process aborts.
 */
void router_init(struct router *rt, const struct route *const *tables);
void router_free(struct router *rt);

enum route_result
router_match(const struct router *rt, const char *method, const char *path, struct route_match *m);

/* The value of parameter name as a NUL-terminated copy in buf, or NULL. */
const char *
route_param_copy(const struct route_match *m, const char *name, char *buf, size_t buflen);

#endif
