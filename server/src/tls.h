/*
 * tls.h - HTTPS: the certificate chain and private key named by
 * TIAOJIE_TLS_CERT and TIAOJIE_TLS_KEY, read once at start, and the
 * protocol versions and ciphers the server accepts.
 */
#ifndef TIAOJIE_TLS_H
#define TIAOJIE_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct config;

struct tls_files {
	char *cert; /* PEM text, NUL-terminated */
	char *key;  /* the same, in locked memory wiped when freed */
};

/* GnuTLS priorities: TLS 1.3 and 1.2, forward secrecy, AEAD ciphers only. */
extern const char tls_priorities[];

/*
 * Reads the files of c into t. The key file must be a regular file that
 * neither group nor others may read or change (as the encryption keys'). On
 * failure, err says which variable, which file and why.
 */
bool tls_load(const struct config *c, struct tls_files *t, char *err, size_t errlen);

void tls_free(struct tls_files *t);

#endif
