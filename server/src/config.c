/*
 * config.c - environment variables into struct config. Every value is
 * parsed strictly (no trailing junk, ranges checked) so that a typo stops
 * the server at start rather than misbehaving later.
 */
#include "errorf.h"
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct config_var config_vars[] = {
	{ "TIAOJIE_LISTEN", "127.0.0.1:8080",
	    "address and port to listen on (IPv4 a.b.c.d:port, IPv6 [addr]:port)" },
	{ "DATABASE_URL", NULL, "libpq connection string or URL of the PostgreSQL database" },
	{ "TIAOJIE_WORKERS", "4",
	    "HTTP worker threads, each with its own database connection (1-256)" },
	{ "TIAOJIE_BODY_LIMIT", "1M",
	    "largest request body accepted, bytes (k and M suffixes; 1k-64M)" },
	{ "TIAOJIE_LOG_LEVEL", "info", "debug, info, warn or error" },
	{ "TIAOJIE_CONN_TIMEOUT", "30", "seconds an idle or slow connection is kept (1-3600)" },
	{ "TIAOJIE_MAX_CONNECTIONS", "1000", "open connections at most (workers-65000)" },
	{ "TIAOJIE_MAX_CONNECTIONS_PER_IP", "200",
	    "open connections from one client address at most (1-65000)" },
	{ "TIAOJIE_CONN_MEMORY", "64k",
	    "buffer per connection for the request line and headers (16k-1M)" },
	{ "TIAOJIE_SHUTDOWN_GRACE", "10",
	    "seconds to finish requests in flight on SIGTERM/SIGINT (0-300)" },
	{ "TIAOJIE_SESSION_IDLE", "1800",
	    "seconds a sign-in session may go unused before it ends (2-86400)" },
	{ "TIAOJIE_SESSION_MAX", "43200", "seconds a sign-in session lasts at most (2-604800)" },
	{ "TIAOJIE_REFERRAL_HOURS", "24",
	    "hours within which a referral must be accepted (1-720)" },
	{ "TIAOJIE_REFERRAL_URGENT_HOURS", "2",
	    "hours within which an urgent referral must be accepted (1-720)" },
	{ "TIAOJIE_SUPPRESS_BELOW", "5",
	    "counts under this are shown as \"<N\" to federation staff (1-100; 1: none)" },
	{ "TIAOJIE_RETENTION_YEARS", "10",
	    "years a case's personal data is kept after it ends (purge-expired; 1-100)" },
	{ "TIAOJIE_LOGIN_MAX_FAILURES", "10",
	    "failed sign-ins per account or address before a lockout (1-1000)" },
	{ "TIAOJIE_LOGIN_WINDOW", "900",
	    "seconds over which failed sign-ins count; also the lockout (1-86400)" },
	{ "TIAOJIE_HASH_CONCURRENCY", "2",
	    "password hashes (64 MiB each) computed at once (1-64)" },
	{ "TIAOJIE_KEY_FILE", "",
	    "file of encryption keys made by 'tiaojie keygen' (mode 600; this or the next is "
	    "required)" },
	{ "TIAOJIE_MASTER_KEY", "", "the contents of such a key file, instead of the file" },
	{ "TIAOJIE_TLS_CERT", "",
	    "PEM file of the certificate chain: with the next, the server speaks HTTPS only" },
	{ "TIAOJIE_TLS_KEY", "", "PEM file of the certificate's private key (mode 600)" },
	{ NULL, NULL, NULL },
};

static const char *log_level_names[] = { "debug", "info", "warn", "error" };

const char *
config_log_level_name(enum log_level level)
{
	return log_level_names[level];
}

static const char *
value_of(const char *(*get)(const char *), const char *name)
{
	const char *v = get(name);
	if (v != NULL && *v != '\0')
		return v;
	for (const struct config_var *cv = config_vars; cv->name; cv++)
		if (strcmp(cv->name, name) == 0)
			return cv->fallback;
	return NULL;
}

static bool
parse_unsigned(const char *s, unsigned long long *out)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool
get_uint(const char *(*get)(const char *), const char *name, unsigned lo, unsigned hi,
    unsigned *out, char *err, size_t errlen)
{
	const char *s = value_of(get, name);
	unsigned long long v;
	if (!parse_unsigned(s, &v) || v < lo || v > hi)
		return errorf(err, errlen, "%s=\"%s\": expected a whole number from %u to %u", name,
		    s, lo, hi);
	*out = (unsigned)v;
	return true;
}

bool
config_parse_size(const char *s, size_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 20)
		return false;
	char digits[24];
	unsigned long long unit = 1;
	memcpy(digits, s, n + 1);
	switch (digits[n - 1]) {
	case 'k':
	case 'K':
		unit = 1024;
		digits[n - 1] = '\0';
		break;
	case 'm':
	case 'M':
		unit = 1024 * 1024;
		digits[n - 1] = '\0';
		break;
	default:
		break;
	}
	unsigned long long v;
	if (!parse_unsigned(digits, &v) || v > SIZE_MAX / unit)
		return false;
	*out = (size_t)(v * unit);
	return true;
}

static bool
get_size(const char *(*get)(const char *), const char *name, size_t lo, size_t hi, size_t *out,
    char *err, size_t errlen)
{
	const char *s = value_of(get, name);
	size_t v;
	if (!config_parse_size(s, &v) || v < lo || v > hi)
		return errorf(err, errlen,
		    "%s=\"%s\": expected a size from %zu to %zu bytes (k and M suffixes allowed)",
		    name, s, lo, hi);
	*out = v;
	return true;
}

static bool
parse_listen(struct config *c, const char *s, char *err, size_t errlen)
{
	const char *colon;
	size_t hostlen;
	const char *host = s;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		host = s + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		hostlen = (size_t)(colon - s);
	}
	if (hostlen == 0 || hostlen >= sizeof(c->listen_host))
		goto bad;
	memcpy(c->listen_host, host, hostlen);
	c->listen_host[hostlen] = '\0';

	unsigned char addr[sizeof(struct in6_addr)];
	int family = s[0] == '[' ? AF_INET6 : AF_INET;
	if (inet_pton(family, c->listen_host, addr) != 1)
		goto bad;
	unsigned long long port;
	if (!parse_unsigned(colon + 1, &port) || port == 0 || port > 65535)
		goto bad;
	c->listen_port = (uint16_t)port;
	return true;
bad:
	return errorf(err, errlen,
	    "TIAOJIE_LISTEN=\"%s\": expected a numeric address and port such as 127.0.0.1:8080 or "
	    "[::1]:8080",
	    s);
}

bool
config_load(struct config *c, const char *(*get)(const char *name), char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));

	if (!parse_listen(c, value_of(get, "TIAOJIE_LISTEN"), err, errlen))
		return false;

	const char *url = value_of(get, "DATABASE_URL");
	if (url == NULL)
		return errorf(err, errlen,
		    "DATABASE_URL is not set: give the PostgreSQL connection URL, e.g. "
		    "postgresql://user@host/tiaojie");
	if (strlen(url) >= sizeof(c->database_url))
		return errorf(err, errlen, "DATABASE_URL is longer than %zu characters",
		    sizeof(c->database_url) - 1);
	strcpy(c->database_url, url);

	if (!get_uint(get, "TIAOJIE_WORKERS", 1, 256, &c->workers, err, errlen) ||
	    !get_size(
		get, "TIAOJIE_BODY_LIMIT", 1024, 64 * 1024 * 1024, &c->body_limit, err, errlen) ||
	    !get_uint(get, "TIAOJIE_CONN_TIMEOUT", 1, 3600, &c->conn_timeout, err, errlen) ||
	    !get_uint(get, "TIAOJIE_MAX_CONNECTIONS", 1, 65000, &c->max_connections, err, errlen) ||
	    !get_uint(
		get, "TIAOJIE_MAX_CONNECTIONS_PER_IP", 1, 65000, &c->max_per_ip, err, errlen) ||
	    !get_size(
		get, "TIAOJIE_CONN_MEMORY", 16 * 1024, 1024 * 1024, &c->conn_memory, err, errlen) ||
	    !get_uint(get, "TIAOJIE_SHUTDOWN_GRACE", 0, 300, &c->shutdown_grace, err, errlen))
		return false;

	if (!get_uint(get, "TIAOJIE_SESSION_IDLE", 2, 86400, &c->session_idle, err, errlen) ||
	    !get_uint(get, "TIAOJIE_SESSION_MAX", 2, 604800, &c->session_max, err, errlen) ||
	    !get_uint(
		get, "TIAOJIE_LOGIN_MAX_FAILURES", 1, 1000, &c->login_max_failures, err, errlen) ||
	    !get_uint(get, "TIAOJIE_LOGIN_WINDOW", 1, 86400, &c->login_window, err, errlen) ||
	    !get_uint(get, "TIAOJIE_HASH_CONCURRENCY", 1, 64, &c->hash_slots, err, errlen) ||
	    !get_uint(get, "TIAOJIE_RETENTION_YEARS", 1, 100, &c->retention_years, err, errlen) ||
	    !get_uint(get, "TIAOJIE_REFERRAL_HOURS", 1, 720, &c->referral_hours, err, errlen) ||
	    !get_uint(get, "TIAOJIE_SUPPRESS_BELOW", 1, 100, &c->suppress_below, err, errlen) ||
	    !get_uint(get, "TIAOJIE_REFERRAL_URGENT_HOURS", 1, 720, &c->referral_urgent_hours, err,
		errlen))
		return false;

	if (c->max_connections < c->workers)
		return errorf(err, errlen, "TIAOJIE_MAX_CONNECTIONS=%u is below TIAOJIE_WORKERS=%u",
		    c->max_connections, c->workers);

	const char *cert = value_of(get, "TIAOJIE_TLS_CERT"),
		   *key = value_of(get, "TIAOJIE_TLS_KEY");
	if ((*cert == '\0') != (*key == '\0'))
		return errorf(err, errlen,
		    "TIAOJIE_TLS_CERT and TIAOJIE_TLS_KEY go together: set both for HTTPS, or "
		    "neither");
	if (strlen(cert) >= sizeof(c->tls_cert) || strlen(key) >= sizeof(c->tls_key))
		return errorf(err, errlen,
		    "TIAOJIE_TLS_CERT or TIAOJIE_TLS_KEY is longer than %zu "
		    "characters",
		    sizeof(c->tls_cert) - 1);
	strcpy(c->tls_cert, cert);
	strcpy(c->tls_key, key);

	const char *level = value_of(get, "TIAOJIE_LOG_LEVEL");
	size_t i;
	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (strcmp(level, log_level_names[i]) == 0)
			break;
	if (i == sizeof(log_level_names) / sizeof(log_level_names[0]))
		return errorf(err, errlen,
		    "TIAOJIE_LOG_LEVEL=\"%s\": expected debug, info, warn or error", level);
	c->log_level = (enum log_level)i;
	return true;
}
