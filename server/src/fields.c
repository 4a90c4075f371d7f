/*
 * fields.c - sealing and opening personal data fields for a request.
 */
#include "fields.h"

#include <sodium.h>
#include <string.h>

#include "arena.h"
#include "db.h"
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

#define KEYS_HELD 4

struct held_keys {
	unsigned next;
	struct {
		long long id;
		unsigned char dek[CRYPT_KEY_BYTES];
	} k[KEYS_HELD];
};

void
field_key_hold(struct request *r, long long id, const unsigned char dek[CRYPT_KEY_BYTES])
{
	if (r->keys == NULL)
		r->keys = arena_zalloc(r->arena, sizeof(*r->keys));
	struct held_keys *h = r->keys;
	unsigned i = h->next++ % KEYS_HELD;
	h->k[i].id = id;
	memcpy(h->k[i].dek, dek, CRYPT_KEY_BYTES);
}

enum datakey_status
field_key(struct request *r, long long id, unsigned char dek[CRYPT_KEY_BYTES])
{
	for (unsigned i = 0; r->keys != NULL && i < KEYS_HELD; i++)
		if (r->keys->k[i].id == id && id != 0) {
			memcpy(dek, r->keys->k[i].dek, CRYPT_KEY_BYTES);
			return DATAKEY_OK;
		}
	enum datakey_status st = datakey_open_held(db_request_conn(r), &r->srv->keys, id, dek);
	if (st == DATAKEY_OK)
		field_key_hold(r, id, dek);
	return st;
}
