/*
 * embedded.h - files compiled into the binary by embed.sh: the migrations
 * (in version order) and the API description, so a deployed binary needs
 * nothing beside it.
 */
#ifndef TIAOJIE_EMBEDDED_H
#define TIAOJIE_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;          /* file name, e.g. "0001_regions.sql" */
	const unsigned char *data; /* NUL-terminated */
	size_t size;               /* without the NUL */
};

extern const struct embedded_file embedded_migrations[];
extern const size_t embedded_migrations_count;
extern const struct embedded_file embedded_openapi;

#endif
