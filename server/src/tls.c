/*
 * tls.c - the files of HTTPS. libmicrohttpd takes them as PEM text and
 * hands them to GnuTLS; the private key is read into locked memory
 * (sodium_malloc) so that it is never swapped out and is wiped when freed.
 */
#include "tls.h"

#include <string.h>

#include "config.h"
#include "errorf.h"
#include "textfile.h"

/* A certificate chain or a key is a few kilobytes; this is plenty. */
enum { PEM_MAX = 256 * 1024 };

/*
 * No SSL 3.0, TLS 1.0 or 1.1; for TLS 1.2 only ECDHE key exchange and
 * AEAD ciphers (no CBC, no RC4, no static RSA); the server's order of
 * preference, and safe renegotiation required.
 */
const char tls_priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
			      "-CIPHER-ALL:+CHACHA20-POLY1305:+AES-256-GCM:+AES-128-GCM:"
			      "-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
			      "%SERVER_PRECEDENCE:%SAFE_RENEGOTIATION";

/* The PEM text of the file at path, or NULL with err saying why. */
static char *
pem_read(const char *var, const char *path, bool secret, char *err, size_t errlen)
{
	char *text = textfile_read(var, path, PEM_MAX, secret, err, errlen);
	if (text != NULL && strstr(text, "-----BEGIN ") == NULL) {
		textfile_free(text, secret);
		errorf(err, errlen, "%s %s: not a PEM file", var, path);
		return NULL;
	}
	return text;
}

bool
tls_load(const struct config *c, struct tls_files *t, char *err, size_t errlen)
{
	t->cert = pem_read("TIAOJIE_TLS_CERT", c->tls_cert, false, err, errlen);
	if (t->cert == NULL)
		return false;
	t->key = pem_read("TIAOJIE_TLS_KEY", c->tls_key, true, err, errlen);
	if (t->key == NULL) {
		tls_free(t);
		return false;
	}
	return true;
}

void
tls_free(struct tls_files *t)
{
	textfile_free(t->cert, false);
	textfile_free(t->key, true);
	t->cert = t->key = NULL;
}
