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

/* One of province, city, county, township. */
bool region_level_valid(const char *s);

/* A decimal whole number from lo to hi, nothing else. */
bool parse_int_range(const char *s, long lo, long hi, long *out);

/*
 * Printable UTF-8 of 1 to max_chars characters: no control characters,
 * no leading or trailing space.
 */
bool text_valid(const char *s, size_t max_chars);

#endif
