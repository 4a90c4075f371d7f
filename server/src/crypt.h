/*
 * crypt.h - field encryption. Keys never enter the database:
 *
 *   key file or TIAOJIE_MASTER_KEY   master keys by version, and an index key
 *   KEK(v) = KDF(master v)           wraps each record's data key
 *   data key (one per owning record) encrypts that record's fields
 *   blind key(kind) = KDF(index key) keyed hashes for equality look-ups
 *
 * Everything secret lives in locked, guarded memory (sodium_malloc) and is
 * wiped when freed. Fields are XChaCha20-Poly1305 with a fresh random
 * nonce and associated data naming table, column and row, so a ciphertext
 * moved elsewhere does not decrypt. Stored formats carry a version byte.
 */
#ifndef TIAOJIE_CRYPT_H
#define TIAOJIE_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPT_KEY_BYTES    32
#define CRYPT_MAX_VERSIONS 64
/* Stored data key: format byte, nonce, key, tag. */
#define CRYPT_WRAPPED_BYTES (1 + 24 + CRYPT_KEY_BYTES + 16)
/* Stored field: format byte, nonce, ciphertext, tag. */
#define CRYPT_FIELD_OVERHEAD (1 + 24 + 16)
/* The longest plaintext a field may hold, and so the longest accepted input. */
#define CRYPT_FIELD_MAX (256 * 1024)

struct keyring;

/*
 * Loads the keys from the file named by TIAOJIE_KEY_FILE (refused when
 * group or others may read it) or else from TIAOJIE_MASTER_KEY, read
 * through get. Returns NULL with a one-line reason in err.
 */
struct keyring *keyring_load(const char *(*get)(const char *name), char *err, size_t errlen);

/* Parses key text (see keygen_text()). NULL with a reason on error. */
struct keyring *keyring_parse(const char *text, char *err, size_t errlen);

/* Wipes and frees. NULL is a no-op. */
void keyring_free(struct keyring *k);

/* The newest master key version: new data keys are wrapped with it. */
unsigned keyring_current(const struct keyring *k);
bool keyring_has(const struct keyring *k, unsigned version);

/*
 * The text of a new key file into out (outlen >= 256): a fresh index key
 * and master key version 1. Returns false if out is too small.
 */
bool keygen_text(char *out, size_t outlen);

/* A key line "vN:KEY\n" with a fresh master key of version into out (>= 64). */
bool keygen_version_line(unsigned version, char *out, size_t outlen);

/* A fresh random data key. */
void crypt_new_data_key(unsigned char dek[CRYPT_KEY_BYTES]);

/*
 * Wraps dek for data key id under master version; out gets
 * CRYPT_WRAPPED_BYTES. False when the keyring lacks that version.
 */
bool crypt_wrap(const struct keyring *k, unsigned version, long long id,
    const unsigned char dek[CRYPT_KEY_BYTES], unsigned char out[CRYPT_WRAPPED_BYTES]);

/* Unwraps; false when the version is missing or the input was altered. */
bool crypt_unwrap(const struct keyring *k, unsigned version, long long id,
    const unsigned char *wrapped, size_t len, unsigned char dek[CRYPT_KEY_BYTES]);

/*
 * Encrypts len bytes of plain for table.column of row into out, which
 * must hold len + CRYPT_FIELD_OVERHEAD bytes. False when len is over
 * CRYPT_FIELD_MAX.
 */
bool crypt_seal(const unsigned char dek[CRYPT_KEY_BYTES], const char *table, const char *column,
    const char *row, const unsigned char *plain, size_t len, unsigned char *out);

/*
 * Decrypts what crypt_seal wrote for the same table, column and row into
 * plain (inlen - CRYPT_FIELD_OVERHEAD bytes), setting *len. False for
 * input too short or too long, an unknown format, or any alteration.
 */
bool crypt_open(const unsigned char dek[CRYPT_KEY_BYTES], const char *table, const char *column,
    const char *row, const unsigned char *in, size_t inlen, unsigned char *plain, size_t *len);

enum blind_kind {
	BLIND_PHONE = 1,
	BLIND_ID_NUMBER = 2,
};

/* Bits kept of a blind index: few enough that every value shares its index. */
#define BLIND_BITS 24

/*
 * The canonical form of a phone number (digits only, without +86 or 0086)
 * or of a resident ID number (18 characters, check digit verified, 'X'
 * upper case). False when the input is not one.
 */
bool blind_normalise(enum blind_kind kind, const char *in, char *out, size_t outlen);

/* The truncated keyed hash of a normalised value, 0 .. 2^BLIND_BITS - 1. */
uint32_t blind_index(const struct keyring *k, enum blind_kind kind, const char *normalised);

#endif
