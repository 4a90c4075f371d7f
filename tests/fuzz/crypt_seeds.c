/*
 * crypt_seeds.c - writes the seeds of fuzz_crypt that need the keys:
 * wrapped data keys and sealed fields made with the fixed keys of
 * fuzz_keys.h, as the database holds them, so that the fuzzer starts from
 * inputs that open. The nonces are random, so each run writes other bytes
 * that mean the same:
 *
 *   build/fuzz/crypt-seeds tests/fuzz/corpus/crypt
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "fuzz_keys.h"

static const unsigned char *dek = (const unsigned char *)FUZZ_DATA_KEY;

static void
write_seed(const char *dir, const char *name, const char *line, const void *payload, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fprintf(f, "%s\n", line) < 0 || fwrite(payload, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* "\x" and the hex of len bytes, as PostgreSQL writes bytea. */
static char *
bytea(const unsigned char *bin, size_t len)
{
	char *hex = malloc(2 * len + 3);
	hex[0] = '\\';
	hex[1] = 'x';
	sodium_bin2hex(hex + 2, 2 * len + 1, bin, len);
	return hex;
}

static void
wrapped(const char *dir, const char *name, const struct keyring *k, unsigned version, long long id,
    const char *line)
{
	unsigned char out[CRYPT_WRAPPED_BYTES];
	if (!crypt_wrap(k, version, id, dek, out))
		exit(1);
	char *hex = bytea(out, sizeof(out));
	write_seed(dir, name, line, hex, strlen(hex));
	free(hex);
}

/* The field sealed at table.column of row, as bytea text (field) and as bytes (open). */
static void
sealed(const char *dir, const char *name, const char *table, const char *column, const char *row,
    const char *plain)
{
	size_t len = strlen(plain);
	unsigned char *ct = malloc(len + CRYPT_FIELD_OVERHEAD);
	if (!crypt_seal(dek, table, column, row, (const unsigned char *)plain, len, ct))
		exit(1);
	char line[256], file[128];
	snprintf(line, sizeof(line), "open %s %s %s", table, column, row);
	snprintf(file, sizeof(file), "open-%s", name);
	write_seed(dir, file, line, ct, len + CRYPT_FIELD_OVERHEAD);
	char *hex = bytea(ct, len + CRYPT_FIELD_OVERHEAD);
	snprintf(line, sizeof(line), "field %s %s %s", table, column, row);
	snprintf(file, sizeof(file), "field-%s", name);
	write_seed(dir, file, line, hex, strlen(hex));
	free(hex);
	free(ct);
}

int
main(int argc, char **argv)
{
	char err[256];
	struct keyring *k = NULL;
	if (argc != 2 || sodium_init() < 0 ||
	    (k = keyring_parse(FUZZ_KEY_TEXT, err, sizeof(err))) == NULL) {
		fprintf(stderr, "usage: crypt-seeds DIRECTORY\n");
		return 2;
	}
	const char *dir = argv[1];
	wrapped(dir, "unwrap-v1", k, 1, 42, "unwrap 1 42");
	wrapped(dir, "unwrap-v2", k, 2, 9000000000, "unwrap 2 9000000000");
	wrapped(dir, "unwrap-other-id", k, 1, 42, "unwrap 1 43");
	wrapped(dir, "unwrap-other-version", k, 1, 42, "unwrap 2 42");
	wrapped(dir, "unwrap-unknown-version", k, 2, 42, "unwrap 3 42");
	sealed(dir, "party-name", "parties", "name", "17", "王秀英");
	sealed(dir, "party-phone", "parties", "phone", "17", "+86 138 0013 8000");
	sealed(dir, "case-summary", "cases", "summary", "3",
	    "双方因离婚后子女抚养费发生争议。\n申请人要求调整抚养费。");
	sealed(dir, "referral-caller", "referrals", "caller_name", "5", "李女士");
	sealed(dir, "mediator-phone", "mediators", "phone", "8", "0771-5551234");
	sealed(dir, "empty", "followups", "notes", "1", "");
	keyring_free(k);
	return 0;
}
