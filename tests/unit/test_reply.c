/*
 * test_reply.c - RFC 9457 problem objects and status reason phrases. The
 * functions that send need a live connection and are left to the API tests.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "suites.h"

static const char *
str_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(v != NULL, "member \"%s\" is missing", key);
	ck_assert_msg(json_is_string(v), "member \"%s\" is not a string", key);
	return json_string_value(v);
}

START_TEST(test_problem_full)
{
	json_t *p = problem_new(
	    404, PROBLEM_NOT_FOUND, "There is no region 1.", "/api/v1/regions/1", "abc");
	ck_assert_ptr_nonnull(p);
	ck_assert(json_is_object(p));
	ck_assert_uint_eq(json_object_size(p), 6);
	ck_assert_str_eq(str_member(p, "type"), "urn:tiaojie:problem:not-found");
	ck_assert_str_eq(str_member(p, "title"), "Not Found");
	json_t *status = json_object_get(p, "status");
	ck_assert_ptr_nonnull(status);
	ck_assert(json_is_integer(status));
	ck_assert_int_eq(json_integer_value(status), 404);
	ck_assert_str_eq(str_member(p, "detail"), "There is no region 1.");
	ck_assert_str_eq(str_member(p, "instance"), "/api/v1/regions/1");
	ck_assert_str_eq(str_member(p, "request_id"), "abc");
	json_decref(p);
}
END_TEST

START_TEST(test_problem_minimal)
{
	json_t *p = problem_new(500, PROBLEM_INTERNAL, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(json_object_size(p), 3);
	ck_assert_str_eq(str_member(p, "type"), "urn:tiaojie:problem:internal");
	ck_assert_str_eq(str_member(p, "title"), "Internal Server Error");
	ck_assert(json_is_integer(json_object_get(p, "status")));
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 500);
	ck_assert_ptr_null(json_object_get(p, "detail"));
	ck_assert_ptr_null(json_object_get(p, "instance"));
	ck_assert_ptr_null(json_object_get(p, "request_id"));
	json_decref(p);
}
END_TEST

START_TEST(test_problem_some_members)
{
	json_t *p = problem_new(422, PROBLEM_VALIDATION, NULL, "/api/v1/regions", NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(json_object_size(p), 4);
	ck_assert_str_eq(str_member(p, "type"), "urn:tiaojie:problem:validation");
	ck_assert_str_eq(str_member(p, "title"), "Unprocessable Content");
	ck_assert_str_eq(str_member(p, "instance"), "/api/v1/regions");
	ck_assert_ptr_null(json_object_get(p, "detail"));
	ck_assert_ptr_null(json_object_get(p, "request_id"));
	json_decref(p);
}
END_TEST

START_TEST(test_problem_instance_invalid_utf8)
{
	json_t *p =
	    problem_new(404, PROBLEM_NOT_FOUND, "No such path.", "/api/v1/regions/\xff", "req-1");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(json_object_size(p), 5);
	ck_assert_ptr_null(json_object_get(p, "instance"));
	ck_assert_str_eq(str_member(p, "type"), "urn:tiaojie:problem:not-found");
	ck_assert_str_eq(str_member(p, "detail"), "No such path.");
	ck_assert_str_eq(str_member(p, "request_id"), "req-1");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 404);

	/* Still encodable as a response body. */
	char *text = json_dumps(p, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "instance"));
	free(text);
	json_decref(p);
}
END_TEST

START_TEST(test_problem_utf8_kept)
{
	json_t *p =
	    problem_new(409, PROBLEM_CONFLICT, "区域 柳州市 已存在。", "/api/v1/regions", "x");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(str_member(p, "title"), "Conflict");
	ck_assert_str_eq(str_member(p, "detail"), "区域 柳州市 已存在。");
	json_decref(p);
}
END_TEST

START_TEST(test_problem_unknown_status)
{
	json_t *p = problem_new(418, "teapot", NULL, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(str_member(p, "type"), "urn:tiaojie:problem:teapot");
	ck_assert_str_eq(str_member(p, "title"), "Unknown");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 418);
	json_decref(p);
}
END_TEST

START_TEST(test_status_titles)
{
	static const struct {
		unsigned status;
		const char *title;
	} cases[] = {
		{ 200, "OK" },
		{ 201, "Created" },
		{ 204, "No Content" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 409, "Conflict" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 503, "Service Unavailable" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = reply_status_title(cases[i].status);
		ck_assert_ptr_nonnull(t);
		ck_assert_msg(strcmp(t, cases[i].title) == 0, "status %u: \"%s\", expected \"%s\"",
		    cases[i].status, t, cases[i].title);
	}
}
END_TEST

START_TEST(test_status_title_unknown)
{
	ck_assert_str_eq(reply_status_title(0), "Unknown");
	ck_assert_str_eq(reply_status_title(299), "Unknown");
	ck_assert_str_eq(reply_status_title(418), "Unknown");
	ck_assert_str_eq(reply_status_title(999), "Unknown");
}
END_TEST

Suite *
reply_suite(void)
{
	Suite *s = suite_create("reply");

	TCase *tc = tcase_create("problem");
	tcase_add_test(tc, test_problem_full);
	tcase_add_test(tc, test_problem_minimal);
	tcase_add_test(tc, test_problem_some_members);
	tcase_add_test(tc, test_problem_instance_invalid_utf8);
	tcase_add_test(tc, test_problem_utf8_kept);
	tcase_add_test(tc, test_problem_unknown_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_test(tc, test_status_titles);
	tcase_add_test(tc, test_status_title_unknown);
	suite_add_tcase(s, tc);

	return s;
}
