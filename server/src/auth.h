/*
 * auth.h - credentials: bearer tokens (sign-in sessions "tjs_..." and API
 * tokens "tja_..."), looked up by a BLAKE2b hash of the token so that the
 * database never holds one; passwords hashed with Argon2id, at most a few
 * at a time.
 */
#ifndef TIAOJIE_AUTH_H
#define TIAOJIE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct request;
struct server;

#define AUTH_TOKEN_BYTES          32
#define AUTH_TOKEN_PREFIX_SESSION "tjs_"
#define AUTH_TOKEN_PREFIX_API     "tja_"
/* prefix + unpadded base64url of AUTH_TOKEN_BYTES */
#define AUTH_TOKEN_LEN (4 + 43)
#define AUTH_HASH_HEX  (2 * 32 + 1)

/* Prepares the hashing slots and the dummy hash. False if out of memory. */
bool auth_init(struct server *srv);
void auth_free(struct server *srv);

/*
 * A new random token with the given prefix in token (AUTH_TOKEN_LEN + 1
 * bytes) and the hex of its hash in hash_hex (AUTH_HASH_HEX bytes).
 */
void auth_new_token(const char *prefix, char *token, char *hash_hex);

/* The hex hash of a presented token; false if it is not well-formed. */
bool auth_token_hash(const char *token, char *hash_hex);

/*
 * Authenticates r from its Authorization header, filling r->who. On
 * failure replies 401 (or 503) and returns false.
 */
bool auth_authenticate_or_reply(struct request *r);

/* Is password acceptable: 12 to 128 characters of UTF-8? */
bool auth_password_valid(const char *password);

/*
 * Argon2id hash of password into out (crypto_pwhash_STRBYTES). Waits for
 * nothing: returns false when every hashing slot is busy (srv may be NULL
 * in the command line, which has no slots).
 */
bool auth_hash_password(struct server *srv, const char *password, char *out);

/*
 * Verifies password against hash (the dummy hash when hash is NULL, so an
 * unknown user costs the same). *busy is set when no slot was free.
 * *rehash is set when the hash uses parameters older than the current ones.
 */
bool auth_verify_password(
    struct server *srv, const char *hash, const char *password, bool *busy, bool *rehash);

#endif
