/*
 * api_cases.c - the case file: creating a case with its parties, reading
 * it, listing cases, changing what a mediator may change, adding parties,
 * and finding other open cases of the same people. docs/CASES.md has the
 * rules; this file also holds what the other case files share (cases.h).
 *
 * Personal data is sealed here under the case's own data key before any
 * statement runs, and opened here after one has; PostgreSQL only ever
 * holds ciphertext. A case outside the caller's scope is 404.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "arena.h"
#include "audit.h"
#include "cases.h"
#include "datakey.h"
#include "db.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#define CASES_PAGE_DEFAULT 100
#define CASES_PAGE_MAX     1000
#define CO_MEDIATORS_MAX   10
#define SUMMARY_MAX        5000

static const char *const sources[] = { "walk_in", "hotline_12338", "petition", "court", "police",
	"civil_affairs", "community", "other", NULL };
static const char *const dispute_types[] = { "divorce", "property_division", "custody",
	"child_support", "elder_support", "inheritance", "domestic_violence", "in_law_conflict",
	"bride_price", "other", NULL };
static const char *const statuses[] = { "registered", "accepted", "declined", "in_mediation",
	"expert_requested", "withdrawn", "closed", NULL };
static const char *const risks[] = { "low", "medium", "high", NULL };
static const char *const safety_kinds[] = { "police", "protection_order", "shelter", "other",
	NULL };

/* Members the service sets: a body naming one is refused. */
static const char *const service_set[] = { "id", "number", "status", "county_code", "accepted_at",
	"closed_at", "due_on", "overdue", "outcome", "confirmation", "version", "purged",
	"created_at", "updated_at", "expert_id", "decline_reason", NULL };

bool
case_dispute_type_valid(const char *s)
{
	return word_in(s, dispute_types);
}

static bool
string_of(json_t *v, const char *const *list)
{
	return json_is_string(v) && word_in(json_string_value(v), list);
}

static const char *
bool_text(json_t *v)
{
	return v == NULL || json_is_null(v) ? NULL : json_is_true(v) ? "true" : "false";
}

static bool
positive_id(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) > 0;
}

static const char *
id_text(struct request *r, json_t *v)
{
	return positive_id(v) ? arena_printf(r->arena, "%lld", (long long)json_integer_value(v))
			      : NULL;
}

bool
case_time_valid(json_t *v)
{
	return json_is_string(v) && rfc3339_valid(json_string_value(v));
}

/* Replies 400 naming a member the service sets; false if it did. */
static bool
no_service_members_or_reply(struct request *r)
{
	for (size_t i = 0; service_set[i]; i++)
		if (json_object_get(r->json, service_set[i]) != NULL) {
			reply_problem(r, 400, PROBLEM_VALIDATION,
			    "%s is set by the service, not by a request.", service_set[i]);
			return false;
		}
	return true;
}

/* {1,2} from 0 to max distinct positive ids; NULL if v is not that. */
static const char *
ids_literal(struct request *r, json_t *v, size_t max)
{
	if (!json_is_array(v) || json_array_size(v) > max)
		return NULL;
	const char **items = arena_alloc(r->arena, (json_array_size(v) + 1) * sizeof(*items));
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x)
	{
		if (!positive_id(x))
			return NULL;
		for (size_t j = 0; j < i; j++)
			if (json_integer_value(json_array_get(v, j)) == json_integer_value(x))
				return NULL;
		items[i] = id_text(r, x);
	}
	return db_array_literal(r->arena, items, json_array_size(v));
}

/* The first value of an array literal of ids ("{17,...}"). */
static const char *
first_id(struct request *r, const char *literal)
{
	return arena_strndup(r->arena, literal + 1, strcspn(literal + 1, ",}"));
}

void
case_scope(struct request *r, const char *scope[2])
{
	scope[0] = request_scope(r);
	scope[1] = NULL;
	if (r->who.role_bit == ROLE_MEDIATOR)
		scope[1] = r->who.mediator_id[0] ? r->who.mediator_id : "0";
}

/* The version named by If-Match ("N" or W/"N"); NULL after replying. */
static const char *
if_match_or_reply(struct request *r)
{
	const char *m = request_header(r, "If-Match");
	if (m == NULL) {
		reply_problem(r, 428, PROBLEM_PRECONDITION_REQUIRED,
		    "Send If-Match with the case's ETag, from reading it, to change it.");
		return NULL;
	}
	if (strncmp(m, "W/", 2) == 0)
		m += 2;
	size_t n = strlen(m);
	long v;
	char *digits =
	    n >= 3 && m[0] == '"' && m[n - 1] == '"' ? arena_strndup(r->arena, m + 1, n - 2) : NULL;
	if (digits == NULL || !parse_int_range(digits, 1, 2000000000L, &v)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "If-Match is the case's ETag, such as \"3\", from reading it.");
		return NULL;
	}
	return digits;
}

bool
case_head_or_reply(struct request *r, struct case_head *h)
{
	memset(h, 0, sizeof(*h));
	h->id = request_id_or_reply(r);
	if (h->id == NULL)
		return false;
	const char *version = if_match_or_reply(r);
	if (version == NULL)
		return false;
	const char *scope[2];
	case_scope(r, scope);
	const char *params[] = { h->id, scope[0], scope[1] };
	PGresult *res = db_query_or_reply(r, SQL_CASE_KEY, params);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no case %s.", h->id);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Case %s was purged at the end of its retention: it no longer changes.", h->id);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 1), version) != 0) {
		request_add_header(
		    r, "ETag", arena_printf(r->arena, "\"%s\"", PQgetvalue(res, 0, 1)));
		reply_problem(r, 412, PROBLEM_PRECONDITION_FAILED,
		    "Case %s has changed since version %s was read; read it again.", h->id,
		    version);
		return false;
	}
	h->data_key_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	h->version = version;
	/* The columns of SQL_CASE_KEY after data key, version and purged. */
	const struct {
		const char **field;
		int column;
	} cols[] = { { &h->status, 2 }, { &h->dv_risk, 4 }, { &h->safety_referral, 5 },
		{ &h->difficulty, 6 }, { &h->result, 7 }, { &h->agreement_form, 8 },
		{ &h->due_on, 9 }, { &h->committee_id, 10 } };
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		*cols[i].field = PQgetisnull(res, 0, cols[i].column)
		    ? NULL
		    : arena_strdup(r->arena, PQgetvalue(res, 0, cols[i].column));
	return true;
}

bool
case_key_or_reply(struct request *r, const struct case_head *h, unsigned char dek[CRYPT_KEY_BYTES])
{
	enum datakey_status st = field_key(r, h->data_key_id, dek);
	if (st == DATAKEY_OK)
		return true;
	log_msg(
	    LOG_ERROR, "request %s: case %s: data key %s", r->id, h->id, datakey_status_text(st));
	reply_problem(r, 503, PROBLEM_UNAVAILABLE, "The case's key is not available; try again.");
	return false;
}

bool
case_write_or_reply(struct request *r, enum sql_id statement, const char *const *params, size_t n)
{
	if (!db_begin_or_reply(r))
		return false;
	PGresult *res = audit_exec_or_reply(r, statement, params, n);
	return res != NULL && case_written_or_reply(r, res);
}

bool
case_written_or_reply(struct request *r, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && state != NULL &&
	    (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0)) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "The change does not hold: a date or time is not a real one, or the case's "
		    "facts would contradict each other (a domestic-violence risk without the "
		    "flag).");
		return false;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && state != NULL &&
	    (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0)) {
		log_msg(LOG_WARN, "request %s: writing a case: SQLSTATE %s", r->id, state);
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "The case could not be written for another write at the same moment; nothing "
		    "changed: try again.");
		return false;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_ERROR, "request %s: writing a case: SQLSTATE %s: %s", r->id,
		    PQresultErrorField(res, PG_DIAG_SQLSTATE)
			? PQresultErrorField(res, PG_DIAG_SQLSTATE)
			: "?",
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The case could not be written; this has been logged as %s.", r->id);
		return false;
	}
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, PQnfields(res) - 1)) {
		reply_problem(r, 412, PROBLEM_PRECONDITION_FAILED,
		    "The case changed while this request was made; read it again.");
		return false;
	}
	return true;
}

/* The encrypted members of a case's document, where they sit. */
static const struct sealed_member {
	const char *holder; /* NULL: the case; else a member with an object or array of them */
	const char *table, *column, *audit_name;
} sealed[] = {
	{ NULL, "cases", "summary", "summary" },
	{ "outcome", "cases", "agreement", "outcome.agreement" },
	{ "parties", "parties", "name", "parties.name" },
	{ "parties", "parties", "id_number", "parties.id_number" },
	{ "parties", "parties", "phone", "parties.phone" },
	{ "parties", "parties", "address", "parties.address" },
	{ "sessions", "case_sessions", "place", "sessions.place" },
	{ "sessions", "case_sessions", "attendees", "sessions.attendees" },
	{ "sessions", "case_sessions", "notes", "sessions.notes" },
	{ "followups", "followups", "notes", "followups.notes" },
};
#define SEALED_COUNT (sizeof(sealed) / sizeof(sealed[0]))

/*
 * Opens (dek given) or drops (dek NULL) member m of object o, which is row
 * of m's table. Returns false when a value does not open; *opened is set
 * when one did.
 */
static bool
treat_member(struct request *r, const struct sealed_member *m, json_t *o, const char *row,
    const unsigned char *dek, bool *opened)
{
	if (dek == NULL) {
		json_object_del(o, m->column);
		return true;
	}
	const char *hex = json_text(json_object_get(o, m->column));
	if (hex == NULL)
		return true;
	const char *plain = field_open(r, dek, m->table, m->column, row, hex);
	if (plain == NULL) {
		log_msg(LOG_ERROR, "request %s: %s.%s of row %s does not decrypt", r->id, m->table,
		    m->column, row);
		return false;
	}
	json_object_set_new(o, m->column, json_string(plain));
	*opened = true;
	return true;
}

/* Opens or drops every encrypted member of doc; the names of those opened in *fields. */
static bool
treat_sealed(struct request *r, json_t *doc, const char *case_id, const unsigned char *dek,
    const char **fields)
{
	const char *names = "";
	for (size_t i = 0; i < SEALED_COUNT; i++) {
		const struct sealed_member *m = &sealed[i];
		json_t *holder = m->holder ? json_object_get(doc, m->holder) : doc;
		bool opened = false, good = true;
		if (json_is_array(holder)) {
			size_t j;
			json_t *o;
			json_array_foreach(holder, j, o)
			{
				const char *row = arena_printf(r->arena, "%lld",
				    (long long)json_integer_value(json_object_get(o, "id")));
				good = good && treat_member(r, m, o, row, dek, &opened);
			}
		} else if (json_is_object(holder)) {
			good = treat_member(r, m, holder, case_id, dek, &opened);
		}
		if (!good)
			return false;
		if (opened)
			names = arena_printf(
			    r->arena, "%s%s%s", names, *names ? "," : "", m->audit_name);
	}
	*fields = *names ? arena_printf(r->arena, "{%s}", names) : NULL;
	return true;
}

void
case_reply(struct request *r, const char *id, unsigned status, json_t *extra)
{
	const char *scope[2];
	case_scope(r, scope);
	const char *params[] = { id, scope[0], scope[1] };
	PGresult *res = db_query_or_reply(r, SQL_CASE_GET, params);
	if (res == NULL || PQntuples(res) == 0) {
		json_decref(extra);
		if (res != NULL)
			reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no case %s.", id);
		return;
	}
	json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	bool purged = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	bool reveal = !purged &&
	    (r->who.role_bit == ROLE_MEDIATOR ||
		(r->who.role_bit == ROLE_ADMIN && request_header(r, "X-Access-Purpose") != NULL));
	unsigned char dek[CRYPT_KEY_BYTES];
	const char *fields = NULL;
	if (reveal) {
		struct case_head h = { .id = id,
			.data_key_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10) };
		if (!case_key_or_reply(r, &h, dek)) {
			json_decref(doc);
			json_decref(extra);
			return;
		}
	}
	bool good = doc != NULL && treat_sealed(r, doc, id, reveal ? dek : NULL, &fields);
	sodium_memzero(dek, sizeof(dek));
	if (!good) {
		json_decref(doc);
		json_decref(extra);
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The case could not be read; this has been logged as %s.", r->id);
		return;
	}
	if (fields != NULL) {
		const char *p[10];
		audit_context(r, p);
		p[6] = "case.read";
		p[7] = "case";
		p[8] = id;
		p[9] = fields;
		PGresult *a = db_exec_or_reply(r, SQL_AUDIT_READ, p);
		if (a == NULL || PQresultStatus(a) != PGRES_COMMAND_OK) {
			json_decref(doc);
			json_decref(extra);
			if (!reply_sent(r))
				reply_problem(r, 503, PROBLEM_UNAVAILABLE,
				    "The read could not be audited, so it is not made.");
			return;
		}
	}
	if (extra != NULL) {
		json_object_update(doc, extra);
		json_decref(extra);
	}
	/* A write's transaction ends here: the change and the read stand or fall together. */
	if (PQtransactionStatus(db_conn_pg(db_request_conn(r))) == PQTRANS_INTRANS &&
	    !db_commit_or_reply(r)) {
		json_decref(doc);
		return;
	}
	request_add_header(r, "ETag", arena_printf(r->arena, "\"%s\"", PQgetvalue(res, 0, 2)));
	reply_json(r, status, doc);
}

/* The duplicates of case id, as {"duplicates": ...}; NULL after replying. */
static json_t *
duplicates_of(struct request *r, const char *id)
{
	json_t *d = case_duplicates(r, id);
	return d ? json_pack("{s:o}", "duplicates", d) : NULL;
}

/* The members a case's body may carry, parsed. */
struct case_input {
	json_t *committee, *source, *dispute, *summary, *minors, *dv, *difficulty, *lead, *co,
	    *received, *parties;
	json_t *dv_flag, *dv_risk, *safety, *safety_on;
};

static const char *
dv_problem(struct case_input *in)
{
	if (in->dv == NULL)
		return NULL;
	if (json_unpack(in->dv, "{s?o, s?o, s?o, s?o !}", "flag", &in->dv_flag, "risk",
		&in->dv_risk, "safety_referral", &in->safety, "safety_referred_on",
		&in->safety_on) != 0)
		return "domestic_violence has flag, risk, safety_referral and safety_referred_on";
	if (in->dv_flag && !json_is_boolean(in->dv_flag))
		return "domestic_violence.flag is true or false";
	if (in->dv_risk && !json_is_null(in->dv_risk) && !string_of(in->dv_risk, risks))
		return "domestic_violence.risk is low, medium, high or null";
	if ((in->safety == NULL) != (in->safety_on == NULL) ||
	    (in->safety && json_is_null(in->safety) != json_is_null(in->safety_on)))
		return "safety_referral and safety_referred_on are given together";
	if (in->safety && !json_is_null(in->safety) &&
	    (!string_of(in->safety, safety_kinds) || !json_is_string(in->safety_on) ||
		!date_exists(json_string_value(in->safety_on))))
		return "safety_referral is police, protection_order, shelter or other, with "
		       "safety_referred_on a date";
	return NULL;
}

/* Why the members given are not a case's, or NULL. */
static const char *
case_input_problem(struct case_input *in)
{
	const char *why = dv_problem(in);
	if (why != NULL)
		return why;
	if (in->committee && !positive_id(in->committee))
		return "committee_id is a committee's id";
	if (in->source && !string_of(in->source, sources))
		return "source is walk_in, hotline_12338, petition, court, police, civil_affairs, "
		       "community or other";
	if (in->dispute && !string_of(in->dispute, dispute_types))
		return "dispute_type is divorce, property_division, custody, child_support, "
		       "elder_support, inheritance, domestic_violence, in_law_conflict, "
		       "bride_price "
		       "or other";
	if (in->summary && !json_is_null(in->summary) &&
	    !(json_is_string(in->summary) &&
		note_valid(json_string_value(in->summary), SUMMARY_MAX)))
		return "summary is text of up to 5000 characters, or null";
	if (in->minors && !json_is_boolean(in->minors))
		return "minors_involved is true or false";
	if (in->difficulty &&
	    !string_of(in->difficulty, (const char *const[]){ "ordinary", "difficult", NULL }))
		return "difficulty is ordinary or difficult";
	if (in->lead && !json_is_null(in->lead) && !positive_id(in->lead))
		return "lead_mediator_id is a mediator's id, or null";
	if (in->co && !json_is_array(in->co))
		return "co_mediator_ids lists up to 10 distinct mediators' ids";
	if (in->received &&
	    (!case_time_valid(in->received) || strncmp(json_text(in->received), "2000", 4) < 0))
		return "received_at is a time with its zone, such as 2026-03-08T09:30:00+08:00, "
		       "in 2000 or later";
	return NULL;
}

static void
cases_create(struct request *r)
{
	if (!request_no_query_or_reply(r) || !no_service_members_or_reply(r))
		return;
	struct case_input in = { 0 };
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT,
		"{s:o, s:o, s:o, s?o, s?o, s?o, s?o, s?o, s?o, s?o, s:o}", "committee_id",
		&in.committee, "source", &in.source, "dispute_type", &in.dispute, "summary",
		&in.summary, "minors_involved", &in.minors, "domestic_violence", &in.dv,
		"difficulty", &in.difficulty, "lead_mediator_id", &in.lead, "co_mediator_ids",
		&in.co, "received_at", &in.received, "parties", &in.parties) != 0) {
		reply_problem(
		    r, 400, PROBLEM_VALIDATION, "The body does not fit a case: %s.", e.text);
		return;
	}
	const char *co = in.co ? ids_literal(r, in.co, CO_MEDIATORS_MAX) : NULL;
	const char *why = case_input_problem(&in);
	if (why == NULL && in.co && co == NULL)
		why = "co_mediator_ids lists up to 10 distinct mediators' ids";
	if (why == NULL)
		why = parties_problem(in.parties);
	if (why == NULL && json_is_true(in.dv_flag) == false && in.dv_risk &&
	    !json_is_null(in.dv_risk))
		why = "a domestic-violence risk needs domestic_violence.flag true";
	if (why == NULL && in.safety && !json_is_null(in.safety))
		why = "a safety referral is recorded on the case once it exists (PATCH)";
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}

	struct case_new n = { .committee = id_text(r, in.committee),
		.source = json_text(in.source),
		.dispute = json_text(in.dispute),
		.summary = json_text(in.summary),
		.minors = bool_text(in.minors),
		.dv_flag = bool_text(in.dv_flag),
		.dv_risk = json_text(in.dv_risk),
		.difficulty = json_text(in.difficulty),
		.lead = id_text(r, in.lead),
		.co = co,
		.received = json_text(in.received),
		.parties = in.parties };
	case_create_and_reply(r, &n);
}

void
case_create_and_reply(struct request *r, const struct case_new *n)
{
	/* Where the case goes, and who may work it. */
	const char *scope[2];
	case_scope(r, scope);
	const char *lead = n->lead;
	if (lead == NULL && r->who.role_bit == ROLE_MEDIATOR && r->who.mediator_id[0])
		lead = r->who.mediator_id;
	const char *place_params[] = { n->committee, scope[0], scope[1], lead, n->co, n->county };
	PGresult *place = db_query_or_reply(r, SQL_CASE_PLACE, place_params);
	if (place == NULL)
		return;
	if (PQntuples(place) == 0 || strcmp(PQgetvalue(place, 0, 2), "t") != 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND,
		    "There is no committee %s in a county within your scope.", n->committee);
		return;
	}
	const char *why = strcmp(PQgetvalue(place, 0, 3), "t") != 0 ? "the committee is not open"
	    : strcmp(PQgetvalue(place, 0, 4), "t") != 0
	    ? "the lead mediator does not serve the committee"
	    : strcmp(PQgetvalue(place, 0, 5), "t") != 0
	    ? "a co-mediator does not serve the committee"
	    : NULL;
	if (why != NULL) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE, "The case cannot go there: %s.", why);
		return;
	}

	/* The case's data key is stored in the case's transaction: a case not stored leaves none. */
	struct db_conn *c = db_request_conn(r);
	unsigned char dek[CRYPT_KEY_BYTES];
	long long dk = 0;
	if (!db_begin_or_reply(r))
		return;
	if (datakey_create(c, keyholder_get(&r->srv->keys), &dk, dek) != DATAKEY_OK) {
		db_run_fixed(c, "ROLLBACK");
		reply_problem(
		    r, 503, PROBLEM_UNAVAILABLE, "The case could not be stored; try again.");
		return;
	}
	field_key_hold(r, dk, dek); /* for the answer, which reads what is sealed now */
	const char *seq[] = { "cases_id_seq", "1" };
	PGresult *ids = db_query_or_reply(r, SQL_NEXT_IDS, seq);
	const char *id = ids ? first_id(r, PQgetvalue(ids, 0, 0)) : NULL;
	const char *summary = NULL;
	bool good = id != NULL;
	if (good && n->summary != NULL) {
		summary = field_seal(r, dek, "cases", "summary", id, n->summary);
		good = summary != NULL;
	}
	PGresult *res = NULL;
	if (good) {
		const char *params[] = { id, arena_printf(r->arena, "%lld", dk), n->committee,
			PQgetvalue(place, 0, 0),
			PQgetisnull(place, 0, 1) ? NULL : PQgetvalue(place, 0, 1), n->source,
			n->dispute, summary, n->minors, n->dv_flag, n->dv_risk, n->difficulty, lead,
			n->co, n->received, n->referral };
		res = audit_exec_or_reply(r, SQL_CASE_CREATE, params, 16);
	}
	good = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    parties_store_or_reply(r, dek, id, n->parties) &&
	    (n->on_stored == NULL || n->on_stored(r, id, n->context));
	sodium_memzero(dek, sizeof(dek));
	if (!good) {
		if (res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK)
			log_msg(LOG_ERROR, "request %s: storing a case: %s", r->id,
			    PQresultErrorMessage(res));
		const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		db_run_fixed(c, "ROLLBACK");
		if (!reply_sent(r) && state != NULL && strncmp(state, "22", 2) == 0)
			reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
			    "The case does not hold: received_at is not a real time.");
		else if (!reply_sent(r) && state != NULL && strcmp(state, "23505") == 0 &&
		    n->referral != NULL)
			reply_problem(r, 409, PROBLEM_CONFLICT,
			    "Referral %s was taken up while this request was made.", n->referral);
		else if (!reply_sent(r))
			reply_problem(r, 500, PROBLEM_INTERNAL,
			    "The case could not be stored; this has been logged as %s.", r->id);
		return;
	}
	request_add_header(r, "Location", arena_printf(r->arena, "/api/v1/cases/%s", id));
	/* Committed with the answer, in case_reply: one transaction from number to read. */
	json_t *duplicates = duplicates_of(r, id);
	if (duplicates != NULL || !reply_sent(r)) {
		case_reply(r, id, 201, duplicates);
		return;
	}
	db_run_fixed(c, "ROLLBACK");
}

static void
cases_get(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id != NULL)
		case_reply(r, id, 200, NULL);
}

static void
cases_duplicates(struct request *r)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL)
		return;
	const char *scope[2];
	case_scope(r, scope);
	const char *params[] = { id, scope[0], scope[1] };
	PGresult *res = db_query_or_reply(r, SQL_CASE_KEY, params);
	if (res == NULL)
		return;
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no case %s.", id);
		return;
	}
	json_t *d = case_duplicates(r, id);
	if (d != NULL)
		reply_json(r, 200, d);
}

static void
cases_list(struct request *r)
{
	static const char *const known[] = { "status", "dispute_type", "committee", "region",
		"source", "received_from", "received_to", "overdue", "confirmation_due",
		"followup_due", "after", "limit", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *q[12];
	for (int i = 0; i < 12; i++)
		q[i] = request_query(r, known[i]);
	long limit = CASES_PAGE_DEFAULT, v;
	if ((q[0] && !word_in(q[0], statuses)) || (q[1] && !word_in(q[1], dispute_types)) ||
	    (q[2] && !parse_int_range(q[2], 1, 999999999999L, &v)) ||
	    (q[3] && !region_code_valid(q[3])) || (q[4] && !word_in(q[4], sources)) ||
	    (q[5] && !date_exists(q[5])) || (q[6] && !date_exists(q[6])) ||
	    !query_bool_valid(q[7]) || !query_bool_valid(q[8]) || !query_bool_valid(q[9]) ||
	    (q[10] && !parse_int_range(q[10], 0, 999999999999L, &v)) ||
	    (q[11] && !parse_int_range(q[11], 1, CASES_PAGE_MAX, &limit))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "status, dispute_type and source are their names, committee and after ids, "
		    "region a region code, received_from and received_to dates, overdue, "
		    "confirmation_due and followup_due true or false, limit 1 to %d.",
		    CASES_PAGE_MAX);
		return;
	}
	const char *scope[2];
	case_scope(r, scope);
	const char *params[] = { scope[0], scope[1], q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7],
		q[8], q[9], q[10], arena_printf(r->arena, "%ld", limit) };
	PGresult *res = db_query_or_reply(
	    r, scope[1] != NULL ? SQL_CASES_LIST_MEDIATOR : SQL_CASES_LIST, params);
	if (res != NULL)
		db_reply_json(r, 200, res);
}

static void
cases_update(struct request *r)
{
	if (!no_service_members_or_reply(r))
		return;
	struct case_input in = { 0 };
	json_error_t e;
	if (json_object_size(r->json) == 0 ||
	    json_unpack_ex(r->json, &e, JSON_STRICT,
		"{s?o, s?o, s?o, s?o, s?o, s?o, s?o, s?o, s?o}", "source", &in.source,
		"dispute_type", &in.dispute, "summary", &in.summary, "minors_involved", &in.minors,
		"domestic_violence", &in.dv, "difficulty", &in.difficulty, "lead_mediator_id",
		&in.lead, "co_mediator_ids", &in.co, "received_at", &in.received) != 0) {
		const char *what = json_object_size(r->json) == 0 ? "no member to change" : e.text;
		bool committee = json_object_get(r->json, "committee_id") != NULL;
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body does not fit a change to a case: %s.",
		    committee ? "a case stays with its committee" : what);
		return;
	}
	const char *co = in.co ? ids_literal(r, in.co, CO_MEDIATORS_MAX) : NULL;
	const char *why = case_input_problem(&in);
	if (why == NULL && in.co && co == NULL)
		why = "co_mediator_ids lists up to 10 distinct mediators' ids";
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	const char *lead = id_text(r, in.lead);
	if (lead != NULL || co != NULL) {
		const char *params[] = { h.id, lead, co };
		PGresult *ok = db_query_or_reply(r, SQL_CASE_MEMBERS_OK, params);
		if (ok == NULL)
			return;
		if (PQntuples(ok) == 0 || strcmp(PQgetvalue(ok, 0, 0), "t") != 0) {
			reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
			    "The lead and co-mediators must serve the case's committee.");
			return;
		}
	}
	const char *summary = NULL;
	if (json_text(in.summary) != NULL) {
		unsigned char dek[CRYPT_KEY_BYTES];
		if (!case_key_or_reply(r, &h, dek))
			return;
		summary = field_seal(r, dek, "cases", "summary", h.id, json_text(in.summary));
		sodium_memzero(dek, sizeof(dek));
		if (summary == NULL) {
			reply_problem(
			    r, 500, PROBLEM_INTERNAL, "The summary could not be encrypted.");
			return;
		}
	}
	/* A risk needs the flag, as the case will stand after the change. */
	const char *params[] = { h.id, h.version, json_text(in.source), json_text(in.dispute),
		in.summary ? "true" : "false", summary, bool_text(in.minors), bool_text(in.dv_flag),
		in.dv_risk ? "true" : "false", json_text(in.dv_risk), in.safety ? "true" : "false",
		json_text(in.safety), json_text(in.safety_on), json_text(in.difficulty),
		in.lead ? "true" : "false", lead, in.co ? "true" : "false", co,
		json_text(in.received) };
	if (case_write_or_reply(r, SQL_CASE_UPDATE, params, 19))
		case_reply(r, h.id, 200, NULL);
}

const struct route cases_routes[] = {
	{ "POST", "/api/v1/cases", cases_create, ROLE_ADMIN | ROLE_MEDIATOR, BODY_JSON },
	{ "GET", "/api/v1/cases", cases_list, ROLE_ADMIN | ROLE_FEDERATION | ROLE_MEDIATOR,
	    BODY_NONE },
	{ "GET", "/api/v1/cases/{id}", cases_get, ROLE_ADMIN | ROLE_FEDERATION | ROLE_MEDIATOR,
	    BODY_NONE },
	{ "PATCH", "/api/v1/cases/{id}", cases_update, ROLE_ADMIN | ROLE_MEDIATOR, BODY_JSON },
	{ "GET", "/api/v1/cases/{id}/duplicates", cases_duplicates,
	    ROLE_ADMIN | ROLE_FEDERATION | ROLE_MEDIATOR, BODY_NONE },
	{ 0 },
};
