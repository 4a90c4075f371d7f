/*
 * api_case_parties.c - the parties of a case (当事人): applicant, respondent,
 * others. Names, ID numbers, phones and addresses are sealed under the
 * case's key, bound to the party's row; gender and birth year stay in the
 * clear for statistics; phones and ID numbers get blind indexes.
 */
#include <sodium.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "cases.h"
#include "db.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define PARTIES_MAX 20

static const char *const party_roles[] = { "applicant", "respondent", "other", NULL };
static const char *const sealed_columns[] = { "name", "id_number", "phone", "address" };

static bool
one_of(json_t *v, const char *const *list)
{
	for (size_t i = 0; json_is_string(v) && list[i]; i++)
		if (strcmp(json_string_value(v), list[i]) == 0)
			return true;
	return false;
}

/* Why p is not a party (partial: a change to one, any members), or NULL. */
static const char *
party_problem(json_t *p, bool partial)
{
	json_t *role = NULL, *name = NULL, *idn = NULL, *phone = NULL, *address = NULL,
	       *gender = NULL, *year = NULL, *rel = NULL;
	char norm[64];
	if (!json_is_object(p) ||
	    json_unpack(p, "{s?o, s?o, s?o, s?o, s?o, s?o, s?o, s?o !}", "role", &role, "name",
		&name, "id_number", &idn, "phone", &phone, "address", &address, "gender", &gender,
		"birth_year", &year, "relationship", &rel) != 0)
		return "a party has role, name, id_number, phone, address, gender, birth_year and "
		       "relationship, nothing else";
	if (!partial && (role == NULL || name == NULL))
		return "a party has role and name";
	if (partial && json_object_size(p) == 0)
		return "give at least one member of the party to change";
	if (role && !one_of(role, party_roles))
		return "a party's role is applicant, respondent or other";
	if (name && !(json_is_string(name) && text_valid(json_string_value(name), 100)))
		return "a party's name is 1 to 100 printable characters";
	if (idn && !json_is_null(idn) &&
	    !(json_is_string(idn) &&
		blind_normalise(BLIND_ID_NUMBER, json_string_value(idn), norm, sizeof(norm))))
		return "a party's id_number is an 18-character resident ID number, or null";
	if (phone && !json_is_null(phone) &&
	    !(json_is_string(phone) &&
		blind_normalise(BLIND_PHONE, json_string_value(phone), norm, sizeof(norm))))
		return "a party's phone is a mainland number (7 to 12 digits, +86 allowed), or "
		       "null";
	if (address && !json_is_null(address) &&
	    !(json_is_string(address) && text_valid(json_string_value(address), 300)))
		return "a party's address is up to 300 printable characters, or null";
	if (gender && !json_is_null(gender) &&
	    !(json_is_string(gender) &&
		(strcmp(json_string_value(gender), "female") == 0 ||
		    strcmp(json_string_value(gender), "male") == 0)))
		return "a party's gender is female, male or null";
	if (year && !json_is_null(year) &&
	    !(json_is_integer(year) && json_integer_value(year) >= 1900 &&
		json_integer_value(year) <= 2100))
		return "a party's birth_year is a year from 1900 to 2100, or null";
	if (rel && !json_is_null(rel) &&
	    !(json_is_string(rel) && text_valid(json_string_value(rel), 40)))
		return "a party's relationship is up to 40 printable characters, or null";
	return NULL;
}

const char *
parties_problem(json_t *parties)
{
	if (!json_is_array(parties) || json_array_size(parties) == 0 ||
	    json_array_size(parties) > PARTIES_MAX)
		return "parties lists 1 to 20 parties";
	size_t i;
	json_t *p;
	json_array_foreach(parties, i, p)
	{
		const char *why = party_problem(p, false);
		if (why != NULL)
			return why;
	}
	return NULL;
}

bool
parties_store_or_reply(struct request *r, const unsigned char dek[CRYPT_KEY_BYTES],
    const char *case_id, json_t *parties)
{
	size_t n = json_array_size(parties);
	const char *count = arena_printf(r->arena, "%zu", n);
	const char *seq[] = { "parties_id_seq", count };
	PGresult *ids = db_query_or_reply(r, SQL_NEXT_IDS, seq);
	if (ids == NULL)
		return false;
	/* Columns: id, role, name, id_number, phone, address, gender, year, rel, bidx x2. */
	enum {
		P_ID,
		P_ROLE,
		P_NAME,
		P_IDN,
		P_PHONE,
		P_ADDRESS,
		P_GENDER,
		P_YEAR,
		P_REL,
		P_PB,
		P_IB,
		P_COLS
	};
	const char **col[P_COLS];
	for (int c = 0; c < P_COLS; c++)
		col[c] = arena_zalloc(r->arena, n * sizeof(**col));
	const char *next = PQgetvalue(ids, 0, 0) + 1;
	size_t i;
	json_t *p;
	json_array_foreach(parties, i, p)
	{
		const char *id = arena_strndup(r->arena, next, strcspn(next, ",}"));
		next += strcspn(next, ",}") + 1;
		col[P_ID][i] = id;
		col[P_ROLE][i] = json_text(json_object_get(p, "role"));
		for (int c = 0; c < 4; c++) {
			const char *plain = json_text(json_object_get(p, sealed_columns[c]));
			if (plain == NULL)
				continue;
			col[P_NAME + c][i] =
			    field_seal(r, dek, "parties", sealed_columns[c], id, plain);
			if (col[P_NAME + c][i] == NULL) {
				reply_problem(
				    r, 500, PROBLEM_INTERNAL, "A party could not be encrypted.");
				return false;
			}
		}
		const char *phone = json_text(json_object_get(p, "phone"));
		const char *idn = json_text(json_object_get(p, "id_number"));
		col[P_PB][i] = phone ? field_blind(r, BLIND_PHONE, phone) : NULL;
		col[P_IB][i] = idn ? field_blind(r, BLIND_ID_NUMBER, idn) : NULL;
		col[P_GENDER][i] = json_text(json_object_get(p, "gender"));
		json_t *year = json_object_get(p, "birth_year");
		col[P_YEAR][i] = json_is_integer(year)
		    ? arena_printf(r->arena, "%lld", (long long)json_integer_value(year))
		    : NULL;
		col[P_REL][i] = json_text(json_object_get(p, "relationship"));
	}
	const char *params[P_COLS + 1];
	params[0] = case_id;
	for (int c = 0; c < P_COLS; c++)
		params[c + 1] = db_array_literal(r->arena, col[c], n);
	PGresult *res = db_exec_or_reply(r, SQL_PARTIES_INSERT, params);
	if (res == NULL)
		return false;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(
		    LOG_ERROR, "request %s: storing parties: %s", r->id, PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The parties could not be stored; this has been logged as %s.", r->id);
		return false;
	}
	return true;
}

static void
cases_add_parties(struct request *r)
{
	json_t *parties = NULL;
	json_error_t e;
	const char *why = NULL;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:o}", "parties", &parties) != 0)
		why = "the body is {\"parties\": [...]}";
	else
		why = parties_problem(parties);
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	struct case_head h;
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!case_head_or_reply(r, &h) || !case_key_or_reply(r, &h, dek))
		return;
	bool good = db_begin_or_reply(r);
	PGresult *res = NULL;
	if (good) {
		const char *params[] = { h.id, h.version };
		res = audit_exec_or_reply(r, SQL_CASE_PARTY_ADD, params, 2);
		good = res != NULL && case_written_or_reply(r, res) &&
		    parties_store_or_reply(r, dek, h.id, parties);
	}
	sodium_memzero(dek, sizeof(dek));
	if (good)
		case_reply(r, h.id, 201, NULL);
}

/* A member's new value as a parameter: whether it is given, and its text. */
static void
member(struct request *r, json_t *body, const char *name, const char **given, const char **text)
{
	json_t *v = json_object_get(body, name);
	*given = v ? "true" : "false";
	*text = json_is_integer(v)
	    ? arena_printf(r->arena, "%lld", (long long)json_integer_value(v))
	    : json_text(v);
}

static void
cases_update_party(struct request *r)
{
	const char *party = request_param(r, "party");
	long v;
	if (party == NULL || !parse_int_range(party, 1, 999999999999L, &v)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST, "The party's id is a positive integer.");
		return;
	}
	const char *why = party_problem(r->json, true);
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	struct case_head h;
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!case_head_or_reply(r, &h) || !case_key_or_reply(r, &h, dek))
		return;
	/* Sealed members: given?, ciphertext; blind indexes follow their fields. */
	const char *sealed[4][2];
	bool good = true;
	for (int c = 0; c < 4; c++) {
		const char *plain = NULL;
		member(r, r->json, sealed_columns[c], &sealed[c][0], &plain);
		sealed[c][1] =
		    plain ? field_seal(r, dek, "parties", sealed_columns[c], party, plain) : NULL;
		good = good && (plain == NULL || sealed[c][1] != NULL);
	}
	sodium_memzero(dek, sizeof(dek));
	if (!good) {
		reply_problem(r, 500, PROBLEM_INTERNAL, "The party could not be encrypted.");
		return;
	}
	const char *idn = json_text(json_object_get(r->json, "id_number"));
	const char *phone = json_text(json_object_get(r->json, "phone"));
	const char *role, *gender_set, *gender, *year_set, *year, *rel_set, *rel, *ignored;
	member(r, r->json, "role", &ignored, &role);
	member(r, r->json, "gender", &gender_set, &gender);
	member(r, r->json, "birth_year", &year_set, &year);
	member(r, r->json, "relationship", &rel_set, &rel);
	const char *params[] = { h.id, h.version, party, role, sealed[0][1], sealed[1][0],
		sealed[1][1], idn ? field_blind(r, BLIND_ID_NUMBER, idn) : NULL, sealed[2][0],
		sealed[2][1], phone ? field_blind(r, BLIND_PHONE, phone) : NULL, sealed[3][0],
		sealed[3][1], gender_set, gender, year_set, year, rel_set, rel };
	if (!db_begin_or_reply(r))
		return;
	PGresult *res = audit_exec_or_reply(r, SQL_CASE_PARTY_UPDATE, params, 19);
	if (res == NULL)
		return;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "Case %s has no party %s.", h.id, party);
		return;
	}
	if (case_written_or_reply(r, res))
		case_reply(r, h.id, 200, NULL);
}

const struct route case_parties_routes[] = {
	{ "POST", "/api/v1/cases/{id}/parties", cases_add_parties, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ "PATCH", "/api/v1/cases/{id}/parties/{party}", cases_update_party,
	    ROLE_ADMIN | ROLE_MEDIATOR, BODY_JSON },
	{ 0 },
};
