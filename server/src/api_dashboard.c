/*
 * api_dashboard.c - the numbers county federations steer by: cases by
 * status and outcome, success rate, time to close, experts, judicial
 * confirmation, follow-ups, domestic violence; referrals received,
 * accepted, declined and how fast. Read from rollups that every write
 * keeps up to date (0010_statistics.sql), by months of receipt, for a
 * county, a city or a province, in total and grouped. For roles that see
 * no personal data, counts too small to hide a family are shown as "<5".
 * Accept: text/csv gives the same table for Excel, with Chinese column
 * names for Accept-Language: zh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "arena.h"
#include "csv.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

/* How a group_by value reads the rollups: which rows, keyed how. */
struct grouping {
	const char *name, *dim, *key;
};

static const struct grouping case_groupings[] = {
	{ "county", "", "county" },
	{ "month", "", "month" },
	{ "committee", "committee", "value" },
	{ "dispute_type", "dispute_type", "value" },
	{ "source", "source", "value" },
	{ NULL, NULL, NULL },
};

static const struct grouping referral_groupings[] = {
	{ "county", "", "county" },
	{ "month", "", "month" },
	{ "source", "source", "value" },
	{ NULL, NULL, NULL },
};

/*
 * A duration of a dashboard: the member of a group that shows its median
 * and 90th percentile (within outer, if any), and the width of a bucket of
 * its histograms.
 */
struct duration {
	const char *outer, *name;
	int width;
};

enum { DURATIONS_MAX = 2, BUCKETS_MAX = 2048 };

static const struct duration case_durations[] = {
	{ NULL, "days_to_close", 1 },
	{ "experts", "hours_to_assign", 1 },
	{ NULL, NULL, 0 },
};

static const struct duration referral_durations[] = {
	{ NULL, "minutes_to_accept", 5 },
	{ NULL, NULL, 0 },
};

/* A dashboard: its statements, groupings, durations and the totals of an empty period. */
struct board {
	enum sql_id numbers, overdue, histograms;
	const struct grouping *groupings;
	const struct duration *durations; /* the histogram columns, in order */
	const char *zero;                 /* the totals when nothing was received */
};

static const struct board cases_board = { SQL_DASHBOARD_CASES, SQL_DASHBOARD_OVERDUE,
	SQL_DASHBOARD_CASE_HISTOGRAMS, case_groupings, case_durations,
	"{\"key\":\"\",\"cases\":0,\"status\":{\"registered\":0,\"accepted\":0,\"declined\":0,"
	"\"in_mediation\":0,\"expert_requested\":0,\"withdrawn\":0,\"closed\":0},\"results\":{"
	"\"agreement\":0,\"no_agreement\":0,\"withdrawn\":0,\"referred_to_litigation\":0,"
	"\"referred_elsewhere\":0},\"success_rate\":null,\"days_to_close\":{\"median\":null,"
	"\"p90\":null},\"experts\":{\"requests\":0,\"assigned\":0,\"hours_to_assign\":{"
	"\"median\":null,\"p90\":null}},\"judicial_confirmation\":{\"written_agreements\":0,"
	"\"applied\":0,\"granted\":0,\"refused\":0,\"rate\":null},\"followups\":{\"visits\":0,"
	"\"honoured_fully\":0,\"honoured_partly\":0,\"honoured_not\":0},\"domestic_violence\":{"
	"\"cases\":0,\"high_risk\":0,\"safety_referrals\":0},\"minors_involved\":0,"
	"\"difficult\":0}" };

static const struct board referrals_board = { SQL_DASHBOARD_REFERRALS,
	SQL_DASHBOARD_REFERRALS_OVERDUE, SQL_DASHBOARD_REFERRAL_HISTOGRAMS, referral_groupings,
	referral_durations,
	"{\"key\":\"\",\"received\":0,\"open\":0,\"accepted\":0,\"returned\":0,\"urgent\":0,"
	"\"declines\":0,\"acceptance_rate\":null,\"minutes_to_accept\":{\"median\":null,"
	"\"p90\":null}}" };

/* Chinese column names of the CSV, by the flattened member name. */
static const char *const zh_columns[][2] = {
	{ "key", "分组" },
	{ "label", "名称" },
	{ "cases", "案件数" },
	{ "status_registered", "已登记" },
	{ "status_accepted", "已受理" },
	{ "status_declined", "不予受理" },
	{ "status_in_mediation", "调解中" },
	{ "status_expert_requested", "待专家" },
	{ "status_withdrawn", "已撤回" },
	{ "status_closed", "已结案" },
	{ "results_agreement", "调解成功" },
	{ "results_no_agreement", "调解不成" },
	{ "results_withdrawn", "撤回调解" },
	{ "results_referred_to_litigation", "转诉讼" },
	{ "results_referred_elsewhere", "转其他途径" },
	{ "success_rate", "调解成功率" },
	{ "days_to_close_median", "结案天数中位数" },
	{ "days_to_close_p90", "结案天数90分位" },
	{ "experts_requests", "专家申请" },
	{ "experts_assigned", "专家指派" },
	{ "experts_hours_to_assign_median", "指派小时数中位数" },
	{ "experts_hours_to_assign_p90", "指派小时数90分位" },
	{ "judicial_confirmation_written_agreements", "书面协议" },
	{ "judicial_confirmation_applied", "申请司法确认" },
	{ "judicial_confirmation_granted", "确认有效" },
	{ "judicial_confirmation_refused", "不予确认" },
	{ "judicial_confirmation_rate", "司法确认率" },
	{ "followups_visits", "回访次数" },
	{ "followups_honoured_fully", "完全履行" },
	{ "followups_honoured_partly", "部分履行" },
	{ "followups_honoured_not", "未履行" },
	{ "domestic_violence_cases", "涉家暴案件" },
	{ "domestic_violence_high_risk", "高风险" },
	{ "domestic_violence_safety_referrals", "安全转介" },
	{ "minors_involved", "涉未成年人" },
	{ "difficult", "疑难案件" },
	{ "overdue", "超期" },
	{ "received", "收到转介" },
	{ "open", "待接收" },
	{ "accepted", "已接收" },
	{ "returned", "退回热线" },
	{ "urgent", "紧急" },
	{ "declines", "拒收次数" },
	{ "acceptance_rate", "接收率" },
	{ "minutes_to_accept_median", "接收分钟数中位数" },
	{ "minutes_to_accept_p90", "接收分钟数90分位" },
	{ NULL, NULL },
};

static const struct grouping *
grouping_named(const struct grouping *list, const char *name)
{
	for (; list->name; list++)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

/* The first day of the month of a date (YYYY-MM-DD) as text in the arena. */
static const char *
month_of(struct request *r, const char *date)
{
	return arena_printf(r->arena, "%.7s-01", date);
}

/* Members that are not counts: durations, rates, keys. */
static bool
not_a_count(const char *name)
{
	return strcmp(name, "median") == 0 || strcmp(name, "p90") == 0 ||
	    strcmp(name, "key") == 0 || strcmp(name, "label") == 0;
}

/* Shows counts from 1 to below threshold as "<threshold", all through v. */
static void
suppress(json_t *v, int threshold, const char *mark)
{
	const char *name;
	json_t *m;
	void *tmp;
	json_object_foreach_safe(v, tmp, name, m)
	{
		if (json_is_object(m))
			suppress(m, threshold, mark);
		else if (json_is_integer(m) && !not_a_count(name) && json_integer_value(m) > 0 &&
		    json_integer_value(m) < threshold)
			json_object_set_new(v, name, json_string(mark));
	}
}

/* Adds overdue counts (by key) to each group. */
static bool
add_overdue(struct request *r, enum sql_id statement, const char *const *params, json_t *groups)
{
	PGresult *res = db_query_or_reply(r, statement, params);
	if (res == NULL)
		return false;
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g)
	{
		const char *key = json_string_value(json_object_get(g, "key"));
		long long n = 0;
		for (int row = 0; row < PQntuples(res); row++)
			if (strcmp(PQgetvalue(res, row, 0), key ? key : "") == 0)
				n = strtoll(PQgetvalue(res, row, 1), NULL, 10);
		json_object_set_new(g, "overdue", json_integer(n));
	}
	return true;
}

/* Names the groups of counties and committees. */
static bool
add_labels(struct request *r, const char *grouping, json_t *groups)
{
	size_t n = json_array_size(groups), i;
	const char **keys = arena_alloc(r->arena, (n + 1) * sizeof(*keys));
	json_t *g;
	json_array_foreach(groups, i, g)
	{
		keys[i] = json_string_value(json_object_get(g, "key"));
	}
	const char *params[] = { db_array_literal(r->arena, keys, n), grouping };
	PGresult *res = db_query_or_reply(r, SQL_DASHBOARD_LABELS, params);
	if (res == NULL)
		return false;
	json_array_foreach(groups, i, g)
	{
		const char *label = i < (size_t)PQntuples(res) && !PQgetisnull(res, (int)i, 1)
		    ? PQgetvalue(res, (int)i, 1)
		    : NULL;
		json_object_set_new(g, "label", label ? json_string(label) : json_null());
	}
	return true;
}

/*
 * Adds the text of a histogram ("{0,3,1}": counts by bucket) to sum. The
 * database never keeps a bucket past BUCKETS_MAX (0013_histograms.sql).
 */
static void
histogram_add(long long *sum, const char *text)
{
	const char *p = text + (*text == '{');
	for (size_t i = 0; i < BUCKETS_MAX && *p != '\0' && *p != '}'; i++) {
		char *end;
		long long n = strtoll(p, &end, 10);
		if (end == p)
			break;
		sum[i] += n;
		p = *end == ',' ? end + 1 : end;
	}
}

/*
 * Sets the median and the 90th percentile of histogram sum (the least
 * buckets that reach half and nine tenths of its samples) in place, when it
 * has at least min_samples samples; a bucket stands for its lower bound.
 */
static void
quantiles_set(json_t *place, const long long *sum, int width, long long min_samples)
{
	long long total = 0, cum = 0;
	for (size_t i = 0; i < BUCKETS_MAX; i++)
		total += sum[i] > 0 ? sum[i] : 0;
	if (place == NULL || total == 0 || total < min_samples)
		return;
	json_t *median = NULL, *p90 = NULL;
	for (size_t i = 0; i < BUCKETS_MAX && p90 == NULL; i++) {
		if (sum[i] <= 0)
			continue;
		cum += sum[i];
		if (median == NULL && 2 * cum >= total)
			median = json_integer((json_int_t)i * width);
		if (10 * cum >= 9 * total)
			p90 = json_integer((json_int_t)i * width);
	}
	json_object_set_new(place, "median", median ? median : json_null());
	json_object_set_new(place, "p90", p90 ? p90 : json_null());
}

/* Writes the durations of one group (key) from its summed histograms. */
static void
durations_set(const struct board *b, json_t *by_key, const char *key,
    long long (*sums)[BUCKETS_MAX], long long min_samples)
{
	json_t *g = json_object_get(by_key, key);
	for (size_t m = 0; g != NULL && b->durations[m].name; m++) {
		const struct duration *d = &b->durations[m];
		json_t *in = d->outer ? json_object_get(g, d->outer) : g;
		quantiles_set(json_object_get(in, d->name), sums[m], d->width, min_samples);
	}
}

/*
 * Medians and 90th percentiles of every group, from the histograms of
 * its rollup rows (in order of key), summed here: summing arrays is what
 * a database does slowly, one element at a time.
 */
static bool
add_durations(struct request *r, const struct board *b, const char *const *params,
    long long min_samples, json_t *groups)
{
	PGresult *res = db_query_or_reply(r, b->histograms, params);
	if (res == NULL)
		return false;
	json_t *by_key = json_object();
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g)
	{
		const char *key = json_string_value(json_object_get(g, "key"));
		json_object_set(by_key, key ? key : "", g);
	}
	long long(*sums)[BUCKETS_MAX] = arena_alloc(r->arena, DURATIONS_MAX * sizeof(*sums));
	const char *key = NULL;
	for (int row = 0; row < PQntuples(res); row++) {
		const char *k = PQgetvalue(res, row, 0);
		if (key == NULL || strcmp(key, k) != 0) {
			if (key != NULL)
				durations_set(b, by_key, key, sums, min_samples);
			memset(sums, 0, DURATIONS_MAX * sizeof(*sums));
			key = k;
		}
		for (int m = 0; m < DURATIONS_MAX && b->durations[m].name; m++)
			histogram_add(sums[m], PQgetvalue(res, row, 1 + m));
	}
	if (key != NULL)
		durations_set(b, by_key, key, sums, min_samples);
	json_decref(by_key);
	return true;
}

/* The groups' numbers (SQL_DASHBOARD_*), with their durations and overdue counts. */
static json_t *
numbers(struct request *r, const struct board *b, const char *const *params)
{
	PGresult *res = db_query_or_reply(r, b->numbers, params);
	if (res == NULL)
		return NULL;
	json_t *groups = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (groups == NULL || !add_durations(r, b, params, strtoll(params[5], NULL, 10), groups) ||
	    !add_overdue(r, b->overdue, params, groups)) {
		json_decref(groups);
		return NULL;
	}
	return groups;
}

/* Column names of a flattened group: "status_closed", ... */
static void
flatten_names(json_t *v, const char *prefix, struct request *r, json_t *out)
{
	const char *name;
	json_t *m;
	json_object_foreach(v, name, m)
	{
		const char *full = *prefix ? arena_printf(r->arena, "%s_%s", prefix, name) : name;
		if (json_is_object(m))
			flatten_names(m, full, r, out);
		else
			json_array_append_new(out, json_string(full));
	}
}

static json_t *
member_at(json_t *v, const char *flat)
{
	json_t *m = json_object_get(v, flat);
	if (m != NULL)
		return m;
	const char *name;
	json_object_foreach(v, name, m)
	{
		size_t n = strlen(name);
		if (json_is_object(m) && strncmp(flat, name, n) == 0 && flat[n] == '_') {
			json_t *inner = member_at(m, flat + n + 1);
			if (inner != NULL)
				return inner;
		}
	}
	return NULL;
}

static const char *
zh_column(const char *name)
{
	for (size_t i = 0; zh_columns[i][0]; i++)
		if (strcmp(zh_columns[i][0], name) == 0)
			return zh_columns[i][1];
	return name;
}

/* The totals row, then one row a group; Chinese column names if asked for. */
static void
reply_csv(struct request *r, json_t *doc)
{
	const char *lang = request_header(r, "Accept-Language");
	bool zh = lang != NULL && strncasecmp(lang, "zh", 2) == 0;
	json_t *totals = json_object_get(doc, "totals");
	json_object_set_new(totals, "key", json_string(zh ? "合计" : "total"));
	json_object_set_new(totals, "label", json_null());
	json_t *columns = json_array();
	json_array_append_new(columns, json_string("key"));
	json_array_append_new(columns, json_string("label"));
	json_t *shape = json_deep_copy(totals);
	json_object_del(shape, "key");
	json_object_del(shape, "label");
	flatten_names(shape, "", r, columns);
	json_decref(shape);

	struct sbuf b = { 0 };
	sbuf_append(&b, "\xEF\xBB\xBF", 3); /* the byte-order mark Excel needs for UTF-8 */
	size_t ncols = json_array_size(columns), i;
	for (i = 0; i < ncols; i++) {
		const char *c = json_string_value(json_array_get(columns, i));
		csv_write_field(&b, zh ? zh_column(c) : c, i + 1 == ncols);
	}
	json_t *rows = json_array();
	json_array_append(rows, totals);
	json_array_extend(rows, json_object_get(doc, "groups"));
	size_t n;
	json_t *row;
	json_array_foreach(rows, n, row)
	{
		for (i = 0; i < ncols; i++) {
			json_t *v = member_at(row, json_string_value(json_array_get(columns, i)));
			char num[64];
			const char *text = "";
			if (json_is_string(v))
				text = json_string_value(v);
			else if (json_is_integer(v))
				text = (snprintf(num, sizeof(num), "%lld",
					    (long long)json_integer_value(v)),
				    num);
			else if (json_is_real(v))
				text =
				    (snprintf(num, sizeof(num), "%.4f", json_real_value(v)), num);
			csv_write_field(&b, text, i + 1 == ncols);
		}
	}
	json_decref(rows);
	json_decref(columns);
	json_decref(doc);
	size_t len = b.len;
	reply_take(r, 200, "text/csv; charset=utf-8", sbuf_steal(&b), len);
}

static void
dashboard(struct request *r, const struct board *b)
{
	static const char *const known[] = { "from", "to", "region", "group_by", NULL };
	if (!request_query_known_or_reply(r, known))
		return;
	const char *from = request_query(r, "from"), *to = request_query(r, "to");
	const char *region = request_query(r, "region"), *group_by = request_query(r, "group_by");
	if (region == NULL)
		region = request_scope(r);
	const struct grouping *g = group_by ? grouping_named(b->groupings, group_by) : NULL;
	if ((from && !date_exists(from)) || (to && !date_exists(to)) || region == NULL ||
	    !region_code_valid(region) || (group_by && g == NULL) ||
	    (from && to && strcmp(from, to) > 0)) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "from and to are dates (from not after to), region a region code (required for "
		    "administrators), group_by one of this dashboard's groupings.");
		return;
	}
	const char *scope_params[] = { region, request_scope(r) };
	PGresult *level = db_query_or_reply(r, SQL_DASHBOARD_REGION, scope_params);
	if (level == NULL)
		return;
	if (PQntuples(level) == 0) {
		reply_problem(
		    r, 404, PROBLEM_NOT_FOUND, "There is no region %s in your scope.", region);
		return;
	}
	if (strcmp(PQgetvalue(level, 0, 0), "township") == 0) {
		reply_problem(r, 400, PROBLEM_BAD_REQUEST,
		    "Statistics are kept by county: region is a county, a city or a province.");
		return;
	}
	/* Roles that see no personal data see no small counts either. */
	int threshold = r->who.role_bit == ROLE_ADMIN ? 0 : (int)r->srv->cfg->suppress_below;
	const char *first = from ? month_of(r, from) : "2000-01-01";
	const char *last = to ? month_of(r, to) : "2999-12-01";
	const char *min_n = arena_printf(r->arena, "%d", threshold > 1 ? threshold : 1);

	const char *totals_params[] = { region, first, last, "", "", min_n };
	json_t *totals = numbers(r, b, totals_params);
	if (totals == NULL)
		return;
	bool empty = json_array_size(totals) == 0;
	json_t *total =
	    empty ? json_loads(b->zero, 0, NULL) : json_incref(json_array_get(totals, 0));
	json_decref(totals);
	if (empty) /* nothing received: nothing overdue either */
		json_object_set_new(total, "overdue", json_integer(0));
	json_object_del(total, "key");

	json_t *groups = json_array();
	if (g != NULL) {
		json_decref(groups);
		const char *params[] = { region, first, last, g->dim, g->key, min_n };
		groups = numbers(r, b, params);
		if (groups == NULL ||
		    ((strcmp(g->name, "county") == 0 || strcmp(g->name, "committee") == 0) &&
			!add_labels(r, g->name, groups))) {
			json_decref(groups);
			json_decref(total);
			return;
		}
	}
	size_t gi;
	json_t *gx;
	json_array_foreach(groups, gi, gx)
	{
		if (json_object_get(gx, "label") == NULL)
			json_object_set_new(gx, "label", json_null());
	}
	if (threshold > 1) {
		const char *mark = arena_printf(r->arena, "<%d", threshold);
		suppress(total, threshold, mark);
		size_t i;
		json_t *x;
		json_array_foreach(groups, i, x)
		{
			suppress(x, threshold, mark);
		}
	}
	json_t *doc = json_pack("{s:s, s:s?, s:s?, s:s?, s:o, s:o, s:o}", "region_code", region,
	    "from", from, "to", to, "group_by", group_by, "suppressed_below",
	    threshold > 1 ? json_integer(threshold) : json_null(), "totals", total, "groups",
	    groups);
	if (csv_wanted(request_header(r, "Accept")))
		reply_csv(r, doc);
	else
		reply_json(r, 200, doc);
}

static void
dashboard_cases(struct request *r)
{
	dashboard(r, &cases_board);
}

static void
dashboard_referrals(struct request *r)
{
	dashboard(r, &referrals_board);
}

const struct route dashboard_routes[] = {
	{ "GET", "/api/v1/dashboard/cases", dashboard_cases, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_NONE },
	{ "GET", "/api/v1/dashboard/referrals", dashboard_referrals, ROLE_ADMIN | ROLE_FEDERATION,
	    BODY_NONE },
	{ 0 },
};
