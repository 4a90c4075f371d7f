/*
 * api_case_records.c - what a case file gathers as the case goes on:
 * mediation sessions (调解记录), judicial confirmation (司法确认) of an
 * agreement, and follow-up visits (回访). Notes, places and attendees are
 * personal data, sealed under the case's key.
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
#include "reply.h"
#include "validate.h"

#define NOTES_MAX 20000

static bool
optional_note(json_t *v, size_t max)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) && note_valid(json_string_value(v), max));
}

static bool
case_open(const struct case_head *h)
{
	return strcmp(h->status, "accepted") == 0 || strcmp(h->status, "in_mediation") == 0 ||
	    strcmp(h->status, "expert_requested") == 0;
}

/*
 * Seals the members of a new row of table (its id taken from seq) into
 * out[]; false after replying. out[0] is the row's id.
 */
static bool
seal_row_or_reply(struct request *r, const struct case_head *h, const char *seq, const char *table,
    const char *const *columns, const char *const *plain, size_t n, const char **out)
{
	const char *params[] = { seq, "1" };
	PGresult *ids = db_query_or_reply(r, SQL_NEXT_IDS, params);
	if (ids == NULL)
		return false;
	const char *v = PQgetvalue(ids, 0, 0);
	out[0] = arena_strndup(r->arena, v + 1, strcspn(v + 1, "}"));
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!case_key_or_reply(r, h, dek))
		return false;
	bool good = true;
	for (size_t i = 0; i < n; i++) {
		out[i + 1] =
		    plain[i] ? field_seal(r, dek, table, columns[i], out[0], plain[i]) : NULL;
		good = good && (plain[i] == NULL || out[i + 1] != NULL);
	}
	sodium_memzero(dek, sizeof(dek));
	if (!good)
		reply_problem(r, 500, PROBLEM_INTERNAL, "The record could not be encrypted.");
	return good;
}

static void
cases_add_session(struct request *r)
{
	json_t *held, *place = NULL, *attendees = NULL, *notes = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:o, s?o, s?o, s?o}", "held_at", &held,
		"place", &place, "attendees", &attendees, "notes", &notes) != 0 ||
	    !case_time_valid(held) || !optional_note(place, 300) ||
	    !optional_note(attendees, 2000) || !optional_note(notes, NOTES_MAX)) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "A session has held_at (a time with its zone), and may have place (300 "
		    "characters), attendees (2000) and notes (20000).");
		return;
	}
	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	if (!case_open(&h)) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Sessions are recorded while a case is open; case %s is %s.", h.id, h.status);
		return;
	}
	static const char *const columns[] = { "place", "attendees", "notes" };
	const char *plain[] = { json_text(place), json_text(attendees), json_text(notes) };
	const char *sealed[4];
	if (!seal_row_or_reply(
		r, &h, "case_sessions_id_seq", "case_sessions", columns, plain, 3, sealed))
		return;
	const char *params[] = { h.id, h.version, sealed[0], json_string_value(held), sealed[1],
		sealed[2], sealed[3] };
	if (case_write_or_reply(r, SQL_CASE_SESSION_ADD, params, 7))
		case_reply(r, h.id, 201, NULL);
}

static void
cases_add_followup(struct request *r)
{
	const char *on, *honoured;
	json_t *notes = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:s, s?o}", "visited_on", &on,
		"honoured", &honoured, "notes", &notes) != 0 ||
	    !date_exists(on) || !optional_note(notes, NOTES_MAX) ||
	    (strcmp(honoured, "fully") != 0 && strcmp(honoured, "partly") != 0 &&
		strcmp(honoured, "not") != 0)) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "A follow-up has visited_on (a date) and honoured (fully, partly or not), and "
		    "may have notes.");
		return;
	}
	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	if (h.result == NULL || strcmp(h.result, "agreement") != 0) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Follow-up visits check an agreement: case %s was not closed with one.", h.id);
		return;
	}
	static const char *const columns[] = { "notes" };
	const char *plain[] = { json_text(notes) };
	const char *sealed[2];
	if (!seal_row_or_reply(r, &h, "followups_id_seq", "followups", columns, plain, 1, sealed))
		return;
	const char *params[] = { h.id, h.version, sealed[0], on, honoured, sealed[1] };
	if (case_write_or_reply(r, SQL_CASE_FOLLOWUP_ADD, params, 6))
		case_reply(r, h.id, 201, NULL);
}

static void
cases_confirmation(struct request *r)
{
	const char *status, *applied;
	json_t *decided = NULL;
	json_error_t e;
	const char *why = NULL;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s:s, s?o}", "status", &status,
		"applied_on", &applied, "decided_on", &decided) != 0)
		why = "the body has status, applied_on and decided_on";
	else if (strcmp(status, "applied") != 0 && strcmp(status, "granted") != 0 &&
	    strcmp(status, "refused") != 0)
		why = "status is applied, granted or refused";
	else if (!date_exists(applied) ||
	    (decided && !json_is_null(decided) &&
		!(json_is_string(decided) && date_exists(json_string_value(decided)))))
		why = "applied_on and decided_on are dates";
	else if ((strcmp(status, "applied") == 0) != (decided == NULL || json_is_null(decided)))
		why = "a granted or refused confirmation has decided_on, an application not yet";
	else if (json_text(decided) && strcmp(json_text(decided), applied) < 0)
		why = "decided_on is not before applied_on";
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}
	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	if (h.agreement_form == NULL || strcmp(h.agreement_form, "written") != 0) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Judicial confirmation is of a written agreement: case %s has none.", h.id);
		return;
	}
	const char *params[] = { h.id, h.version, status, applied, json_text(decided) };
	if (case_write_or_reply(r, SQL_CASE_CONFIRMATION, params, 5))
		case_reply(r, h.id, 200, NULL);
}

const struct route case_records_routes[] = {
	{ "POST", "/api/v1/cases/{id}/sessions", cases_add_session, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ "POST", "/api/v1/cases/{id}/followups", cases_add_followup, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ "PUT", "/api/v1/cases/{id}/confirmation", cases_confirmation, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ 0 },
};
