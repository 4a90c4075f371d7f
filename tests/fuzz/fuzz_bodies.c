/*
 * fuzz_bodies.c - the decoders and validators of request bodies: every
 * route that takes a JSON (or CSV) body, run with the body as it arrives
 * through libmicrohttpd, as dispatch() runs it for an authorised caller,
 * up to its first statement (the database cannot be reached: 503). And the
 * value checks of validate.c, called directly.
 *
 * Input: a first line naming the route and the caller's role, then the
 * body:
 *
 *   POST /api/v1/cases/{id}/transitions mediator
 *   {"to": "accepted", "admissibility": {...}}
 *
 * or the first line "validate", then a value for every check of validate.c.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz_check.h"
#include "fuzz_server.h"
#include "validate.h"

static bool
digits_only(const char *s)
{
	return strspn(s, "0123456789") == strlen(s);
}

/* Every check of validate.c on s, and what each promises of what it accepts. */
static void
validate_all(const char *s)
{
	static const char *const words[] = { "true", "false", NULL };
	size_t n = strlen(s);
	long v;

	CHECK(!region_code_valid(s) || (digits_only(s) && (n == 6 || n == 9 || n == 12)));
	CHECK(!username_valid(s) || (n >= 3 && n <= 64));
	(void)role_valid(s);
	(void)region_level_valid(s);
	CHECK(!parse_int_range(s, -5, 2100, &v) || (v >= -5 && v <= 2100));
	CHECK(!parse_int_range(s, 1, 999999999999L, &v) || (v >= 1 && v <= 999999999999L));
	/* A text passes as a note too: the note's rules are the looser. */
	CHECK(!text_valid(s, 100) || note_valid(s, 100));
	CHECK(!text_valid(s, 1) || note_valid(s, 1));
	(void)note_valid(s, 20000);
	CHECK(!rfc3339_valid(s) || n >= 20);
	CHECK(!date_exists(s) || date_valid(s));
	CHECK(!date_valid(s) || n == 10);
	CHECK(word_in(s, words) == query_bool_valid(s));

	/* Sanitised text fits, is UTF-8 (jansson takes it) and has no control character. */
	for (size_t len = 1; len <= 8; len++) {
		char out[8];
		utf8_sanitize(out, len, s);
		CHECK(strlen(out) < len);
	}
	char *clean = malloc(n + 1);
	utf8_sanitize(clean, n + 1, s);
	json_t *j = json_string(clean);
	CHECK(j != NULL);
	json_decref(j);
	for (const unsigned char *p = (const unsigned char *)clean; *p; p++)
		CHECK(*p >= 0x20 && *p != 0x7f);
	free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *body;
	char role[16];
	if (size >= 9 && memcmp(text, "validate\n", 9) == 0) {
		char *s = malloc(size - 9 + 1);
		memcpy(s, text + 9, size - 9);
		s[size - 9] = '\0';
		validate_all(s);
		free(s);
		return 0;
	}
	const struct route *route = fuzz_route_line(text, size, role, &body);
	if (route == NULL || route->body == BODY_NONE)
		return 0;
	size_t len = size - (size_t)(body - text);
	struct arena *a = arena_new();
	struct sbuf req = { 0 };
	sbuf_printf(&req,
	    "%s %s HTTP/1.1\r\n"
	    "Host: fuzz\r\n"
	    "Connection: close\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Idempotency-Key: fuzz\r\n"
	    "If-Match: \"1\"\r\n"
	    "\r\n",
	    route->method, fuzz_path(a, route),
	    route->body == BODY_JSON ? "application/json" : "text/csv", len);
	sbuf_append(&req, body, len);
	fuzz_http(req.data, req.len, role);
	sbuf_free(&req);
	arena_free(a);
	return 0;
}
