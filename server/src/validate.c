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
username_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

bool
role_valid(const char *s)
{
	return strcmp(s, "admin") == 0 || strcmp(s, "federation") == 0 ||
	    strcmp(s, "mediator") == 0 || strcmp(s, "hotline") == 0;
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

bool
note_valid(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	bool seen = false;
	while (*p) {
		if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f)
			return false;
		size_t n = utf8_len(p);
		if (n == 0 || ++chars > max_chars)
			return false;
		seen = seen || (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t');
		p += n;
	}
	return seen;
}

static bool
digits(const char *s, int n, int lo, int hi)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

bool
rfc3339_valid(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS */
	if (strlen(s) < 20 || !digits(s, 4, 0, 9999) || s[4] != '-' || !digits(s + 5, 2, 1, 12) ||
	    s[7] != '-' || !digits(s + 8, 2, 1, 31) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, 0, 23) || s[13] != ':' || !digits(s + 14, 2, 0, 59) ||
	    s[16] != ':' || !digits(s + 17, 2, 0, 60))
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		const char *frac = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == frac || p - frac > 9)
			return false;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return true;
	return (*p == '+' || *p == '-') && digits(p + 1, 2, 0, 23) && p[3] == ':' &&
	    digits(p + 4, 2, 0, 59) && p[6] == '\0';
}

char *
utf8_sanitize(char *dst, size_t dstlen, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t out = 0;
	while (*p) {
		size_t n = (*p < 0x20 || *p == 0x7f) ? 0 : utf8_len(p);
		const unsigned char *piece = p;
		size_t take = n;
		if (n == 0) {
			piece = (const unsigned char *)"?";
			take = 1;
			n = 1;
		}
		if (out + take + 1 > dstlen)
			break;
		memcpy(dst + out, piece, take);
		out += take;
		p += n;
	}
	if (dstlen > 0)
		dst[out] = '\0';
	return dst;
}

bool
date_valid(const char *s)
{
	return strlen(s) == 10 && digits(s, 4, 1900, 9999) && s[4] == '-' &&
	    digits(s + 5, 2, 1, 12) && s[7] == '-' && digits(s + 8, 2, 1, 31);
}

bool
date_exists(const char *s)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!date_valid(s))
		return false;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= days[m - 1] + (m == 2 && leap);
}

bool
word_in(const char *s, const char *const *list)
{
	for (size_t i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool
query_bool_valid(const char *v)
{
	return v == NULL || strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
}
