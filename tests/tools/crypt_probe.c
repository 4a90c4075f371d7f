/*
 * crypt_probe.c - drives the field-encryption module against a real
 * database for the API tests, until resources with encrypted fields have
 * endpoints of their own. It works on a table the test creates:
 *
 *   crypt_probe (id bigint PRIMARY KEY REFERENCES data_keys,
 *                name bytea, phone bytea, phone_bidx integer)
 *
 *   crypt-probe seed          lines "name<TAB>phone" on stdin -> one id per line
 *   crypt-probe read ID       prints "name<TAB>phone"; exit 3 shredded, 4 unreadable, 5 missing
 *   crypt-probe shred ID      destroys the record's data key
 *   crypt-probe find PHONE    ids whose phone matches (blind index, then decryption);
 *                             "candidates N" on stderr
 *   crypt-probe hold ID       reads ID's name as a server would (keys held in a
 *                             keyholder), again after each line on stdin;
 *                             prints "name reloads=N" each time
 *
 * DATABASE_URL and TIAOJIE_KEY_FILE / TIAOJIE_MASTER_KEY as for the server.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "datakey.h"
#include "db.h"
#include "keyholder.h"

static const char *
env(const char *name)
{
	return getenv(name);
}

static void
to_hex(const unsigned char *bin, size_t len, char *out)
{
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 2 * len + 1, bin, len);
}

/* Decodes bytea hex text into a malloc'd buffer; NULL if malformed. */
static unsigned char *
from_hex(const char *text, size_t *len)
{
	size_t n = strlen(text);
	if (n < 2 || strncmp(text, "\\x", 2) != 0)
		return NULL;
	unsigned char *out = malloc(n / 2 + 1);
	if (out == NULL || sodium_hex2bin(out, n / 2, text + 2, n - 2, NULL, len, NULL) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static char *
seal_hex(const unsigned char *dek, const char *column, const char *row, const char *plain)
{
	size_t len = strlen(plain);
	unsigned char *ct = malloc(len + CRYPT_FIELD_OVERHEAD);
	char *hex = malloc(2 * (len + CRYPT_FIELD_OVERHEAD) + 3);
	if (ct == NULL || hex == NULL ||
	    !crypt_seal(dek, "crypt_probe", column, row, (const unsigned char *)plain, len, ct))
		abort();
	to_hex(ct, len + CRYPT_FIELD_OVERHEAD, hex);
	free(ct);
	return hex;
}

/* The plaintext of a stored field, malloc'd; NULL if it does not open. */
static char *
open_hex(const unsigned char *dek, const char *column, const char *row, const char *hex)
{
	size_t len;
	unsigned char *ct = from_hex(hex, &len);
	if (ct == NULL || len < CRYPT_FIELD_OVERHEAD) {
		free(ct);
		return NULL;
	}
	char *plain = malloc(len - CRYPT_FIELD_OVERHEAD + 1);
	size_t plen;
	bool good = plain != NULL &&
	    crypt_open(dek, "crypt_probe", column, row, ct, len, (unsigned char *)plain, &plen);
	free(ct);
	if (!good) {
		free(plain);
		return NULL;
	}
	plain[plen] = '\0';
	return plain;
}

static int
seed(struct db_conn *c, const struct keyring *k)
{
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, stdin) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			return 2;
		*tab = '\0';
		const char *name = line, *phone = tab + 1;
		char norm[32];
		if (!blind_normalise(BLIND_PHONE, phone, norm, sizeof(norm)))
			return 2;
		long long id;
		unsigned char dek[CRYPT_KEY_BYTES];
		enum datakey_status st = datakey_create(c, k, &id, dek);
		if (st != DATAKEY_OK) {
			fprintf(stderr, "crypt-probe: %s\n", datakey_status_text(st));
			return 1;
		}
		char row[24], bidx[16];
		snprintf(row, sizeof(row), "%lld", id);
		snprintf(bidx, sizeof(bidx), "%u", blind_index(k, BLIND_PHONE, norm));
		char *name_ct = seal_hex(dek, "name", row, name);
		char *phone_ct = seal_hex(dek, "phone", row, phone);
		sodium_memzero(dek, sizeof(dek));
		const char *params[] = { row, name_ct, phone_ct, bidx };
		PGresult *res = PQexecParams(db_conn_pg(c),
		    "INSERT INTO crypt_probe (id, name, phone, phone_bidx) VALUES ($1, $2, $3, $4)",
		    4, NULL, params, NULL, NULL, 0);
		bool good = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!good)
			fprintf(stderr, "crypt-probe: %s", PQresultErrorMessage(res));
		PQclear(res);
		free(name_ct);
		free(phone_ct);
		if (!good)
			return 1;
		printf("%lld\n", id);
	}
	free(line);
	return 0;
}

static int
read_one(struct db_conn *c, const struct keyring *k, const char *row)
{
	unsigned char dek[CRYPT_KEY_BYTES];
	enum datakey_status st = datakey_open(c, k, strtoll(row, NULL, 10), dek);
	if (st != DATAKEY_OK) {
		fprintf(stderr, "crypt-probe: data key %s: %s\n", row, datakey_status_text(st));
		return st == DATAKEY_SHREDDED ? 3 : st == DATAKEY_MISSING ? 5 : 4;
	}
	const char *params[] = { row };
	PGresult *res = PQexecParams(db_conn_pg(c),
	    "SELECT name, phone FROM crypt_probe WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
	int rc = 5;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		char *name = open_hex(dek, "name", row, PQgetvalue(res, 0, 0));
		char *phone = open_hex(dek, "phone", row, PQgetvalue(res, 0, 1));
		if (name != NULL && phone != NULL) {
			printf("%s\t%s\n", name, phone);
			rc = 0;
		} else {
			fprintf(stderr, "crypt-probe: a field of %s does not decrypt\n", row);
			rc = 4;
		}
		free(name);
		free(phone);
	}
	PQclear(res);
	sodium_memzero(dek, sizeof(dek));
	return rc;
}

static int
find(struct db_conn *c, const struct keyring *k, const char *phone)
{
	char norm[32], bidx[16];
	if (!blind_normalise(BLIND_PHONE, phone, norm, sizeof(norm)))
		return 2;
	snprintf(bidx, sizeof(bidx), "%u", blind_index(k, BLIND_PHONE, norm));
	const char *params[] = { bidx };
	PGresult *res = PQexecParams(db_conn_pg(c),
	    "SELECT id, phone FROM crypt_probe WHERE phone_bidx = $1 ORDER BY id", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return 1;
	}
	fprintf(stderr, "candidates %d\n", PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++) {
		const char *row = PQgetvalue(res, i, 0);
		unsigned char dek[CRYPT_KEY_BYTES];
		if (datakey_open(c, k, strtoll(row, NULL, 10), dek) != DATAKEY_OK)
			continue;
		char *plain = open_hex(dek, "phone", row, PQgetvalue(res, i, 1));
		char other[32];
		/* A candidate is a match only once its decrypted value agrees. */
		if (plain != NULL && blind_normalise(BLIND_PHONE, plain, other, sizeof(other)) &&
		    strcmp(other, norm) == 0)
			printf("%s\n", row);
		free(plain);
		sodium_memzero(dek, sizeof(dek));
	}
	PQclear(res);
	return 0;
}

/* A long-lived reader: keys loaded once, reloaded only when a rotation needs it. */
static int
hold(struct db_conn *c, struct keyholder *h, const char *row)
{
	const char *params[] = { row };
	char *line = NULL;
	size_t cap = 0;
	do {
		unsigned char dek[CRYPT_KEY_BYTES];
		enum datakey_status st = datakey_open_held(c, h, strtoll(row, NULL, 10), dek);
		if (st != DATAKEY_OK) {
			fprintf(
			    stderr, "crypt-probe: data key %s: %s\n", row, datakey_status_text(st));
			free(line);
			return 4;
		}
		PGresult *res = PQexecParams(db_conn_pg(c),
		    "SELECT name FROM crypt_probe WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
		char *name = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
		    ? open_hex(dek, "name", row, PQgetvalue(res, 0, 0))
		    : NULL;
		PQclear(res);
		sodium_memzero(dek, sizeof(dek));
		if (name == NULL) {
			free(line);
			return 4;
		}
		printf("%s reloads=%u\n", name, atomic_load(&h->reloads));
		fflush(stdout);
		free(name);
	} while (getline(&line, &cap, stdin) > 0);
	free(line);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || sodium_init() < 0)
		return 2;
	char err[512];
	struct keyring *k = keyring_load(env, err, sizeof(err));
	const char *url = getenv("DATABASE_URL");
	if (k == NULL || url == NULL) {
		fprintf(stderr, "crypt-probe: %s\n", k == NULL ? err : "DATABASE_URL is not set");
		return 2;
	}
	struct db_pool *pool = db_pool_new(url, 1, err, sizeof(err));
	if (pool == NULL) {
		fprintf(stderr, "crypt-probe: %s\n", err);
		return 1;
	}
	struct db_conn *c = db_acquire(pool);
	int rc = 2;
	if (strcmp(argv[1], "seed") == 0 && argc == 2)
		rc = seed(c, k);
	else if (strcmp(argv[1], "read") == 0 && argc == 3)
		rc = read_one(c, k, argv[2]);
	else if (strcmp(argv[1], "shred") == 0 && argc == 3) {
		enum datakey_status st = datakey_shred(c, strtoll(argv[2], NULL, 10));
		rc = st == DATAKEY_OK ? 0 : st == DATAKEY_MISSING ? 5 : 1;
	} else if (strcmp(argv[1], "find") == 0 && argc == 3) {
		rc = find(c, k, argv[2]);
	} else if (strcmp(argv[1], "hold") == 0 && argc == 3) {
		struct keyholder h;
		keyholder_init(&h, k, env);
		k = NULL;
		rc = hold(c, &h, argv[2]);
		keyholder_free(&h);
	}
	db_release(pool, c);
	db_pool_free(pool);
	keyring_free(k);
	return rc;
}
