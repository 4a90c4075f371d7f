/*
 * validate.c - value checks. Every function answers only yes or no; the
 * caller words the problem for the user.
 */
#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool
region_code_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return false;
	return n == 6 || n == 9 || n == 12;
}

bool
region_level_valid(const char *s)
{
	static const char *const levels[] = { "province", "city", "county", "township", NULL };
	for (size_t i = 0; levels[i]; i++)
		if (strcmp(s, levels[i]) == 0)
			return true;
	return false;
}

bool
parse_int_range(const char *s, long lo, long hi, long *out)
{
	if (s == NULL ||
	    !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Length of the UTF-8 sequence at s, or 0 if it is not well-formed. */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n;
	unsigned min;
	unsigned cp;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, min = 0x80, cp = s[0] & 0x1fu;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, min = 0x800, cp = s[0] & 0x0fu;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls */
	if (cp >= 0x80 && cp < 0xa0)
		return 0;
	return n;
}

bool
text_valid(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	if (*p == '\0' || *p == ' ')
		return false;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		size_t n = utf8_len(p);
		if (n == 0 || ++chars > max_chars)
			return false;
		p += n;
	}
	return p[-1] != ' ';
}
