/*
 * api.h - the route tables of the resource files, collected by routes.c.
 */
#ifndef TIAOJIE_API_H
#define TIAOJIE_API_H

#include "router.h"

extern const struct route ops_routes[];
extern const struct route regions_routes[];
extern const struct route sessions_routes[];
extern const struct route users_routes[];
extern const struct route audit_routes[];
extern const struct route committees_routes[];
extern const struct route mediators_routes[];
extern const struct route targets_routes[];
extern const struct route coverage_routes[];
extern const struct route import_routes[];
extern const struct route experts_routes[];
extern const struct route cases_routes[];
extern const struct route case_parties_routes[];
extern const struct route case_flow_routes[];
extern const struct route case_records_routes[];
extern const struct route referrals_routes[];
extern const struct route dashboard_routes[];

/* Every table, NULL-terminated, in the order the router tries them. */
extern const struct route *const api_routes[];

#endif
