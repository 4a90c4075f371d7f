/*
 * roster.h - rosters of committees and mediators from spreadsheets, read
 * without the database: the CSV text, its first line naming the columns,
 * and every row checked, each error named by its line. api_import.c stores
 * what passes.
 */
#ifndef TIAOJIE_ROSTER_H
#define TIAOJIE_ROSTER_H

#include <jansson.h>

#include "csv.h"
#include "mediators.h"

#define ROSTER_MAX_ROWS   5000 /* rows after the first line */
#define ROSTER_MAX_ERRORS 100  /* errors listed; the rest are left out */

extern const char *const roster_committee_columns[];
enum {
	C_NAME,
	C_KIND,
	C_REGION,
	C_HOST,
	C_ADDRESS,
	C_PHONE,
	C_PURCHASED,
	C_ESTABLISHED,
	C_CLOSED,
	C_COUNT
};

extern const char *const roster_mediator_columns[];
enum {
	M_NAME,
	M_GENDER,
	M_FULL_TIME,
	M_SPECIALTIES,
	M_EXPERT,
	M_PHONE,
	M_TRAINED,
	M_CERTIFIED,
	M_COMMITTEES,
	M_COUNT
};

enum roster_read {
	ROSTER_OK,
	ROSTER_NOT_CSV,       /* the reason is in err */
	ROSTER_WRONG_COLUMNS, /* the first line does not name the columns */
};

/*
 * Parses len bytes of text as a roster whose first line names columns
 * (NULL-terminated), in arena a.
 */
enum roster_read roster_read(struct arena *a, const char *text, size_t len,
    const char *const *columns, struct csv *csv, char *err, size_t errlen);

/* Appends {"line": line, "message": message} to errors, up to ROSTER_MAX_ERRORS. */
void roster_error(json_t *errors, size_t line, const char *message);

/*
 * Checks every committee row after the first line, adding to errors one
 * for each that is wrong. Returns the region codes of the others as an
 * array literal ("{450102,450103}").
 */
const char *roster_committees_check(struct arena *a, const struct csv *csv, json_t *errors);

/*
 * Checks every mediator row after the first line, filling rows[i] (of
 * csv->nrows) for each that is right and adding to errors one for each
 * that is wrong (its committees NULL). Returns the committee ids of the
 * right ones as an array literal.
 */
const char *roster_mediators_check(
    struct arena *a, const struct csv *csv, json_t *errors, struct mediator_row *rows);

#endif
