/*
 * keyholder.h - the keys of a long-running process. A rotation adds a
 * master key version to the key file while servers run; the first time a
 * server meets a data key wrapped under a version it lacks, it reloads the
 * keys from their source (at most once a second), so reads keep working
 * during and after a rotation without a restart. Keyrings replaced by a
 * reload stay valid until keyholder_free(): readers never hold a lock.
 */
#ifndef TIAOJIE_KEYHOLDER_H
#define TIAOJIE_KEYHOLDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "crypt.h"

#define KEYHOLDER_MAX_RETIRED 32

struct keyholder {
	_Atomic(struct keyring *) current;
	pthread_mutex_t lock; /* serialises reloads */
	struct keyring *retired[KEYHOLDER_MAX_RETIRED];
	unsigned nretired;
	struct timespec last_reload;
	atomic_uint reloads; /* how many reloads found new keys */
	const char *(*get)(const char *name);
};

/* Takes ownership of k; get reads TIAOJIE_KEY_FILE / TIAOJIE_MASTER_KEY. */
void keyholder_init(struct keyholder *h, struct keyring *k, const char *(*get)(const char *));
void keyholder_free(struct keyholder *h);

/* The newest keys held. */
const struct keyring *keyholder_get(struct keyholder *h);

/*
 * The keys, reloaded from their source if they lack version: NULL when even
 * a reload brings no such version (or one was tried under a second ago).
 */
const struct keyring *keyholder_with(struct keyholder *h, unsigned version);

#endif
