/*
 * metrics.c - fixed arrays of atomic counters, sized at start from the
 * route table: (routes + 1) x statuses for counts, (routes + 1) x buckets
 * for latency. Nothing is allocated after metrics_new().
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "db.h"
#include "router.h"

static const unsigned statuses[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 414, 415,
	422, 429, 500, 503 };
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + other */

static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
	5, 10 };
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]) + 1) /* + +Inf */

struct metrics {
	size_t nslots;         /* routes + 1 */
	atomic_ullong *count;  /* [slot][status] */
	atomic_ullong *bucket; /* [slot][bucket], not cumulative */
	atomic_ullong *sum_us; /* [slot] */
};

struct metrics *
metrics_new(size_t nroutes)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	m->nslots = nroutes + 1;
	m->count = xcalloc(m->nslots * NSTATUS, sizeof(*m->count));
	m->bucket = xcalloc(m->nslots * NBUCKET, sizeof(*m->bucket));
	m->sum_us = xcalloc(m->nslots, sizeof(*m->sum_us));
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->count);
	free(m->bucket);
	free(m->sum_us);
	free(m);
}

void
metrics_observe(struct metrics *m, size_t route, unsigned status, double seconds)
{
	size_t slot = route < m->nslots - 1 ? route : m->nslots - 1;
	size_t si = NSTATUS - 1;
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			si = i;
	size_t bi = NBUCKET - 1;
	for (size_t i = 0; i < NBUCKET - 1; i++)
		if (seconds <= buckets[i]) {
			bi = i;
			break;
		}
	atomic_fetch_add_explicit(&m->count[slot * NSTATUS + si], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->bucket[slot * NBUCKET + bi], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &m->sum_us[slot], (unsigned long long)(seconds * 1e6), memory_order_relaxed);
}

static void
route_label(const struct router *rt, size_t slot, const char **method, const char **pattern)
{
	if (slot < rt->count) {
		*method = rt->routes[slot]->method;
		*pattern = rt->routes[slot]->pattern;
	} else {
		*method = "";
		*pattern = "unmatched";
	}
}

void
metrics_render(struct metrics *m, const struct router *rt, struct db_pool *pool, struct sbuf *out)
{
	const char *method, *pattern;

	sbuf_printf(out,
	    "# HELP tiaojie_http_requests_total HTTP requests answered, by route and status.\n"
	    "# TYPE tiaojie_http_requests_total counter\n");
	for (size_t slot = 0; slot < m->nslots; slot++) {
		route_label(rt, slot, &method, &pattern);
		for (size_t si = 0; si < NSTATUS; si++) {
			unsigned long long n = atomic_load(&m->count[slot * NSTATUS + si]);
			if (n == 0)
				continue;
			if (si < NSTATUS - 1)
				sbuf_printf(out,
				    "tiaojie_http_requests_total{method=\"%s\",route=\"%s\",status="
				    "\"%u\"} %llu\n",
				    method, pattern, statuses[si], n);
			else
				sbuf_printf(out,
				    "tiaojie_http_requests_total{method=\"%s\",route=\"%s\",status="
				    "\"other\"} %llu\n",
				    method, pattern, n);
		}
	}

	sbuf_printf(out,
	    "# HELP tiaojie_http_request_duration_seconds Time from request start to reply, by "
	    "route.\n"
	    "# TYPE tiaojie_http_request_duration_seconds histogram\n");
	for (size_t slot = 0; slot < m->nslots; slot++) {
		unsigned long long cumulative = 0;
		route_label(rt, slot, &method, &pattern);
		for (size_t bi = 0; bi < NBUCKET; bi++)
			cumulative += atomic_load(&m->bucket[slot * NBUCKET + bi]);
		if (cumulative == 0)
			continue;
		cumulative = 0;
		for (size_t bi = 0; bi < NBUCKET; bi++) {
			cumulative += atomic_load(&m->bucket[slot * NBUCKET + bi]);
			if (bi < NBUCKET - 1)
				sbuf_printf(out,
				    "tiaojie_http_request_duration_seconds_bucket{method=\"%s\","
				    "route=\"%s\",le=\"%g\"} %llu\n",
				    method, pattern, buckets[bi], cumulative);
			else
				sbuf_printf(out,
				    "tiaojie_http_request_duration_seconds_bucket{method=\"%s\","
				    "route=\"%s\",le=\"+Inf\"} %llu\n",
				    method, pattern, cumulative);
		}
		sbuf_printf(out,
		    "tiaojie_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
		    "tiaojie_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
		    "%llu\n",
		    method, pattern, (double)atomic_load(&m->sum_us[slot]) / 1e6, method, pattern,
		    cumulative);
	}

	sbuf_printf(out,
	    "# HELP tiaojie_db_pool_connections Database connections in the pool.\n"
	    "# TYPE tiaojie_db_pool_connections gauge\n"
	    "tiaojie_db_pool_connections %u\n"
	    "# HELP tiaojie_db_pool_in_use Database connections lent to requests now.\n"
	    "# TYPE tiaojie_db_pool_in_use gauge\n"
	    "tiaojie_db_pool_in_use %u\n",
	    db_pool_size(pool), db_pool_in_use(pool));
}
