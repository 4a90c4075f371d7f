/*
 * demo.h - `tiaojie gen-demo`: fills a migrated database with realistic,
 * made-up demo data (regions, committees, mediators, cases, referrals),
 * encrypted and audited as the service stores its own, for trying the
 * service out and for measuring it at scale.
 */
#ifndef TIAOJIE_DEMO_H
#define TIAOJIE_DEMO_H

#include <stdint.h>

#include "crypt.h"

struct db_pool;

/* The largest run, by counties (region codes 83xxxx to 99xxxx) and cases. */
#define DEMO_MAX_COUNTIES 16000
#define DEMO_MAX_CASES    1000000000LL
#define DEMO_MAX_YEARS    30
#define DEMO_MAX_JOBS     64

struct demo_options {
	unsigned counties;
	long long cases;
	unsigned years; /* cases are received over the last years, up to today */
	uint64_t seed;  /* the same seed and jobs make the same data (keys and nonces aside) */
	unsigned jobs;  /* worker threads, each with one of the pool's connections */
	/* Called from the calling thread about 5 times a second, and at each phase's end. */
	void (*progress)(const char *what, long long done, long long total);
};

/*
 * Generates the demo data through pool (which must hold opts->jobs
 * connections), sealing personal data with keys. Prints what it made and
 * how fast to standard output, errors to standard error. Returns 0 on
 * success, 1 on a database error, 2 when the database already has demo
 * regions.
 */
int
demo_generate(struct db_pool *pool, const struct keyring *keys, const struct demo_options *opts);

#endif
