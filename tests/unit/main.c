/*
 * main.c - runs every unit test suite; exits non-zero if any check fails.
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(arena_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, crypt_suite());
	srunner_add_suite(sr, csv_suite());
	srunner_add_suite(sr, reply_suite());
	srunner_add_suite(sr, roster_suite());
	srunner_add_suite(sr, router_suite());
	srunner_add_suite(sr, validate_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
