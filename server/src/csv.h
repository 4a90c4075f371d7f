/*
 * csv.h - reading CSV as spreadsheets write it (RFC 4180): fields split by
 * commas, records by CRLF or LF; a field in double quotes may hold commas,
 * line breaks and doubled quotes. A leading UTF-8 byte-order mark is
 * skipped; blank lines are left out. Everything lives in the caller's arena.
 */
#ifndef TIAOJIE_CSV_H
#define TIAOJIE_CSV_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct csv_row {
	size_t line; /* where the record starts, from 1 */
	size_t nfields;
	char **fields; /* NUL-terminated */
};

struct csv {
	struct csv_row *rows;
	size_t nrows;
};

/*
 * Parses len bytes of text. Returns false with the line and a reason in
 * err when the quoting is broken, a field holds a NUL, or there are more
 * than max_rows records or max_fields fields in one.
 */
bool csv_parse(struct arena *a, const char *text, size_t len, size_t max_rows, size_t max_fields,
    struct csv *out, char *err, size_t errlen);

struct sbuf;

/*
 * Appends s as one CSV field, quoted when it holds a comma, a quote or a
 * line break, then a comma, or CRLF when it ends the record.
 */
void csv_write_field(struct sbuf *b, const char *s, bool last);

/* Does an Accept header ask for text/csv? */
bool csv_wanted(const char *accept);

#endif
