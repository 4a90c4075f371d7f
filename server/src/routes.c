/*
 * routes.c - the table of route tables: one line per resource file.
 */
#include "api.h"

const struct route *const api_routes[] = {
	ops_routes,
	regions_routes,
	sessions_routes,
	users_routes,
	audit_routes,
	committees_routes,
	mediators_routes,
	targets_routes,
	coverage_routes,
	import_routes,
	experts_routes,
	cases_routes,
	case_parties_routes,
	case_flow_routes,
	case_records_routes,
	referrals_routes,
	dashboard_routes,
	NULL,
};
