/*
 * api_experts.c - the expert pool: active experts, with how many open
 * cases each is assigned to, least loaded first, so that staff assigning
 * an expert to a case pick the one with the most room.
 */
#include <string.h>

#include "api.h"
#include "db.h"
#include "http.h"
#include "mediators.h"
#include "reply.h"
#include "validate.h"

static void
experts_list(struct request *r)
{
	static const char *const known[] = { "specialty", "region", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *specialty = request_query(r, "specialty"), *region = request_query(r, "region");
	if ((specialty && !mediator_specialty_valid(specialty)) ||
	    (region && !region_code_valid(region))) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "specialty is law, psychology, social_work, education, medicine or other; "
		    "region "
		    "a region code.");
		return;
	}
	const char *params[] = { specialty, region };
	PGresult *res = db_query_or_reply(r, SQL_EXPERTS, params);
	if (res != NULL)
		db_reply_json(r, 200, res);
}

const struct route experts_routes[] = {
	{ "GET", "/api/v1/experts", experts_list, ROLE_ADMIN | ROLE_FEDERATION, BODY_NONE },
	{ 0 },
};
