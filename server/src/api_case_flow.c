/*
 * api_case_flow.c - the case's workflow: moves between statuses, the
 * expert assigned from the pool, and due-date extensions. The server
 * checks every move: an illegal one is 409 naming the moves allowed now.
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

/* Which statuses a case may move to, from which. */
static const struct move {
	const char *to;
	const char *from[4];
} moves[] = {
	{ "accepted", { "registered" } },
	{ "declined", { "registered" } },
	{ "in_mediation", { "accepted" } },
	{ "expert_requested", { "in_mediation" } },
	{ "withdrawn", { "accepted", "in_mediation", "expert_requested" } },
	{ "closed", { "in_mediation" } },
};
#define MOVES (sizeof(moves) / sizeof(moves[0]))

static const struct move *
move_to(const char *to)
{
	for (size_t i = 0; i < MOVES; i++)
		if (strcmp(moves[i].to, to) == 0)
			return &moves[i];
	return NULL;
}

static bool
move_from(const struct move *m, const char *from)
{
	for (size_t i = 0; i < 4 && m->from[i]; i++)
		if (strcmp(m->from[i], from) == 0)
			return true;
	return false;
}

/* 409 naming the statuses a case in status from may move to. */
static void
reply_illegal(struct request *r, const char *from, const char *to)
{
	json_t *allowed = json_array();
	for (size_t i = 0; i < MOVES; i++)
		if (move_from(&moves[i], from))
			json_array_append_new(allowed, json_string(moves[i].to));
	const char *detail = json_array_size(allowed) == 0
	    ? arena_printf(r->arena, "A %s case moves no further.", from)
	    : arena_printf(r->arena, "A %s case cannot move to %s; see allowed.", from, to);
	reply_problem_with(
	    r, 409, PROBLEM_CONFLICT, detail, json_pack("{s:o}", "allowed", allowed));
}

/* Why people's mediation may not take the dispute, by the admissibility answers. */
static const char *const inadmissible[][2] = {
	{ "before_court", "it is before a court" },
	{ "before_police", "it is before the police" },
	{ "marriage_status", "it asks whether a marriage exists or is valid" },
	{ "identity", "it asks who someone is (identity or parentage)" },
};

static const char *const decline_reasons[] = { "before_court", "before_police", "marriage_status",
	"identity", "outside_remit", "other", NULL };
static const char *const results[] = { "agreement", "no_agreement", "withdrawn",
	"referred_to_litigation", "referred_elsewhere", NULL };

static bool
listed(json_t *v, const char *const *list)
{
	if (!json_is_string(v))
		return false;
	for (size_t i = 0; list[i]; i++)
		if (strcmp(json_string_value(v), list[i]) == 0)
			return true;
	return false;
}

struct outcome {
	const char *result, *form, *agreement, *effective_on;
};

static const char *
outcome_problem(json_t *o, struct outcome *out)
{
	json_t *result = NULL, *form = NULL, *text = NULL, *on = NULL;
	if (!json_is_object(o) ||
	    json_unpack(o, "{s:o, s?o, s?o, s?o !}", "result", &result, "agreement_form", &form,
		"agreement", &text, "effective_on", &on) != 0)
		return "outcome has result, and for an agreement agreement_form, agreement and "
		       "effective_on";
	if (!listed(result, results))
		return "outcome.result is agreement, no_agreement, withdrawn, "
		       "referred_to_litigation "
		       "or referred_elsewhere";
	bool agreement = strcmp(json_string_value(result), "agreement") == 0;
	if (!agreement && (form || text || on))
		return "only an agreement has agreement_form, agreement and effective_on";
	if (agreement &&
	    (!listed(form, (const char *const[]){ "written", "oral", NULL }) ||
		!json_is_string(on) || !date_exists(json_string_value(on))))
		return "an agreement has agreement_form (written or oral) and effective_on (a "
		       "date)";
	if (agreement && strcmp(json_string_value(form), "written") == 0 && !json_is_string(text))
		return "a written agreement has its text in agreement";
	if (text && !json_is_null(text) &&
	    !(json_is_string(text) && note_valid(json_string_value(text), 20000)))
		return "agreement is text of up to 20000 characters";
	out->result = json_string_value(result);
	out->form = json_text(form);
	out->agreement = json_text(text);
	out->effective_on = json_text(on);
	return NULL;
}

static void
cases_transition(struct request *r)
{
	const char *to;
	json_t *reason = NULL, *adm = NULL, *outcome = NULL, *specialty = NULL;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:s, s?o, s?o, s?o, s?o}", "to", &to,
		"reason", &reason, "admissibility", &adm, "outcome", &outcome, "specialty",
		&specialty) != 0) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"to\": STATUS} with reason, admissibility, outcome or specialty "
		    "as the move needs: %s.",
		    e.text);
		return;
	}
	const struct move *m = move_to(to);
	struct outcome out = { 0 };
	int adm_answers[4] = { 0 };
	const char *why = NULL;
	if (m == NULL)
		why =
		    "to is accepted, declined, in_mediation, expert_requested, withdrawn or closed";
	else if ((reason != NULL) != (strcmp(to, "declined") == 0) ||
	    (adm != NULL) != (strcmp(to, "accepted") == 0) ||
	    (outcome != NULL) != (strcmp(to, "closed") == 0) ||
	    (specialty != NULL && strcmp(to, "expert_requested") != 0))
		why = "declined takes reason, accepted admissibility, closed outcome, "
		      "expert_requested an optional specialty, and no move takes another's";
	else if (reason && !listed(reason, decline_reasons))
		why = "reason is before_court, before_police, marriage_status, identity, "
		      "outside_remit or other";
	else if (adm &&
	    (!json_is_object(adm) ||
		json_unpack(adm, "{s:b, s:b, s:b, s:b !}", "before_court", &adm_answers[0],
		    "before_police", &adm_answers[1], "marriage_status", &adm_answers[2],
		    "identity", &adm_answers[3]) != 0))
		why = "admissibility answers before_court, before_police, marriage_status and "
		      "identity, each true or false";
	else if (specialty && !json_is_null(specialty) &&
	    !listed(specialty,
		(const char *const[]){
		    "law", "psychology", "social_work", "education", "medicine", "other", NULL }))
		why =
		    "specialty is law, psychology, social_work, education, medicine, other or null";
	else if (outcome)
		why = outcome_problem(outcome, &out);
	if (why != NULL) {
		reply_problem(r, 400, PROBLEM_VALIDATION, "%s.", why);
		return;
	}

	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	if (!move_from(m, h.status)) {
		reply_illegal(r, h.status, to);
		return;
	}
	for (int i = 0; adm && i < 4; i++)
		if (adm_answers[i]) {
			reply_problem_with(r, 422, PROBLEM_UNPROCESSABLE,
			    arena_printf(r->arena,
				"People's mediation may not take this dispute: %s. Decline it with "
				"reason %s.",
				inadmissible[i][1], inadmissible[i][0]),
			    json_pack("{s:s}", "reason", inadmissible[i][0]));
			return;
		}
	if (strcmp(to, "in_mediation") == 0 && h.dv_risk && strcmp(h.dv_risk, "high") == 0 &&
	    h.safety_referral == NULL) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "The case has a high risk of domestic violence: record the safety referral "
		    "(police, protection order, shelter) before mediation starts.");
		return;
	}
	if (strcmp(to, "expert_requested") == 0 && strcmp(h.difficulty, "difficult") != 0) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Only a difficult case requests an expert: set difficulty first.");
		return;
	}

	const char *agreement = NULL;
	if (out.agreement != NULL) {
		unsigned char dek[CRYPT_KEY_BYTES];
		if (!case_key_or_reply(r, &h, dek))
			return;
		agreement = field_seal(r, dek, "cases", "agreement", h.id, out.agreement);
		sodium_memzero(dek, sizeof(dek));
		if (agreement == NULL) {
			reply_problem(
			    r, 500, PROBLEM_INTERNAL, "The agreement could not be encrypted.");
			return;
		}
	}
	const char *detail = reason ? json_string_value(reason) : out.result;
	const char *params[] = { h.id, h.version, h.status, to, json_text(reason), out.result,
		out.form, agreement, out.effective_on, detail, json_text(specialty) };
	if (case_write_or_reply(r, SQL_CASE_TRANSITION, params, 11))
		case_reply(r, h.id, 200, NULL);
}

static void
cases_assign_expert(struct request *r)
{
	json_t *expert;
	json_error_t e;
	if (json_unpack_ex(r->json, &e, JSON_STRICT, "{s:o}", "expert_id", &expert) != 0 ||
	    !json_is_integer(expert) || json_integer_value(expert) < 1) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"expert_id\": N}, N a mediator's id.");
		return;
	}
	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	if (strcmp(h.status, "expert_requested") != 0) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Case %s has not requested an expert: it is %s.", h.id, h.status);
		return;
	}
	const char *params[] = { h.id, h.version,
		arena_printf(r->arena, "%lld", (long long)json_integer_value(expert)) };
	if (!db_begin_or_reply(r))
		return;
	PGresult *res = audit_exec_or_reply(r, SQL_CASE_ASSIGN_EXPERT, params, 3);
	if (res == NULL)
		return;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "Mediator %lld is not an active member of the expert pool.",
		    (long long)json_integer_value(expert));
		return;
	}
	if (case_written_or_reply(r, res))
		case_reply(r, h.id, 200, NULL);
}

static void
cases_extend(struct request *r)
{
	const char *due, *reason;
	json_error_t e;
	if (json_unpack_ex(
		r->json, &e, JSON_STRICT, "{s:s, s:s}", "due_on", &due, "reason", &reason) != 0 ||
	    !date_exists(due) || !text_valid(reason, 200)) {
		reply_problem(r, 400, PROBLEM_VALIDATION,
		    "The body is {\"due_on\": DATE, \"reason\": up to 200 printable characters}.");
		return;
	}
	struct case_head h;
	if (!case_head_or_reply(r, &h))
		return;
	if (h.due_on == NULL ||
	    (strcmp(h.status, "accepted") != 0 && strcmp(h.status, "in_mediation") != 0 &&
		strcmp(h.status, "expert_requested") != 0)) {
		reply_problem(r, 409, PROBLEM_CONFLICT,
		    "Only an open case has a due date to extend; case %s is %s.", h.id, h.status);
		return;
	}
	if (strcmp(due, h.due_on) <= 0) {
		reply_problem(r, 422, PROBLEM_UNPROCESSABLE,
		    "An extension moves the due date later than %s.", h.due_on);
		return;
	}
	const char *params[] = { h.id, h.version, due, reason };
	if (case_write_or_reply(r, SQL_CASE_EXTEND, params, 4))
		case_reply(r, h.id, 200, NULL);
}

const struct route case_flow_routes[] = {
	{ "POST", "/api/v1/cases/{id}/transitions", cases_transition, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ "POST", "/api/v1/cases/{id}/expert", cases_assign_expert, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_JSON },
	{ "POST", "/api/v1/cases/{id}/extensions", cases_extend, ROLE_ADMIN | ROLE_MEDIATOR,
	    BODY_JSON },
	{ 0 },
};
