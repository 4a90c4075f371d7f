/*
 * audit.c - writing audit entries and sealing them. The server's database
 * role may only INSERT and SELECT audit_log; sealing and verification run
 * through SECURITY DEFINER functions (0002_identity.sql).
 */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define AUDIT_PURPOSE_MAX 200
#define AUDIT_SEAL_BATCH  "1000"

void
audit_context(struct request *r, const char *ctx[AUDIT_CONTEXT_PARAMS])
{
	const struct principal *w = &r->who;
	bool known = w->kind != AUTH_NONE || w->user_id != 0;
	/* Whatever the client sent, what is stored is printable UTF-8. */
	const char *purpose = request_header(r, "X-Access-Purpose");
	if (purpose != NULL)
		purpose = utf8_sanitize(
		    arena_alloc(r->arena, AUDIT_PURPOSE_MAX + 1), AUDIT_PURPOSE_MAX + 1, purpose);
	ctx[0] = known ? w->user_id_text : NULL;
	ctx[1] = known ? w->username : NULL;
	ctx[2] = known ? w->role : NULL;
	ctx[3] = r->id;
	ctx[4] = r->client_addr[0] ? r->client_addr : NULL;
	ctx[5] = purpose;
}

PGresult *
audit_exec_or_reply(struct request *r, enum sql_id id, const char *const *params, size_t n)
{
	const char **all = arena_alloc(r->arena, (AUDIT_CONTEXT_PARAMS + n) * sizeof(*all));
	audit_context(r, all);
	for (size_t i = 0; i < n; i++)
		all[AUDIT_CONTEXT_PARAMS + i] = params[i];
	return db_exec_or_reply(r, id, all);
}

void
audit_event(struct request *r, const char *action, const char *object_type, const char *object_id,
    unsigned status)
{
	const char *p[10];
	char st[8];
	snprintf(st, sizeof(st), "%u", status);
	audit_context(r, p);
	p[6] = action;
	p[7] = object_type;
	p[8] = object_id;
	p[9] = st;
	PGresult *res = db_exec(db_request_conn(r), SQL_AUDIT, p);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_msg(LOG_ERROR, "request %s: %s could not be audited", r->id, action);
	PQclear(res);
}

void
audit_refusal(struct request *r, unsigned status)
{
	audit_event(r, "access.denied", "route",
	    r->route ? arena_printf(r->arena, "%s %s", r->route->method, r->route->pattern) : NULL,
	    status);
}

static void *
sealer_main(void *arg)
{
	struct server *srv = arg;
	char err[256];
	PGconn *pg = NULL;
	pthread_mutex_lock(&srv->sealer_lock);
	while (srv->sealer_running) {
		pthread_mutex_unlock(&srv->sealer_lock);
		if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
			PQfinish(pg);
			pg = db_connect(srv->cfg->database_url, err, sizeof(err));
		}
		if (pg != NULL) {
			/* Until a batch comes back short, everything pending is sealed. */
			const char *batch[] = { AUDIT_SEAL_BATCH };
			for (;;) {
				PGresult *res =
				    PQexecParams(pg, sql_statements[SQL_AUDIT_SEAL].text, 1, NULL,
					batch, NULL, NULL, 0);
				bool more = PQresultStatus(res) == PGRES_TUPLES_OK &&
				    strcmp(PQgetvalue(res, 0, 0), AUDIT_SEAL_BATCH) == 0;
				if (PQresultStatus(res) != PGRES_TUPLES_OK)
					log_msg(LOG_WARN, "audit sealing failed: %s",
					    PQresultErrorMessage(res));
				PQclear(res);
				if (!more)
					break;
			}
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&srv->sealer_lock);
		if (srv->sealer_running)
			pthread_cond_timedwait(&srv->sealer_wake, &srv->sealer_lock, &until);
	}
	pthread_mutex_unlock(&srv->sealer_lock);
	PQfinish(pg);
	return NULL;
}

bool
audit_sealer_start(struct server *srv)
{
	pthread_mutex_init(&srv->sealer_lock, NULL);
	pthread_cond_init(&srv->sealer_wake, NULL);
	srv->sealer_running = true;
	if (pthread_create(&srv->sealer, NULL, sealer_main, srv) != 0) {
		srv->sealer_running = false;
		return false;
	}
	return true;
}

void
audit_sealer_stop(struct server *srv)
{
	pthread_mutex_lock(&srv->sealer_lock);
	srv->sealer_running = false;
	pthread_cond_signal(&srv->sealer_wake);
	pthread_mutex_unlock(&srv->sealer_lock);
	pthread_join(srv->sealer, NULL);
	pthread_cond_destroy(&srv->sealer_wake);
	pthread_mutex_destroy(&srv->sealer_lock);
}

int
audit_verify_print(PGconn *pg, void *out)
{
	FILE *f = out;
	const char *all[] = { "2147483647" };
	PGresult *res =
	    PQexecParams(pg, sql_statements[SQL_AUDIT_SEAL].text, 1, NULL, all, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	if (!ok)
		return -1;
	const char *max[] = { "100" };
	res = PQexecParams(pg, sql_statements[SQL_AUDIT_VERIFY].text, 1, NULL, max, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return -1;
	}
	int problems = PQntuples(res);
	for (int i = 0; i < problems; i++)
		fprintf(f, "audit entry seq %s (id %s): %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	PQclear(res);
	res = PQexecParams(pg, sql_statements[SQL_AUDIT_COUNTS].text, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		fprintf(f, "%s entries sealed, %s pending: %s\n", PQgetvalue(res, 0, 0),
		    PQgetvalue(res, 0, 1), problems ? "the chain is BROKEN" : "the chain is whole");
	PQclear(res);
	return problems ? 1 : 0;
}
