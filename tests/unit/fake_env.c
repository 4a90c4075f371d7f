/*
 * fake_env.c - see fake_env.h. Each test runs in its own process (Check
 * forks), so the one global is never shared between tests.
 */
#include "fake_env.h"

#include <stddef.h>
#include <string.h>

const struct kv *fake_env;

const char *
fake_get(const char *name)
{
	for (const struct kv *e = fake_env; e != NULL && e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			return e->value;
	return NULL;
}
