/*
 * case_duplicates.c - other open cases and referrals of the same people. Candidates come
 * from the blind indexes of the parties' phones and ID numbers (24 bits:
 * unrelated values share them by design); the server confirms each by
 * decrypting and comparing normalised values, and tells the caller only
 * which cases and referrals in their scope match, and how many elsewhere. Nothing
 * decrypted here is shown, so nothing here is a read of personal data.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cases.h"
#include "datakey.h"
#include "db.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "reply.h"

#define NORM_MAX 32

/* The normalised phones and ID numbers of a case's parties. */
struct people {
	char (*phones)[NORM_MAX];
	char (*ids)[NORM_MAX];
	size_t nphones, nids;
};

/* Decrypts and normalises a sealed party field; false when there is none. */
static bool
open_norm(struct request *r, const unsigned char *dek, const char *column, const char *party,
    const char *hex, enum blind_kind kind, char out[NORM_MAX])
{
	if (hex == NULL || *hex == '\0')
		return false;
	const char *plain = field_open(r, dek, "parties", column, party, hex);
	return plain != NULL && blind_normalise(kind, plain, out, NORM_MAX);
}

static bool
listed(char (*list)[NORM_MAX], size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], v) == 0)
			return true;
	return false;
}

static const char *
value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* The case's own people; false after replying. */
static bool
own_people(struct request *r, const char *id, struct people *own)
{
	const char *params[] = { id };
	PGresult *res = db_query_or_reply(r, SQL_CASE_OWN_PARTIES, params);
	if (res == NULL)
		return false;
	int n = PQntuples(res);
	own->phones = arena_zalloc(r->arena, (size_t)(n + 1) * NORM_MAX);
	own->ids = arena_zalloc(r->arena, (size_t)(n + 1) * NORM_MAX);
	if (n == 0)
		return true;
	struct case_head h = { .id = id, .data_key_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10) };
	unsigned char dek[CRYPT_KEY_BYTES];
	if (!case_key_or_reply(r, &h, dek))
		return false;
	for (int i = 0; i < n; i++) {
		const char *party = PQgetvalue(res, i, 1);
		if (open_norm(r, dek, "phone", party, value(res, i, 2), BLIND_PHONE,
			own->phones[own->nphones]))
			own->nphones++;
		if (open_norm(r, dek, "id_number", party, value(res, i, 3), BLIND_ID_NUMBER,
			own->ids[own->nids]))
			own->nids++;
	}
	sodium_memzero(dek, sizeof(dek));
	return true;
}

/* Adds kind to the array matched unless it is there. */
static void
add_kind(json_t *matched, const char *kind)
{
	size_t i;
	json_t *m;
	json_array_foreach(matched, i, m)
	{
		if (strcmp(json_string_value(m), kind) == 0)
			return;
	}
	json_array_append_new(matched, json_string(kind));
}

/* Open referrals whose caller has one of the phones of own: in scope into out, else counted. */
static bool
open_referrals(
    struct request *r, const char *id, const struct people *own, json_t *out, long long *elsewhere)
{
	if (own->nphones == 0)
		return true;
	const char *scope[2];
	case_scope(r, scope);
	const char *params[] = { id, scope[0], scope[1] };
	PGresult *res = db_query_or_reply(r, SQL_CASE_DUP_REFERRALS, params);
	if (res == NULL)
		return false;
	unsigned char dek[CRYPT_KEY_BYTES];
	for (int i = 0; i < PQntuples(res); i++) {
		long long dk = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		if (field_key(r, dk, dek) != DATAKEY_OK)
			continue;
		const char *plain = field_open(
		    r, dek, "referrals", "caller_phone", PQgetvalue(res, i, 0), value(res, i, 5));
		char norm[NORM_MAX];
		bool same = plain != NULL && blind_normalise(BLIND_PHONE, plain, norm, NORM_MAX) &&
		    listed(own->phones, own->nphones, norm);
		if (!same)
			continue;
		if (strcmp(PQgetvalue(res, i, 3), "t") != 0) {
			(*elsewhere)++;
			continue;
		}
		json_array_append_new(out,
		    json_pack("{s:I, s:s, s:I, s:[s]}", "id",
			(json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "status",
			PQgetvalue(res, i, 1), "committee_id",
			(json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10), "matched", "phone"));
	}
	sodium_memzero(dek, sizeof(dek));
	return true;
}

json_t *
case_duplicates(struct request *r, const char *id)
{
	struct people own = { 0 };
	if (!own_people(r, id, &own))
		return NULL;
	const char *scope[2];
	case_scope(r, scope);
	const char *params[] = { id, scope[0], scope[1] };
	PGresult *res = db_query_or_reply(r, SQL_CASE_DUP_CANDIDATES, params);
	if (res == NULL)
		return NULL;

	json_t *cases = json_array();
	long long elsewhere = 0, last_case = 0, open_key = 0;
	json_t *entry = NULL; /* the last case confirmed in scope */
	bool last_counted = false;
	unsigned char dek[CRYPT_KEY_BYTES];
	for (int i = 0; i < PQntuples(res); i++) {
		long long cid = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		long long dk = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		if (cid != last_case) {
			last_case = cid;
			last_counted = false;
			entry = NULL;
		}
		if (dk != open_key) {
			enum datakey_status st = field_key(r, dk, dek);
			if (st != DATAKEY_OK) {
				log_msg(LOG_WARN, "request %s: duplicates: case %lld: data key %s",
				    r->id, cid, datakey_status_text(st));
				continue;
			}
			open_key = dk;
		}
		const char *party = PQgetvalue(res, i, 6);
		char norm[NORM_MAX];
		bool by_phone = strcmp(PQgetvalue(res, i, 9), "t") == 0 &&
		    open_norm(r, dek, "phone", party, value(res, i, 7), BLIND_PHONE, norm) &&
		    listed(own.phones, own.nphones, norm);
		bool by_id = strcmp(PQgetvalue(res, i, 10), "t") == 0 &&
		    open_norm(
			r, dek, "id_number", party, value(res, i, 8), BLIND_ID_NUMBER, norm) &&
		    listed(own.ids, own.nids, norm);
		if (!by_phone && !by_id)
			continue;
		if (strcmp(PQgetvalue(res, i, 4), "t") != 0) {
			elsewhere += !last_counted;
			last_counted = true;
			continue;
		}
		if (entry == NULL) {
			entry = json_pack("{s:I, s:s, s:s, s:I, s:[]}", "id", (json_int_t)cid,
			    "number", PQgetvalue(res, i, 1), "status", PQgetvalue(res, i, 2),
			    "committee_id", (json_int_t)strtoll(PQgetvalue(res, i, 3), NULL, 10),
			    "matched");
			json_array_append_new(cases, entry);
		}
		if (by_phone)
			add_kind(json_object_get(entry, "matched"), "phone");
		if (by_id)
			add_kind(json_object_get(entry, "matched"), "id_number");
	}
	sodium_memzero(dek, sizeof(dek));
	json_t *referrals = json_array();
	if (!open_referrals(r, id, &own, referrals, &elsewhere)) {
		json_decref(cases);
		json_decref(referrals);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:I}", "cases", cases, "referrals", referrals, "elsewhere",
	    (json_int_t)elsewhere);
}
