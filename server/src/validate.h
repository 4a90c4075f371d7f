/*
 * validate.h - checks of single values shared by the resource files.
 * Pure functions: no I/O, no allocation.
 */
#ifndef TIAOJIE_VALIDATE_H
#define TIAOJIE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* GB/T 2260 code: 6 digits; township codes 9 or 12 digits. */
bool region_code_valid(const char *s);

/* 3 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit. */
bool username_valid(const char *s);

/* One of admin, federation, mediator, hotline. */
bool role_valid(const char *s);

/* One of province, city, county, township. */
bool region_level_valid(const char *s);

/* A decimal whole number from lo to hi, nothing else. */
bool parse_int_range(const char *s, long lo, long hi, long *out);

/*
 * Printable UTF-8 of 1 to max_chars characters: no control characters,
 * no leading or trailing space.
 */
bool text_valid(const char *s, size_t max_chars);

/*
 * Longer text (a summary, notes): 1 to max_chars characters of valid
 * UTF-8, line breaks and tabs allowed, other controls not, not blank.
 */
bool note_valid(const char *s, size_t max_chars);

/*
 * An RFC 3339 date-time with a time zone: 2026-11-29T21:40:00+08:00,
 * 2026-11-29T13:40:00.123Z. Field ranges are checked; the calendar
 * (30 February) is left to the database.
 */
bool rfc3339_valid(const char *s);

/* A calendar date YYYY-MM-DD (ranges checked; 30 February left to the database). */
bool date_valid(const char *s);

/* date_valid, and a day that exists (leap years included). */
bool date_exists(const char *s);

/*
 * Copies src into dst (dstlen bytes, NUL included) as printable UTF-8:
 * an invalid sequence or a control character becomes '?', and a character
 * that does not fit whole is left out. Returns dst.
 */
char *utf8_sanitize(char *dst, size_t dstlen, const char *src);

/* Is s one of the words of list (NULL-terminated)? False for NULL. */
bool word_in(const char *s, const char *const *list);

/* A query argument that is absent, "true" or "false". */
bool query_bool_valid(const char *v);

#endif
