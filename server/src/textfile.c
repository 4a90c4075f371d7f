/*
 * textfile.c - whole small files, the secret ones in sodium_malloc'd memory:
 * locked so that they are never swapped out, guarded, wiped by sodium_free.
 */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errorf.h"

/* Closes fd (when open), says why and leaves errnum in errno. */
static char *
refuse(int fd, int errnum, const char *var, const char *path, const char *why, char *err,
    size_t errlen)
{
	if (fd >= 0)
		close(fd);
	errorf(err, errlen, "%s %s: %s", var, path, why);
	errno = errnum;
	return NULL;
}

char *
textfile_read(const char *var, const char *path, size_t max, bool secret, char *err, size_t errlen)
{
	char why[96];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return refuse(-1, errno, var, path, strerror(errno), err, errlen);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return refuse(fd, 0, var, path, "not a regular file", err, errlen);
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(why, sizeof(why),
		    "group or others may read or change it (mode %03o): chmod 600 it",
		    (unsigned)(st.st_mode & 0777));
		return refuse(fd, 0, var, path, why, err, errlen);
	}
	char *text = secret ? sodium_malloc(max + 1) : malloc(max + 1);
	if (text == NULL)
		return refuse(fd, ENOMEM, var, path,
		    secret ? "no locked memory to read it into" : "out of memory", err, errlen);
	size_t len = 0;
	ssize_t n = 0;
	while (len < max && (n = read(fd, text + len, max - len)) > 0)
		len += (size_t)n;
	int read_errno = errno;
	char extra;
	bool too_long = n >= 0 && len == max && read(fd, &extra, 1) == 1;
	text[len] = '\0';
	if (n < 0 || too_long) {
		textfile_free(text, secret);
		if (too_long)
			snprintf(why, sizeof(why), "larger than %zu bytes", max);
		return refuse(fd, n < 0 ? read_errno : 0, var, path,
		    n < 0 ? strerror(read_errno) : why, err, errlen);
	}
	close(fd);
	return text;
}

void
textfile_free(char *text, bool secret)
{
	if (text == NULL)
		return;
	if (secret)
		sodium_free(text);
	else
		free(text);
}
