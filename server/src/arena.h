/*
 * arena.h - per-request memory. Everything allocated from an arena is freed
 * at once by arena_free(), which first runs the deferred cleanups (PGresults,
 * jansson values, ...) in the reverse order of their registration.
 *
 * Allocation never fails: when the system is out of memory the process
 * aborts (see xmalloc), so callers never test for NULL.
 */
#ifndef TIAOJIE_ARENA_H
#define TIAOJIE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Wipes the whole allocation, then frees it. NULL is a no-op. */
void xfree_wiped(void *p);

/* A new, empty arena; free it with arena_free(). */
struct arena *arena_new(void);
/*
 * Runs the cleanups, newest first, then wipes and releases all memory.
 * NULL is a no-op.
 */
void arena_free(struct arena *a);

/* n bytes aligned for any type, uninitialised, valid until arena_free(). */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Calls fn(p) when the arena is freed. */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

/* Bytes handed out so far (for tests and limits). */
size_t arena_used(const struct arena *a);

/*
 * sbuf - a growable string, for text bodies (metrics) that are not JSON.
 * The buffer is heap memory the caller owns: sbuf_steal() hands it over.
 */
struct sbuf {
	char *data;
	size_t len;
	size_t cap;
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_append(struct sbuf *b, const char *s, size_t n);
/* Returns the NUL-terminated string (never NULL) and resets b. */
char *sbuf_steal(struct sbuf *b);
void sbuf_free(struct sbuf *b);

#endif
