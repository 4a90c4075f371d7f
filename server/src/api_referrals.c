/*
 * api_referrals.c - referrals (转介) from the 12338 hotline and other
 * bodies: intake exactly once (Idempotency-Key), routing to the committee
 * of the county with the fewest open cases (else the city's guidance
 * committee), take-up as a case or decline and re-routing, and the
 * repeat-caller look-up. The caller's name and phone and the summary are
 * sealed under the referral's own data key; the hotline operator who
 * opened a referral follows it, and sees nothing of the case it became
 * beyond its number, status and outcome.
 */
#include <sodium.h>
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

#define REFERRALS_PAGE_DEFAULT 100
#define REFERRALS_PAGE_MAX     1000
#define IDEMPOTENCY_KEY_MAX    255

static const char *const sources[] = { "hotline_12338", "petition", "court", "police",
	"civil_affairs", "other", NULL };
static const char *const statuses[] = { "open", "accepted", "returned", NULL };

/* The caller's scope: region (staff), mediator record, creator (hotline). */
static void
referral_scope(struct request *r, const char *scope[3])
{
	scope[0] = request_scope(r);
	scope[1] = NULL;
	scope[2] = NULL;
	if (r->who.role_bit == ROLE_MEDIATOR)
		scope[1] = r->who.mediator_id[0] ? r->who.mediator_id : "0";
	if (r->who.role_bit == ROLE_HOTLINE)
		scope[2] = r->who.user_id_text;
}

static const char *const sealed_members[] = { "caller_name", "caller_phone", "summary" };
#define SEALED_MEMBERS 3

/* Opens (dek given) or drops the sealed members of doc; names of those opened in *fields. */
static bool
treat_sealed(
    struct request *r, json_t *doc, const char *id, const unsigned char *dek, const char **fields)
{
	const char *names = "";
	for (int i = 0; i < SEALED_MEMBERS; i++) {
		const char *m = sealed_members[i];
		const char *hex = json_text(json_object_get(doc, m));
		if (dek == NULL) {
			json_object_del(doc, m);
			continue;
		}
		if (hex == NULL)
			continue;
		const char *plain = field_open(r, dek, "referrals", m, id, hex);
		if (plain == NULL) {
			log_msg(LOG_ERROR, "request %s: referral %s: %s does not decrypt", r->id,
			    id, m);
			return false;
		}
		json_object_set_new(doc, m, json_string(plain));
		names = arena_printf(r->arena, "%s%s%s", names, *names ? "," : "", m);
	}
	*fields = *names ? arena_printf(r->arena, "{%s}", names) : NULL;
	return true;
}

/* Writes a read of fields of referral id to the audit trail; false after replying 503. */
static bool
audit_read_or_reply(struct request *r, const char *action, const char *id, const char *fields)
{
	const char *p[10];
	audit_context(r, p);
	p[6] = action;
	p[7] = "referral";
	p[8] = id;
	p[9] = fields;
	PGresult *a = db_exec_or_reply(r, SQL_AUDIT_READ, p);
	if (a != NULL && PQresultStatus(a) == PGRES_COMMAND_OK)
		return true;
	if (!reply_sent(r))
		reply_problem(r, 503, PROBLEM_UNAVAILABLE,
		    "The read could not be audited, so it is not made.");
	return false;
}

/* Who reads the caller's details: the operator who opened it, mediators, purposeful admins. */
static bool
reveals(struct request *r)
{
	return r->who.role_bit == ROLE_HOTLINE || r->who.role_bit == ROLE_MEDIATOR ||
	    (r->who.role_bit == ROLE_ADMIN && request_header(r, "X-Access-Purpose") != NULL);
}

/* A loaded referral (SQL_REFERRAL_GET). */
struct referral {
	const char *id, *status, *committee_id;
	long long data_key_id;
	bool purged; /* its personal data shredded at the end of its retention */
	json_t *doc; /* with sealed members as bytea text */
};

/* Loads referral id in the caller's scope; false after replying (404 included). */
static bool
referral_load_or_reply(struct request *r, const char *id, struct referral *f)
{
	const char *scope[3];
	referral_scope(r, scope);
	const char *params[] = { id, scope[0], scope[1], scope[2] };
	PGresult *res = db_query_or_reply(r, SQL_REFERRAL_GET, params);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 0) {
		reply_problem(r, 404, PROBLEM_NOT_FOUND, "There is no referral %s.", id);
		return false;
	}
	f->id = id;
	f->doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	f->data_key_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	f->status = arena_strdup(r->arena, PQgetvalue(res, 0, 2));
	f->committee_id =
	    PQgetisnull(res, 0, 3) ? NULL : arena_strdup(r->arena, PQgetvalue(res, 0, 3));
	f->purged = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	return f->doc != NULL;
}

static bool
referral_key_or_reply(struct request *r, const struct referral *f, unsigned char *dek)
{
	enum datakey_status st = field_key(r, f->data_key_id, dek);
	if (st == DATAKEY_OK)
		return true;
	log_msg(LOG_ERROR, "request %s: referral %s: data key %s", r->id, f->id,
	    datakey_status_text(st));
	reply_problem(
	    r, 503, PROBLEM_UNAVAILABLE, "The referral's key is not available; try again.");
	return false;
}

/* Referral id as the caller may see it (reads audited); NULL after replying. */
static json_t *
referral_doc(struct request *r, const char *id)
{
	struct referral f;
	if (!referral_load_or_reply(r, id, &f))
		return NULL;
	unsigned char dek[CRYPT_KEY_BYTES];
	bool reveal = reveals(r) && !f.purged;
	if (reveal && !referral_key_or_reply(r, &f, dek)) {
		json_decref(f.doc);
		return NULL;
	}
	const char *fields = NULL;
	bool good = treat_sealed(r, f.doc, id, reveal ? dek : NULL, &fields);
	sodium_memzero(dek, sizeof(dek));
	if (!good) {
		json_decref(f.doc);
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The referral could not be read; this has been logged as %s.", r->id);
		return NULL;
	}
	if (fields != NULL && !audit_read_or_reply(r, "referral.read", id, fields)) {
		json_decref(f.doc);
		return NULL;
	}
	return f.doc;
}

/* --- intake, exactly once ------------------------------------------------------- */

/* The Idempotency-Key header: 1 to 255 printable ASCII characters. */
static const char *
idempotency_key_or_reply(struct request *r)
{
	const char *k = request_header(r, "Idempotency-Key");
	size_t n = k ? strlen(k) : 0;
	bool good = n >= 1 && n <= IDEMPOTENCY_KEY_MAX;
	for (size_t i = 0; good && i < n; i++)
		good = k[i] > 0x20 && k[i] < 0x7f;
	if (!good)
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "A referral needs an Idempotency-Key header: 1 to 255 visible ASCII "
		    "characters, new for each referral, the same when a request is repeated.");
	return good ? k : NULL;
}

/* SHA-256 of the body in a canonical form (keys sorted, no spaces), as hex. */
static const char *
body_hash(struct request *r)
{
	char *canonical = json_dumps(r->json, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)canonical, strlen(canonical));
	free(canonical);
	char *hex = arena_alloc(r->arena, 2 * sizeof(h) + 1);
	sodium_bin2hex(hex, 2 * sizeof(h) + 1, h, sizeof(h));
	return hex;
}

enum claim { CLAIM_OURS, CLAIM_ANSWERED };

/*
 * Claims the key for this request. CLAIM_ANSWERED: the request was
 * answered (the first answer replayed, 409 while the first is in flight,
 * 422 for another body under the key, or an error).
 */
static enum claim
claim(struct request *r, const char *key, const char *hash)
{
	const char *params[] = { r->who.user_id_text, key, hash };
	if (db_query_or_reply(r, SQL_IDEM_FORGET, params) == NULL)
		return CLAIM_ANSWERED;
	PGresult *res = db_query_or_reply(r, SQL_IDEM_CLAIM, params);
	if (res == NULL)
		return CLAIM_ANSWERED;
	if (PQntuples(res) == 1)
		return CLAIM_OURS;
	PGresult *k = db_query_or_reply(r, SQL_IDEM_GET, params);
	if (k == NULL)
		return CLAIM_ANSWERED;
	if (PQntuples(k) == 0) { /* forgotten between the two statements */
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 409, PROBLEM_CONFLICT, "Try the request again.");
		return CLAIM_ANSWERED;
	}
	if (strcmp(PQgetvalue(k, 0, 0), hash) != 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "This Idempotency-Key was used for a different referral; use a new key.");
		return CLAIM_ANSWERED;
	}
	if (strcmp(PQgetvalue(k, 0, 1), "t") != 0) {
		request_add_header(r, "Retry-After", "1");
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "The first request with this Idempotency-Key is still being served; repeat "
		    "it in a moment to get its answer.");
		return CLAIM_ANSWERED;
	}
	/* The first answer again: its body was sealed under the referral's key. */
	struct referral f = { .id = PQgetvalue(k, 0, 3),
		.data_key_id = strtoll(PQgetvalue(k, 0, 5), NULL, 10) };
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!referral_key_or_reply(r, &f, dek))
		return CLAIM_ANSWERED;
	const char *body =
	    field_open(r, dek, "idempotency_keys", "response", f.id, PQgetvalue(k, 0, 4));
	sodium_memzero(dek, sizeof(dek));
	if (body == NULL) {
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The first answer could not be read; this has been logged as %s.", r->id);
		return CLAIM_ANSWERED;
	}
	/* What this request may see of it: a purpose given the first time counts once. */
	json_t *doc = json_loads(body, 0, NULL);
	const char *fields = "";
	for (int i = 0; doc != NULL && i < SEALED_MEMBERS; i++) {
		const char *m = sealed_members[i];
		if (!reveals(r))
			json_object_del(doc, m);
		else if (json_text(json_object_get(doc, m)) != NULL)
			fields = arena_printf(r->arena, "%s%s%s", fields, *fields ? "," : "", m);
	}
	if (doc == NULL ||
	    (*fields &&
		!audit_read_or_reply(
		    r, "referral.read", f.id, arena_printf(r->arena, "{%s}", fields)))) {
		json_decref(doc);
		if (!reply_sent(r))
			reply_problem(r, 500, PROBLEM_INTERNAL,
			    "The first answer could not be read; this has been logged as %s.",
			    r->id);
		return CLAIM_ANSWERED;
	}
	request_add_header(r, "Location", arena_printf(r->arena, "/api/v1/referrals/%s", f.id));
	reply_json(r, (unsigned)atoi(PQgetvalue(k, 0, 2)), doc);
	return CLAIM_ANSWERED;
}

static void
release(struct request *r, const char *key)
{
	const char *params[] = { r->who.user_id_text, key };
	PGresult *res = db_exec(db_request_conn(r), SQL_IDEM_RELEASE, params);
	PQclear(res);
}

struct intake {
	const char *source, *name, *phone, *county, *dispute, *summary, *urgency, *target;
};

/* Stores the referral and answers 201; false (nothing stored) after replying. */
static bool
store(struct request *r, const struct intake *in, const char *key)
{
	const char *place_params[] = { in->county, in->target };
	PGresult *place = db_query_or_reply(r, SQL_REFERRAL_PLACE, place_params);
	if (place == NULL)
		return false;
	if (PQntuples(place) == 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE, "%s is not a county.", in->county);
		return false;
	}
	if (strcmp(PQgetvalue(place, 0, 2), "t") != 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "Committee %s is not an open committee or room of that county, nor the "
		    "city's guidance committee.",
		    in->target);
		return false;
	}
	/* The referral's data key is stored in its transaction: one not stored leaves none. */
	struct db_conn *c = db_request_conn(r);
	unsigned char dek[CRYPT_KEY_BYTES];
	long long dk = 0;
	if (!db_begin_or_reply(r))
		return false;
	if (datakey_create(c, keyholder_get(&r->srv->keys), &dk, dek) != DATAKEY_OK) {
		db_run_fixed(c, "ROLLBACK");
		reply_problem(
		    r, 503, PROBLEM_UNAVAILABLE, "The referral could not be stored; try again.");
		return false;
	}
	field_key_hold(r, dk, dek); /* for the answer, which reads what is sealed now */
	const char *seq[] = { "referrals_id_seq", "1" };
	PGresult *ids = db_query_or_reply(r, SQL_NEXT_IDS, seq);
	const char *id = ids ? arena_strndup(r->arena, PQgetvalue(ids, 0, 0) + 1,
				   strcspn(PQgetvalue(ids, 0, 0) + 1, "}"))
			     : NULL;
	const char *name = id ? field_seal(r, dek, "referrals", "caller_name", id, in->name) : NULL;
	const char *phone =
	    id && in->phone ? field_seal(r, dek, "referrals", "caller_phone", id, in->phone) : NULL;
	const char *summary =
	    id && in->summary ? field_seal(r, dek, "referrals", "summary", id, in->summary) : NULL;
	bool good = name != NULL && (in->phone == NULL || phone != NULL) &&
	    (in->summary == NULL || summary != NULL);
	PGresult *res = NULL;
	if (good) {
		const struct config *cfg = r->srv->cfg;
		const char *params[] = { id, arena_printf(r->arena, "%lld", dk), in->source, name,
			phone, in->phone ? field_blind(r, BLIND_PHONE, in->phone) : NULL,
			PQgetvalue(place, 0, 0),
			PQgetisnull(place, 0, 1) ? NULL : PQgetvalue(place, 0, 1), in->dispute,
			summary, in->target, in->urgency,
			arena_printf(r->arena, "%u", cfg->referral_hours),
			arena_printf(r->arena, "%u", cfg->referral_urgent_hours) };
		res = audit_exec_or_reply(r, SQL_REFERRAL_CREATE, params, 14);
		good = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
		if (res != NULL && !good)
			log_msg(LOG_ERROR, "request %s: storing a referral: %s", r->id,
			    PQresultErrorMessage(res));
	}
	json_t *doc = good ? referral_doc(r, id) : NULL;
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	const char *sealed =
	    text ? field_seal(r, dek, "idempotency_keys", "response", id, text) : NULL;
	sodium_memzero(dek, sizeof(dek));
	if (sealed != NULL) {
		const char *params[] = { r->who.user_id_text, key, "201", id, sealed };
		PGresult *k = db_exec_or_reply(r, SQL_IDEM_COMPLETE, params);
		good = k != NULL && PQresultStatus(k) == PGRES_COMMAND_OK && db_commit_or_reply(r);
	} else {
		good = false;
	}
	if (!good) {
		xfree_wiped(text);
		db_run_fixed(c, "ROLLBACK");
		if (!reply_sent(r))
			reply_problem(r, 500, PROBLEM_INTERNAL,
			    "The referral could not be stored; this has been logged as %s.", r->id);
		return false;
	}
	request_add_header(r, "Location", arena_printf(r->arena, "/api/v1/referrals/%s", id));
	reply_take(r, 201, "application/json", text, strlen(text));
	return true;
}

static void
referrals_create(struct request *r)
{
	if (!request_no_query_or_reply(r))
		return;
	const char *key = idempotency_key_or_reply(r);
	if (key == NULL)
		return;
	struct intake in = { .urgency = "normal" };
	json_t *phone = NULL, *summary = NULL, *target = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:s, s?o, s:s, s:s, s?o, s?s, s?o}",
		"source", &in.source, "caller_name", &in.name, "caller_phone", &phone,
		"county_code", &in.county, "dispute_type", &in.dispute, "summary", &summary,
		"urgency", &in.urgency, "target_committee_id", &target) != 0) {
		reply_problem(
		    r, 400, PROBLEM_VALIDATION, "The body does not fit a referral: %s.", e.text);
		return;
	}
	char norm[32];
	const char *why = NULL;
	if (!word_in(in.source, sources))
		why = "source is hotline_12338, petition, court, police, civil_affairs or other";
	else if (!text_valid(in.name, 100))
		why = "caller_name is 1 to 100 printable characters";
	else if (phone && !json_is_null(phone) &&
	    !(json_is_string(phone) &&
		blind_normalise(BLIND_PHONE, json_string_value(phone), norm, sizeof(norm))))
		why = "caller_phone is a mainland number (7 to 12 digits, +86 allowed), or null";
	else if (!region_code_valid(in.county))
		why = "county_code is a county's code";
	else if (!case_dispute_type_valid(in.dispute))
		why = "dispute_type is one of the case's dispute types";
	else if (summary && !json_is_null(summary) &&
	    !(json_is_string(summary) && note_valid(json_string_value(summary), 5000)))
		why = "summary is text of up to 5000 characters, or null";
	else if (strcmp(in.urgency, "normal") != 0 && strcmp(in.urgency, "urgent") != 0)
		why = "urgency is normal or urgent";
	else if (target && !json_is_null(target) &&
	    !(json_is_integer(target) && json_integer_value(target) > 0))
		why = "target_committee_id is a committee's id, or null";
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	in.phone = json_text(phone);
	in.summary = json_text(summary);
	in.target = json_is_integer(target)
	    ? arena_printf(r->arena, "%lld", (long long)json_integer_value(target))
	    : NULL;
	if (claim(r, key, body_hash(r)) == CLAIM_ANSWERED)
		return;
	if (!store(r, &in, key))
		release(r, key);
}

/* --- reading ---------------------------------------------------------------------- */

static void
referrals_get(struct request *r)
{
	const char *id = request_id_or_reply(r);
	json_t *doc = id ? referral_doc(r, id) : NULL;
	if (doc != NULL)
		reply_json(r, 200, doc);
}

static void
referrals_list(struct request *r)
{
	static const char *const known[] = { "status", "county", "source", "overdue", "committee",
		"urgency", "after", "limit", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *q[8];
	for (int i = 0; i < 8; i++)
		q[i] = request_query(r, known[i]);
	long limit = REFERRALS_PAGE_DEFAULT, v;
	if ((q[0] && !word_in(q[0], statuses)) || (q[1] && !region_code_valid(q[1])) ||
	    (q[2] && !word_in(q[2], sources)) || !query_bool_valid(q[3]) ||
	    (q[4] && !parse_int_range(q[4], 1, 999999999999L, &v)) ||
	    (q[5] && strcmp(q[5], "normal") != 0 && strcmp(q[5], "urgent") != 0) ||
	    (q[6] && !parse_int_range(q[6], 0, 999999999999L, &v)) ||
	    (q[7] && !parse_int_range(q[7], 1, REFERRALS_PAGE_MAX, &limit))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "status is open, accepted or returned; county a region code; source a "
		    "referral source; overdue true or false; committee and after ids; urgency "
		    "normal or urgent; limit 1 to %d.",
		    REFERRALS_PAGE_MAX);
		return;
	}
	const char *scope[3];
	referral_scope(r, scope);
	const char *params[] = { scope[0], scope[1], scope[2], q[0], q[1], q[2], q[3], q[4], q[5],
		q[6], arena_printf(r->arena, "%ld", limit) };
	PGresult *res = db_query_or_reply(r, SQL_REFERRALS_LIST, params);
	if (res != NULL)
		db_reply_json(r, 200, res);
}

/* --- take-up ---------------------------------------------------------------------- */

struct take_up {
	const char *referral, *committee;
};

static bool
mark_taken_up(struct request *r, const char *case_id, void *context)
{
	const struct take_up *t = context;
	const char *params[] = { t->referral, t->committee, case_id };
	PGresult *res = audit_exec_or_reply(r, SQL_REFERRAL_TAKE_UP, params, 3);
	if (res == NULL)
		return false;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		return true;
	reply_problem(r, 409, PROBLEM_CONFLICT,
	    "Referral %s was taken up or moved on while this request was made.", t->referral);
	return false;
}

/* The referral, open and at a committee of the caller; false after replying. */
static bool
open_referral_or_reply(struct request *r, struct referral *f)
{
	const char *id = request_id_or_reply(r);
	if (id == NULL || !referral_load_or_reply(r, id, f))
		return false;
	if (strcmp(f->status, "open") != 0 || f->purged) {
		json_decref(f->doc);
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Referral %s is %s: only an open referral is taken up or declined.", id,
		    f->purged ? "purged" : f->status);
		return false;
	}
	return true;
}

static void
referrals_accept(struct request *r)
{
	json_t *lead = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s?o}", "lead_mediator_id", &lead) != 0 ||
	    (lead && !json_is_null(lead) &&
		!(json_is_integer(lead) && json_integer_value(lead) > 0))) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {} or {\"lead_mediator_id\": N}, N a mediator's id.");
		return;
	}
	struct referral f;
	if (!open_referral_or_reply(r, &f))
		return;
	unsigned char dek[CRYPT_KEY_BYTES];
	const char *fields = NULL;
	bool good = referral_key_or_reply(r, &f, dek) && treat_sealed(r, f.doc, f.id, dek, &fields);
	sodium_memzero(dek, sizeof(dek));
	if (!good) {
		json_decref(f.doc);
		if (!reply_sent(r))
			reply_problem(r, 500, PROBLEM_INTERNAL,
			    "The referral could not be read; this has been logged as %s.", r->id);
		return;
	}
	/* The caller becomes the applicant; the case carries what the hotline heard. */
	json_t *applicant = json_pack("{s:s, s:s}", "role", "applicant", "name",
	    json_text(json_object_get(f.doc, "caller_name")));
	if (json_text(json_object_get(f.doc, "caller_phone")) != NULL)
		json_object_set(applicant, "phone", json_object_get(f.doc, "caller_phone"));
	json_t *parties = json_pack("[o]", applicant);
	const char *dispute = json_text(json_object_get(f.doc, "dispute_type"));
	bool dv = strcmp(dispute, "domestic_violence") == 0;
	bool urgent = strcmp(json_text(json_object_get(f.doc, "urgency")), "urgent") == 0;
	struct take_up t = { f.id, f.committee_id };
	struct case_new n = { .committee = f.committee_id,
		.source = json_text(json_object_get(f.doc, "source")),
		.dispute = dispute,
		.summary = json_text(json_object_get(f.doc, "summary")),
		.dv_flag = dv ? "true" : NULL,
		.dv_risk = dv && urgent ? "high" : NULL,
		.lead = json_is_integer(lead)
		    ? arena_printf(r->arena, "%lld", (long long)json_integer_value(lead))
		    : NULL,
		.received = json_text(json_object_get(f.doc, "created_at")),
		.parties = parties,
		.county = json_text(json_object_get(f.doc, "county_code")),
		.referral = f.id,
		.on_stored = mark_taken_up,
		.context = &t };
	if (fields == NULL || audit_read_or_reply(r, "referral.read", f.id, fields))
		case_create_and_reply(r, &n);
	json_decref(parties);
	json_decref(f.doc);
}

static void
referrals_decline(struct request *r)
{
	const char *reason;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s}", "reason", &reason) != 0 ||
	    !text_valid(reason, 200)) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"reason\": up to 200 printable characters, no personal data}.");
		return;
	}
	struct referral f;
	if (!open_referral_or_reply(r, &f))
		return;
	json_decref(f.doc);
	if (!db_begin_or_reply(r))
		return;
	const char *params[] = { r->who.user_id_text, f.id, f.committee_id, reason };
	PGresult *res = db_exec_or_reply(r, SQL_REFERRAL_DECLINE, params);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Referral %s was taken up or moved on while this request was made.", f.id);
		return;
	}
	const char *again[] = { f.id };
	res = audit_exec_or_reply(r, SQL_REFERRAL_REROUTE, again, 1);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_msg(LOG_ERROR, "request %s: re-routing referral %s: %s", r->id, f.id,
		    PQresultErrorMessage(res));
		reply_problem(r, 500, PROBLEM_INTERNAL,
		    "The referral could not be re-routed; this has been logged as %s.", r->id);
		return;
	}
	if (db_commit_or_reply(r))
		reply_data(r, 204, NULL, "", 0);
}

static void
referrals_route(struct request *r)
{
	json_t *committee;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:o}", "committee_id", &committee) != 0 ||
	    !json_is_integer(committee) || json_integer_value(committee) < 1) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"committee_id\": N}, N a committee's id.");
		return;
	}
	const char *id = request_id_or_reply(r);
	struct referral f;
	if (id == NULL || !referral_load_or_reply(r, id, &f))
		return;
	const char *county =
	    arena_strdup(r->arena, json_text(json_object_get(f.doc, "county_code")));
	json_decref(f.doc);
	if (strcmp(f.status, "returned") != 0 || f.purged) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Referral %s is %s: only a referral returned to the hotline, and not yet "
		    "purged, is sent on again.",
		    id, f.purged ? "purged" : f.status);
		return;
	}
	const char *target =
	    arena_printf(r->arena, "%lld", (long long)json_integer_value(committee));
	const char *place_params[] = { county, target };
	PGresult *place = db_query_or_reply(r, SQL_REFERRAL_PLACE, place_params);
	if (place == NULL)
		return;
	if (PQntuples(place) == 0 || strcmp(PQgetvalue(place, 0, 2), "t") != 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "Committee %s is not an open committee or room of the referral's county, nor "
		    "the city's guidance committee.",
		    target);
		return;
	}
	if (!db_begin_or_reply(r))
		return;
	const char *params[] = { id, target,
		arena_printf(r->arena, "%u", r->srv->cfg->referral_hours),
		arena_printf(r->arena, "%u", r->srv->cfg->referral_urgent_hours) };
	PGresult *res = audit_exec_or_reply(r, SQL_REFERRAL_ROUTE, params, 4);
	if (res == NULL)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Referral %s moved on while this request was made.", id);
		return;
	}
	json_t *doc = referral_doc(r, id);
	if (doc != NULL && db_commit_or_reply(r))
		reply_json(r, 200, doc);
	else
		json_decref(doc);
}

/* --- repeat callers --------------------------------------------------------------- */

static void
referrals_callers(struct request *r)
{
	const char *phone;
	json_error_t e;
	if (!request_no_query_or_reply(r))
		return;
	char norm[32];
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s}", "phone", &phone) != 0 ||
	    !blind_normalise(BLIND_PHONE, phone, norm, sizeof(norm))) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"phone\": a mainland number, 7 to 12 digits, +86 allowed}.");
		return;
	}
	const char *params[] = { field_blind(r, BLIND_PHONE, phone), r->who.user_id_text };
	PGresult *res = db_query_or_reply(r, SQL_REFERRAL_CALLERS, params);
	if (res == NULL)
		return;
	/* Candidates share 24 bits of a keyed hash: keep those whose phone is the same. */
	json_t *items = json_array();
	long long open_key = 0;
	unsigned char dek[CRYPT_KEY_BYTES];
	for (int i = 0; i < PQntuples(res); i++) {
		struct referral f = { .id = PQgetvalue(res, i, 1),
			.data_key_id = strtoll(PQgetvalue(res, i, 2), NULL, 10) };
		if (f.data_key_id != open_key) {
			if (field_key(r, f.data_key_id, dek) != DATAKEY_OK)
				continue;
			open_key = f.data_key_id;
		}
		const char *plain =
		    field_open(r, dek, "referrals", "caller_phone", f.id, PQgetvalue(res, i, 3));
		char theirs[32];
		if (plain != NULL && blind_normalise(BLIND_PHONE, plain, theirs, sizeof(theirs)) &&
		    strcmp(theirs, norm) == 0)
			json_array_append_new(items, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	}
	sodium_memzero(dek, sizeof(dek));
	sodium_memzero(norm, sizeof(norm));
	/* A look-up by a person's phone is itself audited. */
	if (!audit_read_or_reply(r, "referral.lookup", NULL, "{caller_phone}")) {
		json_decref(items);
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "items", items));
}

const struct route referrals_routes[] = {
	{ "POST", "/api/v1/referrals", referrals_create, ROLE_ADMIN | ROLE_HOTLINE, BODY_JSON },
	{ "GET", "/api/v1/referrals", referrals_list, ROLE_ANY_USER, BODY_NONE },
	{ "GET", "/api/v1/referrals/{id}", referrals_get, ROLE_ANY_USER, BODY_NONE },
	{ "POST", "/api/v1/referrals/{id}/accept", referrals_accept, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ "POST", "/api/v1/referrals/{id}/decline", referrals_decline, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ "POST", "/api/v1/referrals/{id}/route", referrals_route, ROLE_ADMIN | ROLE_HOTLINE,
	    BODY_JSON },
	{ "POST", "/api/v1/referrals/callers", referrals_callers, ROLE_ADMIN | ROLE_HOTLINE,
	    BODY_JSON },
	{ 0 },
};
