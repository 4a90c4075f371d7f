/*
 * main.c - the tiaojie command: serve, migrate, version. Settings come
 * from the environment (config.c); a bad one stops the command at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "crypt.h"
#include "datakey.h"
#include "db.h"
#include "demo.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "validate.h"

#ifndef TIAOJIE_VERSION
#define TIAOJIE_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	const char *summary;
	const char *usage; /* the text after the summary in --help */
	int (*run)(int argc, char **argv);
	bool takes_args;
};

static const char *
env(const char *name)
{
	return getenv(name);
}

static void
print_variables(FILE *out)
{
	fprintf(out, "\nEnvironment:\n");
	for (const struct config_var *v = config_vars; v->name; v++)
		fprintf(out, "  %-32s %s (%s%s)\n", v->name, v->help,
		    v->fallback == NULL ? "required"
			: *v->fallback  ? "default "
					: "optional",
		    v->fallback ? v->fallback : "");
}

/* Loads the configuration or says what is wrong; initialises libraries. */
static bool
setup(const char *cmd, struct config *cfg)
{
	char err[512];
	if (!config_load(cfg, env, err, sizeof(err))) {
		fprintf(stderr, "tiaojie %s: %s\n", cmd, err);
		return false;
	}
	log_set_level(cfg->log_level);
	if (sodium_init() < 0) {
		fprintf(stderr, "tiaojie %s: libsodium could not be initialised\n", cmd);
		return false;
	}
	return true;
}

static int
cmd_migrate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct config cfg;
	char err[512];
	if (!setup("migrate", &cfg))
		return 2;
	PGconn *pg = db_connect(cfg.database_url, err, sizeof(err));
	if (pg == NULL) {
		fprintf(stderr, "tiaojie migrate: %s\n", err);
		return 1;
	}
	bool ok = migrate_run(pg, err, sizeof(err));
	PQfinish(pg);
	if (!ok) {
		fprintf(stderr, "tiaojie migrate: %s\n", err);
		return 1;
	}
	log_msg(LOG_INFO, "schema is current at version %d", migrate_latest());
	return 0;
}

static int
cmd_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct config cfg;
	char err[512];
	if (!setup("serve", &cfg))
		return 2;

	PGconn *pg = db_connect(cfg.database_url, err, sizeof(err));
	if (pg == NULL) {
		fprintf(stderr, "tiaojie serve: %s\n", err);
		return 1;
	}
	struct keyring *keys = keyring_load(env, err, sizeof(err));
	if (keys == NULL) {
		fprintf(stderr, "tiaojie serve: refusing to start: %s\n", err);
		PQfinish(pg);
		return 1;
	}
	enum schema_state state = migrate_check(pg, err, sizeof(err));
	PQfinish(pg);
	if (state != SCHEMA_CURRENT) {
		fprintf(stderr, "tiaojie serve: refusing to start: %s\n", err);
		keyring_free(keys);
		return 1;
	}

	struct server srv = { .cfg = &cfg };
	keyholder_init(&srv.keys, keys, env);
	srv.pool = db_pool_new(cfg.database_url, cfg.workers, err, sizeof(err));
	if (srv.pool == NULL) {
		fprintf(stderr, "tiaojie serve: %s\n", err);
		keyholder_free(&srv.keys);
		return 1;
	}
	if (!auth_init(&srv)) {
		fprintf(
		    stderr, "tiaojie serve: cannot prepare password hashing (out of memory?)\n");
		db_pool_free(srv.pool);
		keyholder_free(&srv.keys);
		return 1;
	}
	router_init(&srv.router, api_routes);
	srv.metrics = metrics_new(srv.router.count);

	/* Workers inherit this mask: only the main thread takes the signals. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	int rc = 1;
	bool sealing = audit_sealer_start(&srv);
	if (sealing && http_start(&srv)) {
		int sig = 0;
		sigwait(&stop, &sig);
		log_msg(LOG_INFO, "%s received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		http_stop(&srv);
		log_msg(LOG_INFO, "stopped");
		rc = 0;
	}
	if (sealing)
		audit_sealer_stop(&srv);
	metrics_free(srv.metrics);
	router_free(&srv.router);
	auth_free(&srv);
	db_pool_free(srv.pool);
	keyholder_free(&srv.keys);
	return rc;
}

/* Reads one line from stdin, without echo on a terminal. Caller frees. */
static char *
read_password(void)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "password (12 to 128 characters): ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static int
cmd_user(int argc, char **argv)
{
	const char *role = NULL, *name = NULL, *region = NULL, *username = NULL;
	if (argc < 2 || strcmp(argv[1], "add") != 0)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc)
			region = argv[++i];
		else if (argv[i][0] != '-' && username == NULL)
			username = argv[i];
		else
			goto usage;
	}
	if (role == NULL || username == NULL || !role_valid(role) || !username_valid(username) ||
	    (strcmp(role, "federation") == 0) != (region != NULL))
		goto usage;

	struct config cfg;
	char err[512];
	if (!setup("user", &cfg))
		return 2;
	char *password = read_password();
	if (password == NULL || !auth_password_valid(password)) {
		fprintf(stderr,
		    "tiaojie user add: the password (one line on standard input) must "
		    "have 12 to 128 characters\n");
		free(password);
		return 2;
	}
	char hash[crypto_pwhash_STRBYTES];
	bool hashed = auth_hash_password(NULL, password, hash);
	sodium_memzero(password, strlen(password));
	free(password);
	if (!hashed) {
		fprintf(stderr, "tiaojie user add: cannot hash the password (out of memory?)\n");
		return 1;
	}
	struct db_pool *pool = db_pool_new(cfg.database_url, 1, err, sizeof(err));
	if (pool == NULL) {
		fprintf(stderr, "tiaojie user add: %s\n", err);
		return 1;
	}
	/* The entry names no actor: the command line is not a signed-in user. */
	const char *params[] = { NULL, NULL, NULL, "command-line", NULL, "bootstrap", username,
		name ? name : username, role, region, hash, NULL /* no mediator's record */ };
	struct db_conn *c = db_acquire(pool);
	PGresult *res = db_exec(c, SQL_USER_CREATE, params);
	int rc = 0;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* The primary message only: the detail would show the row, hash and all. */
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		if (state != NULL && strcmp(state, "23505") == 0)
			msg = "that username already exists";
		fprintf(
		    stderr, "tiaojie user add: %s\n", msg ? msg : "the database is not reachable");
		rc = 1;
	} else {
		printf("user %s (%s) created with id %s\n", username, role, PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	db_release(pool, c);
	db_pool_free(pool);
	return rc;
usage:
	fprintf(stderr,
	    "usage: tiaojie user add --role ROLE [--name DISPLAY_NAME] "
	    "[--region CODE] USERNAME < password\n"
	    "  ROLE: admin, federation (needs --region), mediator, hotline\n"
	    "  USERNAME: 3 to 64 of a-z 0-9 . _ -\n");
	return 2;
}

static int
cmd_audit(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "usage: tiaojie audit verify\n");
		return 2;
	}
	struct config cfg;
	char err[512];
	if (!setup("audit", &cfg))
		return 2;
	PGconn *pg = db_connect(cfg.database_url, err, sizeof(err));
	if (pg == NULL) {
		fprintf(stderr, "tiaojie audit verify: %s\n", err);
		return 2;
	}
	int rc = audit_verify_print(pg, stdout);
	if (rc < 0)
		fprintf(stderr, "tiaojie audit verify: %s", PQerrorMessage(pg));
	PQfinish(pg);
	return rc < 0 ? 2 : rc;
}

static int
cmd_keygen(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: tiaojie keygen FILE   (or - for standard output)\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	char text[512];
	if (!keygen_text(text, sizeof(text)))
		return 1;
	int rc = 0;
	if (strcmp(argv[1], "-") == 0) {
		fputs(text, stdout);
	} else {
		/* Never over an existing file: that would lose the keys to its data. */
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		size_t len = strlen(text);
		if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
			fprintf(stderr, "tiaojie keygen: %s: %s\n", argv[1],
			    fd < 0 && errno == EEXIST ? "exists already; keys are never overwritten"
						      : strerror(errno));
			rc = 1;
		} else {
			printf("keys written to %s (mode 600): keep it secret, and backed up apart "
			       "from the database\n",
			    argv[1]);
		}
		if (fd >= 0)
			close(fd);
	}
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* Appends a new master key version to the key file at path. */
static bool
add_master_version(const char *path, unsigned version, char *err, size_t errlen)
{
	char line[128];
	if (!keygen_version_line(version, line, sizeof(line)))
		return false;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	size_t len = strlen(line);
	bool good = fd >= 0 && write(fd, line, len) == (ssize_t)len && fsync(fd) == 0;
	if (!good)
		snprintf(err, errlen, "cannot add a key version to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	sodium_memzero(line, sizeof(line));
	return good;
}

/* A progress bar for what, on a terminal only. */
static void
progress(const char *what, long long done, long long total)
{
	if (!isatty(STDERR_FILENO) || total <= 0)
		return;
	int width = 40, filled = (int)(done * width / total);
	fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld", what, filled,
	    "########################################", width - filled, "", done, total);
	if (done == total)
		fputc('\n', stderr);
}

static int
cmd_rotate_keys(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: tiaojie rotate-keys\n");
		return 2;
	}
	struct config cfg;
	char err[512];
	if (!setup("rotate-keys", &cfg))
		return 2;
	struct keyring *keys = keyring_load(env, err, sizeof(err));
	if (keys == NULL) {
		fprintf(stderr, "tiaojie rotate-keys: %s\n", err);
		return 2;
	}
	struct db_pool *pool = db_pool_new(cfg.database_url, 1, err, sizeof(err));
	if (pool == NULL) {
		fprintf(stderr, "tiaojie rotate-keys: %s\n", err);
		keyring_free(keys);
		return 1;
	}
	struct db_conn *c = db_acquire(pool);
	int rc = 1;
	long long stale, current;
	if (!datakey_counts(c, keys, &stale, &current))
		goto out;
	if (stale == 0) {
		/* Nothing left over from an earlier run: introduce a new version. */
		const char *path = getenv("TIAOJIE_KEY_FILE");
		unsigned next = keyring_current(keys) + 1;
		if (path == NULL || *path == '\0') {
			fprintf(stderr,
			    "tiaojie rotate-keys: the keys come from TIAOJIE_MASTER_KEY: add "
			    "v%u:... (a line of 'tiaojie keygen -') to them and run again\n",
			    next);
			goto out;
		}
		if (!add_master_version(path, next, err, sizeof(err))) {
			fprintf(stderr, "tiaojie rotate-keys: %s\n", err);
			goto out;
		}
		keyring_free(keys);
		keys = keyring_load(env, err, sizeof(err));
		if (keys == NULL) {
			fprintf(stderr, "tiaojie rotate-keys: %s\n", err);
			goto out;
		}
		printf("added master key version %u to %s\n", next, path);
		if (!datakey_counts(c, keys, &stale, &current))
			goto out;
	}
	long long total = stale, done = 0, moved;
	enum datakey_status st;
	progress("re-wrapping data keys", 0, total);
	while ((st = datakey_rotate_batch(c, keys, 500, &moved)) == DATAKEY_OK && moved > 0) {
		done += moved;
		progress("re-wrapping data keys", done < total ? done : total, total);
	}
	if (st != DATAKEY_OK) {
		fprintf(stderr,
		    "\ntiaojie rotate-keys: stopped after %lld: a data key %s; run again "
		    "to resume once that is fixed\n",
		    done, datakey_status_text(st));
		goto out;
	}
	if (!datakey_counts(c, keys, &stale, &current))
		goto out;
	printf("re-wrapped %lld data keys: all %lld live data keys use master key version %u, "
	       "%lld an older one\n",
	    done, current, keyring_current(keys), stale);
	rc = stale == 0 ? 0 : 1;
out:
	if (rc != 0 && PQstatus(db_conn_pg(c)) != CONNECTION_OK)
		fprintf(stderr, "tiaojie rotate-keys: %s", PQerrorMessage(db_conn_pg(c)));
	db_release(pool, c);
	db_pool_free(pool);
	keyring_free(keys);
	return rc;
}

/* Runs a purge statement until it purges nothing more; false on an error. */
static bool
purge_batches(struct db_conn *c, enum sql_id statement, const char *const *params, long long *total)
{
	long long n;
	do {
		PGresult *res = db_exec(c, statement, params);
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "tiaojie purge-expired: stopped after %lld: %s", *total,
			    res ? PQresultErrorMessage(res) : PQerrorMessage(db_conn_pg(c)));
			PQclear(res);
			return false;
		}
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		*total += n;
	} while (n > 0);
	return true;
}

static int
cmd_purge_expired(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: tiaojie purge-expired\n");
		return 2;
	}
	struct config cfg;
	char err[512];
	if (!setup("purge-expired", &cfg))
		return 2;
	struct db_pool *pool = db_pool_new(cfg.database_url, 1, err, sizeof(err));
	if (pool == NULL) {
		fprintf(stderr, "tiaojie purge-expired: %s\n", err);
		return 1;
	}
	struct db_conn *c = db_acquire(pool);
	char years[16];
	snprintf(years, sizeof(years), "%u", cfg.retention_years);
	const char *params[] = { years, "500" };
	long long cases = 0, referrals = 0;
	int rc = purge_batches(c, SQL_CASES_PURGE, params, &cases) &&
		purge_batches(c, SQL_REFERRALS_PURGE, params, &referrals)
	    ? 0
	    : 1;
	if (rc == 0)
		printf("purged the personal data of %lld cases that ended more than %u years ago, "
		       "and of %lld referrals\n",
		    cases, cfg.retention_years, referrals);
	db_release(pool, c);
	db_pool_free(pool);
	return rc;
}

/* A whole number from lo to hi in text, or -1. */
static long long
number_arg(const char *text, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && v >= lo && v <= hi ? v : -1;
}

static int
cmd_gen_demo(int argc, char **argv)
{
	struct demo_options o = { .progress = progress };
	long long counties = -1, cases = -1, years = 5, seed = 1, jobs = 2;
	for (int i = 1; i < argc; i += 2) {
		const struct {
			const char *name;
			long long *value, lo, hi;
		} opts[] = { { "--counties", &counties, 1, DEMO_MAX_COUNTIES },
			{ "--cases", &cases, 0, DEMO_MAX_CASES },
			{ "--years", &years, 1, DEMO_MAX_YEARS },
			{ "--seed", &seed, 0, 0x7fffffffffffffffLL },
			{ "--jobs", &jobs, 1, DEMO_MAX_JOBS } };
		size_t k = 0;
		while (k < sizeof(opts) / sizeof(opts[0]) && strcmp(argv[i], opts[k].name) != 0)
			k++;
		if (k == sizeof(opts) / sizeof(opts[0]) || i + 1 >= argc ||
		    (*opts[k].value = number_arg(argv[i + 1], opts[k].lo, opts[k].hi)) < 0)
			goto usage;
	}
	if (counties < 0 || cases < 0)
		goto usage;
	o.counties = (unsigned)counties;
	o.cases = cases;
	o.years = (unsigned)years;
	o.seed = (uint64_t)seed;
	o.jobs = (unsigned)jobs;

	struct config cfg;
	char err[512];
	if (!setup("gen-demo", &cfg))
		return 2;
	struct keyring *keys = keyring_load(env, err, sizeof(err));
	if (keys == NULL) {
		fprintf(stderr, "tiaojie gen-demo: %s\n", err);
		return 2;
	}
	PGconn *pg = db_connect(cfg.database_url, err, sizeof(err));
	enum schema_state state = pg ? migrate_check(pg, err, sizeof(err)) : SCHEMA_CURRENT;
	PQfinish(pg);
	if (pg == NULL || state != SCHEMA_CURRENT) {
		fprintf(stderr, "tiaojie gen-demo: %s\n", err);
		keyring_free(keys);
		return 1;
	}
	struct db_pool *pool = db_pool_new(cfg.database_url, o.jobs, err, sizeof(err));
	if (pool == NULL) {
		fprintf(stderr, "tiaojie gen-demo: %s\n", err);
		keyring_free(keys);
		return 1;
	}
	int rc = demo_generate(pool, keys, &o);
	db_pool_free(pool);
	keyring_free(keys);
	return rc;
usage:
	fprintf(stderr,
	    "usage: tiaojie gen-demo --counties N --cases M [--years Y] [--seed S] [--jobs J]\n"
	    "  N: 1 to %d counties, M: 0 to %lld cases, Y: 1 to %d years (5),\n"
	    "  S: a number (1), J: 1 to %d connections working at once (2)\n",
	    DEMO_MAX_COUNTIES, DEMO_MAX_CASES, DEMO_MAX_YEARS, DEMO_MAX_JOBS);
	return 2;
}

static int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("tiaojie %s (schema version %d; libmicrohttpd %s, libpq %d, jansson %s, libsodium "
	       "%s)\n",
	    TIAOJIE_VERSION, migrate_latest(), MHD_get_version(), PQlibVersion(),
	    jansson_version_str(), sodium_version_string());
	return 0;
}

static const struct command commands[] = {
	{ "serve", "serve the HTTP API until SIGINT or SIGTERM",
	    "Checks that the database schema is current (else refuses to start),\n"
	    "then answers HTTP on TIAOJIE_LISTEN. On SIGINT or SIGTERM it stops\n"
	    "accepting, finishes requests in flight, and exits 0.\n",
	    cmd_serve, false },
	{ "migrate", "bring the database schema up to date",
	    "Applies the migrations compiled into this binary that the database\n"
	    "lacks, in order, each in its own transaction. Refuses to go on when an\n"
	    "applied migration has changed or the database is newer than the binary.\n"
	    "Runs started at the same time wait for each other.\n",
	    cmd_migrate, false },
	{ "version", "print the version",
	    "Prints the version, the schema version and the libraries'.\n", cmd_version, false },
	{ "keygen", "write new encryption keys: keygen FILE",
	    "Writes a new key file (an index key and master key version 1) to FILE,\n"
	    "created with mode 600 and never over an existing file; - writes to\n"
	    "standard output. Point TIAOJIE_KEY_FILE at it.\n",
	    cmd_keygen, true },
	{ "rotate-keys", "re-wrap every data key under a new master key version",
	    "Adds master key version N+1 to TIAOJIE_KEY_FILE (unless an earlier run\n"
	    "was interrupted: then it resumes), and re-wraps every data key under it,\n"
	    "in batches, online: readers keep working. Prints how many data keys\n"
	    "still use an older version (0 when done); exit status 0 when none do.\n"
	    "Keep the old version in the key file until backups made with it expire.\n",
	    cmd_rotate_keys, true },
	{ "purge-expired", "shred the personal data of cases past their retention",
	    "Destroys the data key of every case that ended (closed, declined or\n"
	    "withdrawn) more than TIAOJIE_RETENTION_YEARS years ago, and clears its\n"
	    "encrypted fields and blind indexes, in batches; each case is audited.\n"
	    "What statistics use stays: numbers, dates, types, flags, outcomes, the\n"
	    "parties' gender and birth year. Referrals go with their cases; those\n"
	    "never taken up, that many years after intake. Safe to run again (cron).\n",
	    cmd_purge_expired, false },
	{ "user", "add a user: user add --role ROLE [--name NAME] [--region CODE] USERNAME",
	    "Creates a user, reading the password (12 to 128 characters) as one line\n"
	    "from standard input, without echo on a terminal. This is how the first\n"
	    "administrator of a new installation is made:\n\n"
	    "  tiaojie user add --role admin --name 'Administrator' admin\n\n"
	    "ROLE is admin, federation, mediator or hotline; federation staff need\n"
	    "--region with their county or city code. Exit status 0 when created.\n",
	    cmd_user, true },
	{ "gen-demo", "fill the database with demo data: gen-demo --counties N --cases M",
	    "Adds made-up but realistic data to a migrated database: provinces 83 to\n"
	    "99 with cities of 10 to 15 counties (N in all), 1 to 3 committees or rooms\n"
	    "per county and a guidance committee per city, their mediators and experts,\n"
	    "and M cases received over the last Y years (--years, 5) with their parties,\n"
	    "sessions, outcomes, confirmations, follow-ups and referrals. Personal data\n"
	    "is encrypted and everything audited as the service does it; statistics\n"
	    "are kept by the same triggers. --seed S (1) makes the same data again (with\n"
	    "the same --jobs J, 2: connections working at once). Refuses a database that\n"
	    "has demo data already. Prints what it made and how fast.\n",
	    cmd_gen_demo, true },
	{ "audit", "check the audit trail: audit verify",
	    "Seals pending audit entries into the hash chain, then checks the whole\n"
	    "chain: an entry changed or deleted after it was written is reported\n"
	    "with its position. Exit status 0 when whole, 1 when broken, 2 on error.\n",
	    cmd_audit, true },
	{ NULL, NULL, NULL, NULL, false },
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: tiaojie COMMAND [--help]\n\n"
	    "Marriage and family dispute mediation service.\n\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	print_variables(out);
}

int
main(int argc, char **argv)
{
	/* jansson's memory is wiped on release too: it holds request and reply bodies. */
	json_set_alloc_funcs(xmalloc, xfree_wiped);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc, argv);
	for (const struct command *c = commands; c->name; c++) {
		if (strcmp(argv[1], c->name) != 0)
			continue;
		if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			printf("usage: tiaojie %s\n\n%s.\n\n%s", c->name, c->summary, c->usage);
			if (c->run != cmd_version)
				print_variables(stdout);
			return 0;
		}
		if (argc > 2 && !c->takes_args) {
			fprintf(stderr,
			    "tiaojie %s: unexpected argument '%s' (see tiaojie %s --help)\n",
			    c->name, argv[2], c->name);
			return 2;
		}
		return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "tiaojie: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
