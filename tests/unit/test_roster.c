/*
 * test_roster.c - rosters (roster.c): the rows checked, what passes
 * gathered as array literals, and the memory a whole roster takes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "roster.h"
#include "suites.h"

#define MEDIATOR_HEADER                                                                            \
	"name,gender,full_time,specialties,expert,phone,trained_on,certified_on,committees\n"
#define COMMITTEE_HEADER                                                                           \
	"name,kind,region_code,host_org,address,phone,purchased_service,established_on,closed_"    \
	"on\n"

static void
read_roster(
    struct arena *a, const char *text, size_t len, const char *const *columns, struct csv *csv)
{
	char err[256];
	enum roster_read got = roster_read(a, text, len, columns, csv, err, sizeof(err));
	ck_assert_msg(got == ROSTER_OK, "roster refused (%d): %s", (int)got, err);
}

START_TEST(test_mediators_gathered)
{
	static const char text[] = MEDIATOR_HEADER "李梅,female,yes,law;psychology,no,,,,7;8\n"
						   "王芳,,no,,yes,,,,oops\n"
						   "赵兰,female,no,other,,,2020-01-02,,9\n";
	struct arena *a = arena_new();
	struct csv csv;
	read_roster(a, text, strlen(text), roster_mediator_columns, &csv);
	json_t *errors = json_array();
	struct mediator_row *rows = arena_zalloc(a, csv.nrows * sizeof(*rows));
	ck_assert_str_eq(roster_mediators_check(a, &csv, errors, rows), "{7,8,9}");
	ck_assert_str_eq(rows[1].committees, "{7,8}");
	ck_assert_str_eq(rows[1].specialties, "{law,psychology}");
	ck_assert_ptr_null(rows[2].committees);
	ck_assert_str_eq(rows[3].committees, "{9}");
	ck_assert_uint_eq(json_array_size(errors), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(errors, 0), "line")), 3);
	json_decref(errors);
	arena_free(a);
}
END_TEST

START_TEST(test_committees_gathered)
{
	static const char text[] =
	    COMMITTEE_HEADER "城中区调委会,committee,450102,,,,,2020-06-18,\n"
			     "bad,committee,450102,,,,,2020-02-30,\n"
			     "鱼峰区工作室,room,450203,,,,yes,2021-01-01,\n";
	struct arena *a = arena_new();
	struct csv csv;
	read_roster(a, text, strlen(text), roster_committee_columns, &csv);
	json_t *errors = json_array();
	ck_assert_str_eq(roster_committees_check(a, &csv, errors), "{450102,450203}");
	ck_assert_uint_eq(json_array_size(errors), 1);
	json_decref(errors);

	/* No row right: an empty literal. */
	static const char none[] = COMMITTEE_HEADER "bad,committee,450102,,,,,never,\n";
	read_roster(a, none, strlen(none), roster_committee_columns, &csv);
	errors = json_array();
	ck_assert_str_eq(roster_committees_check(a, &csv, errors), "{}");
	json_decref(errors);
	arena_free(a);
}
END_TEST

/*
 * A roster of 1 MiB, every row naming 20 committees: checking it takes a
 * few times its size, not the square of it (gathering the ids row by row
 * with arena_printf took 2 GB).
 */
START_TEST(test_large_roster_memory)
{
	enum { BODY = 1024 * 1024 };
	char *text = malloc(BODY);
	ck_assert_ptr_nonnull(text);
	size_t len = (size_t)sprintf(text, "%s", MEDIATOR_HEADER);
	size_t nrows = 0;
	while (len + 400 < BODY && nrows < ROSTER_MAX_ROWS) {
		len += (size_t)sprintf(text + len, "name %zu,female,yes,law,no,,,,", nrows);
		for (int k = 0; k < 20; k++)
			len +=
			    (size_t)sprintf(text + len, "%s%lld", k ? ";" : "", 100000000000LL + k);
		text[len++] = '\n';
		nrows++;
	}
	struct arena *a = arena_new();
	struct csv csv;
	read_roster(a, text, len, roster_mediator_columns, &csv);
	size_t before = arena_used(a);
	json_t *errors = json_array();
	struct mediator_row *rows = arena_zalloc(a, csv.nrows * sizeof(*rows));
	const char *ids = roster_mediators_check(a, &csv, errors, rows);
	size_t used = arena_used(a) - before;
	ck_assert_uint_eq(json_array_size(errors), 0);
	ck_assert_uint_gt(strlen(ids), nrows * 20 * 12);
	ck_assert_msg(used < 8 * (size_t)BODY, "checking %zu rows (%zu bytes) took %zu bytes",
	    nrows, len, used);
	json_decref(errors);
	arena_free(a);
	free(text);
}
END_TEST

Suite *
roster_suite(void)
{
	Suite *s = suite_create("roster");
	TCase *tc = tcase_create("checking");
	tcase_add_test(tc, test_mediators_gathered);
	tcase_add_test(tc, test_committees_gathered);
	tcase_add_test(tc, test_large_roster_memory);
	suite_add_tcase(s, tc);
	return s;
}
