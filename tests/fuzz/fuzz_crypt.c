/*
 * fuzz_crypt.c - the decoders of what is encrypted: wrapped data keys as
 * the database gives them (datakey_unwrap_row), sealed fields as bytes
 * (crypt_open) and as bytea text (field_open), key text (keyring_parse),
 * and the normal forms of blind indexes (blind_normalise). Sealing is
 * checked to round-trip. The keys are those of fuzz_keys.h, so that the
 * seeds (crypt_seeds.c) open.
 *
 * Input: a first line saying what the rest is:
 *
 *   unwrap VERSION ID         the wrapped key as bytea text ("\x01...")
 *   field TABLE COLUMN ROW    a sealed field as bytea text
 *   open TABLE COLUMN ROW     a sealed field as bytes
 *   seal TABLE COLUMN ROW     a plaintext, sealed and opened again
 *   keys                      the text of a key file
 *   blind phone|id_number     a value to normalise for a blind index
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "crypt.h"
#include "datakey.h"
#include "fields.h"
#include "fuzz_check.h"
#include "fuzz_keys.h"
#include "http.h"

static struct keyring *keys;
static const unsigned char *dek = (const unsigned char *)FUZZ_DATA_KEY;

/* The words of the first line (at most 4) and, in *rest, what follows it. */
static size_t
words(char *text, char *word[4], const char **rest)
{
	char *nl = strchr(text, '\n');
	*rest = nl ? nl + 1 : text + strlen(text);
	if (nl)
		*nl = '\0';
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(text, " ", &save); w && n < 4; w = strtok_r(NULL, " ", &save))
		word[n++] = w;
	return n;
}

static void
unwrap(const char *version, const char *id, const char *hex)
{
	unsigned char key[CRYPT_KEY_BYTES];
	if (datakey_unwrap_row(keys, strtoll(id, NULL, 10), version, hex, key) == DATAKEY_OK)
		CHECK(memcmp(key, dek, sizeof(key)) == 0); /* the seeds wrap only the fixed key */
}

static void
open_bytes(char **place, const unsigned char *in, size_t len)
{
	unsigned char *plain = malloc(len + 1);
	size_t plen = 0;
	if (crypt_open(dek, place[0], place[1], place[2], in, len, plain, &plen))
		CHECK(plen + CRYPT_FIELD_OVERHEAD == len);
	free(plain);
}

/* Sealed where it is, it opens there to the same text, and nowhere else. */
static void
seal(struct request *r, char **place, const unsigned char *plain, size_t len)
{
	unsigned char *ct = malloc(len + CRYPT_FIELD_OVERHEAD), *back = malloc(len + 1);
	size_t blen = 0;
	if (crypt_seal(dek, place[0], place[1], place[2], plain, len, ct)) {
		CHECK(crypt_open(dek, place[0], place[1], place[2], ct, len + CRYPT_FIELD_OVERHEAD,
		    back, &blen));
		CHECK(blen == len && memcmp(back, plain, len) == 0);
		char *other = arena_printf(r->arena, "%s0", place[2]);
		CHECK(!crypt_open(
		    dek, place[0], place[1], other, ct, len + CRYPT_FIELD_OVERHEAD, back, &blen));
	}
	free(ct);
	free(back);

	char *text = arena_strndup(r->arena, (const char *)plain, len);
	const char *hex = field_seal(r, dek, place[0], place[1], place[2], text);
	if (hex != NULL) {
		const char *opened = field_open(r, dek, place[0], place[1], place[2], hex);
		CHECK(opened != NULL && strcmp(opened, text) == 0);
	}
}

/* Keys that parse have a current version, which wraps and unwraps. */
static void
key_text(const char *text)
{
	char err[256];
	struct keyring *k = keyring_parse(text, err, sizeof(err));
	if (k == NULL)
		return;
	unsigned v = keyring_current(k);
	unsigned char wrapped[CRYPT_WRAPPED_BYTES], back[CRYPT_KEY_BYTES];
	CHECK(v >= 1 && keyring_has(k, v));
	CHECK(crypt_wrap(k, v, 7, dek, wrapped));
	CHECK(crypt_unwrap(k, v, 7, wrapped, sizeof(wrapped), back));
	CHECK(memcmp(back, dek, sizeof(back)) == 0);
	CHECK(!crypt_unwrap(k, v, 8, wrapped, sizeof(wrapped), back));
	keyring_free(k);
}

/* A normal form is its own normal form, and its index has BLIND_BITS bits. */
static void
blind(const char *kind, const char *value)
{
	enum blind_kind bk = strcmp(kind, "phone") == 0 ? BLIND_PHONE : BLIND_ID_NUMBER;
	char norm[64], again[64];
	if (!blind_normalise(bk, value, norm, sizeof(norm)))
		return;
	CHECK(blind_normalise(bk, norm, again, sizeof(again)) && strcmp(norm, again) == 0);
	CHECK(blind_index(keys, bk, norm) < (1u << BLIND_BITS));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[256];
	if (sodium_init() < 0 || (keys = keyring_parse(FUZZ_KEY_TEXT, err, sizeof(err))) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r = { .arena = arena_new() };
	char *text = arena_alloc(r.arena, size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char *word[4];
	const char *rest;
	size_t n = words(text, word, &rest);
	/* What follows the first line, as bytes (it may hold NULs). */
	const unsigned char *bytes = data + (rest - text);
	size_t len = size - (size_t)(rest - text);

	if (n == 3 && strcmp(word[0], "unwrap") == 0)
		unwrap(word[1], word[2], rest);
	else if (n == 4 && strcmp(word[0], "field") == 0)
		field_open(&r, dek, word[1], word[2], word[3], rest);
	else if (n == 4 && strcmp(word[0], "open") == 0)
		open_bytes(word + 1, bytes, len);
	else if (n == 4 && strcmp(word[0], "seal") == 0)
		seal(&r, word + 1, bytes, len);
	else if (n == 1 && strcmp(word[0], "keys") == 0)
		key_text(rest);
	else if (n == 2 && strcmp(word[0], "blind") == 0)
		blind(word[1], rest);
	arena_free(r.arena);
	return 0;
}
