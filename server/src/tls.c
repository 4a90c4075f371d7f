/*
 * tls.c - the files of HTTPS. libmicrohttpd takes them as PEM text and
 * hands them to GnuTLS; the private key is read into locked memory
 * (sodium_malloc) so that it is never swapped out and is wiped when freed.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "errorf.h"

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

static char *
pem_read(const char *var, const char *path, bool secret, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errorf(err, errlen, "%s %s: %s", var, path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errorf(err, errlen, "%s %s is not a regular file", var, path);
		return NULL;
	}
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		errorf(err, errlen,
		    "%s %s may be read or changed by group or others (mode %03o): chmod 600 it",
		    var, path, (unsigned)(st.st_mode & 0777));
		return NULL;
	}
	char *text = secret ? sodium_malloc(PEM_MAX + 1) : malloc(PEM_MAX + 1);
	if (text == NULL) {
		close(fd);
		errorf(err, errlen, "%s: out of memory", var);
		return NULL;
	}
	size_t len = 0;
	ssize_t n = 0;
	while (len < PEM_MAX && (n = read(fd, text + len, PEM_MAX - len)) > 0)
		len += (size_t)n;
	char extra;
	bool too_long = len == PEM_MAX && read(fd, &extra, 1) == 1;
	close(fd);
	text[len] = '\0';
	const char *problem = NULL;
	if (n < 0)
		problem = strerror(errno);
	else if (too_long)
		problem = "longer than any PEM file of a certificate or key";
	else if (strstr(text, "-----BEGIN ") == NULL)
		problem = "not a PEM file";
	if (problem != NULL) {
		errorf(err, errlen, "%s %s: %s", var, path, problem);
		if (secret)
			sodium_free(text);
		else
			free(text);
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
	free(t->cert);
	if (t->key != NULL)
		sodium_free(t->key);
	t->cert = t->key = NULL;
}
