/*
 * sql_stats.h - the statements of the dashboards. They read the rollups
 * of 0010_statistics.sql (kept up to date by triggers), never the cases,
 * except for what depends on today's date (overdue), which an index on
 * open cases answers.
 *
 * Parameters of each: $1 region (a county, city or province), $2 and $3
 * the first and last month (cohorts of received cases or referrals), $4
 * the dimension rows to read ('' for all, 'committee', 'dispute_type',
 * 'source'), $5 what groups them ('county', 'month', 'value' or '' for one
 * group), $6 the least number a rate or a duration is computed from.
 */
#ifndef TIAOJIE_SQL_STATS_H
#define TIAOJIE_SQL_STATS_H

/* clang-format off */

#define SQL_STAT_IN_REGION(t)                                                                      \
	"(" t ".county_code = $1 OR " t ".city_code = $1 OR " t ".province_code = $1)"             \
	" AND " t ".dim = $4 AND " t ".month BETWEEN $2::date AND $3::date"

#define SQL_STAT_KEY(t)                                                                            \
	"CASE $5 WHEN 'county' THEN " t ".county_code WHEN 'month' THEN to_char(" t ".month,"      \
	" 'YYYY-MM') WHEN 'value' THEN " t ".value ELSE '' END"

/* Groups in order: committees by number, the others by their key. */
#define SQL_STAT_ORDER "CASE WHEN $4 = 'committee' THEN lpad(g.k, 20, '0') ELSE g.k END"

/*
 * A rate of two sums, when both are large enough to be shown (a rate of a
 * hidden count would give it away).
 */
#define SQL_RATE(num, den)                                                                         \
	"CASE WHEN " den " > 0 AND " den " >= $6 AND (" num " = 0 OR " num " >= $6)"             \
	" THEN round(" num "::numeric / " den ", 4) END"

/* The place of a median and a 90th percentile, computed by the server from the histograms. */
#define SQL_QUANTILES "json_build_object('median', NULL, 'p90', NULL)"

#define SQL_STATS_STATEMENTS(X)                                                                    \
	X(SQL_DASHBOARD_CASES, SQL_SERVE, true, 6,                                                 \
	    "WITH g AS (SELECT " SQL_STAT_KEY("r") " AS k, sum(cases) AS cases,"                   \
	    " sum(registered) AS registered, sum(accepted) AS accepted, sum(declined) AS declined," \
	    " sum(in_mediation) AS in_mediation, sum(expert_requested) AS expert_requested,"       \
	    " sum(withdrawn) AS withdrawn, sum(closed) AS closed, sum(agreement) AS agreement,"    \
	    " sum(no_agreement) AS no_agreement, sum(result_withdrawn) AS result_withdrawn,"       \
	    " sum(to_litigation) AS to_litigation, sum(to_elsewhere) AS to_elsewhere,"             \
	    " sum(written) AS written, sum(conf_applied) AS conf_applied,"                         \
	    " sum(conf_granted) AS conf_granted, sum(conf_refused) AS conf_refused, sum(dv) AS dv," \
	    " sum(dv_high) AS dv_high, sum(safety_referrals) AS safety_referrals,"                 \
	    " sum(minors) AS minors, sum(difficult) AS difficult,"                                 \
	    " sum(expert_requests) AS expert_requests, sum(experts_assigned) AS experts_assigned,"  \
	    " sum(followups) AS followups, sum(honoured_fully) AS honoured_fully,"                 \
	    " sum(honoured_partly) AS honoured_partly, sum(honoured_not) AS honoured_not"          \
	    " FROM case_rollup r WHERE " SQL_STAT_IN_REGION("r") " GROUP BY 1"                     \
	    " HAVING sum(cases) > 0 OR $5 = '')"                                                    \
	    " SELECT COALESCE(json_agg(json_build_object('key', g.k, 'cases', g.cases,"            \
	    " 'status', json_build_object('registered', g.registered, 'accepted', g.accepted,"     \
	    " 'declined', g.declined, 'in_mediation', g.in_mediation, 'expert_requested',"         \
	    " g.expert_requested, 'withdrawn', g.withdrawn, 'closed', g.closed),"                  \
	    " 'results', json_build_object('agreement', g.agreement, 'no_agreement',"              \
	    " g.no_agreement, 'withdrawn', g.result_withdrawn, 'referred_to_litigation',"          \
	    " g.to_litigation, 'referred_elsewhere', g.to_elsewhere),"                             \
	    " 'success_rate', " SQL_RATE("g.agreement", "g.closed") ","                            \
	    " 'days_to_close', " SQL_QUANTILES ","                                                 \
	    " 'experts', json_build_object('requests', g.expert_requests, 'assigned',"             \
	    " g.experts_assigned, 'hours_to_assign', " SQL_QUANTILES "),"                          \
	    " 'judicial_confirmation', json_build_object('written_agreements', g.written,"         \
	    " 'applied', g.conf_applied, 'granted', g.conf_granted, 'refused', g.conf_refused,"    \
	    " 'rate', " SQL_RATE("g.conf_granted", "g.written") "),"                               \
	    " 'followups', json_build_object('visits', g.followups, 'honoured_fully',"             \
	    " g.honoured_fully, 'honoured_partly', g.honoured_partly, 'honoured_not',"             \
	    " g.honoured_not),"                                                                    \
	    " 'domestic_violence', json_build_object('cases', g.dv, 'high_risk', g.dv_high,"       \
	    " 'safety_referrals', g.safety_referrals), 'minors_involved', g.minors,"               \
	    " 'difficult', g.difficult) ORDER BY " SQL_STAT_ORDER "), '[]')::text FROM g")         \
	/* The histograms of the same rows: days to close, hours to an expert. */                  \
	X(SQL_DASHBOARD_CASE_HISTOGRAMS, SQL_SERVE, true, 5,                                       \
	    "SELECT k, close_days::text, expert_hours::text FROM (SELECT " SQL_STAT_KEY("r")       \
	    " AS k, r.close_days, r.expert_hours FROM case_rollup r WHERE " SQL_STAT_IN_REGION("r") \
	    " AND (r.close_days <> '{}' OR r.expert_hours <> '{}')) g ORDER BY k")                 \
	/* Open cases past their due date, received in the months, by group. */                    \
	X(SQL_DASHBOARD_OVERDUE, SQL_SERVE, true, 5,                                               \
	    "SELECT CASE $5 WHEN 'county' THEN c.county_code WHEN 'month' THEN"                    \
	    " to_char(stat_month(c.received_at), 'YYYY-MM') WHEN 'value' THEN CASE $4"             \
	    " WHEN 'committee' THEN c.committee_id::text WHEN 'dispute_type' THEN"                 \
	    " c.dispute_type::text WHEN 'source' THEN c.source::text END ELSE '' END, count(*)"    \
	    " FROM cases c WHERE c.status IN ('accepted', 'in_mediation', 'expert_requested')"     \
	    " AND c.due_on < civil_today() AND c.county_code = ANY (region_counties($1))"          \
	    " AND stat_month(c.received_at) BETWEEN $2::date AND $3::date GROUP BY 1")             \
	X(SQL_DASHBOARD_REFERRALS, SQL_SERVE, true, 6,                                             \
	    "WITH g AS (SELECT " SQL_STAT_KEY("r") " AS k, sum(received) AS received,"             \
	    " sum(open) AS open, sum(accepted) AS accepted, sum(returned) AS returned,"            \
	    " sum(urgent) AS urgent, sum(declines) AS declines"                                    \
	    " FROM referral_rollup r WHERE " SQL_STAT_IN_REGION("r") " GROUP BY 1"                 \
	    " HAVING sum(received) > 0 OR $5 = '')"                                                 \
	    " SELECT COALESCE(json_agg(json_build_object('key', g.k, 'received', g.received,"      \
	    " 'open', g.open, 'accepted', g.accepted, 'returned', g.returned, 'urgent', g.urgent," \
	    " 'declines', g.declines, 'acceptance_rate', " SQL_RATE("g.accepted", "g.received")    \
	    ", 'minutes_to_accept', " SQL_QUANTILES ") ORDER BY " SQL_STAT_ORDER                   \
	    "), '[]')::text"                                                                       \
	    " FROM g")                                                                             \
	/* Minutes to acceptance, in buckets of 5. */                                              \
	X(SQL_DASHBOARD_REFERRAL_HISTOGRAMS, SQL_SERVE, true, 5,                                   \
	    "SELECT k, accept_minutes::text FROM (SELECT " SQL_STAT_KEY("r") " AS k,"              \
	    " r.accept_minutes FROM referral_rollup r WHERE " SQL_STAT_IN_REGION("r")              \
	    " AND r.accept_minutes <> '{}') g ORDER BY k")                                         \
	X(SQL_DASHBOARD_REFERRALS_OVERDUE, SQL_SERVE, true, 5,                                     \
	    "SELECT CASE $5 WHEN 'county' THEN f.county_code WHEN 'month' THEN"                    \
	    " to_char(stat_month(f.created_at), 'YYYY-MM') WHEN 'value' THEN f.source::text"       \
	    " ELSE '' END, count(*) FROM referrals f WHERE f.status = 'open' AND f.due_at < now()" \
	    " AND f.county_code = ANY (region_counties($1))"                                       \
	    " AND stat_month(f.created_at) BETWEEN $2::date AND $3::date"                           \
	    " AND ($4::text IS NULL OR true) GROUP BY 1") /* $4 unused: the same parameters */   \
	/* Names for group keys: counties and committees. */                                       \
	X(SQL_DASHBOARD_LABELS, SQL_SERVE, true, 2,                                                \
	    "SELECT k, CASE $2 WHEN 'county' THEN (SELECT name FROM regions WHERE code = k)"       \
	    " WHEN 'committee' THEN (SELECT name FROM committees WHERE id::text = k) END"          \
	    " FROM unnest($1::text[]) AS k")                                                       \
	/* Is $1 a region within scope $2 (NULL: any), and its level? */                           \
	X(SQL_DASHBOARD_REGION, SQL_SERVE, true, 2,                                                \
	    "SELECT level FROM regions WHERE code = $1 AND ($2::text IS NULL"                      \
	    " OR region_within($1, $2))")

/* clang-format on */

#endif
