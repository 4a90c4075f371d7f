/*
 * fuzz_csv.c - the CSV reader (csv.c) and the roster import's reading of
 * it (roster.c): the first line, every row's checks, the lists inside
 * fields ("law;psychology", "3;17"). Nothing here reaches the database.
 *
 * Input: a first line saying what the rest is:
 *
 *   committees          a committee roster, as POST /api/v1/import/committees takes it
 *   mediators           a mediator roster
 *   csv ROWS FIELDS     any CSV, read with those limits (else 5001 and 64)
 *
 * CSV that reads is written out again with csv_write_field() and must read
 * back to the same records and fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "csv.h"
#include "fuzz_check.h"
#include "roster.h"

/* Is literal an array literal, "{...}" with no brace inside? */
static bool
array_literal(const char *literal)
{
	size_t n = strlen(literal);
	return n >= 2 && literal[0] == '{' && literal[n - 1] == '}' &&
	    strcspn(literal + 1, "{}") == n - 2;
}

static void
roster(struct arena *a, const char *text, size_t len, bool committees)
{
	const char *const *columns =
	    committees ? roster_committee_columns : roster_mediator_columns;
	struct csv csv;
	char err[256];
	if (roster_read(a, text, len, columns, &csv, err, sizeof(err)) != ROSTER_OK)
		return;
	CHECK(csv.nrows >= 1 && csv.nrows <= ROSTER_MAX_ROWS + 1);
	json_t *errors = json_array();
	if (committees) {
		CHECK(array_literal(roster_committees_check(a, &csv, errors)));
	} else {
		struct mediator_row *rows = arena_zalloc(a, csv.nrows * sizeof(*rows));
		CHECK(array_literal(roster_mediators_check(a, &csv, errors, rows)));
		for (size_t i = 1; i < csv.nrows; i++)
			CHECK(rows[i].committees == NULL ||
			    (array_literal(rows[i].committees) &&
				array_literal(rows[i].specialties)));
	}
	CHECK(json_array_size(errors) <= ROSTER_MAX_ERRORS);
	json_decref(errors);
}

/* Written out (after a byte-order mark, as the server writes CSV), it reads back the same. */
static void
round_trip(struct arena *a, const struct csv *csv, size_t max_rows, size_t max_fields)
{
	struct sbuf b = { 0 };
	sbuf_append(&b, "\xEF\xBB\xBF", 3);
	for (size_t i = 0; i < csv->nrows; i++)
		for (size_t j = 0; j < csv->rows[i].nfields; j++)
			csv_write_field(&b, csv->rows[i].fields[j], j + 1 == csv->rows[i].nfields);
	struct csv back;
	char err[256];
	CHECK(csv_parse(a, b.data, b.len, max_rows, max_fields, &back, err, sizeof(err)));
	CHECK(back.nrows == csv->nrows);
	for (size_t i = 0; i < csv->nrows; i++) {
		CHECK(back.rows[i].nfields == csv->rows[i].nfields);
		for (size_t j = 0; j < csv->rows[i].nfields; j++)
			CHECK(strcmp(back.rows[i].fields[j], csv->rows[i].fields[j]) == 0);
	}
	sbuf_free(&b);
}

static void
any_csv(struct arena *a, const char *line, const char *text, size_t len)
{
	unsigned long rows = ROSTER_MAX_ROWS + 1, fields = 64;
	if (sscanf(line, "csv %lu %lu", &rows, &fields) != 2 || rows > 100000 || fields > 1000) {
		rows = ROSTER_MAX_ROWS + 1;
		fields = 64;
	}
	struct csv csv;
	char err[256];
	if (!csv_parse(a, text, len, rows, fields, &csv, err, sizeof(err))) {
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(csv.nrows <= rows);
	size_t last = 0;
	for (size_t i = 0; i < csv.nrows; i++) {
		const struct csv_row *row = &csv.rows[i];
		CHECK(row->nfields >= 1 && row->nfields <= fields && row->line > last);
		/* A blank line is no record. */
		CHECK(row->nfields > 1 || row->fields[0][0] != '\0');
		last = row->line;
	}
	round_trip(a, &csv, rows, fields);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t n = nl ? (size_t)(nl - text) : size;
	if (n >= 64)
		return 0;
	char line[64];
	memcpy(line, text, n);
	line[n] = '\0';
	const char *rest = nl ? nl + 1 : text + size;
	size_t len = size - (size_t)(rest - text);

	struct arena *a = arena_new();
	if (strcmp(line, "committees") == 0 || strcmp(line, "mediators") == 0)
		roster(a, rest, len, line[0] == 'c');
	else
		any_csv(a, line, rest, len);
	arena_free(a);
	return 0;
}
