/*
 * api_ops.c - operational endpoints: liveness, readiness, metrics and the
 * API description. None needs credentials; none reveals data.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "db.h"
#include "embedded.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "reply.h"

static void
healthz(struct request *r)
{
	reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void
readyz(struct request *r)
{
	PGresult *res = db_exec_or_reply(r, SQL_SCHEMA_VERSIONS, NULL);
	if (res == NULL)
		return;
	char why[256];
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		reply_problem(r, 503, PROBLEM_NOT_READY,
		    "The schema cannot be read; is the database migrated?");
		return;
	}
	if (migrate_compare(res, why, sizeof(why)) != SCHEMA_CURRENT) {
		reply_problem(r, 503, PROBLEM_NOT_READY, "%s", why);
		return;
	}
	reply_json(r, 200,
	    json_pack(
		"{s:s, s:I}", "status", "ready", "schema_version", (json_int_t)migrate_latest()));
}

static void
metrics(struct request *r)
{
	struct sbuf out = { 0 };
	metrics_render(r->srv->metrics, &r->srv->router, r->srv->pool, &out);
	size_t len = out.len;
	reply_take(r, 200, "text/plain; version=0.0.4; charset=utf-8", sbuf_steal(&out), len);
}

static void
openapi(struct request *r)
{
	reply_data(
	    r, 200, "application/yaml", (const char *)embedded_openapi.data, embedded_openapi.size);
}

const struct route ops_routes[] = {
	{ "GET", "/healthz", healthz, ROLE_PUBLIC, BODY_NONE },
	{ "GET", "/readyz", readyz, ROLE_PUBLIC, BODY_NONE },
	{ "GET", "/metrics", metrics, ROLE_PUBLIC, BODY_NONE },
	{ "GET", "/api/v1/openapi.yaml", openapi, ROLE_PUBLIC, BODY_NONE },
	{ 0 },
};
