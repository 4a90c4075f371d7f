/*
 * db.c - the connection pool and the statement runner. Connections are
 * owned by the pool; a request borrows one for its lifetime. Only prepared,
 * parameterised statements from sql.h are ever sent.
 */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "http.h"
#include "log.h"
#include "reply.h"

#define DB_RETRY_MS 500

#define SQL_ROW(id, group, retry, nparams, text) [id] = { #id, group, retry, nparams, text },
const struct sql_statement sql_statements[SQL__COUNT] = { SQL_STATEMENTS(SQL_ROW) };
#undef SQL_ROW

struct db_conn {
	PGconn *pg;
	bool busy;
	bool broken; /* reset before the next statement */
	struct timespec last_reset;
};

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned size;
	unsigned in_use;
	struct db_conn *conns;
};

/* Server notices (a shutdown warning, say) become log lines, not raw stderr. */
static void
notice_to_log(void *arg, const char *message)
{
	(void)arg;
	char line[512];
	snprintf(line, sizeof(line), "%s", message);
	line[strcspn(line, "\n")] = '\0';
	log_msg(LOG_WARN, "database: %s", line);
}

PGconn *
db_connect(const char *url, char *err, size_t errlen)
{
	/* Our defaults first: settings in the URL override them. */
	const char *keys[] = { "connect_timeout", "application_name", "client_encoding", "options",
		"dbname", NULL };
	const char *values[] = { "5", "tiaojie", "UTF8",
		"-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000 "
		"-c client_min_messages=warning -c TimeZone=UTC",
		url, NULL };
	PGconn *pg = PQconnectdbParams(keys, values, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to the database: %s", PQerrorMessage(pg));
		/* libpq messages end with a newline. */
		err[strcspn(err, "\n")] = '\0';
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
	return pg;
}

static bool
prepare_all(PGconn *pg, char *err, size_t errlen)
{
	PGresult *role = PQexec(pg, SQL_SET_ROLE);
	bool role_ok = PQresultStatus(role) == PGRES_COMMAND_OK;
	if (!role_ok) {
		snprintf(err, errlen, "cannot take the server's database role (%s): %s",
		    SQL_SET_ROLE, PQerrorMessage(pg));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(role);
	if (!role_ok)
		return false;
	for (int i = 0; i < SQL__COUNT; i++) {
		const struct sql_statement *s = &sql_statements[i];
		if (s->group != SQL_SERVE)
			continue;
		PGresult *res = PQprepare(pg, s->name, s->text, s->nparams, NULL);
		bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok) {
			snprintf(err, errlen, "cannot prepare %s: %s", s->name, PQerrorMessage(pg));
			err[strcspn(err, "\n")] = '\0';
		}
		PQclear(res);
		if (!ok)
			return false;
	}
	return true;
}

struct db_pool *
db_pool_new(const char *url, unsigned size, char *err, size_t errlen)
{
	struct db_pool *pool = xcalloc(1, sizeof(*pool));
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	pool->size = size;
	pool->conns = xcalloc(size, sizeof(*pool->conns));
	for (unsigned i = 0; i < size; i++) {
		struct db_conn *c = &pool->conns[i];
		c->pg = db_connect(url, err, errlen);
		if (c->pg == NULL || !prepare_all(c->pg, err, errlen)) {
			db_pool_free(pool);
			return NULL;
		}
	}
	return pool;
}

void
db_pool_free(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	for (unsigned i = 0; i < pool->size; i++)
		PQfinish(pool->conns[i].pg);
	free(pool->conns);
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

struct db_conn *
db_conn_offline(void)
{
	/* No PGconn: libpq answers every call on NULL as on a connection that is down. */
	return xcalloc(1, sizeof(struct db_conn));
}

PGconn *
db_conn_pg(struct db_conn *c)
{
	return c->pg;
}

bool
db_run_fixed(struct db_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pg, sql);
	bool good = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return good;
}

unsigned
db_pool_size(const struct db_pool *pool)
{
	return pool->size;
}

unsigned
db_pool_in_use(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	unsigned n = pool->in_use;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

struct db_conn *
db_acquire(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		for (unsigned i = 0; i < pool->size; i++) {
			struct db_conn *c = &pool->conns[i];
			if (!c->busy) {
				c->busy = true;
				pool->in_use++;
				pthread_mutex_unlock(&pool->lock);
				return c;
			}
		}
		pthread_cond_wait(&pool->freed, &pool->lock);
	}
}

void
db_release(struct db_pool *pool, struct db_conn *c)
{
	if (!c->broken) {
		PGTransactionStatusType ts = PQtransactionStatus(c->pg);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			if (!db_run_fixed(c, "ROLLBACK"))
				c->broken = true;
		} else if (ts != PQTRANS_IDLE) {
			c->broken = true;
		}
	}
	pthread_mutex_lock(&pool->lock);
	c->busy = false;
	pool->in_use--;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

static long
ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Resets a broken connection, at most every DB_RETRY_MS. */
static bool
revive(struct db_conn *c)
{
	if (!c->broken && PQstatus(c->pg) == CONNECTION_OK)
		return true;
	c->broken = true;
	if (c->last_reset.tv_sec != 0 && ms_since(&c->last_reset) < DB_RETRY_MS)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &c->last_reset);
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return false;
	char err[256];
	if (!prepare_all(c->pg, err, sizeof(err))) {
		log_msg(LOG_ERROR, "database reconnected but %s", err);
		return false;
	}
	c->broken = false;
	log_msg(LOG_INFO, "database connection restored");
	return true;
}

/*
 * An error that means the session is gone even if libpq has not noticed
 * yet: class 08 (connection exception), 57P (the server shutting down), or
 * an error of libpq's own, which has no SQLSTATE ("server closed the
 * connection unexpectedly" after a crash).
 */
static bool
connection_lost(const PGresult *res)
{
	if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		return false;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state == NULL || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0;
}

PGresult *
db_exec(struct db_conn *c, enum sql_id id, const char *const *params)
{
	const struct sql_statement *s = &sql_statements[id];
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!revive(c))
			return NULL;
		bool in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
		PGresult *res = PQexecPrepared(c->pg, s->name, s->nparams, params, NULL, NULL, 0);
		if (res != NULL && PQstatus(c->pg) == CONNECTION_OK && !connection_lost(res))
			return res;
		PQclear(res);
		if (!c->broken)
			log_msg(LOG_WARN, "database connection lost: %s", PQerrorMessage(c->pg));
		c->broken = true;
		/* Only a read outside a transaction may run again. */
		if (!s->retry || in_tx)
			return NULL;
		c->last_reset.tv_sec = 0;
	}
	return NULL;
}

struct db_conn *
db_request_conn(struct request *r)
{
	if (r->db == NULL)
		r->db = db_acquire(r->srv->pool);
	return r->db;
}

static void
clear_result(void *res)
{
	PQclear(res);
}

PGresult *
db_exec_or_reply(struct request *r, enum sql_id id, const char *const *params)
{
	PGresult *res = db_exec(db_request_conn(r), id, params);
	if (res == NULL) {
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "The database is not reachable; try again shortly.");
		return NULL;
	}
	arena_defer(r->arena, clear_result, res);
	return res;
}

PGresult *
db_query_or_reply(struct request *r, enum sql_id id, const char *const *params)
{
	PGresult *res = db_exec_or_reply(r, id, params);
	if (res == NULL)
		return NULL;
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		log_msg(LOG_ERROR, "request %s: %s failed: SQLSTATE %s: %s", r->id,
		    sql_statements[id].name, state ? state : "?", PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The request could not be completed; it has been logged as %s.", r->id);
		return NULL;
	}
	return res;
}

void
db_reply_json(struct request *r, unsigned status, const PGresult *res)
{
	reply_data(
	    r, status, "application/json", PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

/* Replies 503 for a write that stored nothing (unless a reply went already); false. */
static bool
nothing_stored(struct request *r)
{
	if (!reply_sent(r))
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "The database is not reachable; nothing was stored.");
	return false;
}

bool
db_begin_or_reply(struct request *r)
{
	return db_run_fixed(db_request_conn(r), "BEGIN") || nothing_stored(r);
}

/*
 * A COMMIT that fails with its connection may have committed: the database
 * can make the transaction durable and go before it answers. Only a COMMIT
 * refused on a live connection is known to have stored nothing.
 */
bool
db_commit_or_reply(struct request *r)
{
	struct db_conn *c = db_request_conn(r);
	PGresult *res = PQexec(c->pg, "COMMIT");
	bool good = PQresultStatus(res) == PGRES_COMMAND_OK;
	bool lost = !good && (PQstatus(c->pg) != CONNECTION_OK || connection_lost(res));
	PQclear(res);
	if (good)
		return true;
	if (!lost)
		return nothing_stored(r);
	if (!reply_sent(r))
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "The connection to the database was lost as the change was committed, so it "
		    "may have been stored: look for it before making it again.");
	return false;
}

const char *
db_array_literal(struct arena *a, const char *const *items, size_t n)
{
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += items[i] ? 2 * strlen(items[i]) + 3 : 5;
	char *out = arena_alloc(a, len), *o = out;
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		if (items[i] == NULL) {
			memcpy(o, "NULL", 4);
			o += 4;
			continue;
		}
		*o++ = '"';
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}
