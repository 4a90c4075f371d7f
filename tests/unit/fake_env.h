/*
 * fake_env.h - a stand-in for getenv() in tests of code that reads its
 * settings through a getter (config_load, keyring_load).
 */
#ifndef TIAOJIE_FAKE_ENV_H
#define TIAOJIE_FAKE_ENV_H

struct kv {
	const char *name;
	const char *value;
};

/* The environment fake_get() sees: an array ended by a NULL name. */
extern const struct kv *fake_env;

/* getenv() over fake_env. */
const char *fake_get(const char *name);

#endif
