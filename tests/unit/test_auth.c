/*
 * test_auth.c - tokens and password rules (auth.c), without a database.
 */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "suites.h"

START_TEST(test_new_token_shape)
{
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX], again[AUTH_HASH_HEX];
	ck_assert_int_ge(sodium_init(), 0);
	auth_new_token(AUTH_TOKEN_PREFIX_SESSION, token, hash);
	ck_assert_uint_eq(strlen(token), AUTH_TOKEN_LEN);
	ck_assert(strncmp(token, "tjs_", 4) == 0);
	ck_assert_uint_eq(strlen(hash), 64);
	/* The hash of the presented token is the stored one. */
	ck_assert(auth_token_hash(token, again));
	ck_assert_str_eq(hash, again);
}
END_TEST

START_TEST(test_tokens_differ)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], ha[AUTH_HASH_HEX], hb[AUTH_HASH_HEX];
	ck_assert_int_ge(sodium_init(), 0);
	auth_new_token(AUTH_TOKEN_PREFIX_API, a, ha);
	auth_new_token(AUTH_TOKEN_PREFIX_API, b, hb);
	ck_assert(strncmp(a, "tja_", 4) == 0);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(ha, hb);
	/* The hash is not the token. */
	ck_assert(strstr(ha, a + 4) == NULL);
}
END_TEST

START_TEST(test_malformed_tokens_refused)
{
	char hash[AUTH_HASH_HEX];
	ck_assert(!auth_token_hash("", hash));
	ck_assert(!auth_token_hash("tjs_short", hash));
	ck_assert(!auth_token_hash("tjs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=", hash));
	ck_assert(!auth_token_hash("tjs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa a", hash));
	ck_assert(!auth_token_hash("tjs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", hash));
	ck_assert(auth_token_hash("tjs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", hash));
}
END_TEST

START_TEST(test_password_length_in_characters)
{
	ck_assert(!auth_password_valid(""));
	ck_assert(!auth_password_valid("elevenchars"));
	ck_assert(auth_password_valid("twelve chars"));
	/* 12 Chinese characters are 36 bytes but 12 characters. */
	ck_assert(auth_password_valid("调解调解调解调解调解调解"));
	ck_assert(!auth_password_valid("调解调解调解调解调解调"));
	char long_pw[200];
	memset(long_pw, 'x', 128);
	long_pw[128] = '\0';
	ck_assert(auth_password_valid(long_pw));
	long_pw[128] = 'x';
	long_pw[129] = '\0';
	ck_assert(!auth_password_valid(long_pw));
}
END_TEST

START_TEST(test_hash_password_without_slots)
{
	char hash[crypto_pwhash_STRBYTES];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert(auth_hash_password(NULL, "a long enough password", hash));
	ck_assert(strncmp(hash, "$argon2id$", 10) == 0);
	ck_assert(strstr(hash, "a long enough password") == NULL);
	ck_assert_int_eq(crypto_pwhash_str_verify(hash, "a long enough password", 22), 0);
	ck_assert_int_ne(crypto_pwhash_str_verify(hash, "a long enough passworD", 22), 0);
}
END_TEST

Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("tokens and passwords");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_new_token_shape);
	tcase_add_test(tc, test_tokens_differ);
	tcase_add_test(tc, test_malformed_tokens_refused);
	tcase_add_test(tc, test_password_length_in_characters);
	tcase_add_test(tc, test_hash_password_without_slots);
	suite_add_tcase(s, tc);
	return s;
}
