/*
 * textfile.h - reading a small setting file (a key file, a certificate, a
 * private key) whole, as text, with the checks a secret deserves.
 */
#ifndef TIAOJIE_TEXTFILE_H
#define TIAOJIE_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The regular file at path as a NUL-terminated string of at most max bytes.
 * A secret file must be closed to group and others (no permission bit for
 * either) and is read into locked memory, wiped when freed. On failure,
 * NULL; err says "VAR PATH: why" (var names the setting that gave path),
 * and errno is that of the system call that failed, or 0 when the file
 * was refused.
 */
char *
textfile_read(const char *var, const char *path, size_t max, bool secret, char *err, size_t errlen);

/* Frees what textfile_read returned with the same secret (NULL is fine). */
void textfile_free(char *text, bool secret);

#endif
