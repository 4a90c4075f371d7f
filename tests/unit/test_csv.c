/*
 * test_csv.c - the CSV reader (csv.c): quoting, line numbers, limits.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "csv.h"
#include "suites.h"

static bool
parse(struct arena *a, const char *text, struct csv *out, char *err)
{
	return csv_parse(a, text, strlen(text), 100, 10, out, err, 128);
}

START_TEST(test_plain_and_quoted_fields)
{
	struct arena *a = arena_new();
	struct csv c;
	char err[128];
	ck_assert(
	    parse(a, "\xEF\xBB\xBFname,note\r\n城中区,\"a, \"\"b\"\"\nc\"\r\nx,\r\n", &c, err));
	ck_assert_uint_eq(c.nrows, 3);
	ck_assert_str_eq(c.rows[0].fields[0], "name");
	ck_assert_str_eq(c.rows[1].fields[0], "城中区");
	ck_assert_str_eq(c.rows[1].fields[1], "a, \"b\"\nc");
	ck_assert_uint_eq(c.rows[1].line, 2);
	/* The quoted line break moves the next record to line 4. */
	ck_assert_uint_eq(c.rows[2].line, 4);
	ck_assert_uint_eq(c.rows[2].nfields, 2);
	ck_assert_str_eq(c.rows[2].fields[1], "");
	arena_free(a);
}
END_TEST

START_TEST(test_blank_lines_and_no_final_newline)
{
	struct arena *a = arena_new();
	struct csv c;
	char err[128];
	ck_assert(parse(a, "a,b\n\n\nc,d", &c, err));
	ck_assert_uint_eq(c.nrows, 2);
	ck_assert_uint_eq(c.rows[1].line, 4);
	ck_assert_str_eq(c.rows[1].fields[1], "d");
	ck_assert(parse(a, "", &c, err));
	ck_assert_uint_eq(c.nrows, 0);
	arena_free(a);
}
END_TEST

START_TEST(test_malformed_files)
{
	struct arena *a = arena_new();
	struct csv c;
	char err[128];
	ck_assert(!parse(a, "a,b\n\"open,x\n", &c, err));
	ck_assert(strstr(err, "line 2") != NULL);
	ck_assert(!parse(a, "a,\"b\"c\n", &c, err));
	ck_assert(!parse(a, "a,b\"c\n", &c, err));
	ck_assert(!parse(a, "1,2,3,4,5,6,7,8,9,10,11\n", &c, err));
	ck_assert(strstr(err, "fields") != NULL);
	ck_assert(!csv_parse(a, "a\0b\n", 4, 100, 10, &c, err, sizeof(err)));
	arena_free(a);
}
END_TEST

START_TEST(test_record_limit)
{
	struct arena *a = arena_new();
	struct csv c;
	char err[128];
	ck_assert(csv_parse(a, "1\n2\n3\n", 6, 3, 10, &c, err, sizeof(err)));
	ck_assert(!csv_parse(a, "1\n2\n3\n4\n", 8, 3, 10, &c, err, sizeof(err)));
	ck_assert(strstr(err, "more than 3") != NULL);
	arena_free(a);
}
END_TEST

START_TEST(test_write_fields)
{
	struct sbuf b = { 0 };
	csv_write_field(&b, "城中区", false);
	csv_write_field(&b, "a,b", false);
	csv_write_field(&b, "say \"hi\"", false);
	csv_write_field(&b, "", true);
	char *out = sbuf_steal(&b);
	ck_assert_str_eq(out, "城中区,\"a,b\",\"say \"\"hi\"\"\",\r\n");
	free(out);
	ck_assert(csv_wanted("text/csv"));
	ck_assert(csv_wanted("application/json, TEXT/CSV;q=0.9"));
	ck_assert(!csv_wanted("application/json"));
	ck_assert(!csv_wanted(NULL));
}
END_TEST

Suite *
csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("reading");
	tcase_add_test(tc, test_plain_and_quoted_fields);
	tcase_add_test(tc, test_write_fields);
	tcase_add_test(tc, test_blank_lines_and_no_final_newline);
	tcase_add_test(tc, test_malformed_files);
	tcase_add_test(tc, test_record_limit);
	suite_add_tcase(s, tc);
	return s;
}
