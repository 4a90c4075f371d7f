/*
 * reply.c - builds and queues every response. A request gets exactly one
 * reply; a second attempt is a programming error, logged and ignored.
 */
#include "reply.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "arena.h"
#include "log.h"

static const struct {
	unsigned status;
	const char *title;
} titles[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 204, "No Content" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 409, "Conflict" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

const char *
reply_status_title(unsigned status)
{
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (titles[i].status == status)
			return titles[i].title;
	return "Unknown";
}

json_t *
problem_new(unsigned status, const char *slug, const char *detail, const char *instance,
    const char *request_id)
{
	char type[96];
	snprintf(type, sizeof(type), "urn:tiaojie:problem:%s", slug);
	json_t *p = json_pack("{s:s, s:s, s:I}", "type", type, "title", reply_status_title(status),
	    "status", (json_int_t)status);
	/* json_string() refuses invalid UTF-8; a path may hold anything. */
	if (detail != NULL)
		json_object_set_new(p, "detail", json_string(detail));
	if (instance != NULL) {
		json_t *s = json_string(instance);
		if (s != NULL)
			json_object_set_new(p, "instance", s);
	}
	if (request_id != NULL)
		json_object_set_new(p, "request_id", json_string(request_id));
	return p;
}

bool
reply_sent(const struct request *r)
{
	return r->status != 0;
}

static void
queue(struct request *r, unsigned status, const char *content_type, struct MHD_Response *resp,
    size_t len)
{
	if (reply_sent(r)) {
		log_msg(LOG_ERROR, "second reply for request %s ignored", r->id);
		MHD_destroy_response(resp);
		return;
	}
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->srv->cfg->tls_cert[0] != '\0')
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	for (unsigned i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	if (atomic_load(&r->srv->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	r->status = status;
	r->reply_bytes = len;
	if (MHD_queue_response(r->conn, status, resp) != MHD_YES)
		log_msg(LOG_WARN, "could not queue the response for request %s", r->id);
	MHD_destroy_response(resp);
}

void
reply_take(struct request *r, unsigned status, const char *content_type, char *data, size_t len)
{
	/* Wiped when sent: a body may hold decrypted personal data. */
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer_with_free_callback(len, data, xfree_wiped);
	queue(r, status, content_type, resp, len);
}

void
reply_data(
    struct request *r, unsigned status, const char *content_type, const char *data, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, data, len);
	reply_take(r, status, content_type, copy, len);
}

void
reply_json(struct request *r, unsigned status, json_t *body)
{
	/* Reals (rates) as they were rounded, not to 17 digits. */
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(body);
	if (text == NULL) {
		/* Only an unencodable value gets here: a bug, not user input. */
		log_msg(LOG_ERROR, "request %s: response body could not be encoded", r->id);
		reply_problem(r, 500, PROBLEM_INTERNAL, "The response could not be formed.");
		return;
	}
	reply_take(r, status, "application/json", text, strlen(text));
}

void
reply_problem(struct request *r, unsigned status, const char *slug, const char *detail_fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, detail_fmt);
	int n = vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(detail)) {
		/* Drop a character cut in two by the truncation. */
		size_t last = sizeof(detail) - 2;
		while (last > 0 && ((unsigned char)detail[last] & 0xc0) == 0x80)
			last--;
		unsigned char lead = (unsigned char)detail[last];
		size_t len = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
		if (last + len > sizeof(detail) - 1)
			detail[last] = '\0';
	}
	/* An over-long path is not echoed back. */
	const char *instance = strlen(r->path) <= 256 ? r->path : NULL;
	json_t *p = problem_new(status, slug, detail, instance, r->id);
	char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(p);
	reply_take(r, status, "application/problem+json", text, strlen(text));
}

void
reply_problem_with(
    struct request *r, unsigned status, const char *slug, const char *detail, json_t *extra)
{
	json_t *p =
	    problem_new(status, slug, detail, strlen(r->path) <= 256 ? r->path : NULL, r->id);
	json_object_update(p, extra);
	json_decref(extra);
	char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(p);
	reply_take(r, status, "application/problem+json", text, strlen(text));
}
