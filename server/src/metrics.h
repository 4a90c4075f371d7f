/*
 * metrics.h - request counters and latency histograms per route, kept with
 * atomics so workers never take a lock, rendered in Prometheus text format.
 */
#ifndef TIAOJIE_METRICS_H
#define TIAOJIE_METRICS_H

#include <stddef.h>

#include "arena.h"

struct metrics;
struct router;
struct db_pool;

/* Counters for nroutes routes plus one slot for requests matching none. */
struct metrics *metrics_new(size_t nroutes);
void metrics_free(struct metrics *m);

/* route is the router index, or (size_t)-1 for an unmatched request. */
void metrics_observe(struct metrics *m, size_t route, unsigned status, double seconds);

/* Appends the exposition text for all metrics to out. */
void
metrics_render(struct metrics *m, const struct router *rt, struct db_pool *pool, struct sbuf *out);

#endif
