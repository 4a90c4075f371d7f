/*
 * log.c - JSON log lines. Each line goes out in a single write(2) so lines
 * from concurrent workers never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;

void
log_set_level(enum log_level level)
{
	min_level = level;
}

bool
log_enabled(enum log_level level)
{
	return level >= min_level;
}

static void
timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void
log_json(enum log_level level, json_t *obj)
{
	if (!log_enabled(level)) {
		json_decref(obj);
		return;
	}
	char ts[40];
	timestamp(ts, sizeof(ts));
	json_t *full = json_pack("{s:s, s:s}", "ts", ts, "level", config_log_level_name(level));
	json_object_update(full, obj);
	json_decref(obj);
	char *line = json_dumps(full, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(full);
	if (line == NULL)
		return;
	size_t n = strlen(line);
	line[n] = '\n'; /* replaces the NUL: written by length below */
	ssize_t off = 0;
	while ((size_t)off < n + 1) {
		ssize_t w = write(STDERR_FILENO, line + off, n + 1 - (size_t)off);
		if (w <= 0)
			break;
		off += w;
	}
	free(line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *obj = json_object();
	json_t *s = json_string(msg);
	json_object_set_new(obj, "msg", s ? s : json_string("(message not UTF-8)"));
	log_json(level, obj);
}
