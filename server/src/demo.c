/*
 * demo.c - `tiaojie gen-demo`: realistic, made-up demo data, stored as the
 * service stores its own.
 *
 * What it makes: provinces 83..99 (codes no real province uses for the
 * mainland, and none the seed data uses), each with cities of 10 to 15
 * counties; in each county 1 to 3 committees or rooms with their
 * mediators, in each city a guidance committee with the city's experts;
 * then the cases, received over the last --years years up to now, each
 * with the history the workflow would have given it by today (accepted,
 * mediated, an expert requested and assigned, extended, closed with an
 * outcome, confirmed by a court, visited afterwards), 2 or 3 parties with
 * names, ID numbers (GB 11643 check digit), phones and addresses, and
 * about one case in ten taken up from a referral of the 12338 hotline, a
 * court, the police or civil affairs (a few referrals never taken up).
 *
 * How it stores them. Regions, committees, mediators and the hotline's
 * user go through the service's own statements (SQL_REGION_INSERT,
 * SQL_COMMITTEE_CREATE, datakey_create() with SQL_MEDIATOR_NEXT_ID and
 * SQL_MEDIATOR_CREATE, SQL_USER_CREATE), one row a round trip: there are
 * a few tens of thousands at most. Cases come by the million, so they go
 * in batches (one transaction of DEMO_BATCH cases), each table filled by
 * one multi-row statement (unnest of arrays) below instead of a round trip
 * per row and per workflow step. These statements write exactly the rows
 * the service's would have written by the end of the case's history:
 *
 * - the same columns and values: a data key per case and per referral,
 *   wrapped by crypt_wrap() under the newest master version as
 *   datakey_create() does; every personal field sealed by crypt_seal()
 *   under the record's data key for its table, column and row id (taken
 *   from the row's sequence first), exactly as fields.c, api_cases.c,
 *   api_case_parties.c, api_case_records.c and api_referrals.c seal them;
 *   blind indexes by blind_normalise() and blind_index(); case numbers
 *   taken from case_counters in the transaction that stores the cases, as
 *   SQL_CASE_CREATE takes them (gapless per county and year; each worker
 *   owns whole counties, so two never take numbers of the same county);
 *   due dates one month after the civil day of acceptance; versions
 *   counting every write the history made; workflow events with their
 *   details as SQL_CASE_TRANSITION and SQL_CASE_ASSIGN_EXPERT record
 *   them. Times are the history's own, not now() (the service's
 *   statements take now() for accepted_at, closed_at, event times...).
 * - the same triggers, in an order that gives the same statistics
 *   (0010_statistics.sql): a case is inserted as it stands at the end of
 *   its history, which is what the rollups hold after the service's
 *   insert and its updates (each takes the old row out and puts the new
 *   one in); expert requests, their assignment and follow-ups are
 *   written after their case, by INSERT and UPDATE as the service writes
 *   them, so their own triggers count them; a referral taken up is
 *   inserted open and then updated to accepted, as the service does;
 *   declines are inserted after their referral.
 * - the audit trail: one entry per record made (region.create,
 *   committee.create, mediator.create, user.create, case.create,
 *   referral.create), by the actor "tiaojie gen-demo" with request id
 *   "gen-demo", sealed into the hash chain before the command ends. The
 *   trail records what happened in this database: a generator wrote
 *   these records, now; it does not invent an entry for each step of a
 *   history that never ran through the API.
 * - not written: idempotency keys (kept 24 hours by the service: gone for
 *   referrals older than that), sessions and tokens (none signed in).
 */
#include "demo.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "datakey.h"
#include "db.h"
#include "sql.h"

/* Cases per transaction. */
#define DEMO_BATCH 500

#define FIRST_PROVINCE 83
#define LAST_PROVINCE  99
#define MAX_COMMITTEES 3
#define MAX_MEDIATORS  8
#define MAX_EXPERTS    8
#define MAX_PARTIES    3
#define MAX_SESSIONS   3
#define MAX_FOLLOWUPS  2
#define MAX_EVENTS     8
#define MAX_DECLINES   4
#define NO_DAY         INT64_MIN
#define HOUR           3600
#define DAY            86400
#define CST            (8 * HOUR)
#define DEMO_USER      "gen-demo.hotline"
#define SEALED_MAX     4096

/* The audit context of every statement: no signed-in actor, the command's name. */
static const char *const audit_ctx[6] = { NULL, "tiaojie gen-demo", NULL, "gen-demo", NULL, NULL };

/* --- random numbers: xoshiro256**, seeded by splitmix64 ------------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL + 0x5851f42d4c957f2dULL);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in 0 .. n - 1 (n > 0). */
static unsigned
rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in lo .. hi, both included. */
static int
rng_range(struct rng *r, int lo, int hi)
{
	return lo + (int)rng_below(r, (unsigned)(hi - lo + 1));
}

/* Uniform seconds in lo .. hi. */
static int64_t
rng_span(struct rng *r, double lo, double hi)
{
	return (int64_t)(lo + (hi - lo) * rng_unit(r));
}

static bool
rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

#define PICK(r, list) ((list)[rng_below((r), sizeof(list) / sizeof((list)[0]))])

struct choice {
	const char *value;
	unsigned weight;
};

/* A value of a NULL-terminated weighted list. */
static const char *
pick(struct rng *r, const struct choice *c)
{
	unsigned total = 0, i;
	for (i = 0; c[i].value; i++)
		total += c[i].weight;
	unsigned x = rng_below(r, total);
	for (i = 0; c[i].value; i++) {
		if (x < c[i].weight)
			return c[i].value;
		x -= c[i].weight;
	}
	return c[0].value;
}

/* Square root by Newton's method (libm is not linked). */
static double
dsqrt(double v)
{
	if (v <= 0)
		return 0;
	double x = v > 1 ? v : 1;
	for (int i = 0; i < 60; i++)
		x = 0.5 * (x + v / x);
	return x;
}

/* --- civil dates (China Standard Time) ---------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The civil day (CST) of a time. */
static int64_t
civil_day(int64_t t)
{
	int64_t s = t + CST;
	return (s >= 0 ? s : s - (DAY - 1)) / DAY;
}

/* Midnight (CST) starting a civil day. */
static int64_t
day_start(int64_t day)
{
	return day * DAY - CST;
}

static int
year_of_day(int64_t day)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	return y;
}

/* day + 1 month, the day clamped to the month's length (as PostgreSQL's date + interval). */
static int64_t
plus_month(int64_t day)
{
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	if (++m > 12) {
		m = 1;
		y++;
	}
	int max = len[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
	return days_from_civil(y, m, d < max ? d : max);
}

static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

static void
put4(char *p, int v)
{
	put2(p, v / 100);
	put2(p + 2, v % 100);
}

/* "YYYY-MM-DD" (11 bytes with the NUL). */
static void
day_text(int64_t day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	put4(out, y);
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = '\0';
}

/* "YYYY-MM-DD HH:MM:SS+00" (23 bytes with the NUL). */
static void
time_text(int64_t t, char out[23])
{
	int64_t day = (t >= 0 ? t : t - (DAY - 1)) / DAY, s = t - day * DAY;
	day_text(day, out);
	out[10] = ' ';
	put2(out + 11, (int)(s / 3600));
	out[13] = ':';
	put2(out + 14, (int)(s / 60 % 60));
	out[16] = ':';
	put2(out + 17, (int)(s % 60));
	memcpy(out + 19, "+00", 4);
}

/* --- text buffers and PostgreSQL array literals -------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* One column of a multi-row statement: an array literal, one element a row. */
struct col {
	struct buf b;
	size_t n;
};

static void
col_begin(struct col *c)
{
	c->b.len = 0;
	c->n = 0;
	buf_add(&c->b, "{", 1);
}

static void
col_next(struct col *c)
{
	if (c->n++ > 0)
		buf_add(&c->b, ",", 1);
}

static const char *
col_end(struct col *c)
{
	buf_add(&c->b, "}", 1);
	return c->b.p;
}

static void
col_null(struct col *c)
{
	col_next(c);
	buf_add(&c->b, "NULL", 4);
}

static void
col_text(struct col *c, const char *s)
{
	if (s == NULL) {
		col_null(c);
		return;
	}
	col_next(c);
	buf_reserve(&c->b, 2 * strlen(s) + 2);
	char *o = c->b.p + c->b.len;
	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	c->b.len = (size_t)(o - c->b.p);
}

static void
col_int(struct col *c, long long v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%lld", v);
	col_next(c);
	buf_add(&c->b, t, (size_t)n);
}

/* An id, or NULL for 0. */
static void
col_id(struct col *c, long long v)
{
	if (v == 0)
		col_null(c);
	else
		col_int(c, v);
}

static void
col_bool(struct col *c, bool v)
{
	col_next(c);
	buf_add(&c->b, v ? "t" : "f", 1);
}

/* A time, or NULL for 0. */
static void
col_time(struct col *c, int64_t t)
{
	if (t == 0) {
		col_null(c);
		return;
	}
	char s[23];
	time_text(t, s);
	col_next(c);
	buf_add(&c->b, s, 22);
}

/* A civil day, or NULL for NO_DAY. */
static void
col_day(struct col *c, int64_t day)
{
	if (day == NO_DAY) {
		col_null(c);
		return;
	}
	char s[11];
	day_text(day, s);
	col_next(c);
	buf_add(&c->b, s, 10);
}

/* Bytes as bytea's hex text inside an array element: "\\x...". */
static void
col_bytes(struct col *c, const unsigned char *bytes, size_t len)
{
	col_next(c);
	buf_reserve(&c->b, 2 * len + 6);
	buf_add(&c->b, "\"\\\\x", 4);
	sodium_bin2hex(c->b.p + c->b.len, 2 * len + 1, bytes, len);
	c->b.len += 2 * len;
	buf_add(&c->b, "\"", 1);
}

/* plain sealed for table.column of row under dek (as field_seal does), or NULL. */
static bool
col_sealed(struct col *c, const unsigned char dek[CRYPT_KEY_BYTES], const char *table,
    const char *column, long long row, const char *plain)
{
	if (plain == NULL) {
		col_null(c);
		return true;
	}
	size_t len = strlen(plain);
	unsigned char ct[SEALED_MAX + CRYPT_FIELD_OVERHEAD];
	char id[24];
	snprintf(id, sizeof(id), "%lld", row);
	if (len > SEALED_MAX ||
	    !crypt_seal(dek, table, column, id, (const unsigned char *)plain, len, ct))
		return false;
	col_bytes(c, ct, len + CRYPT_FIELD_OVERHEAD);
	return true;
}

/* --- what the data is made of --------------------------------------------------- */

static const char *const syllables[] = { "安", "平", "阳", "山", "河", "江", "湖", "海", "城", "川",
	"泉", "林", "桂", "宁", "南", "北", "东", "西", "中", "华", "兴", "隆", "昌", "盛", "丰",
	"源", "清", "远", "长", "永", "德", "新", "乐", "和", "康", "泰", "福", "顺", "吉", "庆",
	"云", "龙", "凤", "青", "白", "金", "石", "水", "溪", "岭", "峰", "田", "禾", "明", "光",
	"瑞", "祥", "嘉", "茂", "文" };
#define NSYL ((unsigned)(sizeof(syllables) / sizeof(syllables[0])))

static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
	"徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐",
	"许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
	"余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟",
	"谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "覃", "蓝", "莫", "黎",
	"欧阳" };
static const char *const female_given[] = { "秀", "英", "华", "丽", "敏", "静", "燕", "芳", "娟",
	"霞", "玲", "红", "梅", "兰", "艳", "萍", "婷", "雪", "琳", "慧", "丹", "颖", "洁", "倩",
	"月", "凤", "春", "桂", "菊", "琴" };
static const char *const male_given[] = { "伟", "强", "军", "勇", "杰", "涛", "明", "超", "刚",
	"平", "辉", "鹏", "华", "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "峰", "磊",
	"亮", "成", "东", "海", "林", "文" };
static const char *const mobile_prefixes[] = { "130", "131", "132", "133", "134", "135", "136",
	"137", "138", "139", "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
	"176", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "198",
	"199" };
static const char *const streets[] = { "人民路", "解放路", "中山路", "建设路", "和平路", "新华路",
	"胜利路", "文化路", "朝阳路", "幸福路", "光明路", "东风路", "团结路", "长江路", "青年路",
	"民主路", "跃进路", "红旗路", "工业路", "育才路" };
static const char *const towns[] = { "城东街道", "城西街道", "城南街道", "城北街道", "城关镇",
	"新城街道", "河西街道", "江南街道", "石桥镇", "白沙镇", "龙潭镇", "大塘镇" };

static const struct choice case_sources[] = { { "walk_in", 52 }, { "community", 15 },
	{ "petition", 5 }, { "court", 9 }, { "police", 7 }, { "civil_affairs", 7 }, { "other", 5 },
	{ NULL, 0 } };
static const struct choice referral_sources[] = { { "hotline_12338", 60 }, { "court", 10 },
	{ "police", 10 }, { "civil_affairs", 10 }, { "petition", 5 }, { "other", 5 }, { NULL, 0 } };
static const struct choice disputes[] = { { "divorce", 30 }, { "property_division", 12 },
	{ "custody", 10 }, { "child_support", 8 }, { "elder_support", 8 }, { "inheritance", 7 },
	{ "domestic_violence", 8 }, { "in_law_conflict", 10 }, { "bride_price", 4 }, { "other", 3 },
	{ NULL, 0 } };
static const struct choice referral_disputes[] = { { "divorce", 25 }, { "domestic_violence", 25 },
	{ "custody", 10 }, { "child_support", 10 }, { "property_division", 10 },
	{ "elder_support", 8 }, { "in_law_conflict", 7 }, { "other", 5 }, { NULL, 0 } };
static const struct choice results[] = { { "agreement", 82 }, { "no_agreement", 9 },
	{ "referred_to_litigation", 5 }, { "referred_elsewhere", 2 }, { "withdrawn", 2 },
	{ NULL, 0 } };
static const struct choice decline_reasons[] = { { "outside_remit", 35 }, { "before_court", 25 },
	{ "before_police", 10 }, { "marriage_status", 12 }, { "identity", 5 }, { "other", 13 },
	{ NULL, 0 } };
static const struct choice risks[] = { { "low", 50 }, { "medium", 35 }, { "high", 15 },
	{ NULL, 0 } };
static const struct choice safety_kinds[] = { { "police", 45 }, { "protection_order", 35 },
	{ "shelter", 10 }, { "other", 10 }, { NULL, 0 } };
static const struct choice honour[] = { { "fully", 80 }, { "partly", 15 }, { "not", 5 },
	{ NULL, 0 } };
static const char *const specialties[] = { "law", "psychology", "social_work", "education",
	"medicine" };

/* Per dispute type: summaries, an agreement's clause, the respondent's and another's relation. */
static const struct dispute_text {
	const char *type;
	const char *summary[2];
	const char *clause[2]; /* before and after an amount of money */
	const char *respondent, *other;
} dispute_texts[] = {
	{ "divorce",
	    { "双方结婚多年，近来因感情不和经常争吵，申请人提出离婚，就子女抚养和共同财产分割存在分"
	      "歧，请求调解。",
		"被申请人长期外出务工，双方分居两年以上，申请人要求协议离婚并分割共同财产。" },
	    { "双方自愿离婚，婚生子女由申请人抚养，被申请人每月给付抚养费", "元" }, "配偶",
	    "子女" },
	{ "property_division",
	    { "双方离婚后就婚后共同购买的住房归属及贷款偿还产生争议，申请人请求依法分割。",
		"双方对婚姻存续期间的存款、车辆等共同财产的分割比例意见不一，申请调解。" },
	    { "共同住房归申请人所有，申请人给付被申请人房屋折价款", "元" }, "前配偶", "亲属" },
	{ "custody",
	    { "双方离婚后对子女抚养权归属及探望时间安排存在争议，申请人请求变更抚养关系。",
		"被申请人多次阻挠申请人探望子女，双方就探望方式和时间发生纠纷。" },
	    { "子女由申请人抚养，被申请人每月探望两次，每月给付抚养费", "元" }, "前配偶", "子女" },
	{ "child_support",
	    { "离婚时约定的子女抚养费被申请人长期未按时支付，申请人请求给付拖欠的抚养费。",
		"子女上学后开支增加，申请人请求适当增加抚养费数额。" },
	    { "被申请人一次性给付拖欠的抚养费", "元，今后每月按时给付" }, "前配偶", "子女" },
	{ "elder_support",
	    { "申请人年老多病，子女之间就赡养费分担和轮流照料安排发生争执，请求调解。",
		"被申请人以家庭经济困难为由拒绝支付赡养费，申请人请求按月给付。" },
	    { "子女每人每月给付赡养费", "元，并轮流照料老人" }, "子女", "子女" },
	{ "inheritance",
	    { "父母去世后留有房屋一套，兄弟姐妹之间就遗产继承份额产生纠纷。",
		"被继承人生前未立遗嘱，继承人之间对存款和宅基地的分配意见不一。" },
	    { "房屋由申请人继承，申请人给付其他继承人补偿款", "元" }, "兄弟姐妹", "兄弟姐妹" },
	{ "domestic_violence",
	    { "申请人反映被申请人酒后多次对其实施殴打，要求停止家庭暴力并就今后共同生活进行调解。",
		"双方因家庭琐事多次发生肢体冲突，民警已出警处置，转来调解。" },
	    { "被申请人保证不再实施家庭暴力，并给付申请人医疗费", "元" }, "配偶", "子女" },
	{ "in_law_conflict",
	    { "婆媳之间因生活习惯和照看孙辈问题长期不和，矛盾激化，申请调解。",
		"申请人与公婆同住，因家庭开支分担问题多次发生争吵，影响夫妻关系。" },
	    { "申请人夫妻另租房居住，每月给付老人生活费", "元" }, "婆婆", "配偶" },
	{ "bride_price",
	    { "双方订婚时男方给付彩礼，后女方提出解除婚约，双方就彩礼返还数额发生纠纷。",
		"双方登记结婚后共同生活时间较短即分居，男方要求返还部分彩礼。" },
	    { "女方返还彩礼", "元，双方解除婚约" }, "未婚配偶", "父母" },
	{ "other",
	    { "家庭成员之间因宅基地使用和房屋修缮问题发生矛盾，申请调解。",
		"双方就共同债务的承担问题存在争议，请求调解处理。" },
	    { "双方按约定分担相关费用，申请人给付被申请人", "元" }, "亲属", "亲属" },
};

static const struct dispute_text *
dispute_text(const char *type)
{
	for (size_t i = 0; i < sizeof(dispute_texts) / sizeof(dispute_texts[0]); i++)
		if (strcmp(dispute_texts[i].type, type) == 0)
			return &dispute_texts[i];
	return &dispute_texts[sizeof(dispute_texts) / sizeof(dispute_texts[0]) - 1];
}

static const char *const session_actions[] = { "释法说理，引导双方换位思考",
	"分别与双方背对背沟通，缩小分歧", "邀请社区网格员和双方亲属参与调解",
	"组织双方核对财产清单和收支凭证", "讲解民法典婚姻家庭编的相关规定" };
static const char *const extension_reasons[] = { "当事人外出务工，需延期调解", "等待财产评估结果",
	"双方同意延长调解期限", "需进一步核实相关事实" };
static const char *const referral_decline_reasons[] = { "本委调解员近期工作饱和",
	"纠纷涉及事项不属本委受理范围", "当事人居住地不在本委辖区" };

/* A two-syllable place name of index i with suffix. */
static void
place_name(unsigned i, unsigned salt, const char *suffix, char *out, size_t len)
{
	unsigned a = (i * 7 + salt) % NSYL, b = (i / NSYL + i * 13 + salt * 3 + 5) % NSYL;
	if (b == a)
		b = (b + 1) % NSYL;
	snprintf(out, len, "%s%s%s", syllables[a], syllables[b], suffix);
}

static void
person_name(struct rng *r, bool female, char *out, size_t len)
{
	const char *const *given = female ? female_given : male_given;
	size_t n = female ? sizeof(female_given) / sizeof(*female_given)
			  : sizeof(male_given) / sizeof(*male_given);
	const char *g1 = given[rng_below(r, (unsigned)n)];
	const char *g2 = rng_chance(r, 0.7) ? given[rng_below(r, (unsigned)n)] : "";
	snprintf(out, len, "%s%s%s", PICK(r, surnames), g1, g2);
}

static void
mobile(struct rng *r, char out[16])
{
	snprintf(out, 16, "%s%08u", PICK(r, mobile_prefixes), rng_below(r, 100000000));
}

/* A resident ID number (GB 11643): area, birth date, sequence (odd: male), check. */
static void
id_number(struct rng *r, const char *area, int birth_year, bool female, char out[20])
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	char t[40];
	unsigned seq = rng_below(r, 500) * 2 + (female ? 0 : 1);
	snprintf(t, sizeof(t), "%.6s%04d%02d%02d%03u", area, birth_year, rng_range(r, 1, 12),
	    rng_range(r, 1, 28), seq);
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += (t[i] - '0') * weight[i];
	memcpy(out, t, 17);
	out[17] = check[sum % 11];
	out[18] = '\0';
}

/* --- the world: regions, committees, mediators --------------------------------- */

struct committee {
	long long id;
	bool room;
	unsigned nmed;
	long long med[MAX_MEDIATORS];
	char name[200];
};

struct county {
	char code[24], name[48];
	unsigned city;
	double weight;
	unsigned ncom;
	struct committee com[MAX_COMMITTEES];
};

struct city {
	char code[24], name[48];
	unsigned province;
	struct committee guidance;
	unsigned nexp;
	long long experts[MAX_EXPERTS];
};

struct province {
	char code[24], name[48];
};

struct world {
	const struct demo_options *o;
	const struct keyring *keys;
	unsigned master; /* the master key version data keys are wrapped under */
	unsigned nprov, ncity, ncounty;
	struct province *prov;
	struct city *city;
	struct county *county;
	int64_t now, start, today;
	char hotline[24]; /* the demo hotline user's id */
	atomic_llong done;
	atomic_uint finished; /* workers done with the current phase */
	atomic_bool failed;
	atomic_llong regions, committees, mediators, cases, parties, sessions, followups, referrals,
	    events;
};

struct worker {
	struct world *w;
	unsigned index;
	struct db_conn *c;
	struct rng rng;
	char err[600];
	pthread_t thread;
};

static void __attribute__((format(printf, 2, 3))) fail(struct worker *wk, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(wk->err, sizeof(wk->err), fmt, ap);
	va_end(ap);
	wk->err[strcspn(wk->err, "\n")] = '\0';
	atomic_store(&wk->w->failed, true);
}

/* Checks a result; false (after fail()) unless it has the status wanted. */
static bool
result_ok(struct worker *wk, PGresult *res, ExecStatusType want, const char *what)
{
	if (res != NULL && PQresultStatus(res) == want)
		return true;
	fail(wk, "%s: %s", what,
	    res ? PQresultErrorMessage(res) : PQerrorMessage(db_conn_pg(wk->c)));
	return false;
}

/* Runs one of the service's statements with the audit context first; NULL after fail(). */
static PGresult *
service_exec(struct worker *wk, enum sql_id id, const char *const *params, size_t n)
{
	const char *all[32];
	for (size_t i = 0; i < 6; i++)
		all[i] = audit_ctx[i];
	for (size_t i = 0; i < n && i + 6 < 32; i++)
		all[6 + i] = params[i];
	PGresult *res = db_exec(wk->c, id, all);
	if (!result_ok(wk, res, PGRES_TUPLES_OK, sql_statements[id].name)) {
		PQclear(res);
		return NULL;
	}
	return res;
}

static bool
fixed(struct worker *wk, const char *sql)
{
	if (db_run_fixed(wk->c, sql))
		return true;
	fail(wk, "%s: %s", sql, PQerrorMessage(db_conn_pg(wk->c)));
	return false;
}

static bool
region_insert(
    struct worker *wk, const char *code, const char *name, const char *level, const char *parent)
{
	const char *p[] = { code, name, level, parent };
	PGresult *res = service_exec(wk, SQL_REGION_INSERT, p, 4);
	PQclear(res);
	if (res != NULL)
		atomic_fetch_add(&wk->w->regions, 1);
	return res != NULL;
}

/* Lays out provinces, cities and counties, with their names and case weights. */
static void
world_layout(struct world *w, struct rng *r)
{
	unsigned n = w->o->counties;
	/* Cities of 10 to 15 counties, then as many provinces as needed (at most 17). */
	unsigned *sizes = xcalloc(n, sizeof(*sizes)), ncity = 0;
	for (unsigned left = n; left > 0; ncity++) {
		unsigned s = (unsigned)rng_range(r, 10, 15);
		sizes[ncity] = s < left ? s : left;
		left -= sizes[ncity];
	}
	unsigned nprov_max = LAST_PROVINCE - FIRST_PROVINCE + 1;
	unsigned per_prov = (ncity + nprov_max - 1) / nprov_max;
	if (per_prov < 14)
		per_prov = 14;
	w->ncity = ncity;
	w->nprov = (ncity + per_prov - 1) / per_prov;
	w->ncounty = n;
	w->prov = xcalloc(w->nprov, sizeof(*w->prov));
	w->city = xcalloc(ncity, sizeof(*w->city));
	w->county = xcalloc(n, sizeof(*w->county));
	for (unsigned p = 0; p < w->nprov; p++) {
		snprintf(w->prov[p].code, sizeof(w->prov[p].code), "%02u0000", FIRST_PROVINCE + p);
		place_name(p, 11, "省", w->prov[p].name, sizeof(w->prov[p].name));
	}
	unsigned k = 0;
	for (unsigned c = 0; c < ncity; c++) {
		struct city *ci = &w->city[c];
		ci->province = c / per_prov;
		snprintf(ci->code, sizeof(ci->code), "%02u%02u00", FIRST_PROVINCE + ci->province,
		    c % per_prov + 1);
		place_name(c, 3, "市", ci->name, sizeof(ci->name));
		unsigned districts = (sizes[c] + 2) / 3;
		for (unsigned j = 0; j < sizes[c]; j++, k++) {
			struct county *co = &w->county[k];
			co->city = c;
			unsigned dd = j < districts ? 2 + j : 21 + (j - districts);
			snprintf(co->code, sizeof(co->code), "%.4s%02u", ci->code, dd);
			place_name(k, 17, j < districts ? "区" : "县", co->name, sizeof(co->name));
			/* Busy districts, quiet counties: weights from 0.3 to about 3. */
			double u = rng_unit(r);
			co->weight = (j < districts ? 1.2 : 0.5) * (0.3 + 2.4 * u * u) + 0.2;
		}
	}
	free(sizes);
}

/* A mediator serving committee, through the service's statements. */
static long long
mediator_create(struct worker *wk, long long committee, bool expert)
{
	struct world *w = wk->w;
	struct rng *r = &wk->rng;
	long long dk = 0;
	unsigned char dek[CRYPT_KEY_BYTES];
	if (datakey_create(wk->c, w->keys, &dk, dek) != DATAKEY_OK) {
		fail(wk, "creating a mediator's data key: %s", PQerrorMessage(db_conn_pg(wk->c)));
		return 0;
	}
	PGresult *next = db_exec(wk->c, SQL_MEDIATOR_NEXT_ID, NULL);
	if (!result_ok(wk, next, PGRES_TUPLES_OK, "SQL_MEDIATOR_NEXT_ID")) {
		PQclear(next);
		sodium_memzero(dek, sizeof(dek));
		return 0;
	}
	char id[24];
	snprintf(id, sizeof(id), "%s", PQgetvalue(next, 0, 0));
	PQclear(next);

	bool female = rng_chance(r, 0.7);
	char name[48], phone[16], norm[32], bidx[16], dk_text[24], specs[64], certified[11];
	person_name(r, female, name, sizeof(name));
	mobile(r, phone);
	unsigned char ct[64];
	char hex[2 * sizeof(ct) + 3] = "\\x";
	bool sealed = crypt_seal(
	    dek, "mediators", "phone", id, (const unsigned char *)phone, strlen(phone), ct);
	sodium_memzero(dek, sizeof(dek));
	if (!sealed || !blind_normalise(BLIND_PHONE, phone, norm, sizeof(norm))) {
		fail(wk, "sealing a mediator's phone");
		return 0;
	}
	sodium_bin2hex(hex + 2, sizeof(hex) - 2, ct, strlen(phone) + CRYPT_FIELD_OVERHEAD);
	snprintf(bidx, sizeof(bidx), "%" PRIu32, blind_index(w->keys, BLIND_PHONE, norm));
	snprintf(dk_text, sizeof(dk_text), "%lld", dk);
	if (expert) {
		unsigned a = rng_below(r, 5), b = rng_below(r, 5);
		if (a == b || rng_chance(r, 0.5))
			snprintf(specs, sizeof(specs), "{%s}", specialties[a]);
		else
			snprintf(specs, sizeof(specs), "{%s,%s}", specialties[a], specialties[b]);
	} else {
		snprintf(specs, sizeof(specs), "%s",
		    rng_chance(r, 0.7) ? "{}" : (rng_chance(r, 0.6) ? "{law}" : "{social_work}"));
	}
	char committees[32], trained[11];
	snprintf(committees, sizeof(committees), "{%lld}", committee);
	int64_t trained_day = w->today - rng_range(r, 365, 365 * 8);
	day_text(trained_day, trained);
	bool is_certified = expert || rng_chance(r, 0.6);
	day_text(trained_day + rng_range(r, 30, 200), certified);
	const char *p[] = { id, dk_text, name, female ? "female" : "male",
		rng_chance(r, 0.4) ? "true" : "false", specs, expert ? "true" : "false", hex, bidx,
		trained, is_certified ? certified : NULL, committees, NULL };
	PGresult *res = service_exec(wk, SQL_MEDIATOR_CREATE, p, 13);
	if (res == NULL)
		return 0;
	long long mid = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
	PQclear(res);
	if (mid == 0)
		fail(wk, "a mediator of committee %lld was not created", committee);
	else
		atomic_fetch_add(&w->mediators, 1);
	return mid;
}

/* A committee, room or guidance committee in region, through SQL_COMMITTEE_CREATE. */
static bool
committee_create(struct worker *wk, struct committee *k, const char *kind, const char *region,
    const char *host, const char *area_name, int64_t established)
{
	struct rng *r = &wk->rng;
	char address[160], phone[32], est[11];
	snprintf(address, sizeof(address), "%s%s%d号", area_name, PICK(r, streets),
	    rng_range(r, 1, 300));
	snprintf(phone, sizeof(phone), "0%03d-%07u", rng_range(r, 700, 999),
	    1000000 + rng_below(r, 9000000));
	day_text(established, est);
	const char *p[] = { k->name, kind, region, host, address, phone,
		rng_chance(r, 0.3) ? "true" : "false", est, NULL, NULL };
	PGresult *res = service_exec(wk, SQL_COMMITTEE_CREATE, p, 10);
	if (res == NULL)
		return false;
	k->id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (k->id == 0) {
		fail(wk, "committee %s was not created", k->name);
		return false;
	}
	atomic_fetch_add(&wk->w->committees, 1);
	return true;
}

/*
 * SQL_MEDIATOR_CREATE starts memberships today; a committee that has worked
 * for years had its mediators from the start: memberships start when their
 * committee was established (cases received since name them).
 */
static const char demo_memberships[] =
    "UPDATE mediator_committees mc SET started_on = k.established_on FROM committees k"
    " WHERE k.id = mc.committee_id AND mc.committee_id = ANY ($1::bigint[])"
    " AND mc.ended_on IS NULL AND mc.started_on > k.established_on";

static bool
memberships_from_start(struct worker *wk, const long long *ids, unsigned n)
{
	struct buf b = { 0 };
	buf_str(&b, "{");
	for (unsigned i = 0; i < n; i++)
		buf_printf(&b, "%s%lld", i ? "," : "", ids[i]);
	buf_str(&b, "}");
	const char *p[] = { b.p };
	PGresult *res =
	    PQexecParams(db_conn_pg(wk->c), demo_memberships, 1, NULL, p, NULL, NULL, 0);
	bool good = result_ok(wk, res, PGRES_COMMAND_OK, "memberships");
	PQclear(res);
	free(b.p);
	return good;
}

static void
work_setup_city(struct worker *wk, struct city *ci)
{
	struct world *w = wk->w;
	struct committee *g = &ci->guidance;
	char host[96];
	snprintf(g->name, sizeof(g->name), "%s婚姻家庭纠纷调解指导委员会", ci->name);
	snprintf(host, sizeof(host), "%s妇女联合会", ci->name);
	int64_t est = civil_day(w->start) - rng_range(&wk->rng, 200, 1500);
	if (!fixed(wk, "BEGIN") ||
	    !committee_create(wk, g, "guidance", ci->code, host, ci->name, est))
		return;
	ci->nexp = (unsigned)rng_range(&wk->rng, 4, MAX_EXPERTS);
	for (unsigned i = 0; i < ci->nexp; i++) {
		ci->experts[i] = mediator_create(wk, g->id, true);
		if (ci->experts[i] == 0)
			return;
		g->med[g->nmed++] = ci->experts[i];
	}
	if (memberships_from_start(wk, &g->id, 1))
		fixed(wk, "COMMIT");
}

static void
work_setup_county(struct worker *wk, struct county *co)
{
	struct world *w = wk->w;
	struct rng *r = &wk->rng;
	struct city *ci = &w->city[co->city];
	if (!fixed(wk, "BEGIN") || !region_insert(wk, co->code, co->name, "county", ci->code))
		return;
	co->ncom = (unsigned)rng_range(r, 1, MAX_COMMITTEES);
	long long ids[MAX_COMMITTEES];
	for (unsigned i = 0; i < co->ncom; i++) {
		struct committee *k = &co->com[i];
		char host[160];
		k->room = i > 0 && rng_chance(r, 0.6);
		if (!k->room) {
			snprintf(k->name, sizeof(k->name), "%s%s婚姻家庭纠纷人民调解委员会",
			    co->name, i == 0 ? "" : PICK(r, towns));
			snprintf(host, sizeof(host), "%s妇女联合会", co->name);
		} else {
			const char *town = PICK(r, towns);
			snprintf(
			    k->name, sizeof(k->name), "%s%s婚姻家庭纠纷调解室", co->name, town);
			snprintf(host, sizeof(host), "%s%s%s", co->name, town,
			    rng_chance(r, 0.5) ? "办事处" : "司法所");
		}
		int64_t est = civil_day(w->start) - rng_range(r, 30, 1500);
		if (!committee_create(
			wk, k, k->room ? "room" : "committee", co->code, host, co->name, est))
			return;
		ids[i] = k->id;
		k->nmed = (unsigned)rng_range(r, 3, 6);
		for (unsigned j = 0; j < k->nmed; j++) {
			k->med[j] = mediator_create(wk, k->id, rng_chance(r, 0.08));
			if (k->med[j] == 0)
				return;
		}
	}
	if (memberships_from_start(wk, ids, co->ncom))
		fixed(wk, "COMMIT");
}

static void *
work_setup(void *arg)
{
	struct worker *wk = arg;
	struct world *w = wk->w;
	unsigned jobs = w->o->jobs;
	for (unsigned c = wk->index; c < w->ncity && !atomic_load(&w->failed); c += jobs)
		work_setup_city(wk, &w->city[c]);
	for (unsigned i = wk->index; i < w->ncounty && !atomic_load(&w->failed); i += jobs) {
		work_setup_county(wk, &w->county[i]);
		atomic_fetch_add(&w->done, 1);
	}
	atomic_fetch_add(&w->finished, 1);
	return NULL;
}

/* --- cases ------------------------------------------------------------------------- */

struct party {
	const char *role, *gender, *rel;
	char name[48], idn[20], phone[16], address[200];
	int birth_year;
	bool has_idn, has_phone, has_address;
};

struct event {
	int64_t at;
	const char *from, *to;
	char detail[40];
};

struct plan {
	bool referral_only; /* a referral never taken up: no case */
	unsigned county, committee;
	long long committee_id, lead, co, expert;
	const char *source, *dispute, *risk, *safety, *difficulty, *status, *decline, *result,
	    *form, *confirmation, *spec, *ext_reason;
	bool minors, dv;
	char summary[400];
	int64_t received, created, updated, accepted, closed, expert_req, expert_at, ext_at;
	int64_t safety_on, due_on, effective_on, conf_applied, conf_decided, ext_from;
	int version;
	unsigned nparties, nsessions, nfollowups, nevents;
	struct party party[MAX_PARTIES];
	int64_t session_at[MAX_SESSIONS];
	int64_t visit_on[MAX_FOLLOWUPS];
	const char *honoured[MAX_FOLLOWUPS];
	struct event ev[MAX_EVENTS];
	/* The referral: taken up by this case, or (referral_only) never. */
	bool has_referral, guidance_routed;
	const char *ref_source, *urgency, *ref_status;
	int64_t ref_created, ref_routed, ref_accepted;
	long long ref_committee;
	int ref_version;
	unsigned ndeclines;
	long long decline_committee[MAX_DECLINES];
	int64_t decline_at[MAX_DECLINES];
	/* Row ids, once taken. */
	long long id, dk, ref_id, ref_dk, party_id[MAX_PARTIES], session_id[MAX_SESSIONS],
	    followup_id[MAX_FOLLOWUPS];
};

static void
event(struct plan *p, int64_t at, const char *from, const char *to, const char *detail)
{
	if (p->nevents == MAX_EVENTS)
		return;
	struct event *e = &p->ev[p->nevents++];
	e->at = at;
	e->from = from;
	e->to = to;
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
	p->status = to;
}

/* A time in working hours (9:00 to 17:30) on the day of t, or the next day if that is past. */
static int64_t
office(struct rng *r, int64_t t)
{
	int64_t day = civil_day(t), at = day_start(day) + rng_span(r, 9 * HOUR, 17.5 * HOUR);
	return at >= t ? at : day_start(day + 1) + rng_span(r, 9 * HOUR, 17.5 * HOUR);
}

/* A write to the case at t: one more version, the latest change. */
static void
write_at(struct plan *p, int64_t t)
{
	p->version++;
	if (t > p->updated)
		p->updated = t;
}

static void
make_party(struct worker *wk, const struct county *co, struct party *pa, const char *role,
    bool female, int birth_year, const char *rel)
{
	struct rng *r = &wk->rng;
	pa->role = role;
	pa->gender = female ? "female" : "male";
	pa->rel = rel;
	pa->birth_year = birth_year;
	person_name(r, female, pa->name, sizeof(pa->name));
	pa->has_idn = rng_chance(r, 0.8);
	pa->has_phone = birth_year < year_of_day(wk->w->today) - 14 && rng_chance(r, 0.9);
	pa->has_address = rng_chance(r, 0.7);
	if (pa->has_idn)
		id_number(r, co->code, birth_year, female, pa->idn);
	if (pa->has_phone)
		mobile(r, pa->phone);
	if (pa->has_address) {
		if (rng_chance(r, 0.5))
			snprintf(pa->address, sizeof(pa->address), "%s%s%d号%d栋%d单元%d室",
			    co->name, PICK(r, streets), rng_range(r, 1, 400), rng_range(r, 1, 20),
			    rng_range(r, 1, 4), rng_range(r, 101, 1802));
		else
			snprintf(pa->address, sizeof(pa->address), "%s%s%s村%d组", co->name,
			    PICK(r, towns), syllables[rng_below(r, NSYL)], rng_range(r, 1, 12));
	}
}

static void
make_parties(struct worker *wk, struct plan *p, const struct county *co)
{
	struct rng *r = &wk->rng;
	const struct dispute_text *t = dispute_text(p->dispute);
	int year = year_of_day(civil_day(p->received));
	bool elder = strcmp(p->dispute, "elder_support") == 0;
	bool in_law = strcmp(p->dispute, "in_law_conflict") == 0;
	bool applicant_female = in_law || rng_chance(r, 0.68);
	int age = elder ? rng_range(r, 65, 88) : rng_range(r, 22, 62);
	make_party(wk, co, &p->party[0], "applicant", applicant_female, year - age, NULL);
	bool respondent_female = in_law ? true : elder ? rng_chance(r, 0.4) : !applicant_female;
	int rage = elder ? age - rng_range(r, 22, 34)
	    : in_law     ? age + rng_range(r, 20, 30)
			 : age + rng_range(r, -6, 8);
	make_party(
	    wk, co, &p->party[1], "respondent", respondent_female, year - rage, t->respondent);
	p->nparties = 2;
	if (rng_chance(r, 0.3)) {
		bool child = strcmp(t->other, "子女") == 0 && !elder;
		int oage = child ? rng_range(r, 3, 17) : rng_range(r, 20, 60);
		make_party(
		    wk, co, &p->party[2], "other", rng_chance(r, 0.5), year - oage, t->other);
		p->nparties = 3;
	}
}

/* The specialty an expert request names for a dispute type, or NULL. */
static const char *
specialty_for(struct rng *r, const char *dispute)
{
	if (rng_chance(r, 0.2))
		return NULL;
	if (strcmp(dispute, "custody") == 0 || strcmp(dispute, "domestic_violence") == 0 ||
	    strcmp(dispute, "in_law_conflict") == 0)
		return rng_chance(r, 0.7) ? "psychology" : "social_work";
	return rng_chance(r, 0.8) ? "law" : "social_work";
}

/* The referral a case took up, or a referral never taken up (referral_only). */
static void
plan_referral(struct worker *wk, struct plan *p, const struct county *co)
{
	struct world *w = wk->w;
	struct rng *r = &wk->rng;
	p->has_referral = true;
	p->ref_source = pick(r, referral_sources);
	bool dv = strcmp(p->dispute, "domestic_violence") == 0;
	p->urgency = rng_chance(r, dv ? 0.5 : 0.03) ? "urgent" : "normal";
	p->ref_created = p->received;
	p->ref_routed = p->ref_created;
	p->ref_version = 1;
	p->ref_committee = p->committee_id;
	p->ref_status = "open";
	if (!p->referral_only) {
		/* Now and then a committee of the county declined it first. */
		if (co->ncom > 1 && rng_chance(r, 0.1)) {
			unsigned other = (p->committee + 1 + rng_below(r, co->ncom - 1)) % co->ncom;
			p->decline_committee[0] = co->com[other].id;
			p->decline_at[0] = p->ref_created + rng_span(r, 600, 4 * HOUR);
			p->ndeclines = 1;
			p->ref_routed = p->decline_at[0];
			p->ref_version++;
		}
		return;
	}
	if (p->received > w->now - 2 * DAY)
		return; /* still open at its committee */
	/* Every committee of the county declined, then the city's guidance committee. */
	int64_t t = p->ref_created;
	for (unsigned i = 0; i < co->ncom && p->ndeclines < MAX_DECLINES - 1; i++) {
		t += rng_span(r, 600, 6 * HOUR);
		p->decline_committee[p->ndeclines] = co->com[i].id;
		p->decline_at[p->ndeclines++] = t;
	}
	t += rng_span(r, 600, 6 * HOUR);
	p->decline_committee[p->ndeclines] = w->city[co->city].guidance.id;
	p->decline_at[p->ndeclines++] = t;
	p->ref_routed = t;
	p->ref_version += (int)p->ndeclines;
	p->ref_status = "returned";
	p->ref_committee = 0;
	p->guidance_routed = true;
}

/* The case received at t in county, with the history it has had by now. */
static void
plan_case(struct worker *wk, struct plan *p, unsigned county, int64_t t, bool referral_only)
{
	struct world *w = wk->w;
	struct rng *r = &wk->rng;
	const struct county *co = &w->county[county];
	memset(p, 0, sizeof(*p));
	p->referral_only = referral_only;
	p->county = county;
	/* The committee (rooms see fewer cases), its lead mediator and maybe a co-mediator. */
	unsigned weights = 0;
	for (unsigned i = 0; i < co->ncom; i++)
		weights += co->com[i].room ? 1 : 2;
	unsigned x = rng_below(r, weights);
	for (p->committee = 0; p->committee + 1 < co->ncom; p->committee++) {
		unsigned wgt = co->com[p->committee].room ? 1 : 2;
		if (x < wgt)
			break;
		x -= wgt;
	}
	const struct committee *k = &co->com[p->committee];
	p->committee_id = k->id;
	p->lead = k->med[rng_below(r, k->nmed)];
	if (k->nmed > 1 && rng_chance(r, 0.3)) {
		p->co = k->med[rng_below(r, k->nmed)];
		if (p->co == p->lead)
			p->co = 0;
	}
	bool from_referral = referral_only || rng_chance(r, 0.085);
	p->dispute = pick(r, from_referral ? referral_disputes : disputes);
	p->received = t;
	snprintf(p->summary, sizeof(p->summary), "%s",
	    dispute_text(p->dispute)->summary[rng_below(r, 2)]);
	p->safety_on = p->due_on = p->effective_on = p->conf_applied = p->conf_decided = NO_DAY;
	p->ext_from = NO_DAY;
	if (from_referral)
		plan_referral(wk, p, co);
	if (referral_only)
		return;
	p->source = from_referral ? p->ref_source : pick(r, case_sources);

	/* Facts. */
	p->dv = strcmp(p->dispute, "domestic_violence") == 0 || rng_chance(r, 0.05);
	if (p->dv)
		p->risk = from_referral && strcmp(p->urgency, "urgent") == 0 ? "high"
		    : rng_chance(r, 0.85)                                    ? pick(r, risks)
									     : NULL;
	p->minors = strcmp(p->dispute, "custody") == 0 ||
	    strcmp(p->dispute, "child_support") == 0 ||
	    rng_chance(r, strcmp(p->dispute, "divorce") == 0 ? 0.5 : 0.12);
	p->difficulty = rng_chance(r, p->risk && strcmp(p->risk, "high") == 0 ? 0.4 : 0.1)
	    ? "difficult"
	    : "ordinary";
	make_parties(wk, p, co);
	if (from_referral) {
		/* The caller is the applicant; the hotline heard the name and phone. */
		p->party[0].has_phone = true;
		mobile(r, p->party[0].phone);
	}

	/* Registered: by hand at the counter, or taken up from the referral. */
	p->created = t +
	    (from_referral ? (strcmp(p->urgency, "urgent") == 0 ? rng_span(r, 600, 150 * 60)
								: rng_span(r, 1200, 26 * HOUR))
			   : rng_span(r, 60, 1800));
	if (p->created > w->now)
		p->created = w->now;
	p->updated = p->created;
	p->version = 1;
	p->ref_accepted = p->created;
	event(p, p->created, NULL, "registered", NULL);
	if (from_referral) {
		/* The respondent added and the applicant completed after the take-up. */
		write_at(p, p->created + 300);
		if (p->party[0].has_idn || p->party[0].has_address)
			write_at(p, p->created + 600);
	}
	if (p->dv && p->risk && strcmp(p->risk, "high") == 0) {
		/* A safety referral is on file before mediation may start. */
		p->safety = pick(r, safety_kinds);
		p->safety_on = civil_day(p->created);
		write_at(p, p->created + 900);
	}

	int64_t now = w->now, at = office(r, p->created + rng_span(r, 1800, 3 * DAY));
	if (rng_chance(r, 0.05)) {
		if (at <= now) {
			p->decline = pick(r, decline_reasons);
			p->closed = at;
			event(p, at, "registered", "declined", p->decline);
			write_at(p, at);
		}
		return;
	}
	if (at > now)
		return;
	p->accepted = at;
	p->due_on = plus_month(civil_day(at));
	event(p, at, "registered", "accepted", NULL);
	write_at(p, at);
	if (rng_chance(r, 0.02)) {
		at = office(r, at + rng_span(r, DAY, 10 * DAY));
		if (at <= now) {
			p->closed = at;
			event(p, at, "accepted", "withdrawn", NULL);
			write_at(p, at);
		}
		return;
	}
	at = office(r, at + rng_span(r, 600, 5 * DAY));
	if (at > now)
		return;
	event(p, at, "accepted", "in_mediation", NULL);
	write_at(p, at);

	/* Sessions, an expert for a difficult case, then the end. */
	bool stuck = rng_chance(r, 0.015);
	unsigned want = (unsigned)rng_range(r, 1, 3);
	int64_t s = office(r, at + rng_span(r, 2 * HOUR, 3 * DAY));
	bool expert = strcmp(p->difficulty, "difficult") == 0 && rng_chance(r, 0.5);
	for (unsigned i = 0; i < want && s <= now; i++) {
		p->session_at[p->nsessions++] = s;
		write_at(p, s + 2 * HOUR);
		at = s;
		if (i == 0 && expert) {
			p->spec = specialty_for(r, p->dispute);
			p->expert_req = office(r, s + rng_span(r, 3 * HOUR, 2 * DAY));
			if (p->expert_req > now) {
				p->expert_req = 0;
				return;
			}
			event(p, p->expert_req, "in_mediation", "expert_requested", NULL);
			write_at(p, p->expert_req);
			int64_t assigned =
			    office(r, p->expert_req + rng_span(r, 2 * HOUR, 96 * HOUR));
			const struct city *ci = &w->city[co->city];
			if (assigned > now || ci->nexp == 0)
				return;
			p->expert = ci->experts[rng_below(r, ci->nexp)];
			p->expert_at = assigned;
			char detail[40];
			snprintf(detail, sizeof(detail), "expert %lld", p->expert);
			event(p, assigned, "expert_requested", "in_mediation", detail);
			write_at(p, assigned);
			at = s = assigned;
		}
		s = office(r, s + rng_span(r, 2 * DAY, 10 * DAY));
	}
	if (stuck)
		return;
	int64_t end = at + rng_span(r, 2 * HOUR, 4 * DAY);
	if (rng_chance(r, 0.12))
		end += rng_span(r, 10 * DAY, 40 * DAY); /* a long one */
	end = office(r, end);
	/* Past the due date: most ask for more time first. */
	int64_t due_end = day_start(p->due_on + 1);
	if (end > due_end && rng_chance(r, 0.7)) {
		int64_t ext = office(r, due_end - rng_span(r, 2 * DAY, 5 * DAY));
		if (ext < p->accepted)
			ext = p->accepted + HOUR;
		if (ext <= now) {
			p->ext_at = ext;
			p->ext_from = p->due_on;
			p->due_on += rng_range(r, 15, 30);
			p->ext_reason = PICK(r, extension_reasons);
			write_at(p, ext);
		}
	}
	if (end > now)
		return;
	p->closed = end;
	if (rng_chance(r, 0.04)) {
		event(p, end, "in_mediation", "withdrawn", NULL);
		write_at(p, end);
		return;
	}
	p->result = pick(r, results);
	event(p, end, "in_mediation", "closed", p->result);
	write_at(p, end);
	if (strcmp(p->result, "agreement") != 0)
		return;
	p->form = rng_chance(r, 0.7) ? "written" : "oral";
	p->effective_on = civil_day(end) + rng_range(r, 0, 2);
	int64_t today = w->today;
	if (strcmp(p->form, "written") == 0 && rng_chance(r, 0.35)) {
		int64_t applied = p->effective_on + rng_range(r, 1, 28);
		if (applied <= today) {
			p->confirmation = "applied";
			p->conf_applied = applied;
			write_at(p, day_start(applied) + 10 * HOUR);
			int64_t decided = applied + rng_range(r, 3, 20);
			if (decided <= today) {
				p->confirmation = rng_chance(r, 0.94) ? "granted" : "refused";
				p->conf_decided = decided;
				write_at(p, day_start(decided) + 15 * HOUR);
			}
		}
	}
	int64_t visit = civil_day(end) + rng_range(r, 3, 30);
	if (rng_chance(r, 0.85) && visit <= today) {
		p->visit_on[0] = visit;
		p->honoured[0] = pick(r, honour);
		p->nfollowups = 1;
		write_at(p, day_start(visit) + 11 * HOUR);
		visit += rng_range(r, 60, 120);
		if (rng_chance(r, 0.3) && visit <= today) {
			p->visit_on[1] = visit;
			p->honoured[1] =
			    strcmp(p->honoured[0], "fully") == 0 ? "fully" : pick(r, honour);
			p->nfollowups = 2;
			write_at(p, day_start(visit) + 11 * HOUR);
		}
	}
}

/* The columns of one batch's statements. */
enum {
	/* data keys */
	K_ID,
	K_WRAPPED,
	K_AT,
	/* referrals */
	F_ID,
	F_DK,
	F_SOURCE,
	F_NAME,
	F_PHONE,
	F_PB,
	F_COUNTY,
	F_CITY,
	F_DISPUTE,
	F_SUMMARY,
	F_URGENCY,
	F_COMMITTEE,
	F_STATUS,
	F_CREATED,
	F_ROUTED,
	F_HOURS,
	F_GUIDANCE,
	F_VERSION,
	/* referral declines */
	D_REFERRAL,
	D_COMMITTEE,
	D_AT,
	D_REASON,
	/* cases */
	C_ID,
	C_DK,
	C_COMMITTEE,
	C_COUNTY,
	C_CITY,
	C_SOURCE,
	C_REFERRAL,
	C_DISPUTE,
	C_SUMMARY,
	C_MINORS,
	C_DV,
	C_RISK,
	C_SAFETY,
	C_SAFETY_ON,
	C_DIFFICULTY,
	C_LEAD,
	C_STATUS,
	C_DECLINE,
	C_RECEIVED,
	C_ACCEPTED,
	C_CLOSED,
	C_DUE,
	C_RESULT,
	C_FORM,
	C_AGREEMENT,
	C_EFFECTIVE,
	C_CONFIRMATION,
	C_CONF_APPLIED,
	C_CONF_DECIDED,
	C_EXPERT,
	C_VERSION,
	C_CREATED,
	C_UPDATED,
	/* co-mediators */
	M_CASE,
	M_MEDIATOR,
	/* parties */
	P_ID,
	P_CASE,
	P_ROLE,
	P_NAME,
	P_IDN,
	P_PHONE,
	P_ADDRESS,
	P_GENDER,
	P_YEAR,
	P_REL,
	P_PB,
	P_IB,
	P_AT,
	/* sessions */
	S_ID,
	S_CASE,
	S_HELD,
	S_PLACE,
	S_ATTENDEES,
	S_NOTES,
	S_AT,
	/* events */
	E_CASE,
	E_AT,
	E_FROM,
	E_TO,
	E_DETAIL,
	/* extensions */
	X_CASE,
	X_AT,
	X_FROM,
	X_TO,
	X_REASON,
	/* referrals taken up */
	T_ID,
	T_CASE,
	T_AT,
	/* expert requests, and their assignment */
	R_CASE,
	R_SPEC,
	R_AT,
	A_CASE,
	A_EXPERT,
	A_AT,
	/* follow-ups */
	V_ID,
	V_CASE,
	V_ON,
	V_HONOURED,
	V_NOTES,
	V_AT,
	NCOLS
};

/*
 * The batch statements: each writes what the service's statements named
 * in its comment write, for many rows at once (see the top of this file).
 * $1..$6 of those that audit are the audit context, as in sql.h.
 */
static const struct demo_statement {
	const char *name;
	int first, ncols; /* the columns, in order, after the audit context if any */
	bool audited;
	const char *text;
} statements[] = {
	/* SQL_DATAKEY_INSERT, via datakey_create(); $4 the master version */
	{ "demo_data_keys", K_ID, 3, false,
	    "INSERT INTO data_keys (id, master_version, wrapped, created_at)"
	    " SELECT u.id, $4::integer, u.w, u.at FROM unnest($1::bigint[], $2::bytea[],"
	    " $3::timestamptz[]) AS u(id, w, at)" },
	/* SQL_REFERRAL_CREATE, then SQL_REFERRAL_DECLINE and SQL_REFERRAL_REROUTE; $25 the creator */
	{ "demo_referrals", F_ID, 18, true,
	    "WITH u AS (SELECT * FROM unnest($7::bigint[], $8::bigint[], $9::referral_source[],"
	    " $10::bytea[], $11::bytea[], $12::integer[], $13::text[], $14::text[],"
	    " $15::dispute_type[], $16::bytea[], $17::text[], $18::bigint[],"
	    " $19::referral_status[], $20::timestamptz[], $21::timestamptz[], $22::integer[],"
	    " $23::boolean[], $24::integer[]) AS u(id, dk, source, name, phone, pb, county, city,"
	    " dispute, summary, urgency, committee, status, created, routed, hours, guidance,"
	    " version)),"
	    " f AS (INSERT INTO referrals (id, data_key_id, source, caller_name, caller_phone,"
	    " caller_phone_bidx, county_code, city_code, dispute_type, summary, urgency,"
	    " target_committee_id, committee_id, status, created_by, created_at, routed_at, due_at,"
	    " guidance_routed, version)"
	    " SELECT u.id, u.dk, u.source, u.name, u.phone, u.pb, u.county, u.city, u.dispute,"
	    " u.summary, u.urgency, NULL, u.committee, u.status, $25::bigint, u.created, u.routed,"
	    " u.created + make_interval(hours => u.hours), u.guidance, u.version FROM u"
	    " RETURNING id),"
	    " a AS (" SQL_AUDIT_FROM("referral.create", "referral", "f.id::text", "201",
		"f") ")"
		     " SELECT count(*) FROM f" },
	{ "demo_declines", D_REFERRAL, 4, false,
	    "INSERT INTO referral_declines (referral_id, committee_id, at, actor_id, reason)"
	    " SELECT u.f, u.k, u.at, NULL, u.reason FROM unnest($1::bigint[], $2::bigint[],"
	    " $3::timestamptz[], $4::text[]) AS u(f, k, at, reason)" },
	/* SQL_CASE_CREATE (the number from case_counters), then the workflow's updates */
	{ "demo_cases", C_ID, 33, true,
	    "WITH u AS (SELECT * FROM unnest($7::bigint[], $8::bigint[], $9::bigint[], $10::text[],"
	    " $11::text[], $12::case_source[], $13::bigint[], $14::dispute_type[], $15::bytea[],"
	    " $16::boolean[], $17::boolean[], $18::dv_risk[], $19::text[], $20::date[],"
	    " $21::text[], $22::bigint[], $23::case_status[], $24::decline_reason[],"
	    " $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::date[],"
	    " $29::case_result[], $30::text[], $31::bytea[], $32::date[], $33::text[], $34::date[],"
	    " $35::date[], $36::bigint[], $37::integer[], $38::timestamptz[], $39::timestamptz[])"
	    " WITH ORDINALITY AS u(id, dk, committee, county, city, source, referral, dispute,"
	    " summary, minors, dv, risk, safety, safety_on, difficulty, lead, status, decline,"
	    " received, accepted, closed, due, result, form, agreement, effective, confirmation,"
	    " conf_applied, conf_decided, expert, version, created, updated, ord)),"
	    " t AS (SELECT u.*, extract(year FROM u.received AT TIME ZONE 'Asia/Shanghai')::integer"
	    " AS year FROM u),"
	    " k AS (SELECT county, year, count(*)::integer AS n FROM t GROUP BY 1, 2),"
	    " n AS (INSERT INTO case_counters AS cc (county_code, year, last)"
	    " SELECT county, year, n FROM k ON CONFLICT (county_code, year)"
	    " DO UPDATE SET last = cc.last + EXCLUDED.last RETURNING county_code, year, last),"
	    " s AS (SELECT t.*, n.last - k.n + row_number() OVER (PARTITION BY t.county, t.year"
	    " ORDER BY t.ord) AS serial FROM t JOIN k ON k.county = t.county AND k.year = t.year"
	    " JOIN n ON n.county_code = t.county AND n.year = t.year),"
	    " c AS (INSERT INTO cases (id, data_key_id, number, committee_id, county_code,"
	    " city_code, source, referral_id, dispute_type, summary, minors_involved, dv_flag,"
	    " dv_risk, safety_referral, safety_referred_on, difficulty, lead_mediator_id, status,"
	    " decline_reason, received_at, accepted_at, closed_at, due_on, result, agreement_form,"
	    " agreement, agreement_effective_on, confirmation, confirmation_applied_on,"
	    " confirmation_decided_on, expert_id, version, created_at, updated_at)"
	    " SELECT s.id, s.dk, s.county || '-' || s.year || '-' || CASE WHEN s.serial < 10000"
	    " THEN lpad(s.serial::text, 4, '0') ELSE s.serial::text END, s.committee, s.county,"
	    " s.city, s.source, s.referral, s.dispute, s.summary, s.minors, s.dv, s.risk,"
	    " s.safety, s.safety_on, s.difficulty, s.lead, s.status, s.decline, s.received,"
	    " s.accepted, s.closed, s.due, s.result, s.form, s.agreement, s.effective,"
	    " s.confirmation, s.conf_applied, s.conf_decided, s.expert, s.version, s.created,"
	    " s.updated FROM s ORDER BY s.ord RETURNING id),"
	    " a AS (" SQL_AUDIT_FROM(
		"case.create", "case", "c.id::text", "201", "c") ")"
								 " SELECT count(*) FROM c" },
	{ "demo_co_mediators", M_CASE, 2, false,
	    "INSERT INTO case_co_mediators (case_id, mediator_id)"
	    " SELECT * FROM unnest($1::bigint[], $2::bigint[])" },
	/* SQL_PARTIES_INSERT for many cases */
	{ "demo_parties", P_ID, 13, false,
	    "INSERT INTO parties (id, case_id, role, name, id_number, phone, address, gender,"
	    " birth_year, relationship, phone_bidx, id_bidx, created_at, updated_at)"
	    " SELECT u.id, u.c, u.role, u.name, u.idn, u.phone, u.address, u.gender, u.byear,"
	    " u.rel, u.pb, u.ib, u.at, u.at FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
	    " $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], $8::text[], $9::integer[],"
	    " $10::text[], $11::integer[], $12::integer[], $13::timestamptz[])"
	    " AS u(id, c, role, name, idn, phone, address, gender, byear, rel, pb, ib, at)" },
	/* SQL_CASE_SESSION_ADD */
	{ "demo_sessions", S_ID, 7, false,
	    "INSERT INTO case_sessions (id, case_id, held_at, place, attendees, notes, created_by,"
	    " created_at) SELECT u.id, u.c, u.held, u.place, u.att, u.notes, NULL, u.at"
	    " FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::bytea[], $5::bytea[],"
	    " $6::bytea[], $7::timestamptz[]) AS u(id, c, held, place, att, notes, at)" },
	/* The events of SQL_CASE_CREATE, SQL_CASE_TRANSITION and SQL_CASE_ASSIGN_EXPERT */
	{ "demo_events", E_CASE, 5, false,
	    "INSERT INTO case_events (case_id, at, actor_id, from_status, to_status, detail)"
	    " SELECT u.c, u.at, NULL, u.f, u.t, NULLIF(u.d, '') FROM unnest($1::bigint[],"
	    " $2::timestamptz[], $3::case_status[], $4::case_status[], $5::text[])"
	    " AS u(c, at, f, t, d)" },
	/* SQL_CASE_EXTEND */
	{ "demo_extensions", X_CASE, 5, false,
	    "INSERT INTO case_extensions (case_id, at, actor_id, from_due, to_due, reason)"
	    " SELECT u.c, u.at, NULL, u.f, u.t, u.r FROM unnest($1::bigint[], $2::timestamptz[],"
	    " $3::date[], $4::date[], $5::text[]) AS u(c, at, f, t, r)" },
	/* SQL_REFERRAL_TAKE_UP */
	{ "demo_take_up", T_ID, 3, false,
	    "UPDATE referrals f SET status = 'accepted', case_id = u.c, accepted_at = u.at,"
	    " accepted_by = NULL, version = f.version + 1 FROM unnest($1::bigint[], $2::bigint[],"
	    " $3::timestamptz[]) AS u(id, c, at) WHERE f.id = u.id AND f.status = 'open'" },
	/* The request of SQL_CASE_TRANSITION to expert_requested */
	{ "demo_expert_requests", R_CASE, 3, false,
	    "INSERT INTO expert_requests (case_id, specialty, requested_at, requested_by)"
	    " SELECT u.c, u.s, u.at, NULL FROM unnest($1::bigint[], $2::specialty[],"
	    " $3::timestamptz[]) AS u(c, s, at)" },
	/* The assignment of SQL_CASE_ASSIGN_EXPERT */
	{ "demo_expert_assign", A_CASE, 3, false,
	    "UPDATE expert_requests x SET expert_id = u.e, assigned_at = u.at, assigned_by = NULL"
	    " FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS u(c, e, at)"
	    " WHERE x.case_id = u.c AND x.expert_id IS NULL" },
	/* SQL_CASE_FOLLOWUP_ADD */
	{ "demo_followups", V_ID, 6, false,
	    "INSERT INTO followups (id, case_id, visited_on, honoured, notes, created_by,"
	    " created_at) SELECT u.id, u.c, u.v, u.h, u.notes, NULL, u.at FROM unnest($1::bigint[],"
	    " $2::bigint[], $3::date[], $4::text[], $5::bytea[], $6::timestamptz[])"
	    " AS u(id, c, v, h, notes, at)" },
};
#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

struct batch {
	struct plan *plans;
	unsigned n;
	struct col col[NCOLS];
};

/* Takes n ids of sequence seq into out; false after fail(). */
static bool
take_ids(struct worker *wk, const char *seq, unsigned n, long long *out)
{
	if (n == 0)
		return true;
	char count[16];
	snprintf(count, sizeof(count), "%u", n);
	const char *p[] = { seq, count };
	PGresult *res = db_exec(wk->c, SQL_NEXT_IDS, p);
	bool good = result_ok(wk, res, PGRES_TUPLES_OK, "SQL_NEXT_IDS");
	const char *s = good ? PQgetvalue(res, 0, 0) : "";
	for (unsigned i = 0; good && i < n; i++) {
		char *end;
		out[i] = strtoll(s + 1, &end, 10);
		good = end != s + 1 && (*end == ',' || *end == '}');
		s = end;
	}
	if (!good && !atomic_load(&wk->w->failed))
		fail(wk, "%s: unexpected ids", seq);
	PQclear(res);
	return good;
}

/* Takes the row ids of every plan of the batch, from the tables' sequences. */
static bool
batch_ids(struct worker *wk, struct batch *b)
{
	unsigned cases = 0, refs = 0, parties = 0, sessions = 0, followups = 0;
	for (unsigned i = 0; i < b->n; i++) {
		const struct plan *p = &b->plans[i];
		refs += p->has_referral;
		if (p->referral_only)
			continue;
		cases++;
		parties += p->nparties;
		sessions += p->nsessions;
		followups += p->nfollowups;
	}
	long long *ids = xcalloc(
	    (size_t)(2 * cases + 2 * refs + parties + sessions + followups) + 1, sizeof(*ids));
	long long *dk = ids, *ci = dk + cases + refs, *fi = ci + cases, *pi = fi + refs,
		  *si = pi + parties, *vi = si + sessions;
	bool good = take_ids(wk, "data_keys_id_seq", cases + refs, dk) &&
	    take_ids(wk, "cases_id_seq", cases, ci) && take_ids(wk, "referrals_id_seq", refs, fi) &&
	    take_ids(wk, "parties_id_seq", parties, pi) &&
	    take_ids(wk, "case_sessions_id_seq", sessions, si) &&
	    take_ids(wk, "followups_id_seq", followups, vi);
	for (unsigned i = 0; good && i < b->n; i++) {
		struct plan *p = &b->plans[i];
		if (p->has_referral) {
			p->ref_dk = *dk++;
			p->ref_id = *fi++;
		}
		if (p->referral_only)
			continue;
		p->dk = *dk++;
		p->id = *ci++;
		for (unsigned j = 0; j < p->nparties; j++)
			p->party_id[j] = *pi++;
		for (unsigned j = 0; j < p->nsessions; j++)
			p->session_id[j] = *si++;
		for (unsigned j = 0; j < p->nfollowups; j++)
			p->followup_id[j] = *vi++;
	}
	free(ids);
	return good;
}

/* A new data key, wrapped as datakey_create() wraps it, into the data key columns. */
static bool
add_data_key(struct worker *wk, struct batch *b, long long id, int64_t at,
    unsigned char dek[CRYPT_KEY_BYTES])
{
	unsigned char wrapped[CRYPT_WRAPPED_BYTES];
	crypt_new_data_key(dek);
	if (!crypt_wrap(wk->w->keys, wk->w->master, id, dek, wrapped)) {
		fail(wk, "cannot wrap data keys under master key version %u", wk->w->master);
		return false;
	}
	col_int(&b->col[K_ID], id);
	col_bytes(&b->col[K_WRAPPED], wrapped, sizeof(wrapped));
	col_time(&b->col[K_AT], at);
	return true;
}

/* The blind index of a phone or ID number, as field_blind() computes it. */
static void
col_blind(struct worker *wk, struct col *c, enum blind_kind kind, const char *plain)
{
	char norm[64];
	if (plain == NULL || !blind_normalise(kind, plain, norm, sizeof(norm))) {
		col_null(c);
		return;
	}
	col_int(c, (long long)blind_index(wk->w->keys, kind, norm));
}

static bool
add_referral(struct worker *wk, struct batch *b, const struct plan *p)
{
	struct world *w = wk->w;
	const struct county *co = &w->county[p->county];
	struct col *col = b->col;
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!add_data_key(wk, b, p->ref_dk, p->ref_created, dek))
		return false;
	const struct party *caller = &p->party[0];
	char name[48], phone[16];
	if (p->referral_only) {
		person_name(&wk->rng, rng_chance(&wk->rng, 0.7), name, sizeof(name));
		mobile(&wk->rng, phone);
	} else {
		snprintf(name, sizeof(name), "%s", caller->name);
		snprintf(phone, sizeof(phone), "%s", caller->phone);
	}
	col_int(&col[F_ID], p->ref_id);
	col_int(&col[F_DK], p->ref_dk);
	col_text(&col[F_SOURCE], p->ref_source);
	bool good = col_sealed(&col[F_NAME], dek, "referrals", "caller_name", p->ref_id, name) &&
	    col_sealed(&col[F_PHONE], dek, "referrals", "caller_phone", p->ref_id, phone) &&
	    col_sealed(&col[F_SUMMARY], dek, "referrals", "summary", p->ref_id, p->summary);
	sodium_memzero(dek, sizeof(dek));
	col_blind(wk, &col[F_PB], BLIND_PHONE, phone);
	col_text(&col[F_COUNTY], co->code);
	col_text(&col[F_CITY], w->city[co->city].code);
	col_text(&col[F_DISPUTE], p->dispute);
	col_text(&col[F_URGENCY], p->urgency);
	col_id(&col[F_COMMITTEE], p->ref_committee);
	col_text(&col[F_STATUS], p->ref_status);
	col_time(&col[F_CREATED], p->ref_created);
	col_time(&col[F_ROUTED], p->ref_routed);
	col_int(&col[F_HOURS], strcmp(p->urgency, "urgent") == 0 ? 2 : 24);
	col_bool(&col[F_GUIDANCE], p->guidance_routed);
	col_int(&col[F_VERSION], p->ref_version);
	for (unsigned i = 0; i < p->ndeclines; i++) {
		col_int(&col[D_REFERRAL], p->ref_id);
		col_int(&col[D_COMMITTEE], p->decline_committee[i]);
		col_time(&col[D_AT], p->decline_at[i]);
		col_text(&col[D_REASON], PICK(&wk->rng, referral_decline_reasons));
	}
	if (!p->referral_only) {
		col_int(&col[T_ID], p->ref_id);
		col_int(&col[T_CASE], p->id);
		col_time(&col[T_AT], p->ref_accepted);
	}
	if (!good)
		fail(wk, "sealing a referral");
	return good;
}

static bool
add_parties(struct worker *wk, struct batch *b, const struct plan *p,
    const unsigned char dek[CRYPT_KEY_BYTES])
{
	struct col *col = b->col;
	for (unsigned j = 0; j < p->nparties; j++) {
		const struct party *pa = &p->party[j];
		long long id = p->party_id[j];
		const char *idn = pa->has_idn ? pa->idn : NULL,
			   *phone = pa->has_phone ? pa->phone : NULL;
		col_int(&col[P_ID], id);
		col_int(&col[P_CASE], p->id);
		col_text(&col[P_ROLE], pa->role);
		if (!col_sealed(&col[P_NAME], dek, "parties", "name", id, pa->name) ||
		    !col_sealed(&col[P_IDN], dek, "parties", "id_number", id, idn) ||
		    !col_sealed(&col[P_PHONE], dek, "parties", "phone", id, phone) ||
		    !col_sealed(&col[P_ADDRESS], dek, "parties", "address", id,
			pa->has_address ? pa->address : NULL))
			return false;
		col_text(&col[P_GENDER], pa->gender);
		col_int(&col[P_YEAR], pa->birth_year);
		col_text(&col[P_REL], pa->rel);
		col_blind(wk, &col[P_PB], BLIND_PHONE, phone);
		col_blind(wk, &col[P_IB], BLIND_ID_NUMBER, idn);
		/* The applicant (and the caller's details) came first; the others a bit later. */
		col_time(&col[P_AT], p->created + (j == 0 ? 0 : 300));
	}
	return true;
}

static bool
add_records(struct worker *wk, struct batch *b, const struct plan *p,
    const unsigned char dek[CRYPT_KEY_BYTES])
{
	struct rng *r = &wk->rng;
	struct col *col = b->col;
	const struct county *co = &wk->w->county[p->county];
	const struct committee *k = &co->com[p->committee];
	for (unsigned j = 0; j < p->nsessions; j++) {
		long long id = p->session_id[j];
		char place[240], attendees[160], notes[400];
		if (rng_chance(r, 0.1))
			snprintf(place, sizeof(place), "申请人家中（%s）", co->name);
		else
			snprintf(place, sizeof(place), "%s调解室", k->name);
		snprintf(attendees, sizeof(attendees), "申请人%s、被申请人%s、调解员%d名",
		    p->party[0].name, p->party[1].name, rng_range(r, 1, 3));
		snprintf(notes, sizeof(notes), "第%u次调解：双方陈述了各自意见，调解员%s。%s",
		    j + 1, PICK(r, session_actions),
		    j + 1 == p->nsessions ? "双方同意继续协商。" : "约定下次调解时间。");
		col_int(&col[S_ID], id);
		col_int(&col[S_CASE], p->id);
		col_time(&col[S_HELD], p->session_at[j]);
		if (!col_sealed(&col[S_PLACE], dek, "case_sessions", "place", id, place) ||
		    !col_sealed(
			&col[S_ATTENDEES], dek, "case_sessions", "attendees", id, attendees) ||
		    !col_sealed(&col[S_NOTES], dek, "case_sessions", "notes", id, notes))
			return false;
		col_time(&col[S_AT], p->session_at[j] + 2 * HOUR);
	}
	for (unsigned j = 0; j < p->nfollowups; j++) {
		long long id = p->followup_id[j];
		const char *notes = strcmp(p->honoured[j], "fully") == 0
		    ? "回访时双方表示已按协议履行，关系趋于缓和。"
		    : strcmp(p->honoured[j], "partly") == 0
		    ? "协议已部分履行，被申请人承诺近期履行剩余部分。"
		    : "被申请人未按协议履行，已告知申请人可申请司法确认或向法院起诉。";
		col_int(&col[V_ID], id);
		col_int(&col[V_CASE], p->id);
		col_day(&col[V_ON], p->visit_on[j]);
		col_text(&col[V_HONOURED], p->honoured[j]);
		if (!col_sealed(&col[V_NOTES], dek, "followups", "notes", id,
			rng_chance(r, 0.9) ? notes : NULL))
			return false;
		col_time(&col[V_AT], day_start(p->visit_on[j]) + 11 * HOUR);
	}
	for (unsigned j = 0; j < p->nevents; j++) {
		const struct event *e = &p->ev[j];
		col_int(&col[E_CASE], p->id);
		col_time(&col[E_AT], e->at);
		col_text(&col[E_FROM], e->from);
		col_text(&col[E_TO], e->to);
		col_text(&col[E_DETAIL], e->detail);
	}
	if (p->ext_at != 0) {
		col_int(&col[X_CASE], p->id);
		col_time(&col[X_AT], p->ext_at);
		col_day(&col[X_FROM], p->ext_from);
		col_day(&col[X_TO], p->due_on);
		col_text(&col[X_REASON], p->ext_reason);
	}
	if (p->expert_req != 0) {
		col_int(&col[R_CASE], p->id);
		col_text(&col[R_SPEC], p->spec);
		col_time(&col[R_AT], p->expert_req);
	}
	if (p->expert != 0) {
		col_int(&col[A_CASE], p->id);
		col_int(&col[A_EXPERT], p->expert);
		col_time(&col[A_AT], p->expert_at);
	}
	if (p->co != 0) {
		col_int(&col[M_CASE], p->id);
		col_int(&col[M_MEDIATOR], p->co);
	}
	return true;
}

static bool
add_case(struct worker *wk, struct batch *b, const struct plan *p)
{
	struct world *w = wk->w;
	struct col *col = b->col;
	const struct county *co = &w->county[p->county];
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!add_data_key(wk, b, p->dk, p->created, dek))
		return false;
	char agreement[600];
	const char *text = NULL;
	if (p->form != NULL && strcmp(p->form, "written") == 0) {
		const struct dispute_text *d = dispute_text(p->dispute);
		snprintf(agreement, sizeof(agreement),
		    "经调解，双方自愿达成如下协议：一、%s%d%s；二、双方今后互相尊重，和睦相处；"
		    "三、本协议自双方签字之日起生效。",
		    d->clause[0], rng_range(&wk->rng, 5, 300) * 100, d->clause[1]);
		text = agreement;
	}
	col_int(&col[C_ID], p->id);
	col_int(&col[C_DK], p->dk);
	col_int(&col[C_COMMITTEE], p->committee_id);
	col_text(&col[C_COUNTY], co->code);
	col_text(&col[C_CITY], w->city[co->city].code);
	col_text(&col[C_SOURCE], p->source);
	col_id(&col[C_REFERRAL], p->has_referral ? p->ref_id : 0);
	col_text(&col[C_DISPUTE], p->dispute);
	bool good = col_sealed(&col[C_SUMMARY], dek, "cases", "summary", p->id, p->summary) &&
	    col_sealed(&col[C_AGREEMENT], dek, "cases", "agreement", p->id, text) &&
	    add_parties(wk, b, p, dek) && add_records(wk, b, p, dek);
	sodium_memzero(dek, sizeof(dek));
	if (!good) {
		fail(wk, "sealing case %lld", p->id);
		return false;
	}
	col_bool(&col[C_MINORS], p->minors);
	col_bool(&col[C_DV], p->dv);
	col_text(&col[C_RISK], p->risk);
	col_text(&col[C_SAFETY], p->safety);
	col_day(&col[C_SAFETY_ON], p->safety_on);
	col_text(&col[C_DIFFICULTY], p->difficulty);
	col_id(&col[C_LEAD], p->lead);
	col_text(&col[C_STATUS], p->status);
	col_text(&col[C_DECLINE], p->decline);
	col_time(&col[C_RECEIVED], p->received);
	col_time(&col[C_ACCEPTED], p->accepted);
	col_time(&col[C_CLOSED], p->closed);
	col_day(&col[C_DUE], p->due_on);
	col_text(&col[C_RESULT], p->result);
	col_text(&col[C_FORM], p->form);
	col_day(&col[C_EFFECTIVE], p->effective_on);
	col_text(&col[C_CONFIRMATION], p->confirmation);
	col_day(&col[C_CONF_APPLIED], p->conf_applied);
	col_day(&col[C_CONF_DECIDED], p->conf_decided);
	col_id(&col[C_EXPERT], p->expert);
	col_int(&col[C_VERSION], p->version);
	col_time(&col[C_CREATED], p->created);
	col_time(&col[C_UPDATED], p->updated);
	return true;
}

/* Runs batch statement s over its columns, if it has rows; false after fail(). */
static bool
run_statement(struct worker *wk, struct batch *b, const struct demo_statement *s)
{
	if (b->col[s->first].n == 0)
		return true;
	const char *p[40];
	int n = 0;
	if (s->audited)
		for (; n < 6; n++)
			p[n] = audit_ctx[n];
	for (int i = 0; i < s->ncols; i++)
		p[n++] = col_end(&b->col[s->first + i]);
	char master[16];
	if (strcmp(s->name, "demo_data_keys") == 0) {
		snprintf(master, sizeof(master), "%u", wk->w->master);
		p[n++] = master;
	} else if (strcmp(s->name, "demo_referrals") == 0) {
		p[n++] = wk->w->hotline;
	}
	PGresult *res = PQexecPrepared(db_conn_pg(wk->c), s->name, n, p, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	bool good =
	    result_ok(wk, res, st == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, s->name);
	if (good && strcmp(s->name, "demo_take_up") == 0 &&
	    strtoull(PQcmdTuples(res), NULL, 10) != b->col[s->first].n) {
		fail(wk, "%s: %s of %zu referrals taken up", s->name, PQcmdTuples(res),
		    b->col[s->first].n);
		good = false;
	}
	PQclear(res);
	return good;
}

/* Seals and stores one batch of plans, in one transaction. */
static bool
store_batch(struct worker *wk, struct batch *b)
{
	if (!batch_ids(wk, b))
		return false;
	for (int i = 0; i < NCOLS; i++)
		col_begin(&b->col[i]);
	for (unsigned i = 0; i < b->n; i++) {
		const struct plan *p = &b->plans[i];
		if ((p->has_referral && !add_referral(wk, b, p)) ||
		    (!p->referral_only && !add_case(wk, b, p)))
			return false;
	}
	if (!fixed(wk, "BEGIN"))
		return false;
	for (size_t i = 0; i < NSTATEMENTS; i++)
		if (!run_statement(wk, b, &statements[i]))
			return false;
	if (!fixed(wk, "COMMIT"))
		return false;
	struct world *w = wk->w;
	long long cases = 0, parties = 0, sessions = 0, followups = 0, refs = 0, events = 0;
	for (unsigned i = 0; i < b->n; i++) {
		const struct plan *p = &b->plans[i];
		refs += p->has_referral;
		if (p->referral_only)
			continue;
		cases++;
		parties += p->nparties;
		sessions += p->nsessions;
		followups += p->nfollowups;
		events += p->nevents;
	}
	atomic_fetch_add(&w->cases, cases);
	atomic_fetch_add(&w->parties, parties);
	atomic_fetch_add(&w->sessions, sessions);
	atomic_fetch_add(&w->followups, followups);
	atomic_fetch_add(&w->referrals, refs);
	atomic_fetch_add(&w->events, events);
	atomic_fetch_add(&w->done, cases);
	return true;
}

static bool
prepare_statements(struct worker *wk)
{
	for (size_t i = 0; i < NSTATEMENTS; i++) {
		const struct demo_statement *s = &statements[i];
		int n = s->ncols + (s->audited ? 6 : 0) +
		    (strcmp(s->name, "demo_data_keys") == 0 ||
			strcmp(s->name, "demo_referrals") == 0);
		PGresult *res = PQprepare(db_conn_pg(wk->c), s->name, s->text, n, NULL);
		bool good = result_ok(wk, res, PGRES_COMMAND_OK, s->name);
		PQclear(res);
		if (!good)
			return false;
	}
	/* Losing the last batches to a crash costs a re-run, not data: no wait for the disk. */
	return fixed(wk, "SET synchronous_commit = off");
}

/* How many of the cases worker index makes: its counties' share of the weight. */
static long long
worker_cases(const struct world *w, unsigned index)
{
	/* Shares from one set of prefix sums, so that they add up to the whole exactly. */
	double prefix[DEMO_MAX_JOBS + 1] = { 0 };
	for (unsigned i = 0; i < w->ncounty; i++)
		prefix[i % w->o->jobs + 1] += w->county[i].weight;
	for (unsigned j = 1; j <= w->o->jobs; j++)
		prefix[j] += prefix[j - 1];
	double m = (double)w->o->cases, total = prefix[w->o->jobs];
	return (long long)(m * prefix[index + 1] / total + 0.5) -
	    (long long)(m * prefix[index] / total + 0.5);
}

/*
 * The time at which the i-th of n cases was received: cases grow by half
 * over the period (so inverting the cumulative share takes a square root),
 * each on a working day's hours, in order, and never after now.
 */
static int64_t
received_at(const struct world *w, struct rng *r, long long i, long long n)
{
	const double g = 0.5;
	double x = ((double)i + rng_unit(r)) / (double)n;
	double f = (dsqrt(1 + 2 * g * (1 + g / 2) * x) - 1) / g;
	int64_t first = civil_day(w->start), days = w->today - first + 1;
	double at = f * (double)days;
	int64_t day = (int64_t)at;
	double frac = at - (double)day;
	int64_t t = day_start(first + day) + (int64_t)(8.5 * HOUR + frac * 9 * HOUR);
	return t > w->now ? w->now - (n - i) : t;
}

static void make_cases(struct worker *wk, long long n);

static void *
work_cases(void *arg)
{
	struct worker *wk = arg;
	struct world *w = wk->w;
	long long n = worker_cases(w, wk->index);
	if (n > 0 && prepare_statements(wk))
		make_cases(wk, n);
	atomic_fetch_add(&w->finished, 1);
	return NULL;
}

/* Makes worker wk's n cases (and the referrals that come with them). */
static void
make_cases(struct worker *wk, long long n)
{
	struct world *w = wk->w;
	/* The worker's counties, by cumulative weight. */
	unsigned mine = 0;
	double *cum = xcalloc(w->ncounty / w->o->jobs + 1, sizeof(*cum)), total = 0;
	unsigned *which = xcalloc(w->ncounty / w->o->jobs + 1, sizeof(*which));
	for (unsigned i = wk->index; i < w->ncounty; i += w->o->jobs) {
		total += w->county[i].weight;
		cum[mine] = total;
		which[mine++] = i;
	}
	struct batch b = { .plans = xcalloc(DEMO_BATCH, sizeof(struct plan)) };
	for (long long i = 0; i < n && !atomic_load(&w->failed);) {
		b.n = 0;
		for (; b.n < DEMO_BATCH && i < n; i++) {
			int64_t t = received_at(w, &wk->rng, i, n);
			double x = rng_unit(&wk->rng) * total;
			unsigned lo = 0, hi = mine - 1;
			while (lo < hi) {
				unsigned mid = (lo + hi) / 2;
				if (cum[mid] > x)
					hi = mid;
				else
					lo = mid + 1;
			}
			plan_case(wk, &b.plans[b.n++], which[lo], t, false);
			/* Now and then a referral that no committee took up. */
			if (b.n < DEMO_BATCH && rng_chance(&wk->rng, 0.015))
				plan_case(wk, &b.plans[b.n++], which[lo], t, true);
		}
		if (!store_batch(wk, &b))
			break;
	}
	for (int i = 0; i < NCOLS; i++)
		free(b.col[i].b.p);
	free(b.plans);
	free(cum);
	free(which);
}

/* --- running it ------------------------------------------------------------------ */

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs fn on each worker (one connection each), reporting w->done against total. */
static bool
run_workers(
    struct world *w, struct worker *wks, void *(*fn)(void *), const char *what, long long total)
{
	atomic_store(&w->done, 0);
	atomic_store(&w->finished, 0);
	unsigned started = 0;
	for (unsigned i = 0; i < w->o->jobs; i++) {
		if (pthread_create(&wks[i].thread, NULL, fn, &wks[i]) != 0) {
			snprintf(wks[i].err, sizeof(wks[i].err), "cannot start a thread");
			atomic_store(&w->failed, true);
			break;
		}
		started++;
	}
	/* Report progress until every worker has finished. */
	for (;;) {
		long long done = atomic_load(&w->done);
		if (w->o->progress && done < total)
			w->o->progress(what, done, total);
		if (atomic_load(&w->finished) == started || atomic_load(&w->failed))
			break;
		struct timespec pause = { 0, 200 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(wks[i].thread, NULL);
	if (w->o->progress && !atomic_load(&w->failed))
		w->o->progress(what, total, total);
	return !atomic_load(&w->failed);
}

/* Refuses a database that has demo regions already. */
static int
check_empty(struct worker *wk)
{
	PGresult *res = PQexec(db_conn_pg(wk->c),
	    "SELECT (SELECT count(*) FROM regions WHERE left(code, 2) BETWEEN '83' AND '99'),"
	    " (SELECT count(*) FROM users WHERE username = '" DEMO_USER "')");
	if (!result_ok(wk, res, PGRES_TUPLES_OK, "checking for demo data")) {
		PQclear(res);
		return 1;
	}
	bool empty =
	    strcmp(PQgetvalue(res, 0, 0), "0") == 0 && strcmp(PQgetvalue(res, 0, 1), "0") == 0;
	PQclear(res);
	return empty ? 0 : 2;
}

/* Provinces, cities and the hotline's user that referrals name, in one transaction. */
static bool
setup_top(struct worker *wk)
{
	struct world *w = wk->w;
	if (!fixed(wk, "BEGIN"))
		return false;
	for (unsigned p = 0; p < w->nprov; p++)
		if (!region_insert(wk, w->prov[p].code, w->prov[p].name, "province", NULL))
			return false;
	for (unsigned c = 0; c < w->ncity; c++)
		if (!region_insert(wk, w->city[c].code, w->city[c].name, "city",
			w->prov[w->city[c].province].code))
			return false;
	/* Referrals are opened by a hotline user: one that cannot sign in (no password). */
	const char *p[] = { DEMO_USER, "12338 热线（演示数据）", "hotline", NULL, "!", NULL };
	PGresult *res = service_exec(wk, SQL_USER_CREATE, p, 6);
	if (res == NULL)
		return false;
	snprintf(w->hotline, sizeof(w->hotline), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return fixed(wk, "COMMIT");
}

/* Seals the audit entries written into the hash chain, as the server's sealer would. */
static bool
seal_audit(struct worker *wk)
{
	struct world *w = wk->w;
	PGresult *res = db_exec(wk->c, SQL_AUDIT_COUNTS, NULL);
	if (!result_ok(wk, res, PGRES_TUPLES_OK, "SQL_AUDIT_COUNTS")) {
		PQclear(res);
		return false;
	}
	long long pending = strtoll(PQgetvalue(res, 0, 1), NULL, 10), done = 0;
	PQclear(res);
	const char *batch[] = { "20000" };
	while (done < pending) {
		if (w->o->progress)
			w->o->progress("sealing audit entries", done, pending);
		res = db_exec(wk->c, SQL_AUDIT_SEAL, batch);
		if (!result_ok(wk, res, PGRES_TUPLES_OK, "SQL_AUDIT_SEAL")) {
			PQclear(res);
			return false;
		}
		long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		done += n;
		if (n == 0)
			break;
	}
	if (w->o->progress)
		w->o->progress("sealing audit entries", pending, pending);
	return true;
}

int
demo_generate(struct db_pool *pool, const struct keyring *keys, const struct demo_options *o)
{
	struct world w = { .o = o, .keys = keys, .master = keyring_current(keys) };
	w.now = (int64_t)time(NULL);
	w.today = civil_day(w.now);
	w.start = day_start(w.today - (int64_t)(365.25 * o->years) + 1);
	struct worker *wks = xcalloc(o->jobs, sizeof(*wks));
	for (unsigned i = 0; i < o->jobs; i++) {
		wks[i].w = &w;
		wks[i].index = i;
		wks[i].c = db_acquire(pool);
		rng_seed(&wks[i].rng, o->seed, i + 1);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct rng layout;
	rng_seed(&layout, o->seed, 0);
	int rc = check_empty(&wks[0]);
	if (rc == 2)
		fprintf(stderr,
		    "tiaojie gen-demo: the database has demo data already (regions 83xxxx to "
		    "99xxxx, or the user " DEMO_USER "); use a new database\n");
	if (rc == 0) {
		world_layout(&w, &layout);
		rc = setup_top(&wks[0]) &&
			run_workers(
			    &w, wks, work_setup, "regions, committees, mediators", w.ncounty)
		    ? 0
		    : 1;
	}
	double setup_s = seconds_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0)
		rc = run_workers(&w, wks, work_cases, "cases", o->cases) ? 0 : 1;
	double cases_s = seconds_since(&t1);
	struct timespec t2;
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (rc == 0)
		rc = seal_audit(&wks[0]) ? 0 : 1;
	double seal_s = seconds_since(&t2), all_s = seconds_since(&t0);

	for (unsigned i = 0; i < o->jobs; i++) {
		if (wks[i].err[0])
			fprintf(stderr, "tiaojie gen-demo: %s\n", wks[i].err);
		db_release(pool, wks[i].c);
	}
	if (rc == 0) {
		long long cases = atomic_load(&w.cases);
		printf("made %lld regions (%u provinces, %u cities, %u counties), %lld committees, "
		       "%lld mediators\n",
		    (long long)atomic_load(&w.regions), w.nprov, w.ncity, w.ncounty,
		    (long long)atomic_load(&w.committees), (long long)atomic_load(&w.mediators));
		printf("made %lld cases with %lld parties, %lld sessions, %lld follow-ups, %lld "
		       "workflow events; %lld referrals\n",
		    cases, (long long)atomic_load(&w.parties), (long long)atomic_load(&w.sessions),
		    (long long)atomic_load(&w.followups), (long long)atomic_load(&w.events),
		    (long long)atomic_load(&w.referrals));
		printf("took %.1f s: set-up %.1f s, cases %.1f s (%.0f cases/s with %u jobs), "
		       "audit sealing %.1f s\n",
		    all_s, setup_s, cases_s, cases_s > 0 ? (double)cases / cases_s : 0.0, o->jobs,
		    seal_s);
	}
	free(w.prov);
	free(w.city);
	free(w.county);
	free(wks);
	return rc;
}
