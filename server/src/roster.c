/*
 * roster.c - reading rosters: a CSV file is checked whole and every error
 * is reported with its line, so that a spreadsheet can be corrected in one
 * go. Nothing here touches the database.
 */
#include "roster.h"

#include <string.h>

#include "arena.h"
#include "crypt.h"
#include "validate.h"

const char *const roster_committee_columns[] = { "name", "kind", "region_code", "host_org",
	"address", "phone", "purchased_service", "established_on", "closed_on", NULL };

const char *const roster_mediator_columns[] = { "name", "gender", "full_time", "specialties",
	"expert", "phone", "trained_on", "certified_on", "committees", NULL };

enum roster_read
roster_read(struct arena *a, const char *text, size_t len, const char *const *columns,
    struct csv *csv, char *err, size_t errlen)
{
	size_t n = 0;
	while (columns[n])
		n++;
	if (!csv_parse(a, text, len, ROSTER_MAX_ROWS + 1, 64, csv, err, errlen))
		return ROSTER_NOT_CSV;
	bool header_ok = csv->nrows > 0 && csv->rows[0].nfields == n;
	for (size_t i = 0; header_ok && i < n; i++)
		header_ok = strcmp(csv->rows[0].fields[i], columns[i]) == 0;
	return header_ok ? ROSTER_OK : ROSTER_WRONG_COLUMNS;
}

/*
 * An array literal ("{a,b}") of a whole roster, built in b and copied into
 * the arena at the end: built by arena_printf, each row would copy all the
 * rows before it (a megabyte roster, gigabytes).
 */
static void
literal_add(struct sbuf *b, const char *item, size_t len)
{
	sbuf_append(b, b->len == 0 ? "{" : ",", 1);
	sbuf_append(b, item, len);
}

static const char *
literal_end(struct arena *a, struct sbuf *b)
{
	if (b->len == 0)
		sbuf_append(b, "{", 1);
	sbuf_append(b, "}", 1);
	char *out = arena_strndup(a, b->data, b->len);
	sbuf_free(b);
	return out;
}

void
roster_error(json_t *errors, size_t line, const char *message)
{
	if (json_array_size(errors) < ROSTER_MAX_ERRORS)
		json_array_append_new(
		    errors, json_pack("{s:I, s:s}", "line", (json_int_t)line, "message", message));
}

static bool
phone_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 3 && n <= 30 && strspn(s, "0123456789+() -") == n;
}

/* What is wrong with a committee row, or NULL. */
static const char *
committee_row_problem(char **f)
{
	if (!text_valid(f[C_NAME], 200))
		return "name must be 1 to 200 printable characters";
	if (strcmp(f[C_KIND], "committee") != 0 && strcmp(f[C_KIND], "room") != 0 &&
	    strcmp(f[C_KIND], "guidance") != 0)
		return "kind must be committee, room or guidance";
	if (!region_code_valid(f[C_REGION]))
		return "region_code must be a region code";
	if ((*f[C_HOST] && !text_valid(f[C_HOST], 200)) ||
	    (*f[C_ADDRESS] && !text_valid(f[C_ADDRESS], 300)))
		return "host_org and address are text (200 and 300 characters at most) or empty";
	if (*f[C_PHONE] && !phone_ok(f[C_PHONE]))
		return "phone has 3 to 30 of 0-9 + ( ) - and spaces, or is empty";
	if (*f[C_PURCHASED] && strcmp(f[C_PURCHASED], "yes") != 0 &&
	    strcmp(f[C_PURCHASED], "no") != 0)
		return "purchased_service is yes, no or empty";
	if (!date_exists(f[C_ESTABLISHED]))
		return "established_on must be a date that exists, such as 2020-06-18";
	if (*f[C_CLOSED] &&
	    (!date_exists(f[C_CLOSED]) || strcmp(f[C_CLOSED], f[C_ESTABLISHED]) < 0))
		return "closed_on must be empty or a date not before established_on";
	return NULL;
}

const char *
roster_committees_check(struct arena *a, const struct csv *csv, json_t *errors)
{
	struct sbuf codes = { 0 };
	for (size_t i = 1; i < csv->nrows; i++) {
		const struct csv_row *row = &csv->rows[i];
		const char *why = row->nfields != C_COUNT ? "the line does not have 9 fields"
							  : committee_row_problem(row->fields);
		if (why != NULL)
			roster_error(errors, row->line, why);
		else
			literal_add(&codes, row->fields[C_REGION], strlen(row->fields[C_REGION]));
	}
	return literal_end(a, &codes);
}

static const char *
or_null(const char *s)
{
	return *s ? s : NULL;
}

/* "a;b" as an array literal {a,b} after checking each item; NULL if one is bad. */
static const char *
list_literal(struct arena *a, const char *text, bool (*item_ok)(const char *), size_t max)
{
	/* The literal is no longer than the text and its braces. */
	char *out = arena_alloc(a, strlen(text) + 3), *end = out;
	*end++ = '{';
	size_t n = 0;
	char *copy = arena_strdup(a, text), *save = NULL;
	for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		if (!item_ok(item) || ++n > max)
			return NULL;
		if (n > 1)
			*end++ = ',';
		end = stpcpy(end, item);
	}
	strcpy(end, "}");
	return out;
}

static bool
id_ok(const char *s)
{
	long v;
	return parse_int_range(s, 1, 999999999999L, &v);
}

/* Fills m from a row; returns why the row is not a mediator, or NULL. */
static const char *
mediator_row_problem(struct arena *a, char **f, struct mediator_row *m)
{
	char norm[32];
	m->name = f[M_NAME];
	m->gender = or_null(f[M_GENDER]);
	m->full_time = strcmp(f[M_FULL_TIME], "yes") == 0 ? "true" : "false";
	m->expert = strcmp(f[M_EXPERT], "yes") == 0 ? "true" : "false";
	m->phone = or_null(f[M_PHONE]);
	m->trained = or_null(f[M_TRAINED]);
	m->certified = or_null(f[M_CERTIFIED]);
	m->specialties = list_literal(a, f[M_SPECIALTIES], mediator_specialty_valid, 6);
	m->committees = list_literal(a, f[M_COMMITTEES], id_ok, 20);
	if (!text_valid(m->name, 100))
		return "name must be 1 to 100 printable characters";
	if (m->gender && strcmp(m->gender, "female") != 0 && strcmp(m->gender, "male") != 0)
		return "gender is female, male or empty";
	if (strcmp(f[M_FULL_TIME], "yes") != 0 && strcmp(f[M_FULL_TIME], "no") != 0)
		return "full_time is yes or no";
	if (*f[M_EXPERT] && strcmp(f[M_EXPERT], "yes") != 0 && strcmp(f[M_EXPERT], "no") != 0)
		return "expert is yes, no or empty";
	if (m->specialties == NULL)
		return "specialties are some of "
		       "law;psychology;social_work;education;medicine;other";
	if (m->committees == NULL || strcmp(m->committees, "{}") == 0)
		return "committees lists 1 to 20 committee ids separated by ;";
	if (m->phone && !blind_normalise(BLIND_PHONE, m->phone, norm, sizeof(norm)))
		return "phone is a mainland phone number or empty";
	if ((m->trained && !date_exists(m->trained)) ||
	    (m->certified && !date_exists(m->certified)))
		return "trained_on and certified_on are dates that exist, or empty";
	return NULL;
}

const char *
roster_mediators_check(
    struct arena *a, const struct csv *csv, json_t *errors, struct mediator_row *rows)
{
	struct sbuf ids = { 0 };
	for (size_t i = 1; i < csv->nrows; i++) {
		const struct csv_row *row = &csv->rows[i];
		const char *why = row->nfields != M_COUNT
		    ? "the line does not have 9 fields"
		    : mediator_row_problem(a, row->fields, &rows[i]);
		if (why != NULL) {
			roster_error(errors, row->line, why);
			rows[i].committees = NULL;
		} else {
			/* The row's own literal, "{1,2}", without its braces. */
			literal_add(&ids, rows[i].committees + 1, strlen(rows[i].committees) - 2);
		}
	}
	return literal_end(a, &ids);
}
