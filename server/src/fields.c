/*
 * fields.c - sealing and opening personal data fields for a request.
 */
#include "fields.h"

#include <sodium.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "keyholder.h"

const char *
field_seal(struct request *r, const unsigned char dek[CRYPT_KEY_BYTES], const char *table,
    const char *column, const char *row, const char *plain)
{
	size_t len = strlen(plain), ctlen = len + CRYPT_FIELD_OVERHEAD;
	if (len > CRYPT_FIELD_MAX)
		return NULL;
	unsigned char *ct = arena_alloc(r->arena, ctlen);
	if (!crypt_seal(dek, table, column, row, (const unsigned char *)plain, len, ct))
		return NULL;
	char *out = arena_alloc(r->arena, 2 * ctlen + 3);
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 2 * ctlen + 1, ct, ctlen);
	return out;
}

const char *
field_open(struct request *r, const unsigned char dek[CRYPT_KEY_BYTES], const char *table,
    const char *column, const char *row, const char *hex)
{
	size_t hexlen = strlen(hex), len = 0, plen = 0;
	if (hexlen < 2 || hex[0] != '\\' || hex[1] != 'x')
		return NULL;
	unsigned char *ct = arena_alloc(r->arena, hexlen / 2 + 1);
	char *plain = arena_alloc(r->arena, hexlen / 2 + 1);
	if (sodium_hex2bin(ct, hexlen / 2, hex + 2, hexlen - 2, NULL, &len, NULL) != 0 ||
	    !crypt_open(dek, table, column, row, ct, len, (unsigned char *)plain, &plen))
		return NULL;
	plain[plen] = '\0';
	return plain;
}

const char *
field_blind(struct request *r, enum blind_kind kind, const char *plain)
{
	char norm[64];
	if (!blind_normalise(kind, plain, norm, sizeof(norm)))
		return NULL;
	unsigned bidx = blind_index(keyholder_get(&r->srv->keys), kind, norm);
	sodium_memzero(norm, sizeof(norm));
	return arena_printf(r->arena, "%u", bidx);
}
