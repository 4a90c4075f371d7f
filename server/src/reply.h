/*
 * reply.h - the only place that writes responses. Every reply carries
 * X-Request-Id and Cache-Control: no-store; every error is an RFC 9457
 * application/problem+json body built by problem_new().
 */
#ifndef TIAOJIE_REPLY_H
#define TIAOJIE_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct request;

/* Problem types, "urn:tiaojie:problem:<slug>". */
#define PROBLEM_BAD_REQUEST            "bad-request"
#define PROBLEM_MALFORMED_JSON         "malformed-json"
#define PROBLEM_VALIDATION             "validation"
#define PROBLEM_UNAUTHORIZED           "unauthorized"
#define PROBLEM_FORBIDDEN              "forbidden"
#define PROBLEM_INVALID_CREDENTIALS    "invalid-credentials"
#define PROBLEM_TOO_MANY_REQUESTS      "too-many-requests"
#define PROBLEM_NOT_FOUND              "not-found"
#define PROBLEM_METHOD_NOT_ALLOWED     "method-not-allowed"
#define PROBLEM_CONFLICT               "conflict"
#define PROBLEM_PRECONDITION_FAILED    "precondition-failed"
#define PROBLEM_PRECONDITION_REQUIRED  "precondition-required"
#define PROBLEM_TOO_LARGE              "payload-too-large"
#define PROBLEM_URI_TOO_LONG           "uri-too-long"
#define PROBLEM_UNSUPPORTED_MEDIA_TYPE "unsupported-media-type"
#define PROBLEM_UNPROCESSABLE          "unprocessable"
#define PROBLEM_INTERNAL               "internal"
#define PROBLEM_UNAVAILABLE            "unavailable"
#define PROBLEM_NOT_READY              "not-ready"

/* The reason phrase for a status ("Not Found"), "Unknown" if unlisted. */
const char *reply_status_title(unsigned status);

/*
 * A new problem object: type, title, status, detail (if not NULL),
 * instance (if not NULL), request_id (if not NULL). Caller owns it.
 */
json_t *problem_new(unsigned status, const char *slug, const char *detail, const char *instance,
    const char *request_id);

/* Sends body (reference stolen) as application/json. */
void reply_json(struct request *r, unsigned status, json_t *body);
/* Sends len bytes, copied, with the given content type. */
void reply_data(
    struct request *r, unsigned status, const char *content_type, const char *data, size_t len);
/* Sends a heap buffer (malloc'd, taken over and freed by the library). */
void
reply_take(struct request *r, unsigned status, const char *content_type, char *data, size_t len);
/* Sends a problem; detail is formatted like printf. */
void reply_problem(struct request *r, unsigned status, const char *slug, const char *detail_fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* Sends a problem with more members (an "errors" list, say): extra is stolen. */
void reply_problem_with(
    struct request *r, unsigned status, const char *slug, const char *detail, json_t *extra);

/* Has a reply been queued for r? */
bool reply_sent(const struct request *r);

#endif
