/*
 * keyholder.c - see keyholder.h. The current keyring is published with an
 * atomic pointer; a reload builds a new one and swaps it in, keeping the
 * old one for readers that may still be using it.
 */
#include "keyholder.h"

#include "log.h"

void
keyholder_init(struct keyholder *h, struct keyring *k, const char *(*get)(const char *))
{
	atomic_init(&h->current, k);
	pthread_mutex_init(&h->lock, NULL);
	h->nretired = 0;
	h->last_reload.tv_sec = 0;
	h->last_reload.tv_nsec = 0;
	atomic_init(&h->reloads, 0);
	h->get = get;
}

void
keyholder_free(struct keyholder *h)
{
	keyring_free(atomic_load(&h->current));
	for (unsigned i = 0; i < h->nretired; i++)
		keyring_free(h->retired[i]);
	pthread_mutex_destroy(&h->lock);
}

const struct keyring *
keyholder_get(struct keyholder *h)
{
	return atomic_load(&h->current);
}

const struct keyring *
keyholder_with(struct keyholder *h, unsigned version)
{
	const struct keyring *k = atomic_load(&h->current);
	if (keyring_has(k, version))
		return k;
	pthread_mutex_lock(&h->lock);
	k = atomic_load(&h->current);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool recent = h->last_reload.tv_sec != 0 && now.tv_sec - h->last_reload.tv_sec < 1;
	if (!keyring_has(k, version) && !recent && h->nretired < KEYHOLDER_MAX_RETIRED) {
		h->last_reload = now;
		char err[256];
		struct keyring *fresh = keyring_load(h->get, err, sizeof(err));
		if (fresh == NULL) {
			log_msg(LOG_ERROR, "reloading the encryption keys failed: %s", err);
		} else if (!keyring_has(fresh, version)) {
			keyring_free(fresh);
		} else {
			h->retired[h->nretired++] = atomic_exchange(&h->current, fresh);
			atomic_fetch_add(&h->reloads, 1);
			log_msg(LOG_INFO, "encryption keys reloaded: master key version %u is here",
			    version);
			k = fresh;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return keyring_has(k, version) ? k : NULL;
}
