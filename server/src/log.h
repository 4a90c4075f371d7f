/*
 * log.h - structured logging: one JSON object per line on stderr.
 * The level is set once at start, before any thread exists.
 */
#ifndef TIAOJIE_LOG_H
#define TIAOJIE_LOG_H

#include <jansson.h>

#include "config.h"

void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* {"ts":...,"level":...,"msg":...} with msg formatted like printf. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes obj (adding ts and level) as one line, then drops the reference. */
void log_json(enum log_level level, json_t *obj);

#endif
