/*
 * db.h - a fixed pool of libpq connections, one per worker thread, each
 * with every statement of sql.h prepared. A connection that breaks is reset
 * (at most every DB_RETRY_MS) and re-prepared; one left inside a
 * transaction is rolled back when it returns to the pool.
 */
#ifndef TIAOJIE_DB_H
#define TIAOJIE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "sql.h"

struct db_pool;
struct db_conn;
struct request;

/*
 * Opens size connections to url. Returns NULL with a reason in err when
 * the first connection cannot be opened or a statement cannot be prepared.
 */
struct db_pool *db_pool_new(const char *url, unsigned size, char *err, size_t errlen);
void db_pool_free(struct db_pool *pool);
unsigned db_pool_size(const struct db_pool *pool);
unsigned db_pool_in_use(struct db_pool *pool);

/* Takes a connection, waiting while all are in use. Never NULL. */
struct db_conn *db_acquire(struct db_pool *pool);
/* Gives it back, rolling back a transaction left open. */
void db_release(struct db_pool *pool, struct db_conn *c);

/*
 * Runs prepared statement id with text parameters (NULL for SQL NULL).
 * Returns a result the caller must PQclear(), or NULL when the database
 * cannot be reached (the connection is then marked for reset). A result
 * with an error status is returned as is.
 */
PGresult *db_exec(struct db_conn *c, enum sql_id id, const char *const *params);

/*
 * A connection to no database: every statement on it fails as when the
 * database is down. The fuzz targets run handlers on it (as r->db), which
 * answer 503 at their first statement once their input has passed its
 * checks. Never returned to a pool.
 */
struct db_conn *db_conn_offline(void);

/* The libpq connection under c (for tools that run their own statements). */
PGconn *db_conn_pg(struct db_conn *c);

/*
 * Runs a fixed statement without parameters or results (BEGIN, COMMIT,
 * ROLLBACK) on c. False when it did not succeed.
 */
bool db_run_fixed(struct db_conn *c, const char *sql);

/* Opens one connection with the pool's settings (for the CLI). NULL on error. */
PGconn *db_connect(const char *url, char *err, size_t errlen);

/*
 * Runs id for request r on the request's connection (taken from the pool
 * on first use, returned when the request completes). On success returns
 * a PGRES_TUPLES_OK or PGRES_COMMAND_OK result freed with the request.
 * Otherwise replies 503 (database unavailable) or 500 and returns NULL;
 * a caller that maps SQLSTATEs itself uses db_exec_or_reply().
 */
PGresult *db_query_or_reply(struct request *r, enum sql_id id, const char *const *params);

/* The request's connection, taken from the pool on first use. */
struct db_conn *db_request_conn(struct request *r);

/* As db_query_or_reply, but a statement error is returned, not answered. */
PGresult *db_exec_or_reply(struct request *r, enum sql_id id, const char *const *params);

/*
 * BEGIN and COMMIT on the request's connection; false after replying 503.
 * A transaction left open is rolled back when the request ends. A COMMIT
 * lost with the connection may have committed, and is answered so.
 */
bool db_begin_or_reply(struct request *r);
bool db_commit_or_reply(struct request *r);

/*
 * A PostgreSQL array literal of n values ("{...}"), each quoted and
 * escaped; a NULL item is NULL. In arena a.
 */
struct arena;
const char *db_array_literal(struct arena *a, const char *const *items, size_t n);

/* Replies status with the JSON text PostgreSQL built in row 0, column 0 of res. */
void db_reply_json(struct request *r, unsigned status, const PGresult *res);

#endif
