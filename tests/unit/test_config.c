/*
 * test_config.c - settings from the environment, read through a fake
 * getter that looks names up in a table set by each test.
 */
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "fake_env.h"
#include "suites.h"

#define DB_URL "postgresql://tiaojie@localhost/tiaojie"

/*
 * Loads with DATABASE_URL set and one more variable (name may be NULL),
 * which comes first so that it can also override DATABASE_URL.
 */
static bool
load_with(const char *name, const char *value, struct config *c, char *err, size_t errlen)
{
	const struct kv env[] = {
		{ name != NULL ? name : "TIAOJIE_NOT_A_SETTING", value },
		{ "DATABASE_URL", DB_URL },
		{ NULL, NULL },
	};
	fake_env = env;
	err[0] = '\0';
	bool ok = config_load(c, fake_get, err, errlen);
	fake_env = NULL;
	return ok;
}

START_TEST(test_defaults)
{
	struct config c;
	char err[256];
	memset(&c, 0xff, sizeof(c));
	ck_assert_msg(load_with(NULL, NULL, &c, err, sizeof(err)), "defaults refused: %s", err);
	ck_assert_str_eq(c.listen_host, "127.0.0.1");
	ck_assert_uint_eq(c.listen_port, 8080);
	ck_assert_str_eq(c.database_url, DB_URL);
	ck_assert_uint_eq(c.workers, 4);
	ck_assert_uint_eq(c.body_limit, 1048576);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.conn_timeout, 30);
	ck_assert_uint_eq(c.max_connections, 1000);
	ck_assert_uint_eq(c.max_per_ip, 200);
	ck_assert_uint_eq(c.conn_memory, 65536);
	ck_assert_uint_eq(c.shutdown_grace, 10);
	ck_assert_uint_eq(c.session_idle, 1800);
	ck_assert_uint_eq(c.session_max, 43200);
	ck_assert_uint_eq(c.login_max_failures, 10);
	ck_assert_uint_eq(c.login_window, 900);
	ck_assert_uint_eq(c.hash_slots, 2);
	ck_assert_uint_eq(c.retention_years, 10);
	ck_assert_uint_eq(c.referral_hours, 24);
	ck_assert_uint_eq(c.referral_urgent_hours, 2);
	ck_assert_uint_eq(c.suppress_below, 5);
	ck_assert_str_eq(c.tls_cert, "");
	ck_assert_str_eq(c.tls_key, "");
}
END_TEST

/* HTTPS takes a certificate and its key: one without the other is a mistake. */
START_TEST(test_tls_files_go_together)
{
	struct config c;
	char err[256];
	ck_assert(!load_with("TIAOJIE_TLS_CERT", "/etc/tiaojie/cert.pem", &c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "go together"));
	ck_assert(!load_with("TIAOJIE_TLS_KEY", "/etc/tiaojie/key.pem", &c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "go together"));

	const struct kv env[] = {
		{ "TIAOJIE_TLS_CERT", "/etc/tiaojie/cert.pem" },
		{ "TIAOJIE_TLS_KEY", "/etc/tiaojie/key.pem" },
		{ "DATABASE_URL", DB_URL },
		{ NULL, NULL },
	};
	fake_env = env;
	bool ok = config_load(&c, fake_get, err, sizeof(err));
	fake_env = NULL;
	ck_assert_msg(ok, "refused: %s", err);
	ck_assert_str_eq(c.tls_cert, "/etc/tiaojie/cert.pem");
	ck_assert_str_eq(c.tls_key, "/etc/tiaojie/key.pem");
}
END_TEST

START_TEST(test_database_url_missing)
{
	static const struct kv env[] = {
		{ "TIAOJIE_WORKERS", "4" },
		{ NULL, NULL },
	};
	struct config c;
	char err[256] = "";
	fake_env = env;
	ck_assert(!config_load(&c, fake_get, err, sizeof(err)));
	ck_assert_msg(strstr(err, "DATABASE_URL") != NULL, "err: \"%s\"", err);
	fake_env = NULL;
}
END_TEST

START_TEST(test_database_url_empty)
{
	static const struct kv env[] = {
		{ "DATABASE_URL", "" },
		{ NULL, NULL },
	};
	struct config c;
	char err[256] = "";
	fake_env = env;
	ck_assert(!config_load(&c, fake_get, err, sizeof(err)));
	ck_assert_msg(strstr(err, "DATABASE_URL") != NULL, "err: \"%s\"", err);
	fake_env = NULL;
}
END_TEST

START_TEST(test_database_url_too_long)
{
	/* database_url holds 1023 characters and the NUL. */
	char url[1025];
	memset(url, 'x', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	struct config c;
	char err[256];
	ck_assert(!load_with("DATABASE_URL", url, &c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "DATABASE_URL") != NULL, "err: \"%s\"", err);

	url[1023] = '\0';
	ck_assert_msg(load_with("DATABASE_URL", url, &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(strlen(c.database_url), 1023);
	ck_assert_str_eq(c.database_url, url);
}
END_TEST

START_TEST(test_listen_ipv6)
{
	struct config c;
	char err[256];
	ck_assert_msg(
	    load_with("TIAOJIE_LISTEN", "[::1]:9000", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_str_eq(c.listen_host, "::1");
	ck_assert_uint_eq(c.listen_port, 9000);
}
END_TEST

START_TEST(test_listen_ipv4_any)
{
	struct config c;
	char err[256];
	ck_assert_msg(
	    load_with("TIAOJIE_LISTEN", "0.0.0.0:80", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_str_eq(c.listen_host, "0.0.0.0");
	ck_assert_uint_eq(c.listen_port, 80);

	ck_assert_msg(load_with("TIAOJIE_LISTEN", "10.1.2.3:65535", &c, err, sizeof(err)),
	    "refused: %s", err);
	ck_assert_str_eq(c.listen_host, "10.1.2.3");
	ck_assert_uint_eq(c.listen_port, 65535);
}
END_TEST

static const char *const bad_listen[] = {
	"localhost:8080",
	"127.0.0.1",
	"127.0.0.1:0",
	"127.0.0.1:65536",
	"127.0.0.1:80x",
	"::1:8080",
	"127.0.0.1:",
	":8080",
	"[::1]",
	"[::1]9000",
	"[]:80",
	"[127.0.0.1]:80",
	"127.0.0.1:-80",
	"256.0.0.1:80",
};

START_TEST(test_listen_bad)
{
	struct config c;
	char err[256];
	const char *v = bad_listen[_i];
	ck_assert_msg(!load_with("TIAOJIE_LISTEN", v, &c, err, sizeof(err)),
	    "TIAOJIE_LISTEN=\"%s\" was accepted", v);
	ck_assert_msg(
	    strstr(err, "TIAOJIE_LISTEN") != NULL, "TIAOJIE_LISTEN=\"%s\": err \"%s\"", v, err);
}
END_TEST

static const char *const bad_workers[] = { "0", "257", "-1", "4x", " 4", "4 ", "+4",
	"99999999999999999999999" };

START_TEST(test_workers_bad)
{
	struct config c;
	char err[256];
	const char *v = bad_workers[_i];
	ck_assert_msg(!load_with("TIAOJIE_WORKERS", v, &c, err, sizeof(err)),
	    "TIAOJIE_WORKERS=\"%s\" was accepted", v);
	ck_assert_msg(
	    strstr(err, "TIAOJIE_WORKERS") != NULL, "TIAOJIE_WORKERS=\"%s\": err \"%s\"", v, err);
}
END_TEST

START_TEST(test_workers_ok)
{
	struct config c;
	char err[256];
	ck_assert_msg(
	    load_with("TIAOJIE_WORKERS", "256", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.workers, 256);
	ck_assert_msg(load_with("TIAOJIE_WORKERS", "1", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.workers, 1);
}
END_TEST

START_TEST(test_body_limit)
{
	struct config c;
	char err[256];
	ck_assert_msg(
	    load_with("TIAOJIE_BODY_LIMIT", "64k", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.body_limit, 65536);

	ck_assert_msg(
	    load_with("TIAOJIE_BODY_LIMIT", "2M", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.body_limit, 2097152);

	ck_assert_msg(
	    load_with("TIAOJIE_BODY_LIMIT", "1024", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.body_limit, 1024);

	ck_assert_msg(
	    load_with("TIAOJIE_BODY_LIMIT", "64M", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.body_limit, 64u * 1024 * 1024);

	/* Empty means unset: the default. */
	ck_assert_msg(
	    load_with("TIAOJIE_BODY_LIMIT", "", &c, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.body_limit, 1048576);
}
END_TEST

static const char *const bad_body_limit[] = { "1023", "65M", "1G", "0", "1.5M", "k", "-1k",
	"64K " };

START_TEST(test_body_limit_bad)
{
	struct config c;
	char err[256];
	const char *v = bad_body_limit[_i];
	ck_assert_msg(!load_with("TIAOJIE_BODY_LIMIT", v, &c, err, sizeof(err)),
	    "TIAOJIE_BODY_LIMIT=\"%s\" was accepted", v);
	ck_assert_msg(strstr(err, "TIAOJIE_BODY_LIMIT") != NULL,
	    "TIAOJIE_BODY_LIMIT=\"%s\": err \"%s\"", v, err);
}
END_TEST

START_TEST(test_log_level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{ "debug", LOG_DEBUG },
		{ "info", LOG_INFO },
		{ "warn", LOG_WARN },
		{ "error", LOG_ERROR },
	};
	struct config c;
	char err[256];
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		ck_assert_msg(load_with("TIAOJIE_LOG_LEVEL", levels[i].name, &c, err, sizeof(err)),
		    "refused %s: %s", levels[i].name, err);
		ck_assert_int_eq(c.log_level, levels[i].level);
	}
}
END_TEST

START_TEST(test_log_level_bad)
{
	static const char *const bad[] = { "verbose", "DEBUG", "info ", "warning" };
	struct config c;
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!load_with("TIAOJIE_LOG_LEVEL", bad[i], &c, err, sizeof(err)),
		    "TIAOJIE_LOG_LEVEL=\"%s\" was accepted", bad[i]);
		ck_assert_msg(strstr(err, "TIAOJIE_LOG_LEVEL") != NULL,
		    "TIAOJIE_LOG_LEVEL=\"%s\": err \"%s\"", bad[i], err);
	}
}
END_TEST

START_TEST(test_max_connections_vs_workers)
{
	static const struct kv below[] = {
		{ "DATABASE_URL", DB_URL },
		{ "TIAOJIE_WORKERS", "8" },
		{ "TIAOJIE_MAX_CONNECTIONS", "7" },
		{ NULL, NULL },
	};
	static const struct kv equal[] = {
		{ "DATABASE_URL", DB_URL },
		{ "TIAOJIE_WORKERS", "8" },
		{ "TIAOJIE_MAX_CONNECTIONS", "8" },
		{ NULL, NULL },
	};
	struct config c;
	char err[256] = "";

	fake_env = below;
	ck_assert(!config_load(&c, fake_get, err, sizeof(err)));
	ck_assert_msg(strstr(err, "TIAOJIE_MAX_CONNECTIONS") != NULL, "err: \"%s\"", err);

	fake_env = equal;
	ck_assert_msg(config_load(&c, fake_get, err, sizeof(err)), "refused: %s", err);
	ck_assert_uint_eq(c.workers, 8);
	ck_assert_uint_eq(c.max_connections, 8);
	fake_env = NULL;
}
END_TEST

START_TEST(test_other_ranges)
{
	static const struct {
		const char *name;
		const char *value;
		bool ok;
	} cases[] = {
		{ "TIAOJIE_CONN_TIMEOUT", "0", false },
		{ "TIAOJIE_CONN_TIMEOUT", "3600", true },
		{ "TIAOJIE_CONN_TIMEOUT", "3601", false },
		{ "TIAOJIE_MAX_CONNECTIONS_PER_IP", "0", false },
		{ "TIAOJIE_MAX_CONNECTIONS_PER_IP", "65000", true },
		{ "TIAOJIE_MAX_CONNECTIONS_PER_IP", "65001", false },
		{ "TIAOJIE_CONN_MEMORY", "16k", true },
		{ "TIAOJIE_CONN_MEMORY", "16383", false },
		{ "TIAOJIE_CONN_MEMORY", "1M", true },
		{ "TIAOJIE_CONN_MEMORY", "1025k", false },
		{ "TIAOJIE_SHUTDOWN_GRACE", "0", true },
		{ "TIAOJIE_SHUTDOWN_GRACE", "300", true },
		{ "TIAOJIE_SHUTDOWN_GRACE", "301", false },
		{ "TIAOJIE_RETENTION_YEARS", "0", false },
		{ "TIAOJIE_RETENTION_YEARS", "1", true },
		{ "TIAOJIE_RETENTION_YEARS", "100", true },
		{ "TIAOJIE_RETENTION_YEARS", "101", false },
		{ "TIAOJIE_REFERRAL_HOURS", "0", false },
		{ "TIAOJIE_REFERRAL_HOURS", "720", true },
		{ "TIAOJIE_REFERRAL_URGENT_HOURS", "721", false },
		{ "TIAOJIE_SUPPRESS_BELOW", "0", false },
		{ "TIAOJIE_SUPPRESS_BELOW", "1", true },
	};
	struct config c;
	char err[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = load_with(cases[i].name, cases[i].value, &c, err, sizeof(err));
		ck_assert_msg(ok == cases[i].ok, "%s=\"%s\": expected %s (%s)", cases[i].name,
		    cases[i].value, cases[i].ok ? "ok" : "refusal", err);
		if (!ok)
			ck_assert_msg(strstr(err, cases[i].name) != NULL, "%s=\"%s\": err \"%s\"",
			    cases[i].name, cases[i].value, err);
	}
	ck_assert(load_with("TIAOJIE_CONN_MEMORY", "16k", &c, err, sizeof(err)));
	ck_assert_uint_eq(c.conn_memory, 16384);
	ck_assert(load_with("TIAOJIE_SHUTDOWN_GRACE", "0", &c, err, sizeof(err)));
	ck_assert_uint_eq(c.shutdown_grace, 0);
}
END_TEST

START_TEST(test_parse_size_ok)
{
	static const struct {
		const char *s;
		size_t v;
	} cases[] = {
		{ "0", 0 },
		{ "10", 10 },
		{ "1k", 1024 },
		{ "1K", 1024 },
		{ "3m", 3145728 },
		{ "3M", 3145728 },
		{ "1048576", 1048576 },
		{ "0k", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t v = 12345;
		ck_assert_msg(config_parse_size(cases[i].s, &v), "\"%s\" refused", cases[i].s);
		ck_assert_msg(
		    v == cases[i].v, "\"%s\" gave %zu, expected %zu", cases[i].s, v, cases[i].v);
	}
}
END_TEST

START_TEST(test_parse_size_bad)
{
	static const char *const bad[] = {
		"",
		"k",
		"M",
		"1.5M",
		"99999999999999999999M",
		"99999999999999999999",
		"1G",
		"1kk",
		"-1",
		" 1",
		"1 ",
		"+1",
		"0x10",
		"1KiB",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t v = 12345;
		ck_assert_msg(!config_parse_size(bad[i], &v), "\"%s\" accepted as %zu", bad[i], v);
		ck_assert_uint_eq(v, 12345);
	}
}
END_TEST

START_TEST(test_parse_size_multiply_overflow)
{
#if SIZE_MAX == UINT64_MAX
	size_t v = 0;
	/* 2^44 - 1 mebibytes fits in 64 bits; 2^44 does not. */
	ck_assert(config_parse_size("17592186044415M", &v));
	ck_assert_uint_eq(v, (size_t)17592186044415u * 1048576u);
	v = 12345;
	ck_assert(!config_parse_size("17592186044416M", &v));
	ck_assert_uint_eq(v, 12345);
	ck_assert(!config_parse_size("18014398509481984k", &v));
	ck_assert_uint_eq(v, 12345);
#else
	size_t v = 12345;
	ck_assert(!config_parse_size("99999999999k", &v));
	ck_assert_uint_eq(v, 12345);
#endif
}
END_TEST

START_TEST(test_log_level_name)
{
	ck_assert_str_eq(config_log_level_name(LOG_DEBUG), "debug");
	ck_assert_str_eq(config_log_level_name(LOG_INFO), "info");
	ck_assert_str_eq(config_log_level_name(LOG_WARN), "warn");
	ck_assert_str_eq(config_log_level_name(LOG_ERROR), "error");
}
END_TEST

START_TEST(test_config_vars_table)
{
	/* Every documented variable has help; only DATABASE_URL is required. */
	size_t n = 0, required = 0;
	for (const struct config_var *v = config_vars; v->name != NULL; v++) {
		ck_assert_ptr_nonnull(v->help);
		if (v->fallback == NULL) {
			required++;
			ck_assert_str_eq(v->name, "DATABASE_URL");
		}
		n++;
	}
	ck_assert_uint_eq(n, 23);
	ck_assert_uint_eq(required, 1);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");

	TCase *tc = tcase_create("load");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_tls_files_go_together);
	tcase_add_test(tc, test_database_url_missing);
	tcase_add_test(tc, test_database_url_empty);
	tcase_add_test(tc, test_database_url_too_long);
	tcase_add_test(tc, test_listen_ipv6);
	tcase_add_test(tc, test_listen_ipv4_any);
	tcase_add_loop_test(
	    tc, test_listen_bad, 0, (int)(sizeof(bad_listen) / sizeof(bad_listen[0])));
	tcase_add_loop_test(
	    tc, test_workers_bad, 0, (int)(sizeof(bad_workers) / sizeof(bad_workers[0])));
	tcase_add_test(tc, test_workers_ok);
	tcase_add_test(tc, test_body_limit);
	tcase_add_loop_test(
	    tc, test_body_limit_bad, 0, (int)(sizeof(bad_body_limit) / sizeof(bad_body_limit[0])));
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_log_level_bad);
	tcase_add_test(tc, test_max_connections_vs_workers);
	tcase_add_test(tc, test_other_ranges);
	tcase_add_test(tc, test_config_vars_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("size");
	tcase_add_test(tc, test_parse_size_ok);
	tcase_add_test(tc, test_parse_size_bad);
	tcase_add_test(tc, test_parse_size_multiply_overflow);
	tcase_add_test(tc, test_log_level_name);
	suite_add_tcase(s, tc);

	return s;
}
