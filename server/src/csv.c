/*
 * csv.c - a single pass over the text with one state bit (inside quotes).
 * Fields are built in an sbuf and copied into the arena when they end.
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "errorf.h"

struct builder {
	struct arena *a;
	struct csv *out;
	size_t max_rows, max_fields, cap_rows;
	struct sbuf field;
	char **fields;
	size_t nfields, cap_fields;
	size_t line, row_line;
};

static bool
end_field(struct builder *b, char *err, size_t errlen)
{
	if (b->nfields == b->max_fields)
		return errorf(
		    err, errlen, "line %zu: more than %zu fields", b->row_line, b->max_fields);
	if (b->nfields == b->cap_fields) {
		b->cap_fields = b->cap_fields ? 2 * b->cap_fields : 16;
		char **grown = arena_alloc(b->a, b->cap_fields * sizeof(*grown));
		if (b->nfields)
			memcpy(grown, b->fields, b->nfields * sizeof(*grown));
		b->fields = grown;
	}
	b->fields[b->nfields++] =
	    arena_strndup(b->a, b->field.data ? b->field.data : "", b->field.len);
	b->field.len = 0;
	return true;
}

static bool
end_row(struct builder *b, char *err, size_t errlen)
{
	if (!end_field(b, err, errlen))
		return false;
	/* A blank line is one empty field: not a record. */
	bool blank = b->nfields == 1 && b->fields[0][0] == '\0';
	if (!blank) {
		if (b->out->nrows == b->max_rows)
			return errorf(err, errlen, "more than %zu records", b->max_rows);
		if (b->out->nrows == b->cap_rows) {
			b->cap_rows = b->cap_rows ? 2 * b->cap_rows : 64;
			struct csv_row *grown = arena_alloc(b->a, b->cap_rows * sizeof(*grown));
			if (b->out->nrows)
				memcpy(grown, b->out->rows, b->out->nrows * sizeof(*grown));
			b->out->rows = grown;
		}
		struct csv_row *row = &b->out->rows[b->out->nrows++];
		row->line = b->row_line;
		row->nfields = b->nfields;
		row->fields = b->fields;
		b->fields = NULL;
		b->cap_fields = 0;
	}
	b->nfields = 0;
	b->row_line = b->line;
	return true;
}

bool
csv_parse(struct arena *a, const char *text, size_t len, size_t max_rows, size_t max_fields,
    struct csv *out, char *err, size_t errlen)
{
	struct builder b = { .a = a,
		.out = out,
		.max_rows = max_rows,
		.max_fields = max_fields,
		.line = 1,
		.row_line = 1 };
	out->rows = NULL;
	out->nrows = 0;
	size_t i = 0;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	bool quoted = false, ok = true;
	for (; ok && i < len; i++) {
		char c = text[i];
		if (c == '\0') {
			ok = errorf(err, errlen, "line %zu: a NUL byte", b.line);
		} else if (quoted) {
			if (c == '"' && i + 1 < len && text[i + 1] == '"') {
				sbuf_append(&b.field, "\"", 1);
				i++;
			} else if (c == '"') {
				quoted = false;
				if (i + 1 < len && !strchr(",\r\n", text[i + 1]))
					ok = errorf(err, errlen,
					    "line %zu: text after a closing quote", b.line);
			} else {
				if (c == '\n')
					b.line++;
				sbuf_append(&b.field, &c, 1);
			}
		} else if (c == '"') {
			if (b.field.len != 0)
				ok = errorf(err, errlen,
				    "line %zu: a quote inside an unquoted field", b.line);
			quoted = true;
		} else if (c == ',') {
			ok = end_field(&b, err, errlen);
		} else if (c == '\r' && i + 1 < len && text[i + 1] == '\n') {
			continue; /* the LF ends the record */
		} else if (c == '\n') {
			b.line++;
			ok = end_row(&b, err, errlen);
		} else {
			sbuf_append(&b.field, &c, 1);
		}
	}
	if (ok && quoted)
		ok = errorf(err, errlen, "line %zu: a quoted field is not closed", b.row_line);
	if (ok && (b.field.len > 0 || b.nfields > 0))
		ok = end_row(&b, err, errlen);
	sbuf_free(&b.field);
	return ok;
}

void
csv_write_field(struct sbuf *b, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		sbuf_append(b, s, strlen(s));
	} else {
		sbuf_append(b, "\"", 1);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				sbuf_append(b, "\"", 1); /* a quote is written twice */
			sbuf_append(b, p, 1);
		}
		sbuf_append(b, "\"", 1);
	}
	sbuf_append(b, last ? "\r\n" : ",", last ? 2 : 1);
}

bool
csv_wanted(const char *accept)
{
	return accept != NULL && strcasestr(accept, "text/csv") != NULL;
}
