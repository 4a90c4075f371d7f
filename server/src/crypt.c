/*
 * crypt.c - keys and field encryption with libsodium 1.0.18 (which has
 * XChaCha20-Poly1305 and BLAKE2b-based crypto_kdf, but no AEGIS or HKDF).
 * The keyring is one sodium_malloc'd block: locked in memory, guarded,
 * read-only once built, wiped by sodium_free.
 */
#include "crypt.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errorf.h"
#include "textfile.h"

#define FORMAT_V1     1
#define KEY_TEXT_MAX  (64 * 1024)
#define KDF_WRAP_CTX  "tjwrap01"
#define KDF_BLIND_CTX "tjblind1"
#define NONCE_BYTES   crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES     crypto_aead_xchacha20poly1305_ietf_ABYTES

struct keyring {
	unsigned count;
	unsigned version[CRYPT_MAX_VERSIONS];
	unsigned char kek[CRYPT_MAX_VERSIONS][CRYPT_KEY_BYTES];
	unsigned char blind[3][CRYPT_KEY_BYTES]; /* by enum blind_kind */
};

static bool
decode_key(const char *b64, size_t len, unsigned char key[CRYPT_KEY_BYTES])
{
	size_t got = 0;
	const char *end = NULL;
	return sodium_base642bin(key, CRYPT_KEY_BYTES, b64, len, NULL, &got, &end,
		   sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	    got == CRYPT_KEY_BYTES && end == b64 + len;
}

/* Parses one "index:KEY" or "vN:KEY" item into k (index root into root). */
static bool
parse_item(struct keyring *k, unsigned char root[CRYPT_KEY_BYTES], bool *have_root,
    const char *item, size_t len, char *err, size_t errlen)
{
	const char *colon = memchr(item, ':', len);
	if (colon == NULL)
		return errorf(err, errlen, "a key line is not NAME:KEY");
	size_t klen = len - (size_t)(colon + 1 - item);
	unsigned char key[CRYPT_KEY_BYTES];
	if (!decode_key(colon + 1, klen, key))
		return errorf(err, errlen, "a key is not 32 bytes of unpadded base64url");
	if (colon - item == 5 && memcmp(item, "index", 5) == 0) {
		if (*have_root) {
			sodium_memzero(key, sizeof(key));
			return errorf(err, errlen, "the index key is given twice");
		}
		memcpy(root, key, sizeof(key));
		*have_root = true;
	} else if (item[0] == 'v' && colon - item >= 2 && colon - item <= 6) {
		unsigned v = 0;
		for (const char *p = item + 1; p < colon; p++) {
			if (*p < '0' || *p > '9') {
				sodium_memzero(key, sizeof(key));
				return errorf(err, errlen, "a key version is not a number");
			}
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v == 0 || keyring_has(k, v) || k->count == CRYPT_MAX_VERSIONS) {
			sodium_memzero(key, sizeof(key));
			return errorf(
			    err, errlen, "key version %u is zero, repeated or one too many", v);
		}
		k->version[k->count] = v;
		crypto_kdf_derive_from_key(k->kek[k->count], CRYPT_KEY_BYTES, 1, KDF_WRAP_CTX, key);
		k->count++;
	} else {
		sodium_memzero(key, sizeof(key));
		return errorf(err, errlen, "a key line names neither index nor a version vN");
	}
	sodium_memzero(key, sizeof(key));
	return true;
}

struct keyring *
keyring_parse(const char *text, char *err, size_t errlen)
{
	struct keyring *k = sodium_malloc(sizeof(*k));
	if (k == NULL) {
		errorf(err, errlen, "cannot allocate locked memory for the keys");
		return NULL;
	}
	memset(k, 0, sizeof(*k));
	unsigned char root[CRYPT_KEY_BYTES];
	bool have_root = false, ok = true;

	/* Items are separated by newlines, commas or spaces; '#' starts a comment. */
	const char *p = text;
	while (ok && *p) {
		if (*p == '#') {
			p += strcspn(p, "\n");
			continue;
		}
		size_t n = strcspn(p, "\n, \t\r");
		if (n > 0)
			ok = parse_item(k, root, &have_root, p, n, err, errlen);
		p += n;
		if (*p)
			p++;
	}
	if (ok && !have_root)
		ok = errorf(err, errlen, "the keys have no index key (index:...)");
	if (ok && k->count == 0)
		ok = errorf(err, errlen, "the keys have no master key version (v1:...)");
	if (ok) {
		crypto_kdf_derive_from_key(
		    k->blind[BLIND_PHONE], CRYPT_KEY_BYTES, BLIND_PHONE, KDF_BLIND_CTX, root);
		crypto_kdf_derive_from_key(k->blind[BLIND_ID_NUMBER], CRYPT_KEY_BYTES,
		    BLIND_ID_NUMBER, KDF_BLIND_CTX, root);
	}
	sodium_memzero(root, sizeof(root));
	if (!ok) {
		sodium_free(k);
		return NULL;
	}
	sodium_mprotect_readonly(k);
	return k;
}

struct keyring *
keyring_load(const char *(*get)(const char *name), char *err, size_t errlen)
{
	const char *path = get("TIAOJIE_KEY_FILE");
	if (path != NULL && *path != '\0') {
		char *text =
		    textfile_read("TIAOJIE_KEY_FILE", path, KEY_TEXT_MAX, true, err, errlen);
		if (text == NULL) {
			if (errno == ENOENT) {
				size_t used = strlen(err);
				snprintf(err + used, errlen - used,
				    " (create one with 'tiaojie keygen FILE')");
			}
			return NULL;
		}
		struct keyring *k = keyring_parse(text, err, errlen);
		textfile_free(text, true);
		if (k == NULL) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (in TIAOJIE_KEY_FILE %s)", path);
		}
		return k;
	}
	const char *inline_keys = get("TIAOJIE_MASTER_KEY");
	if (inline_keys != NULL && *inline_keys != '\0') {
		struct keyring *k = keyring_parse(inline_keys, err, errlen);
		if (k == NULL) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (in TIAOJIE_MASTER_KEY)");
		}
		return k;
	}
	errorf(err, errlen,
	    "no encryption keys: set TIAOJIE_KEY_FILE to a key file made by 'tiaojie keygen FILE' "
	    "(or TIAOJIE_MASTER_KEY to its contents)");
	return NULL;
}

void
keyring_free(struct keyring *k)
{
	if (k == NULL)
		return;
	sodium_mprotect_readwrite(k);
	sodium_free(k);
}

unsigned
keyring_current(const struct keyring *k)
{
	unsigned best = 0;
	for (unsigned i = 0; i < k->count; i++)
		if (k->version[i] > best)
			best = k->version[i];
	return best;
}

static const unsigned char *
kek_of(const struct keyring *k, unsigned version)
{
	for (unsigned i = 0; i < k->count; i++)
		if (k->version[i] == version)
			return k->kek[i];
	return NULL;
}

bool
keyring_has(const struct keyring *k, unsigned version)
{
	return kek_of(k, version) != NULL;
}

bool
keygen_text(char *out, size_t outlen)
{
	unsigned char key[CRYPT_KEY_BYTES];
	char b64_index[sodium_base64_ENCODED_LEN(
	    CRYPT_KEY_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char b64_master[sizeof(b64_index)];
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64_index, sizeof(b64_index), key, sizeof(key),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64_master, sizeof(b64_master), key, sizeof(key),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(key, sizeof(key));
	int n = snprintf(out, outlen,
	    "# Tiaojie encryption keys. Keep this file secret (mode 600) and backed up\n"
	    "# apart from the database: without it the encrypted data cannot be read.\n"
	    "index:%s\n"
	    "v1:%s\n",
	    b64_index, b64_master);
	sodium_memzero(b64_index, sizeof(b64_index));
	sodium_memzero(b64_master, sizeof(b64_master));
	return n > 0 && (size_t)n < outlen;
}

bool
keygen_version_line(unsigned version, char *out, size_t outlen)
{
	unsigned char key[CRYPT_KEY_BYTES];
	char b64[sodium_base64_ENCODED_LEN(
	    CRYPT_KEY_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(
	    b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(key, sizeof(key));
	int n = snprintf(out, outlen, "v%u:%s\n", version, b64);
	sodium_memzero(b64, sizeof(b64));
	return n > 0 && (size_t)n < outlen;
}

void
crypt_new_data_key(unsigned char dek[CRYPT_KEY_BYTES])
{
	randombytes_buf(dek, CRYPT_KEY_BYTES);
}

static size_t
wrap_ad(char *ad, size_t len, unsigned version, long long id)
{
	int n = snprintf(ad, len, "tiaojie:dk:%d:%u:%lld", FORMAT_V1, version, id);
	return n > 0 ? (size_t)n : 0;
}

bool
crypt_wrap(const struct keyring *k, unsigned version, long long id,
    const unsigned char dek[CRYPT_KEY_BYTES], unsigned char out[CRYPT_WRAPPED_BYTES])
{
	const unsigned char *kek = kek_of(k, version);
	if (kek == NULL)
		return false;
	char ad[64];
	size_t adlen = wrap_ad(ad, sizeof(ad), version, id);
	out[0] = FORMAT_V1;
	randombytes_buf(out + 1, NONCE_BYTES);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_BYTES, &clen, dek,
	    CRYPT_KEY_BYTES, (const unsigned char *)ad, adlen, NULL, out + 1, kek);
	return clen == CRYPT_KEY_BYTES + TAG_BYTES;
}

bool
crypt_unwrap(const struct keyring *k, unsigned version, long long id, const unsigned char *wrapped,
    size_t len, unsigned char dek[CRYPT_KEY_BYTES])
{
	const unsigned char *kek = kek_of(k, version);
	if (kek == NULL || len != CRYPT_WRAPPED_BYTES || wrapped[0] != FORMAT_V1)
		return false;
	char ad[64];
	size_t adlen = wrap_ad(ad, sizeof(ad), version, id);
	unsigned long long plen;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dek, &plen, NULL,
		   wrapped + 1 + NONCE_BYTES, CRYPT_KEY_BYTES + TAG_BYTES,
		   (const unsigned char *)ad, adlen, wrapped + 1, kek) == 0 &&
	    plen == CRYPT_KEY_BYTES;
}

/*
 * "tiaojie:f:1:<len>:table:<len>:column:row" - lengths make it unambiguous;
 * 0 when it does not fit.
 */
static size_t
field_ad(char *ad, size_t len, const char *table, const char *column, const char *row)
{
	int n = snprintf(ad, len, "tiaojie:f:%d:%zu:%s:%zu:%s:%s", FORMAT_V1, strlen(table), table,
	    strlen(column), column, row);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

bool
crypt_seal(const unsigned char dek[CRYPT_KEY_BYTES], const char *table, const char *column,
    const char *row, const unsigned char *plain, size_t len, unsigned char *out)
{
	char ad[256];
	size_t adlen = field_ad(ad, sizeof(ad), table, column, row);
	if (len > CRYPT_FIELD_MAX || adlen == 0)
		return false;
	out[0] = FORMAT_V1;
	randombytes_buf(out + 1, NONCE_BYTES);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_BYTES, &clen, plain, len,
	    (const unsigned char *)ad, adlen, NULL, out + 1, dek);
	return clen == len + TAG_BYTES;
}

bool
crypt_open(const unsigned char dek[CRYPT_KEY_BYTES], const char *table, const char *column,
    const char *row, const unsigned char *in, size_t inlen, unsigned char *plain, size_t *len)
{
	char ad[256];
	size_t adlen = field_ad(ad, sizeof(ad), table, column, row);
	if (adlen == 0 || inlen < CRYPT_FIELD_OVERHEAD ||
	    inlen > CRYPT_FIELD_MAX + CRYPT_FIELD_OVERHEAD || in[0] != FORMAT_V1)
		return false;
	unsigned long long plen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, in + 1 + NONCE_BYTES,
		inlen - 1 - NONCE_BYTES, (const unsigned char *)ad, adlen, in + 1, dek) != 0)
		return false;
	*len = (size_t)plen;
	return true;
}

/*
 * Digits only, without the country code: "+86 ...", "0086 ..." and a bare
 * "86" before an 11-digit mobile number all name a number in China.
 */
static bool
normalise_phone(const char *in, char *out, size_t outlen)
{
	char digits[32];
	size_t n = 0;
	bool plus = false;
	for (const char *p = in; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof(digits))
				return false;
			digits[n++] = *p;
		} else if (*p == '+' && n == 0 && !plus) {
			plus = true;
		} else if (!strchr(" -()", *p)) {
			return false;
		}
	}
	digits[n] = '\0';
	const char *d = digits;
	if (plus) {
		if (n < 2 || memcmp(d, "86", 2) != 0)
			return false; /* another country: not ours to look up */
		d += 2;
	} else if (n >= 4 && memcmp(d, "0086", 4) == 0) {
		d += 4;
	} else if (n == 13 && memcmp(d, "86", 2) == 0) {
		d += 2;
	}
	/*
	 * A country code given twice ("86 0086 ...") names no number; taken,
	 * its canonical form would lose another "0086" when normalised again.
	 */
	if (d != digits && strncmp(d, "0086", 4) == 0)
		return false;
	size_t len = strlen(d);
	/* Mainland numbers: 11-digit mobiles, landlines of 7 to 8 digits after an area code. */
	if (len < 7 || len > 12 || len + 1 > outlen)
		return false;
	memcpy(out, d, len + 1);
	return true;
}

/* GB 11643: 17 digits and a check character over them (mod 11). */
static bool
normalise_id_number(const char *in, char *out, size_t outlen)
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	char id[19];
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ' ')
			continue;
		if (n == 18)
			return false;
		id[n++] = *p == 'x' ? 'X' : *p;
	}
	if (n != 18 || outlen < 19)
		return false;
	id[18] = '\0';
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		if (id[i] < '0' || id[i] > '9')
			return false;
		sum += (id[i] - '0') * weight[i];
	}
	if (id[17] != check[sum % 11])
		return false;
	memcpy(out, id, sizeof(id));
	return true;
}

bool
blind_normalise(enum blind_kind kind, const char *in, char *out, size_t outlen)
{
	switch (kind) {
	case BLIND_PHONE:
		return normalise_phone(in, out, outlen);
	case BLIND_ID_NUMBER:
		return normalise_id_number(in, out, outlen);
	}
	return false;
}

uint32_t
blind_index(const struct keyring *k, enum blind_kind kind, const char *normalised)
{
	unsigned char h[16];
	crypto_generichash(h, sizeof(h), (const unsigned char *)normalised, strlen(normalised),
	    k->blind[kind], CRYPT_KEY_BYTES);
	uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return v >> (32 - BLIND_BITS);
}
