/*
 * baseline.c - the ceiling for `make bench`: the least a server can do to
 * answer "read a case" and "create a case" as Tiaojie does, on the same
 * machine, database and data. libmicrohttpd (the same threading: a pool
 * of worker threads polling), libpq (one connection per thread, the same
 * prepared statements: their text is Tiaojie's own, from server/src/sql.h)
 * and libsodium (the same key derivation, unwrapping and field format);
 * no router, no JSON library, no arena, no logging, no metrics, no
 * validation beyond what the statements need.
 *
 *   GET /api/v1/cases/{id}   token check by hash (SQL_AUTH_SESSION), the case
 *                            (SQL_CASE_GET), its data key (SQL_DATAKEY_GET),
 *                            every sealed field opened, the read audited
 *                            (SQL_AUDIT_READ); the document answered
 *   POST /api/v1/cases       token check, SQL_CASE_PLACE, a data key
 *                            (SQL_DATAKEY_NEXT_ID, SQL_DATAKEY_INSERT), the
 *                            case's id, BEGIN, SQL_CASE_CREATE, the parties'
 *                            ids and SQL_PARTIES_INSERT (two parties, sealed,
 *                            with blind indexes), the duplicate check
 *                            (SQL_CASE_OWN_PARTIES, SQL_CASE_DUP_CANDIDATES,
 *                            SQL_CASE_DUP_REFERRALS, opening what they find),
 *                            the read as above, COMMIT; 201 with the case
 *
 * The body of a create is read but only its committee_id is used: the
 * parties are made up here (random phones and ID numbers of the same
 * shapes as the load script's).
 *
 * Environment: DATABASE_URL, TIAOJIE_KEY_FILE, BASELINE_PORT (8081),
 * BASELINE_WORKERS (2).
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql.h"

#define SQL_ROW(id, group, retry, nparams, text) [id] = { #id, group, retry, nparams, text },
static const struct sql_statement stmts[SQL__COUNT] = { SQL_STATEMENTS(SQL_ROW) };
#undef SQL_ROW

static const enum sql_id used[] = { SQL_AUTH_SESSION, SQL_CASE_GET, SQL_DATAKEY_GET, SQL_AUDIT_READ,
	SQL_CASE_PLACE, SQL_DATAKEY_NEXT_ID, SQL_DATAKEY_INSERT, SQL_NEXT_IDS, SQL_CASE_CREATE,
	SQL_PARTIES_INSERT, SQL_CASE_OWN_PARTIES, SQL_CASE_DUP_CANDIDATES, SQL_CASE_DUP_REFERRALS };

#define KEY_BYTES   32
#define WRAPPED     (1 + 24 + KEY_BYTES + 16)
#define OVERHEAD    (1 + 24 + 16)
#define MAX_VERSION 16

static unsigned char kek[MAX_VERSION + 1][KEY_BYTES];
static bool have_version[MAX_VERSION + 1];
static unsigned newest;
static unsigned char blind_key[3][KEY_BYTES];
static const char *database_url;
static atomic_ulong request_counter;

/* --- keys: TIAOJIE_KEY_FILE, as crypt.c reads and derives them --------------------- */

static bool
load_keys(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char line[256];
	bool index = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *colon = strchr(line, ':');
		unsigned char key[KEY_BYTES];
		size_t got = 0;
		if (colon == NULL ||
		    sodium_base642bin(key, sizeof(key), colon + 1, strlen(colon + 1), NULL, &got,
			NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
		    got != KEY_BYTES)
			continue;
		*colon = '\0';
		if (strcmp(line, "index") == 0) {
			for (int kind = 1; kind <= 2; kind++)
				crypto_kdf_derive_from_key(
				    blind_key[kind], KEY_BYTES, (uint64_t)kind, "tjblind1", key);
			index = true;
		} else if (line[0] == 'v') {
			unsigned v = (unsigned)strtoul(line + 1, NULL, 10);
			if (v >= 1 && v <= MAX_VERSION) {
				crypto_kdf_derive_from_key(kek[v], KEY_BYTES, 1, "tjwrap01", key);
				have_version[v] = true;
				newest = v > newest ? v : newest;
			}
		}
		sodium_memzero(key, sizeof(key));
	}
	fclose(f);
	return index && newest > 0;
}

static void
field_ad(char *ad, size_t len, const char *table, const char *column, const char *row)
{
	snprintf(ad, len, "tiaojie:f:1:%zu:%s:%zu:%s:%s", strlen(table), table, strlen(column),
	    column, row);
}

/* plain sealed as "\x..." (bytea text) into out (2 * (len + OVERHEAD) + 3 bytes). */
static void
seal(const unsigned char *dek, const char *table, const char *column, const char *row,
    const char *plain, char *out)
{
	char ad[160];
	unsigned char ct[512];
	size_t len = strlen(plain);
	unsigned long long clen;
	field_ad(ad, sizeof(ad), table, column, row);
	ct[0] = 1;
	randombytes_buf(ct + 1, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct + 25, &clen, (const unsigned char *)plain,
	    len, (const unsigned char *)ad, strlen(ad), NULL, ct + 1, dek);
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 2 * (len + OVERHEAD) + 1, ct, len + OVERHEAD);
}

/* Opens hex (n hex digits after "\x") sealed for table.column of row into plain. */
static bool
open_field(const unsigned char *dek, const char *table, const char *column, const char *row,
    const char *hex, size_t n, char *plain, size_t cap)
{
	unsigned char ct[4096];
	size_t len = 0;
	unsigned long long plen;
	char ad[160];
	if (n / 2 > sizeof(ct) || sodium_hex2bin(ct, sizeof(ct), hex, n, NULL, &len, NULL) != 0 ||
	    len < OVERHEAD || len - OVERHEAD >= cap || ct[0] != 1)
		return false;
	field_ad(ad, sizeof(ad), table, column, row);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain, &plen, NULL, ct + 25,
		len - 25, (const unsigned char *)ad, strlen(ad), ct + 1, dek) != 0)
		return false;
	plain[plen] = '\0';
	return true;
}

static unsigned
blind(int kind, const char *norm)
{
	unsigned char h[16];
	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)norm, strlen(norm), blind_key[kind], KEY_BYTES);
	return ((unsigned)h[0] << 16 | (unsigned)h[1] << 8 | h[2]);
}

/* --- one database connection per worker thread --------------------------------------- */

static _Thread_local PGconn *conn;

static PGconn *
db(void)
{
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	PQfinish(conn);
	const char *keys[] = { "dbname", "options", NULL };
	const char *values[] = { database_url, "-c TimeZone=UTC", NULL };
	conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "baseline: %s", PQerrorMessage(conn));
		return NULL;
	}
	PQclear(PQexec(conn, SQL_SET_ROLE));
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		const struct sql_statement *s = &stmts[used[i]];
		PGresult *res = PQprepare(conn, s->name, s->text, s->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			fprintf(stderr, "baseline: %s: %s", s->name, PQerrorMessage(conn));
		PQclear(res);
	}
	return conn;
}

static PGresult *
run(enum sql_id id, const char *const *params)
{
	const struct sql_statement *s = &stmts[id];
	return PQexecPrepared(conn, s->name, s->nparams, params, NULL, NULL, 0);
}

static bool
ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* --- requests -------------------------------------------------------------------- */

struct call {
	char *body;
	size_t len, cap;
	/* the caller, once authenticated */
	char user[24], username[72], role[16], mediator[24], request_id[24], addr[64];
};

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status, const char *body, size_t len, const char *etag)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (etag != NULL)
		MHD_add_response_header(r, "ETag", etag);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
fail(struct MHD_Connection *c, unsigned status)
{
	static const char body[] = "{\"status\": \"error\"}";
	return answer(c, status, body, sizeof(body) - 1, NULL);
}

/* The audit context: who, request id, address, purpose. */
static void
context(const struct call *k, const char *p[6])
{
	p[0] = k->user;
	p[1] = k->username;
	p[2] = k->role;
	p[3] = k->request_id;
	p[4] = k->addr[0] ? k->addr : NULL;
	p[5] = NULL;
}

static bool
authenticate(struct MHD_Connection *c, struct call *k)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != 47)
		return false;
	unsigned char digest[32];
	char hex[65];
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)h + 7, 47, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	const char *p[] = { hex, "1800", "30" };
	PGresult *res = run(SQL_AUTH_SESSION, p);
	bool good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (good) {
		snprintf(k->user, sizeof(k->user), "%s", PQgetvalue(res, 0, 0));
		snprintf(k->username, sizeof(k->username), "%s", PQgetvalue(res, 0, 1));
		snprintf(k->role, sizeof(k->role), "%s", PQgetvalue(res, 0, 2));
		snprintf(k->mediator, sizeof(k->mediator), "%s",
		    PQgetisnull(res, 0, 6) ? "0" : PQgetvalue(res, 0, 6));
	}
	PQclear(res);
	snprintf(
	    k->request_id, sizeof(k->request_id), "b%lu", atomic_fetch_add(&request_counter, 1));
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, k->addr,
		    sizeof(k->addr));
	return good;
}

/* Unwraps data key id (text) into dek. */
static bool
data_key(const char *id, unsigned char *dek)
{
	const char *p[] = { id };
	PGresult *res = run(SQL_DATAKEY_GET, p);
	bool good = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 1);
	if (good) {
		unsigned v = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		unsigned char w[WRAPPED];
		size_t got = 0;
		char ad[64];
		unsigned long long plen;
		snprintf(ad, sizeof(ad), "tiaojie:dk:1:%u:%s", v, id);
		good = v <= MAX_VERSION && have_version[v] &&
		    sodium_hex2bin(w, sizeof(w), PQgetvalue(res, 0, 1) + 2,
			strlen(PQgetvalue(res, 0, 1) + 2), NULL, &got, NULL) == 0 &&
		    got == WRAPPED &&
		    crypto_aead_xchacha20poly1305_ietf_decrypt(dek, &plen, NULL, w + 25,
			KEY_BYTES + 16, (const unsigned char *)ad, strlen(ad), w + 1, kek[v]) == 0;
	}
	PQclear(res);
	return good;
}

struct text {
	char *p;
	size_t len, cap;
};

static void
add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (t->p == NULL)
			abort();
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/*
 * The case document with every sealed value opened: walks PostgreSQL's JSON
 * text, knowing which object each value is in (the case, its outcome, a
 * party, a session, a follow-up) and the row's id. Sets the fields opened.
 */
static bool
open_document(const char *doc, const char *case_id, const unsigned char *dek, struct text *out,
    char *fields, size_t fields_len)
{
	const char *table = "cases", *p = doc, *from = doc;
	char row[24], key[32];
	snprintf(row, sizeof(row), "%s", case_id);
	fields[0] = '\0';
	while ((p = strchr(p, '"')) != NULL) {
		const char *end = strchr(p + 1, '"');
		if (end == NULL)
			break;
		size_t klen = (size_t)(end - p - 1);
		const char *v = end + 1;
		while (*v == ' ')
			v++;
		if (*v != ':' || klen >= sizeof(key)) {
			p = end + 1;
			continue;
		}
		memcpy(key, p + 1, klen);
		key[klen] = '\0';
		v++;
		while (*v == ' ')
			v++;
		if (strcmp(key, "parties") == 0)
			table = "parties";
		else if (strcmp(key, "sessions") == 0)
			table = "case_sessions";
		else if (strcmp(key, "followups") == 0)
			table = "followups";
		else if (strcmp(key, "id") == 0 && strcmp(table, "cases") != 0)
			snprintf(row, sizeof(row), "%lld", strtoll(v, NULL, 10));
		if (strncmp(v, "\"\\\\x", 4) != 0) {
			p = v;
			continue;
		}
		const char *hex = v + 4, *close = strchr(hex, '"');
		char plain[4096];
		if (close == NULL ||
		    !open_field(
			dek, table, key, row, hex, (size_t)(close - hex), plain, sizeof(plain)))
			return false;
		add(out, from, (size_t)(v - from));
		add(out, "\"", 1);
		add(out, plain, strlen(plain));
		add(out, "\"", 1);
		from = p = close + 1;
		/* Named as the service's audit entries name them. */
		char name[64];
		snprintf(name, sizeof(name), "%s%s%s",
		    strcmp(table, "cases") != 0
			? (strcmp(table, "case_sessions") == 0 ? "sessions" : table)
			: strcmp(key, "agreement") == 0 ? "outcome"
							: "",
		    strcmp(table, "cases") != 0 || strcmp(key, "agreement") == 0 ? "." : "", key);
		if (strstr(fields, name) == NULL &&
		    strlen(fields) + strlen(name) + 2 < fields_len) {
			strcat(fields, fields[0] ? "," : "");
			strcat(fields, name);
		}
	}
	add(out, from, strlen(from));
	return true;
}

/* Reads case id as a mediator reads it, audited; the answer in out, the version in etag. */
static bool
read_case(const struct call *k, const char *id, struct text *out, char *etag, size_t etag_len)
{
	const char *p[] = { id, NULL, k->mediator };
	PGresult *res = run(SQL_CASE_GET, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		return false;
	}
	unsigned char dek[KEY_BYTES];
	char fields[512] = "";
	bool good = data_key(PQgetvalue(res, 0, 1), dek) &&
	    open_document(PQgetvalue(res, 0, 0), id, dek, out, fields, sizeof(fields));
	sodium_memzero(dek, sizeof(dek));
	snprintf(etag, etag_len, "\"%s\"", PQgetvalue(res, 0, 2));
	PQclear(res);
	if (!good)
		return false;
	char list[520];
	snprintf(list, sizeof(list), "{%s}", fields);
	const char *a[10];
	context(k, a);
	a[6] = "case.read";
	a[7] = "case";
	a[8] = id;
	a[9] = list;
	res = run(SQL_AUDIT_READ, a);
	good = ok(res);
	PQclear(res);
	return good;
}

static enum MHD_Result
get_case(struct MHD_Connection *c, struct call *k, const char *id)
{
	struct text out = { 0 };
	char etag[24];
	enum MHD_Result ret = read_case(k, id, &out, etag, sizeof(etag))
	    ? answer(c, 200, out.p, out.len, etag)
	    : fail(c, 404);
	free(out.p);
	return ret;
}

/* Phones and ID numbers of the case's parties, opened and normalised (duplicates check). */
static bool
duplicates(const struct call *k, const char *id)
{
	const char *p[] = { id };
	PGresult *own = run(SQL_CASE_OWN_PARTIES, p);
	if (PQresultStatus(own) != PGRES_TUPLES_OK) {
		PQclear(own);
		return false;
	}
	unsigned char dek[KEY_BYTES];
	char phones[4][64];
	int nphones = 0;
	bool good = PQntuples(own) == 0 || data_key(PQgetvalue(own, 0, 0), dek);
	for (int i = 0; good && i < PQntuples(own) && nphones < 4; i++) {
		char plain[64];
		const char *hex = PQgetvalue(own, i, 2);
		if (!PQgetisnull(own, i, 2) &&
		    open_field(dek, "parties", "phone", PQgetvalue(own, i, 1), hex + 2,
			strlen(hex + 2), plain, sizeof(plain)))
			snprintf(phones[nphones++], sizeof(phones[0]), "%s", plain);
		hex = PQgetvalue(own, i, 3);
		if (!PQgetisnull(own, i, 3))
			open_field(dek, "parties", "id_number", PQgetvalue(own, i, 1), hex + 2,
			    strlen(hex + 2), plain, sizeof(plain));
	}
	PQclear(own);
	const char *q[] = { id, NULL, k->mediator };
	PGresult *res = run(SQL_CASE_DUP_CANDIDATES, q);
	good = good && PQresultStatus(res) == PGRES_TUPLES_OK;
	for (int i = 0; good && i < PQntuples(res); i++) {
		char plain[64];
		unsigned char other[KEY_BYTES];
		if (!data_key(PQgetvalue(res, i, 5), other))
			continue;
		const char *hex = PQgetvalue(res, i, 7);
		if (!PQgetisnull(res, i, 7))
			open_field(other, "parties", "phone", PQgetvalue(res, i, 6), hex + 2,
			    strlen(hex + 2), plain, sizeof(plain));
		sodium_memzero(other, sizeof(other));
	}
	PQclear(res);
	if (good && nphones > 0) {
		res = run(SQL_CASE_DUP_REFERRALS, q);
		good = PQresultStatus(res) == PGRES_TUPLES_OK;
		for (int i = 0; good && i < PQntuples(res); i++) {
			char plain[64];
			unsigned char other[KEY_BYTES];
			if (!data_key(PQgetvalue(res, i, 4), other))
				continue;
			const char *hex = PQgetvalue(res, i, 5);
			open_field(other, "referrals", "caller_phone", PQgetvalue(res, i, 0),
			    hex + 2, strlen(hex + 2), plain, sizeof(plain));
			sodium_memzero(other, sizeof(other));
		}
		PQclear(res);
	}
	sodium_memzero(dek, sizeof(dek));
	return good;
}

/* A made-up mobile number and a resident ID number with its check digit. */
static void
person(char phone[16], char idn[20])
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	char t[40];
	snprintf(phone, 16, "139%08u", randombytes_uniform(100000000));
	snprintf(t, sizeof(t), "450202%04u%02u%02u%03u", 1950 + randombytes_uniform(50),
	    1 + randombytes_uniform(12), 1 + randombytes_uniform(28), randombytes_uniform(1000));
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += (t[i] - '0') * weight[i];
	memcpy(idn, t, 17);
	idn[17] = "10X98765432"[sum % 11];
	idn[18] = '\0';
}

static bool
create_case(const struct call *k, const char *committee, char *id, size_t id_len)
{
	const char *place_p[] = { committee, NULL, k->mediator, k->mediator, NULL, NULL };
	PGresult *place = run(SQL_CASE_PLACE, place_p);
	if (PQresultStatus(place) != PGRES_TUPLES_OK || PQntuples(place) != 1 ||
	    strcmp(PQgetvalue(place, 0, 2), "t") != 0 ||
	    strcmp(PQgetvalue(place, 0, 3), "t") != 0 ||
	    strcmp(PQgetvalue(place, 0, 4), "t") != 0) {
		PQclear(place);
		return false;
	}
	/* The data key, as datakey_create() makes it. */
	PGresult *res = run(SQL_DATAKEY_NEXT_ID, NULL);
	char dk[24], version[8], wrapped_hex[2 * WRAPPED + 3] = "\\x";
	snprintf(dk, sizeof(dk), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	unsigned char dek[KEY_BYTES], w[WRAPPED];
	char ad[64];
	unsigned long long clen;
	randombytes_buf(dek, sizeof(dek));
	snprintf(ad, sizeof(ad), "tiaojie:dk:1:%u:%s", newest, dk);
	w[0] = 1;
	randombytes_buf(w + 1, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(w + 25, &clen, dek, KEY_BYTES,
	    (const unsigned char *)ad, strlen(ad), NULL, w + 1, kek[newest]);
	sodium_bin2hex(wrapped_hex + 2, sizeof(wrapped_hex) - 2, w, sizeof(w));
	snprintf(version, sizeof(version), "%u", newest);
	const char *dk_p[] = { dk, version, wrapped_hex };
	res = run(SQL_DATAKEY_INSERT, dk_p);
	bool good = ok(res);
	PQclear(res);
	const char *seq_p[] = { "cases_id_seq", "1" };
	res = run(SQL_NEXT_IDS, seq_p);
	snprintf(id, id_len, "%lld", strtoll(PQgetvalue(res, 0, 0) + 1, NULL, 10));
	PQclear(res);
	char summary[1024];
	seal(dek, "cases", "summary", id,
	    "双方因离婚后子女抚养和共同财产分割发生纠纷，申请人请求调解。", summary);

	PQclear(PQexec(conn, "BEGIN"));
	const char *ctx[6];
	context(k, ctx);
	const char *cp[] = { ctx[0], ctx[1], ctx[2], ctx[3], ctx[4], ctx[5], id, dk, committee,
		PQgetvalue(place, 0, 0), PQgetisnull(place, 0, 1) ? NULL : PQgetvalue(place, 0, 1),
		"walk_in", "divorce", summary, NULL, NULL, NULL, NULL, k->mediator, NULL, NULL,
		NULL };
	res = run(SQL_CASE_CREATE, cp);
	good = good && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	PQclear(res);
	PQclear(place);

	/* Two parties, sealed and indexed as api_case_parties.c does. */
	const char *pseq[] = { "parties_id_seq", "2" };
	res = run(SQL_NEXT_IDS, pseq);
	long long p1 = 0, p2 = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		sscanf(PQgetvalue(res, 0, 0), "{%lld,%lld}", &p1, &p2);
	PQclear(res);
	char ids[2][24], phone[2][16], idn[2][20], pb[2][16], ib[2][16];
	char name[2][200], sphone[2][200], sidn[2][200], saddr[2][300];
	const char *names[] = { "王秀英", "李建国" };
	for (int i = 0; i < 2; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%lld", i ? p2 : p1);
		person(phone[i], idn[i]);
		seal(dek, "parties", "name", ids[i], names[i], name[i]);
		seal(dek, "parties", "phone", ids[i], phone[i], sphone[i]);
		seal(dek, "parties", "id_number", ids[i], idn[i], sidn[i]);
		seal(dek, "parties", "address", ids[i], "城中区人民路12号3栋2单元", saddr[i]);
		snprintf(pb[i], sizeof(pb[i]), "%u", blind(1, phone[i]));
		snprintf(ib[i], sizeof(ib[i]), "%u", blind(2, idn[i]));
	}
	sodium_memzero(dek, sizeof(dek));
	char cols[11][700];
	snprintf(cols[0], sizeof(cols[0]), "{%s,%s}", ids[0], ids[1]);
	snprintf(cols[1], sizeof(cols[1]), "{applicant,respondent}");
	snprintf(cols[2], sizeof(cols[2]), "{\"\\%s\",\"\\%s\"}", name[0], name[1]);
	snprintf(cols[3], sizeof(cols[3]), "{\"\\%s\",\"\\%s\"}", sidn[0], sidn[1]);
	snprintf(cols[4], sizeof(cols[4]), "{\"\\%s\",\"\\%s\"}", sphone[0], sphone[1]);
	snprintf(cols[5], sizeof(cols[5]), "{\"\\%s\",\"\\%s\"}", saddr[0], saddr[1]);
	snprintf(cols[6], sizeof(cols[6]), "{female,male}");
	snprintf(cols[7], sizeof(cols[7]), "{1985,1983}");
	snprintf(cols[8], sizeof(cols[8]), "{NULL,配偶}");
	snprintf(cols[9], sizeof(cols[9]), "{%s,%s}", pb[0], pb[1]);
	snprintf(cols[10], sizeof(cols[10]), "{%s,%s}", ib[0], ib[1]);
	const char *pp[] = { id, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
		cols[7], cols[8], cols[9], cols[10] };
	res = run(SQL_PARTIES_INSERT, pp);
	good = good && ok(res);
	PQclear(res);
	return good && duplicates(k, id);
}

static enum MHD_Result
post_case(struct MHD_Connection *c, struct call *k)
{
	const char *at = k->body ? strstr(k->body, "\"committee_id\"") : NULL;
	char committee[24], id[24], etag[24];
	if (at == NULL)
		return fail(c, 400);
	at = strchr(at + 14, ':');
	snprintf(committee, sizeof(committee), "%lld", at ? strtoll(at + 1, NULL, 10) : 0LL);
	struct text out = { 0 };
	bool good =
	    create_case(k, committee, id, sizeof(id)) && read_case(k, id, &out, etag, sizeof(etag));
	PGresult *res = PQexec(conn, good ? "COMMIT" : "ROLLBACK");
	good = good && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	enum MHD_Result ret = good ? answer(c, 201, out.p, out.len, etag) : fail(c, 500);
	free(out.p);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)cls;
	(void)version;
	struct call *k = *state;
	if (k == NULL) {
		k = calloc(1, sizeof(*k));
		*state = k;
		return k ? MHD_YES : MHD_NO;
	}
	if (*upload_size > 0) {
		if (k->len + *upload_size + 1 > k->cap) {
			k->cap = (k->len + *upload_size + 1) * 2;
			k->body = realloc(k->body, k->cap);
			if (k->body == NULL)
				return MHD_NO;
		}
		memcpy(k->body + k->len, upload, *upload_size);
		k->len += *upload_size;
		k->body[k->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	if (db() == NULL)
		return fail(c, 503);
	if (!authenticate(c, k))
		return fail(c, 401);
	if (strcmp(method, "GET") == 0 && strncmp(url, "/api/v1/cases/", 14) == 0)
		return get_case(c, k, url + 14);
	if (strcmp(method, "POST") == 0 && strcmp(url, "/api/v1/cases") == 0)
		return post_case(c, k);
	return fail(c, 404);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	struct call *k = *state;
	if (k != NULL) {
		free(k->body);
		free(k);
	}
	*state = NULL;
}

int
main(void)
{
	database_url = getenv("DATABASE_URL");
	const char *keyfile = getenv("TIAOJIE_KEY_FILE");
	const char *port = getenv("BASELINE_PORT"), *workers = getenv("BASELINE_WORKERS");
	if (database_url == NULL || keyfile == NULL || sodium_init() < 0 || !load_keys(keyfile)) {
		fprintf(stderr, "baseline: set DATABASE_URL and TIAOJIE_KEY_FILE (a key file)\n");
		return 2;
	}
	struct sockaddr_in addr = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)(port ? atoi(port) : 8081)) };
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL,
	    NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(workers ? atoi(workers) : 2),
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 1000u,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "baseline: cannot listen\n");
		return 1;
	}
	int sig;
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	return 0;
}
