/*
 * test_validate.c - region codes and levels, bounded integers and
 * user-supplied text.
 */
#include <limits.h>
#include <string.h>

#include "suites.h"
#include "validate.h"

START_TEST(test_region_code_valid)
{
	ck_assert(region_code_valid("450202"));
	ck_assert(region_code_valid("450202001"));
	ck_assert(region_code_valid("450202001001"));
	ck_assert(region_code_valid("000000"));
}
END_TEST

START_TEST(test_region_code_invalid)
{
	static const char *const bad[] = {
		"", "45020", "4502021", "45020a", "4502020010011", "45020200", "4502020010",
		"45020200100", " 450202", "450202 ", "-450202", "+450202", "45 202",
		"４５０２０２", /* fullwidth digits */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!region_code_valid(bad[i]), "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(test_region_level_valid)
{
	ck_assert(region_level_valid("province"));
	ck_assert(region_level_valid("city"));
	ck_assert(region_level_valid("county"));
	ck_assert(region_level_valid("township"));

	ck_assert(!region_level_valid(""));
	ck_assert(!region_level_valid("City"));
	ck_assert(!region_level_valid("PROVINCE"));
	ck_assert(!region_level_valid("cit"));
	ck_assert(!region_level_valid("city "));
	ck_assert(!region_level_valid("village"));
	ck_assert(!region_level_valid("townships"));
}
END_TEST

START_TEST(test_parse_int_ok)
{
	static const struct {
		const char *s;
		long lo, hi, want;
	} cases[] = {
		{ "1", 1, 1000, 1 },
		{ "1000", 1, 1000, 1000 },
		{ "42", 1, 1000, 42 },
		{ "0", 0, 0, 0 },
		{ "007", 1, 10, 7 },
		{ "-5", -10, 10, -5 },
		{ "-10", -10, 10, -10 },
		{ "-0", 0, 1, 0 },
#if LONG_MAX == 9223372036854775807L
		{ "9223372036854775807", 0, LONG_MAX, LONG_MAX },
		{ "-9223372036854775808", LONG_MIN, 0, LONG_MIN },
#endif
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long v = -12345;
		ck_assert_msg(parse_int_range(cases[i].s, cases[i].lo, cases[i].hi, &v),
		    "\"%s\" in [%ld, %ld] refused", cases[i].s, cases[i].lo, cases[i].hi);
		ck_assert_msg(v == cases[i].want, "\"%s\" gave %ld", cases[i].s, v);
	}
}
END_TEST

START_TEST(test_parse_int_bad)
{
	static const struct {
		const char *s;
		long lo, hi;
	} cases[] = {
		{ "0", 1, 1000 },    /* below */
		{ "1001", 1, 1000 }, /* above */
		{ "-1", 1, 1000 },   /* negative, positive range */
		{ "-11", -10, 10 },  /* below a negative bound */
		{ "", 1, 1000 }, { "-", -10, 10 }, { "1x", 1, 1000 }, { " 1", 1, 1000 },
		{ "1 ", 1, 1000 }, { "+1", 1, 1000 }, { "--1", -10, 10 }, { "1.0", 1, 1000 },
		{ "0x10", 0, 1000 }, { "1e3", 1, 10000 },
		{ "99999999999999999999", 0, LONG_MAX },  /* overflow */
		{ "-99999999999999999999", LONG_MIN, 0 }, /* overflow */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long v = -12345;
		ck_assert_msg(!parse_int_range(cases[i].s, cases[i].lo, cases[i].hi, &v),
		    "\"%s\" in [%ld, %ld] accepted as %ld", cases[i].s, cases[i].lo, cases[i].hi,
		    v);
		ck_assert_msg(v == -12345, "\"%s\": out written on failure", cases[i].s);
	}
	long v = -12345;
	ck_assert(!parse_int_range(NULL, 0, 10, &v));
	ck_assert_int_eq(v, -12345);
}
END_TEST

START_TEST(test_word_in_and_query_bool)
{
	static const char *const words[] = { "open", "accepted", NULL };
	ck_assert(word_in("open", words));
	ck_assert(!word_in("opened", words));
	ck_assert(!word_in("", words));
	ck_assert(!word_in(NULL, words));
	ck_assert(query_bool_valid(NULL));
	ck_assert(query_bool_valid("true") && query_bool_valid("false"));
	ck_assert(!query_bool_valid("True") && !query_bool_valid("1") && !query_bool_valid(""));
}
END_TEST

START_TEST(test_note_valid)
{
	ck_assert(note_valid("双方同意\n下次再谈", 20));
	ck_assert(note_valid(" leading and trailing spaces \t", 40));
	ck_assert(note_valid("a\r\nb", 4));
	ck_assert(!note_valid("ab", 1));
	ck_assert(!note_valid("", 10));
	ck_assert(!note_valid(" \n\t ", 10));
	ck_assert(!note_valid("bell\a", 10));
	ck_assert(!note_valid("del\x7f", 10));
	ck_assert(!note_valid("\xe6\x9f", 10)); /* a character cut short */
}
END_TEST

START_TEST(test_text_valid)
{
	ck_assert(text_valid("柳州市", 3));
	ck_assert(!text_valid("柳州市", 2));
	ck_assert(text_valid("a", 1));
	ck_assert(!text_valid("ab", 1));
	ck_assert(text_valid("Liuzhou City", 12));
	ck_assert(!text_valid("Liuzhou City", 11));
	ck_assert(text_valid("柳州 市", 4));          /* inner space */
	ck_assert(text_valid("\xf0\x9f\x98\x80", 1)); /* U+1F600, one char */
	ck_assert(text_valid("ok \xf0\x9f\x98\x80!", 5));
	ck_assert(!text_valid("ok \xf0\x9f\x98\x80!", 4));
	ck_assert(text_valid("\xc2\xa0x", 2));        /* U+00A0, just above C1 */
	ck_assert(text_valid("\xf4\x8f\xbf\xbf", 1)); /* U+10FFFF */
	ck_assert(text_valid("~", 1));
}
END_TEST

START_TEST(test_text_invalid)
{
	static const char *const bad[] = {
		"", " ", " leading", "trailing ", "\t", "tab\there", "line\nbreak", "\r", "del\x7f",
		"\x7f", "c1 \xc2\x85", /* U+0085 */
		"\xc2\x80",            /* U+0080 */
		"\xc2\x9f",            /* U+009F */
		"\xc0\xaf",            /* overlong '/' */
		"\xe0\x80\xaf",        /* overlong '/' in 3 bytes */
		"\xf0\x80\x80\xaf",    /* overlong '/' in 4 bytes */
		"\xed\xa0\x80",        /* surrogate U+D800 */
		"\xed\xbf\xbf",        /* surrogate U+DFFF */
		"\xe6\x9f",            /* truncated */
		"x\xe6\x9f",           /* truncated at the end */
		"\xe6\x9f"
		"x",                                    /* bad continuation */
		"\x80",                                 /* lone continuation byte */
		"\xff", "\xfe", "\xf8\x88\x80\x80\x80", /* 5-byte form */
		"\xf4\x90\x80\x80",                     /* above U+10FFFF */
		"a\x1b[0m",                             /* ESC */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!text_valid(bad[i], 100), "bad text %zu accepted", i);
}
END_TEST

START_TEST(test_text_length_limit)
{
	char s[101];
	memset(s, 'x', 100);
	s[100] = '\0';
	ck_assert(text_valid(s, 100));
	ck_assert(!text_valid(s, 99));
	ck_assert(!text_valid("x", 0));
}
END_TEST

Suite *
validate_suite(void)
{
	Suite *s = suite_create("validate");

	TCase *tc = tcase_create("region");
	tcase_add_test(tc, test_region_code_valid);
	tcase_add_test(tc, test_note_valid);
	tcase_add_test(tc, test_word_in_and_query_bool);
	tcase_add_test(tc, test_region_code_invalid);
	tcase_add_test(tc, test_region_level_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("int");
	tcase_add_test(tc, test_parse_int_ok);
	tcase_add_test(tc, test_parse_int_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, test_text_valid);
	tcase_add_test(tc, test_text_invalid);
	tcase_add_test(tc, test_text_length_limit);
	suite_add_tcase(s, tc);

	return s;
}
