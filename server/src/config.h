/*
 * config.h - the server's settings, all from environment variables, checked
 * once at start. A bad value is refused with a message naming the variable.
 */
#ifndef TIAOJIE_CONFIG_H
#define TIAOJIE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct config {
	char listen_host[64]; /* numeric IPv4 or IPv6 address */
	uint16_t listen_port;
	char database_url[1024];
	unsigned workers;  /* HTTP worker threads = DB connections */
	size_t body_limit; /* bytes of request body */
	enum log_level log_level;
	unsigned conn_timeout; /* seconds a connection may idle */
	unsigned max_connections;
	unsigned max_per_ip;
	size_t conn_memory;          /* per-connection buffer: headers and URL */
	unsigned shutdown_grace;     /* seconds to finish requests on stop */
	unsigned session_idle;       /* seconds a session may go unused */
	unsigned session_max;        /* seconds a session lasts at most */
	unsigned login_max_failures; /* failed sign-ins before a lockout */
	unsigned login_window;       /* seconds over which failures count */
	unsigned hash_slots;         /* password hashes run at once */
	unsigned retention_years;    /* a case's personal data is kept after it ends */
	unsigned referral_hours;     /* a referral must be accepted within */
	unsigned referral_urgent_hours;
	unsigned suppress_below; /* smaller counts hidden from federation staff */
	char tls_cert[1024];     /* PEM files: HTTPS when both are set */
	char tls_key[1024];
};

/* One variable, for validation, --help and the README's table. */
struct config_var {
	const char *name;
	const char *fallback; /* NULL: required */
	const char *help;
};

extern const struct config_var config_vars[];

/*
 * Fills c from the variables read through get (getenv in the program, a
 * table in tests). Returns false with a one-line reason in err otherwise.
 */
bool config_load(struct config *c, const char *(*get)(const char *name), char *err, size_t errlen);

const char *config_log_level_name(enum log_level level);

/* Parses "1048576", "64k", "1M" (binary units) into bytes. */
bool config_parse_size(const char *s, size_t *out);

#endif
