/*
 * suites.h - the unit test suites run by main.c, one per server module.
 */
#ifndef TIAOJIE_TEST_SUITES_H
#define TIAOJIE_TEST_SUITES_H

#include <check.h>

Suite *arena_suite(void);
Suite *auth_suite(void);
Suite *config_suite(void);
Suite *crypt_suite(void);
Suite *csv_suite(void);
Suite *reply_suite(void);
Suite *roster_suite(void);
Suite *router_suite(void);
Suite *validate_suite(void);

#endif
