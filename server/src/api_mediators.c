/*
 * api_mediators.c - mediators, the committees they serve, and their phone
 * numbers: personal data, encrypted under each mediator's own data key and
 * shown only to administrators who state why (X-Access-Purpose), each such
 * read audited with the field's name. Federation staff keep the mediators
 * of committees in their region; outside it, a mediator is 404.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "crypt.h"
#include "datakey.h"
#include "db.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "mediators.h"
#include "validate.h"

#define MEDIATORS_PAGE_DEFAULT  100
#define MEDIATORS_PAGE_MAX      1000
#define MEDIATOR_COMMITTEES_MAX 20

static const char *const specialties[] = { "law", "psychology", "social_work", "education",
	"medicine", "other", NULL };

bool
mediator_specialty_valid(const char *s)
{
	for (size_t i = 0; specialties[i]; i++)
		if (strcmp(s, specialties[i]) == 0)
			return true;
	return false;
}

static bool
optional_date(json_t *v)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) && date_valid(json_string_value(v)));
}

#define WHY_SPECIALTIES                                                                            \
	"specialties are some of law, psychology, social_work, education, medicine, other"
#define WHY_PHONE  "phone is a mainland phone number (7 to 12 digits, +86 allowed) or null"
#define WHY_DATES  "trained_on and certified_on are dates such as 2025-09-01, or null"
#define WHY_GENDER "gender is female, male or null"

static bool
gender_valid(json_t *v)
{
	const char *g = json_is_string(v) ? json_string_value(v) : NULL;
	return v == NULL || json_is_null(v) ||
	    (g && (strcmp(g, "female") == 0 || strcmp(g, "male") == 0));
}

static bool
phone_valid(json_t *v)
{
	char norm[32];
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) &&
		blind_normalise(BLIND_PHONE, json_string_value(v), norm, sizeof(norm)));
}

static const char *
bool_text(json_t *v)
{
	return v == NULL ? NULL : json_is_true(v) ? "true" : "false";
}

static const char *
text_or_null(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* {"law","psychology"} from a JSON array of known names; NULL if invalid. */
static const char *
specialties_literal(struct request *r, json_t *array)
{
	if (array == NULL)
		return "{}";
	if (!json_is_array(array) || json_array_size(array) > 6)
		return NULL;
	const char *out = "{";
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
	{
		if (!json_is_string(v) || !mediator_specialty_valid(json_string_value(v)))
			return NULL;
		out = arena_printf(r->arena, "%s%s%s", out, i ? "," : "", json_string_value(v));
	}
	return arena_printf(r->arena, "%s}", out);
}

/* {1,2} from a JSON array of min to 20 distinct committee ids; NULL if invalid. */
static const char *
committees_literal(struct request *r, json_t *array, size_t min)
{
	if (!json_is_array(array) || json_array_size(array) < min ||
	    json_array_size(array) > MEDIATOR_COMMITTEES_MAX)
		return NULL;
	const char *out = "{";
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return NULL;
		for (size_t j = 0; j < i; j++)
			if (json_integer_value(json_array_get(array, j)) == json_integer_value(v))
				return NULL;
		out = arena_printf(
		    r->arena, "%s%s%lld", out, i ? "," : "", (long long)json_integer_value(v));
	}
	return arena_printf(r->arena, "%s}", out);
}

/* The phone sealed for mediator id as bytea text, and its blind index. */
static bool
seal_phone(struct request *r, const unsigned char *dek, const char *id, const char *phone,
    const char **hex, const char **bidx)
{
	*bidx = field_blind(r, BLIND_PHONE, phone);
	*hex = *bidx ? field_seal(r, dek, "mediators", "phone", id, phone) : NULL;
	return *hex != NULL;
}

PGresult *
mediator_store(struct request *r, const struct mediator_row *m, long long *dk)
{
	struct db_conn *c = db_request_conn(r);
	unsigned char dek[CRYPT_KEY_BYTES];
	if (datakey_create(c, keyholder_get(&r->srv->keys), dk, dek) != DATAKEY_OK) {
		*dk = 0;
		reply_problem(
		    r, 503, PROBLEM_UNAVAILABLE, "The mediator could not be stored; try again.");
		return NULL;
	}
	PGresult *next = db_query_or_reply(r, SQL_MEDIATOR_NEXT_ID, NULL);
	const char *id = next ? PQgetvalue(next, 0, 0) : NULL, *hex = NULL, *bidx = NULL;
	bool sealed =
	    id != NULL && (m->phone == NULL || seal_phone(r, dek, id, m->phone, &hex, &bidx));
	sodium_memzero(dek, sizeof(dek));
	if (!sealed) {
		if (!reply_sent(r))
			reply_problem(
			    r, 500, PROBLEM_INTERNAL, "The phone could not be encrypted.");
		return NULL;
	}
	const char *params[] = { id, arena_printf(r->arena, "%lld", *dk), m->name, m->gender,
		m->full_time, m->specialties, m->expert, hex, bidx, m->trained, m->certified,
		m->committees, request_scope(r) };
	return audit_exec_or_reply(r, SQL_MEDIATOR_CREATE, params, 13);
}

static void
mediators_create(struct request *r)
{
	const char *name;
	json_t *gender = NULL, *full_time = NULL, *specs = NULL, *expert = NULL, *phone = NULL,
	       *trained = NULL, *certified = NULL, *committees = NULL;
	json_error_t e;
	if (!request_no_query_or_reply(r))
		return;
	if (json_unpack_ex(r->json, &e, JSON_STRICT,
		"{s:s, s?o, s:o, s?o, s?o, s?o, s?o, s?o, s:o}", "name", &name, "gender", &gender,
		"full_time", &full_time, "specialties", &specs, "expert", &expert, "phone", &phone,
		"trained_on", &trained, "certified_on", &certified, "committees",
		&committees) != 0) {
		reply_problem(
		    r, 400, PROBLEM_VALIDATION, "The body does not fit a mediator: %s.", e.text);
		return;
	}
	const char *spec_lit = specialties_literal(r, specs);
	const char *comm_lit = committees_literal(r, committees, 1);
	const char *why = NULL;
	if (!text_valid(name, 100))
		why = "name must be 1 to 100 printable characters";
	else if (!gender_valid(gender))
		why = WHY_GENDER;
	else if (!json_is_boolean(full_time) || (expert && !json_is_boolean(expert)))
		why = "full_time and expert are true or false";
	else if (spec_lit == NULL)
		why = WHY_SPECIALTIES;
	else if (comm_lit == NULL)
		why = "committees lists the ids of 1 to 20 distinct committees served";
	else if (!phone_valid(phone))
		why = WHY_PHONE;
	else if (!optional_date(trained) || !optional_date(certified))
		why = WHY_DATES;
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}

	struct mediator_row row = { name, text_or_null(gender),
		json_is_true(full_time) ? "true" : "false", spec_lit,
		expert ? (json_is_true(expert) ? "true" : "false") : NULL, text_or_null(phone),
		text_or_null(trained), text_or_null(certified), comm_lit };
	/* The mediator and its data key are stored together, or neither is. */
	long long dk = 0;
	struct db_conn *c = db_request_conn(r);
	if (!db_begin_or_reply(r))
		return;
	PGresult *res = mediator_store(r, &row, &dk);
	if (res == NULL) {
		db_run_fixed(c, "ROLLBACK");
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
		db_run_fixed(c, "ROLLBACK");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_msg(LOG_ERROR, "request %s: storing a mediator: %s", r->id,
			    PQresultErrorMessage(res));
			reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
			    "The mediator does not hold: trained_on and certified_on must be real "
			    "dates.");
		} else {
			reply_problem(r, 404, PROBLEM_NOT_FOUND,
			    "A committee listed does not exist in your scope.");
		}
		return;
	}
	if (!db_commit_or_reply(r))
		return;
	request_add_header(
	    r, "Location", arena_printf(r->arena, "/api/v1/mediators/%s", PQgetvalue(res, 0, 1)));
	db_reply_json(r, 201, res);
}

/* Decrypts the phone of mediator id into the request's arena; NULL if it cannot. */
static const char *
open_phone(struct request *r, const char *id, const char *dk, const char *hex)
{
	unsigned char dek[CRYPT_KEY_BYTES];
	enum datakey_status st = field_key(r, strtoll(dk, NULL, 10), dek);
	if (st != DATAKEY_OK) {
		log_msg(LOG_WARN, "request %s: mediator %s: data key %s", r->id, id,
		    datakey_status_text(st));
		return NULL;
	}
	const char *plain = field_open(r, dek, "mediators", "phone", id, hex);
	sodium_memzero(dek, sizeof(dek));
	if (plain == NULL)
		log_msg(
		    LOG_ERROR, "request %s: mediator %s: the phone does not decrypt", r->id, id);
	return plain;
}

static void
mediators_get(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *params[] = { id, request_scope(r) };
	PGresult *res = db_query_or_reply(r, SQL_MEDIATOR_GET, params);
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no mediator %s.", id);
		return;
	}
	/* Administrators see the phone when they say why; the read is audited. */
	bool reveal = r->who.role_bit == ROLE_ADMIN && !PQgetisnull(res, 0, 2) &&
	    request_header(r, "X-Access-Purpose") != NULL;
	if (!reveal) {
		db_reply_json(r, 200, res);
		return;
	}
	const char *phone = open_phone(r, id, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	json_t *m = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (phone != NULL) {
		const char *p[10];
		audit_context(r, p);
		p[6] = "mediator.read";
		p[7] = "mediator";
		p[8] = id;
		p[9] = "{phone}";
		PGresult *a = db_exec_or_reply(r, SQL_AUDIT_READ, p);
		if (a == NULL || PQresultStatus(a) != PGRES_COMMAND_OK) {
			json_decref(m);
			if (!reply_sent(r))
				reply_problem(r, 503, PROBLEM_UNAVAILABLE,
				    "The read could not be audited, so it is not made.");
			return;
		}
		json_object_set_new(m, "phone", json_string(phone));
	}
	reply_json(r, 200, m);
}

/* The mediator's data key, opened; false after replying. */
static bool
mediator_key_or_reply(struct request *r, const char *id, unsigned char dek[CRYPT_KEY_BYTES])
{
	const char *params[] = { id, request_scope(r) };
	PGresult *cur = db_query_or_reply(r, SQL_MEDIATOR_GET, params);
	if (cur == NULL)
		return false;
	if (PQntuples(cur) == 0) {
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "There is no mediator %s in your scope.", id);
		return false;
	}
	enum datakey_status st = field_key(r, strtoll(PQgetvalue(cur, 0, 1), NULL, 10), dek);
	if (st == DATAKEY_OK)
		return true;
	log_msg(
	    LOG_ERROR, "request %s: mediator %s: data key %s", r->id, id, datakey_status_text(st));
	reply_problem(
	    r, 503, PROBLEM_UNAVAILABLE, "The mediator's key is not available; try again.");
	return false;
}

static void
mediators_update(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *name = NULL;
	json_t *gender = NULL, *full_time = NULL, *specs = NULL, *expert = NULL, *phone = NULL,
	       *trained = NULL, *certified = NULL, *active = NULL, *committees = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT,
		"{s?s, s?o, s?o, s?o, s?o, s?o, s?o, s?o, s?o, s?o}", "name", &name, "gender",
		&gender, "full_time", &full_time, "specialties", &specs, "expert", &expert, "phone",
		&phone, "trained_on", &trained, "certified_on", &certified, "active", &active,
		"committees", &committees) != 0) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body does not fit a change to a mediator: %s.", e.text);
		return;
	}
	const char *spec_lit = specs ? specialties_literal(r, specs) : NULL;
	const char *comm_lit = committees ? committees_literal(r, committees, 0) : NULL;
	const char *why = NULL;
	if (json_object_size(r->json) == 0)
		why = "give at least one field to change";
	else if (name && !text_valid(name, 100))
		why = "name must be 1 to 100 printable characters";
	else if (!gender_valid(gender))
		why = WHY_GENDER;
	else if ((full_time && !json_is_boolean(full_time)) ||
	    (expert && !json_is_boolean(expert)) || (active && !json_is_boolean(active)))
		why = "full_time, expert and active are true or false";
	else if (specs && spec_lit == NULL)
		why = WHY_SPECIALTIES;
	else if (committees && comm_lit == NULL)
		why = "committees lists the ids of up to 20 distinct committees the mediator "
		      "serves from now on";
	else if (!phone_valid(phone))
		why = WHY_PHONE;
	else if (!optional_date(trained) || !optional_date(certified))
		why = WHY_DATES;
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}

	/* A new phone is sealed under the mediator's own key, bound to its id. */
	const char *hex = NULL, *bidx = NULL;
	if (json_is_string(phone)) {
		unsigned char dek[CRYPT_KEY_BYTES];
		if (!mediator_key_or_reply(r, id, dek))
			return;
		bool sealed = seal_phone(r, dek, id, json_string_value(phone), &hex, &bidx);
		sodium_memzero(dek, sizeof(dek));
		if (!sealed) {
			reply_problem(
			    r, 500, PROBLEM_INTERNAL, "The phone could not be encrypted.");
			return;
		}
	}

	if (!db_begin_or_reply(r))
		return;
	const char *params[] = { id, request_scope(r), name, gender ? "true" : "false",
		text_or_null(gender), bool_text(full_time), spec_lit, bool_text(expert),
		phone ? "true" : "false", hex, bidx, trained ? "true" : "false",
		text_or_null(trained), certified ? "true" : "false", text_or_null(certified),
		bool_text(active), comm_lit };
	PGresult *res = audit_exec_or_reply(r, SQL_MEDIATOR_UPDATE, params, 17);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_WARN, "request %s: changing mediator %s: %s", r->id, id,
		    PQresultErrorMessage(res));
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "The change does not hold: trained_on and certified_on must be real dates.");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "A committee listed does not exist in your scope.");
		return;
	}
	if (PQgetisnull(res, 0, 1)) {
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "There is no mediator %s in your scope.", id);
		return;
	}
	/* As it now stands; a mediator who left every committee in scope is still shown. */
	const char *read[] = { id, NULL };
	PGresult *now = db_query_or_reply(r, SQL_MEDIATOR_GET, read);
	if (now == NULL || !db_commit_or_reply(r))
		return;
	db_reply_json(r, 200, now);
}

static void
mediators_list(struct request *r)
{
	static const char *const known[] = { "committee", "expert", "specialty", "after", "limit",
		NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *committee = request_query(r, "committee"), *expert = request_query(r, "expert");
	const char *spec = request_query(r, "specialty"), *after = request_query(r, "after");
	const char *limit_s = request_query(r, "limit");
	long limit = MEDIATORS_PAGE_DEFAULT, v;
	if ((committee && !parse_int_range(committee, 1, 999999999999L, &v)) ||
	    (expert && strcmp(expert, "true") != 0 && strcmp(expert, "false") != 0) ||
	    (spec && !mediator_specialty_valid(spec)) ||
	    (after && !parse_int_range(after, 0, 999999999999L, &v)) ||
	    (limit_s && !parse_int_range(limit_s, 1, MEDIATORS_PAGE_MAX, &limit))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "committee and after are ids, expert is true or false, specialty a specialty, "
		    "limit 1 to %d.",
		    MEDIATORS_PAGE_MAX);
		return;
	}
	const char *params[] = { request_scope(r), committee, expert, spec, after,
		arena_printf(r->arena, "%ld", limit) };
	PGresult *res = db_query_or_reply(r, SQL_MEDIATORS_LIST, params);
	if (res != NULL)
		db_reply_json(r, 200, res);
}

const struct route mediators_routes[] = {
	{ "POST", "/api/v1/mediators", mediators_create, ROLE_ADMIN | ROLE_FEDERATION, BODY_JSON },
	{ "GET", "/api/v1/mediators", mediators_list, ROLE_ADMIN | ROLE_FEDERATION, BODY_NONE },
	{ "GET", "/api/v1/mediators/{id}", mediators_get, ROLE_ADMIN | ROLE_FEDERATION, BODY_NONE },
	{ "PATCH", "/api/v1/mediators/{id}", mediators_update, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_JSON },
	{ 0 },
};
