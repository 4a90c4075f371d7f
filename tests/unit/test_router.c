/*
 * test_router.c - pattern matching, 405 Allow lists and table order, on
 * tables made here and on the server's own route table.
 */
#include <signal.h>
#include <string.h>

#include "api.h"
#include "router.h"
#include "suites.h"

static void
handler_noop(struct request *r)
{
	(void)r;
}

static void
handler_other(struct request *r)
{
	(void)r;
}

/* Flat indexes 0-4. */
static const struct route first_routes[] = {
	{ "GET", "/", handler_noop, ROLE_PUBLIC, BODY_NONE },
	{ "GET", "/api/v1/regions", handler_noop, ROLE_PUBLIC, BODY_NONE },
	{ "GET", "/api/v1/regions/{code}", handler_noop, ROLE_PUBLIC, BODY_NONE },
	{ "POST", "/api/v1/regions", handler_noop, ROLE_ADMIN, BODY_JSON },
	{ "GET", "/a/{x}/b/{y}", handler_noop, ROLE_ANY_USER, BODY_NONE },
	{ 0 },
};

/* Flat indexes 5-10. */
static const struct route second_routes[] = {
	{ "DELETE", "/api/v1/regions/{code}", handler_other, ROLE_ADMIN, BODY_NONE },
	/* Shadowed for GET by /api/v1/regions/{code} above. */
	{ "GET", "/api/v1/regions/mine", handler_other, ROLE_ADMIN, BODY_NONE },
	{ "PUT", "/api/v1/regions/mine", handler_other, ROLE_ADMIN, BODY_JSON },
	{ "POST", "/jobs", handler_noop, ROLE_HOTLINE, BODY_JSON },
	{ "PATCH", "/jobs", handler_noop, ROLE_HOTLINE, BODY_JSON },
	/* A duplicate: never reached, listed once in Allow. */
	{ "POST", "/jobs", handler_other, ROLE_HOTLINE, BODY_JSON },
	{ 0 },
};

static const struct route *const test_tables[] = {
	first_routes,
	second_routes,
	NULL,
};

static struct router rt;

static void
setup_router(void)
{
	router_init(&rt, test_tables);
}

static void
teardown_router(void)
{
	router_free(&rt);
}

/* Fills m with garbage first so that stale values cannot pass a check. */
static enum route_result
match(const char *method, const char *path, struct route_match *m)
{
	memset(m, 0x5a, sizeof(*m));
	return router_match(&rt, method, path, m);
}

START_TEST(test_init_counts)
{
	ck_assert_uint_eq(rt.count, 11);
	ck_assert_ptr_eq(rt.routes[0], &first_routes[0]);
	ck_assert_ptr_eq(rt.routes[4], &first_routes[4]);
	ck_assert_ptr_eq(rt.routes[5], &second_routes[0]);
	ck_assert_ptr_eq(rt.routes[10], &second_routes[5]);
}
END_TEST

START_TEST(test_exact_match)
{
	struct route_match m;
	ck_assert_int_eq(match("GET", "/api/v1/regions", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[1]);
	ck_assert_uint_eq(m.index, 1);
	ck_assert_uint_eq(m.nparams, 0);

	ck_assert_int_eq(match("POST", "/api/v1/regions", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[3]);
	ck_assert_uint_eq(m.index, 3);
	ck_assert_uint_eq(m.nparams, 0);

	ck_assert_int_eq(match("GET", "/", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[0]);
	ck_assert_uint_eq(m.index, 0);
}
END_TEST

START_TEST(test_param_capture)
{
	const char *path = "/api/v1/regions/450202";
	struct route_match m;
	ck_assert_int_eq(match("GET", path, &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[2]);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_uint_eq(m.params[0].name_len, 4);
	ck_assert_int_eq(memcmp(m.params[0].name, "code", 4), 0);
	ck_assert_uint_eq(m.params[0].value_len, 6);
	ck_assert_int_eq(memcmp(m.params[0].value, "450202", 6), 0);
	/* The value points into the path, the name into the pattern. */
	ck_assert_ptr_eq(m.params[0].value, path + strlen("/api/v1/regions/"));
	ck_assert_ptr_eq(m.params[0].name, first_routes[2].pattern + strlen("/api/v1/regions/{"));
}
END_TEST

START_TEST(test_two_params)
{
	const char *path = "/a/first/b/22";
	struct route_match m;
	ck_assert_int_eq(match("GET", path, &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[4]);
	ck_assert_uint_eq(m.index, 4);
	ck_assert_uint_eq(m.nparams, 2);
	ck_assert_uint_eq(m.params[0].name_len, 1);
	ck_assert_int_eq(m.params[0].name[0], 'x');
	ck_assert_uint_eq(m.params[0].value_len, 5);
	ck_assert_int_eq(memcmp(m.params[0].value, "first", 5), 0);
	ck_assert_ptr_eq(m.params[0].value, path + 3);
	ck_assert_uint_eq(m.params[1].name_len, 1);
	ck_assert_int_eq(m.params[1].name[0], 'y');
	ck_assert_uint_eq(m.params[1].value_len, 2);
	ck_assert_int_eq(memcmp(m.params[1].value, "22", 2), 0);
	ck_assert_ptr_eq(m.params[1].value, path + 11);
}
END_TEST

START_TEST(test_param_copy)
{
	struct route_match m;
	char buf[16];
	ck_assert_int_eq(match("GET", "/a/first/b/22", &m), ROUTE_FOUND);

	memset(buf, 'z', sizeof(buf));
	ck_assert_ptr_eq(route_param_copy(&m, "x", buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, "first");
	ck_assert_ptr_eq(route_param_copy(&m, "y", buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, "22");

	/* Absent names, including prefixes and extensions of present ones. */
	ck_assert_ptr_null(route_param_copy(&m, "z", buf, sizeof(buf)));
	ck_assert_ptr_null(route_param_copy(&m, "", buf, sizeof(buf)));
	ck_assert_ptr_null(route_param_copy(&m, "xy", buf, sizeof(buf)));

	/* "first" needs 6 bytes with its NUL. */
	ck_assert_ptr_null(route_param_copy(&m, "x", buf, 5));
	ck_assert_ptr_null(route_param_copy(&m, "x", buf, 0));
	ck_assert_ptr_eq(route_param_copy(&m, "x", buf, 6), buf);
	ck_assert_str_eq(buf, "first");

	ck_assert_int_eq(match("GET", "/api/v1/regions/450202", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(route_param_copy(&m, "code", buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, "450202");
	ck_assert_ptr_null(route_param_copy(&m, "cod", buf, sizeof(buf)));
	ck_assert_ptr_null(route_param_copy(&m, "codes", buf, sizeof(buf)));
	ck_assert_ptr_null(route_param_copy(&m, "code", buf, 6));

	/* A route without parameters has none to copy. */
	ck_assert_int_eq(match("GET", "/api/v1/regions", &m), ROUTE_FOUND);
	ck_assert_ptr_null(route_param_copy(&m, "code", buf, sizeof(buf)));
}
END_TEST

static const char *const unknown_paths[] = {
	"/api/v1/regions/",             /* trailing slash; empty parameter */
	"/api/v1/regions/450202/",      /* trailing slash after a parameter */
	"/api/v1",                      /* a segment missing */
	"/api/v1/regions/450202/extra", /* a segment too many */
	"//",
	"//api/v1/regions",
	"/api/v1//regions",
	"/api/v1/regions//",
	"/a/1/b",
	"/a/1/b/",
	"/a//b/2",
	"/a/1/b/2/",
	"/a/1/b/2/c",
	"/jobs/",
	"/API/v1/regions",
	"/unknown",
	"",
	"api/v1/regions",
};

START_TEST(test_not_found)
{
	struct route_match m;
	const char *path = unknown_paths[_i];
	static const char *const methods[] = { "GET", "HEAD", "POST", "DELETE" };
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		enum route_result res = match(methods[i], path, &m);
		ck_assert_msg(res == ROUTE_NOT_FOUND,
		    "%s \"%s\": result %d, expected ROUTE_NOT_FOUND", methods[i], path, (int)res);
		ck_assert_ptr_null(m.route);
		ck_assert_str_eq(m.allow, "");
	}
}
END_TEST

START_TEST(test_method_not_allowed)
{
	struct route_match m;
	ck_assert_int_eq(match("PUT", "/api/v1/regions", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");
	ck_assert_ptr_null(m.route);

	ck_assert_int_eq(match("DELETE", "/api/v1/regions", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");

	/* Four routes match, two of them GET: each method once. */
	ck_assert_int_eq(match("PATCH", "/api/v1/regions/mine", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, DELETE, PUT");

	ck_assert_int_eq(match("POST", "/api/v1/regions/450202", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, DELETE");

	/* No GET: no HEAD; the duplicate POST route is listed once. */
	ck_assert_int_eq(match("DELETE", "/jobs", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "POST, PATCH");
	ck_assert_int_eq(match("GET", "/jobs", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "POST, PATCH");
	ck_assert_int_eq(match("HEAD", "/jobs", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "POST, PATCH");

	/* Methods are case-sensitive. */
	ck_assert_int_eq(match("get", "/api/v1/regions", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");
}
END_TEST

START_TEST(test_head_matches_get)
{
	struct route_match m;
	ck_assert_int_eq(match("HEAD", "/api/v1/regions", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[1]);
	ck_assert_str_eq(m.route->method, "GET");
	ck_assert_uint_eq(m.index, 1);

	ck_assert_int_eq(match("HEAD", "/api/v1/regions/450202", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[2]);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_uint_eq(m.params[0].value_len, 6);
}
END_TEST

START_TEST(test_index_across_tables)
{
	struct route_match m;
	ck_assert_int_eq(match("DELETE", "/api/v1/regions/450202", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &second_routes[0]);
	ck_assert_uint_eq(m.index, 5);
	ck_assert_uint_eq(m.nparams, 1);

	ck_assert_int_eq(match("PUT", "/api/v1/regions/mine", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &second_routes[2]);
	ck_assert_uint_eq(m.index, 7);
	ck_assert_uint_eq(m.nparams, 0);

	ck_assert_int_eq(match("PATCH", "/jobs", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &second_routes[4]);
	ck_assert_uint_eq(m.index, 9);
}
END_TEST

START_TEST(test_first_match_wins)
{
	struct route_match m;
	/* /api/v1/regions/{code} (first table) before /api/v1/regions/mine. */
	ck_assert_int_eq(match("GET", "/api/v1/regions/mine", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &first_routes[2]);
	ck_assert_uint_eq(m.index, 2);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_uint_eq(m.params[0].value_len, 4);
	ck_assert_int_eq(memcmp(m.params[0].value, "mine", 4), 0);

	/* Two identical POST /jobs in one table: the earlier one. */
	ck_assert_int_eq(match("POST", "/jobs", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route, &second_routes[3]);
	ck_assert_ptr_eq(m.route->handler, handler_noop);
	ck_assert_uint_eq(m.index, 8);
}
END_TEST

START_TEST(test_router_free)
{
	struct router local;
	router_init(&local, test_tables);
	ck_assert_uint_eq(local.count, 11);
	router_free(&local);
	ck_assert_ptr_null(local.routes);
	ck_assert_uint_eq(local.count, 0);
}
END_TEST

START_TEST(test_empty_router)
{
	static const struct route none[] = { { 0 } };
	static const struct route *const empty_tables[] = { none, NULL };
	static const struct route *const no_tables[] = { NULL };
	struct router local;
	struct route_match m;

	router_init(&local, empty_tables);
	ck_assert_uint_eq(local.count, 0);
	ck_assert_int_eq(router_match(&local, "GET", "/", &m), ROUTE_NOT_FOUND);
	router_free(&local);

	router_init(&local, no_tables);
	ck_assert_uint_eq(local.count, 0);
	ck_assert_int_eq(router_match(&local, "GET", "/", &m), ROUTE_NOT_FOUND);
	router_free(&local);
}
END_TEST

/* Each must abort in router_init(). */
static const char *const bad_patterns[] = {
	"no-leading-slash",
	"/a/{unclosed",
	"",
	"/a/{}",
	"/a{x}",
	"/{x}y",
	"/{a}/{b}/{c}/{d}/{e}",
	"/{a/b}",
	"/x/}",
	"/a/{Code}",
};

START_TEST(test_bad_pattern_aborts)
{
	const struct route bad[] = {
		{ "GET", "/fine", handler_noop, ROLE_PUBLIC, BODY_NONE },
		{ "GET", bad_patterns[_i], handler_noop, ROLE_PUBLIC, BODY_NONE },
		{ 0 },
	};
	const struct route *const tables[] = { bad, NULL };
	struct router local;
	router_init(&local, tables);
	router_free(&local);
	ck_abort_msg("pattern \"%s\" was accepted", bad_patterns[_i]);
}
END_TEST

START_TEST(test_missing_handler_aborts)
{
	static const struct route bad[] = {
		{ "GET", "/fine", NULL, ROLE_PUBLIC, BODY_NONE },
		{ 0 },
	};
	static const struct route *const tables[] = { first_routes, bad, NULL };
	struct router local;
	router_init(&local, tables);
	router_free(&local);
	ck_abort_msg("a route without a handler was accepted");
}
END_TEST

START_TEST(test_good_patterns_accepted)
{
	static const struct route good[] = {
		{ "GET", "/{a}/{b}/{c}/{d}", handler_noop, ROLE_PUBLIC, BODY_NONE },
		{ "GET", "/x/{id}", handler_noop, ROLE_PUBLIC, BODY_NONE },
		{ "GET", "/x/{id}/y", handler_noop, ROLE_PUBLIC, BODY_NONE },
		{ 0 },
	};
	static const struct route *const tables[] = { good, NULL };
	struct router local;
	struct route_match m;
	router_init(&local, tables);
	ck_assert_uint_eq(local.count, 3);
	ck_assert_int_eq(router_match(&local, "GET", "/1/2/3/4", &m), ROUTE_FOUND);
	ck_assert_uint_eq(m.nparams, 4);
	ck_assert_int_eq(m.params[3].name[0], 'd');
	ck_assert_int_eq(m.params[3].value[0], '4');
	ck_assert_int_eq(router_match(&local, "GET", "/x/7/y", &m), ROUTE_FOUND);
	ck_assert_uint_eq(m.index, 2);
	router_free(&local);
}
END_TEST

/* The server's real table. */

START_TEST(test_api_routes_well_formed)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	const unsigned known_roles = ROLE_PUBLIC | ROLE_ANY_USER;
	size_t n = 0;
	for (const struct route *const *t = api_routes; *t != NULL; t++) {
		for (const struct route *r = *t; r->method != NULL; r++, n++) {
			bool method_ok = false;
			for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
				if (strcmp(r->method, methods[i]) == 0)
					method_ok = true;
			ck_assert_msg(method_ok, "route %zu: method \"%s\"", n, r->method);
			ck_assert_ptr_nonnull(r->pattern);
			ck_assert_msg(
			    r->pattern[0] == '/', "route %zu: pattern \"%s\"", n, r->pattern);
			ck_assert_msg(
			    r->handler != NULL, "%s %s has no handler", r->method, r->pattern);
			ck_assert_msg(
			    r->roles != 0, "%s %s has no role: unreachable", r->method, r->pattern);
			ck_assert_msg((r->roles & ~known_roles) == 0,
			    "%s %s has unknown role bits %#x", r->method, r->pattern, r->roles);
			ck_assert_msg(
			    r->body == BODY_NONE || r->body == BODY_JSON || r->body == BODY_CSV,
			    "%s %s: body %d", r->method, r->pattern, (int)r->body);
		}
	}
	ck_assert_uint_gt(n, 0);

	struct router local;
	router_init(&local, api_routes);
	ck_assert_uint_eq(local.count, n);
	router_free(&local);
}
END_TEST

START_TEST(test_api_routes_match)
{
	struct router api;
	struct route_match m;
	char code[16];
	router_init(&api, api_routes);

	ck_assert_int_eq(router_match(&api, "GET", "/api/v1/regions/450202", &m), ROUTE_FOUND);
	ck_assert_str_eq(m.route->pattern, "/api/v1/regions/{code}");
	ck_assert_str_eq(m.route->method, "GET");
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_ptr_eq(route_param_copy(&m, "code", code, sizeof(code)), code);
	ck_assert_str_eq(code, "450202");
	ck_assert_ptr_eq(api.routes[m.index], m.route);

	ck_assert_int_eq(router_match(&api, "POST", "/healthz", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, HEAD");

	ck_assert_int_eq(router_match(&api, "HEAD", "/healthz", &m), ROUTE_FOUND);
	ck_assert_str_eq(m.route->pattern, "/healthz");

	ck_assert_int_eq(router_match(&api, "GET", "/healthz/", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(router_match(&api, "GET", "/api/v1/regions/", &m), ROUTE_NOT_FOUND);
	router_free(&api);
}
END_TEST

Suite *
router_suite(void)
{
	Suite *s = suite_create("router");

	TCase *tc = tcase_create("match");
	tcase_add_checked_fixture(tc, setup_router, teardown_router);
	tcase_add_test(tc, test_init_counts);
	tcase_add_test(tc, test_exact_match);
	tcase_add_test(tc, test_param_capture);
	tcase_add_test(tc, test_two_params);
	tcase_add_test(tc, test_param_copy);
	tcase_add_loop_test(
	    tc, test_not_found, 0, (int)(sizeof(unknown_paths) / sizeof(unknown_paths[0])));
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_head_matches_get);
	tcase_add_test(tc, test_index_across_tables);
	tcase_add_test(tc, test_first_match_wins);
	suite_add_tcase(s, tc);

	tc = tcase_create("init");
	tcase_add_test(tc, test_router_free);
	tcase_add_test(tc, test_empty_router);
	tcase_add_test(tc, test_good_patterns_accepted);
	tcase_add_loop_test_raise_signal(tc, test_bad_pattern_aborts, SIGABRT, 0,
	    (int)(sizeof(bad_patterns) / sizeof(bad_patterns[0])));
	tcase_add_test_raise_signal(tc, test_missing_handler_aborts, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, test_api_routes_well_formed);
	tcase_add_test(tc, test_api_routes_match);
	suite_add_tcase(s, tc);

	return s;
}
