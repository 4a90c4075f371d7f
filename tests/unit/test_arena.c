/*
 * test_arena.c - the per-request bump allocator, its deferred cleanups and
 * the growable string buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "suites.h"

#define BIG_SIZE (1024 * 1024)

static unsigned char
pattern_byte(size_t alloc, size_t offset)
{
	return (unsigned char)((alloc * 37 + offset * 11 + 1) & 0xff);
}

static void
fill(unsigned char *p, size_t n, size_t alloc)
{
	for (size_t j = 0; j < n; j++)
		p[j] = pattern_byte(alloc, j);
}

static size_t
first_mismatch(const unsigned char *p, size_t n, size_t alloc)
{
	for (size_t j = 0; j < n; j++)
		if (p[j] != pattern_byte(alloc, j))
			return j;
	return n;
}

START_TEST(test_alloc_aligned_and_writable)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 100, 255, 1000, 1025,
		4000, 5000 };
	struct arena *a = arena_new();
	ck_assert_ptr_nonnull(a);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = arena_alloc(a, sizes[i]);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg((uintptr_t)p % 16 == 0,
		    "allocation %zu of %zu bytes at %p is not 16-byte aligned", i, sizes[i],
		    (void *)p);
		memset(p, 0xa5, sizes[i]);
		ck_assert_uint_eq(p[0], 0xa5);
		ck_assert_uint_eq(p[sizes[i] - 1], 0xa5);
	}
	arena_free(a);
}
END_TEST

START_TEST(test_zalloc_zeroes)
{
	struct arena *a = arena_new();
	/* Dirty the first block so a fresh zeroed page cannot hide a bug. */
	unsigned char *dirty = arena_alloc(a, 512);
	memset(dirty, 0xff, 512);
	unsigned char *z = arena_zalloc(a, 300);
	ck_assert_uint_eq((uintptr_t)z % 16, 0);
	for (size_t i = 0; i < 300; i++)
		ck_assert_msg(z[i] == 0, "byte %zu of arena_zalloc is %u", i, z[i]);
	arena_free(a);
}
END_TEST

START_TEST(test_many_allocations_do_not_overlap)
{
	enum { NSMALL = 600 };
	unsigned char *ptr[NSMALL + 1];
	size_t len[NSMALL + 1];
	struct arena *a = arena_new();

	/* Small ones, then a large one in the middle, then more small ones. */
	for (size_t i = 0; i < NSMALL; i++) {
		if (i == NSMALL / 2) {
			len[NSMALL] = BIG_SIZE;
			ptr[NSMALL] = arena_alloc(a, BIG_SIZE);
			ck_assert_uint_eq((uintptr_t)ptr[NSMALL] % 16, 0);
			fill(ptr[NSMALL], BIG_SIZE, NSMALL);
		}
		len[i] = 1 + (i * 7) % 97;
		ptr[i] = arena_alloc(a, len[i]);
		ck_assert_uint_eq((uintptr_t)ptr[i] % 16, 0);
		fill(ptr[i], len[i], i);
	}

	for (size_t i = 0; i <= NSMALL; i++) {
		size_t bad = first_mismatch(ptr[i], len[i], i);
		ck_assert_msg(bad == len[i],
		    "allocation %zu (%zu bytes) was overwritten at offset %zu", i, len[i], bad);
	}
	for (size_t i = 0; i <= NSMALL; i++) {
		uintptr_t lo = (uintptr_t)ptr[i], hi = lo + len[i];
		for (size_t k = i + 1; k <= NSMALL; k++) {
			uintptr_t klo = (uintptr_t)ptr[k], khi = klo + len[k];
			ck_assert_msg(
			    hi <= klo || khi <= lo, "allocations %zu and %zu overlap", i, k);
		}
	}
	arena_free(a);
}
END_TEST

START_TEST(test_large_first_then_small)
{
	/* A large allocation into an empty arena, then small ones after it. */
	struct arena *a = arena_new();
	unsigned char *big = arena_alloc(a, 2000);
	fill(big, 2000, 1);
	unsigned char *s1 = arena_alloc(a, 40);
	fill(s1, 40, 2);
	unsigned char *big2 = arena_alloc(a, 3000);
	fill(big2, 3000, 3);
	unsigned char *s2 = arena_alloc(a, 40);
	fill(s2, 40, 4);
	ck_assert_uint_eq(first_mismatch(big, 2000, 1), 2000);
	ck_assert_uint_eq(first_mismatch(s1, 40, 2), 40);
	ck_assert_uint_eq(first_mismatch(big2, 3000, 3), 3000);
	ck_assert_uint_eq(first_mismatch(s2, 40, 4), 40);
	arena_free(a);
}
END_TEST

START_TEST(test_strdup_strndup)
{
	struct arena *a = arena_new();
	const char *src = "hello, arena";
	char *d = arena_strdup(a, src);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_ne(d, src);
	ck_assert_str_eq(d, "hello, arena");

	char *e = arena_strdup(a, "");
	ck_assert_str_eq(e, "");

	char *n = arena_strndup(a, "regions/450202", 7);
	ck_assert_str_eq(n, "regions");
	ck_assert_uint_eq(strlen(n), 7);

	char *z = arena_strndup(a, "abc", 0);
	ck_assert_str_eq(z, "");

	char *u = arena_strdup(a, "柳州市");
	ck_assert_str_eq(u, "柳州市");
	ck_assert_uint_eq(strlen(u), 9);

	/* The copies are independent of each other and of the source. */
	d[0] = 'H';
	ck_assert_str_eq(src, "hello, arena");
	ck_assert_str_eq(d, "Hello, arena");
	ck_assert_str_eq(n, "regions");
	arena_free(a);
}
END_TEST

START_TEST(test_printf)
{
	struct arena *a = arena_new();
	char *s = arena_printf(a, "%s-%d-%05.1f-%zu", "x", 42, 3.14159, (size_t)7);
	ck_assert_str_eq(s, "x-42-003.1-7");

	char *e = arena_printf(a, "%s", "");
	ck_assert_str_eq(e, "");

	/* Longer than a block: goes through the large-allocation path. */
	char *l = arena_printf(a, "<%*s>", 5000, "end");
	ck_assert_uint_eq(strlen(l), 5002);
	ck_assert_int_eq(l[0], '<');
	ck_assert_int_eq(l[1], ' ');
	ck_assert_str_eq(l + 4998, "end>");

	/* The earlier results are intact. */
	ck_assert_str_eq(s, "x-42-003.1-7");
	arena_free(a);
}
END_TEST

START_TEST(test_used_grows)
{
	struct arena *a = arena_new();
	ck_assert_uint_eq(arena_used(a), 0);

	arena_alloc(a, 10);
	size_t u1 = arena_used(a);
	ck_assert_uint_ge(u1, 10);
	ck_assert_uint_lt(u1, 10 + 16);

	arena_alloc(a, 100);
	size_t u2 = arena_used(a);
	ck_assert_uint_ge(u2 - u1, 100);
	ck_assert_uint_lt(u2 - u1, 100 + 16);

	arena_alloc(a, BIG_SIZE);
	size_t u3 = arena_used(a);
	ck_assert_uint_ge(u3 - u2, BIG_SIZE);
	ck_assert_uint_lt(u3 - u2, BIG_SIZE + 16);

	arena_strdup(a, "abcdef");
	ck_assert_uint_ge(arena_used(a) - u3, 7);
	arena_free(a);
}
END_TEST

static int cleanup_order[8];
static unsigned cleanup_count;

static void
record_cleanup(void *p)
{
	int id = *(int *)p;
	if (cleanup_count < sizeof(cleanup_order) / sizeof(cleanup_order[0]))
		cleanup_order[cleanup_count] = id;
	cleanup_count++;
}

START_TEST(test_defer_runs_once_newest_first)
{
	static int ids[] = { 1, 2, 3, 4 };
	cleanup_count = 0;
	memset(cleanup_order, 0, sizeof(cleanup_order));

	struct arena *a = arena_new();
	arena_defer(a, record_cleanup, &ids[0]);
	arena_alloc(a, 5000); /* cleanups survive a large allocation */
	arena_defer(a, record_cleanup, &ids[1]);
	for (int i = 0; i < 200; i++)
		arena_alloc(a, 64); /* ... and new blocks */
	arena_defer(a, record_cleanup, &ids[2]);
	arena_defer(a, record_cleanup, &ids[3]);
	ck_assert_uint_eq(cleanup_count, 0);

	arena_free(a);
	ck_assert_uint_eq(cleanup_count, 4);
	ck_assert_int_eq(cleanup_order[0], 4);
	ck_assert_int_eq(cleanup_order[1], 3);
	ck_assert_int_eq(cleanup_order[2], 2);
	ck_assert_int_eq(cleanup_order[3], 1);
}
END_TEST

START_TEST(test_defer_frees_heap_memory)
{
	/* Leak checking in the sanitizer build proves free() ran. */
	struct arena *a = arena_new();
	char *p = xstrdup("released by the arena");
	arena_defer(a, free, p);
	char *q = xmalloc(4096);
	memset(q, 1, 4096);
	arena_defer(a, free, q);
	ck_assert_str_eq(p, "released by the arena");
	arena_free(a);
}
END_TEST

START_TEST(test_free_empty_and_null)
{
	cleanup_count = 0;
	arena_free(NULL);
	struct arena *a = arena_new();
	ck_assert_uint_eq(arena_used(a), 0);
	arena_free(a);
	ck_assert_uint_eq(cleanup_count, 0);
}
END_TEST

START_TEST(test_sbuf_printf_append_steal)
{
	struct sbuf b = { 0 };
	sbuf_printf(&b, "%s %d", "items", 3);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_str_eq(b.data, "items 3");

	sbuf_append(&b, "\nmore-ignored", 5);
	ck_assert_uint_eq(b.len, 12);
	ck_assert_str_eq(b.data, "items 3\nmore");

	sbuf_printf(&b, "[%05u]", 42u);
	ck_assert_uint_eq(b.len, 19);
	ck_assert_str_eq(b.data, "items 3\nmore[00042]");

	char *s = sbuf_steal(&b);
	ck_assert_str_eq(s, "items 3\nmore[00042]");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	free(s);

	/* The sbuf is usable again after a steal. */
	sbuf_append(&b, "x", 1);
	ck_assert_str_eq(b.data, "x");
	ck_assert_uint_eq(b.len, 1);
	sbuf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_sbuf_grows)
{
	struct sbuf b = { 0 };
	char chunk[100];
	for (size_t i = 0; i < 50; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		sbuf_append(&b, chunk, sizeof(chunk));
		ck_assert_uint_eq(b.len, (i + 1) * sizeof(chunk));
		ck_assert_uint_gt(b.cap, b.len);
		ck_assert_int_eq(b.data[b.len], '\0');
	}
	for (size_t i = 0; i < 50; i++)
		for (size_t j = 0; j < sizeof(chunk); j++)
			ck_assert_int_eq(b.data[i * sizeof(chunk) + j], 'a' + (int)(i % 26));
	/* Exactly filling the capacity still leaves room for the NUL. */
	struct sbuf c = { 0 };
	sbuf_printf(&c, "%255s", "z");
	ck_assert_uint_eq(c.len, 255);
	sbuf_printf(&c, "%s", "y");
	ck_assert_uint_eq(c.len, 256);
	ck_assert_uint_gt(c.cap, 256);
	ck_assert_int_eq(c.data[254], 'z');
	ck_assert_str_eq(c.data + 255, "y");
	sbuf_free(&c);

	char *s = sbuf_steal(&b);
	ck_assert_uint_eq(strlen(s), 5000);
	free(s);
}
END_TEST

START_TEST(test_sbuf_steal_empty)
{
	struct sbuf b = { 0 };
	char *s = sbuf_steal(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	free(s);

	/* sbuf_free of an empty sbuf is harmless. */
	sbuf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");

	TCase *tc = tcase_create("alloc");
	tcase_add_test(tc, test_alloc_aligned_and_writable);
	tcase_add_test(tc, test_zalloc_zeroes);
	tcase_add_test(tc, test_many_allocations_do_not_overlap);
	tcase_add_test(tc, test_large_first_then_small);
	tcase_add_test(tc, test_strdup_strndup);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_used_grows);
	suite_add_tcase(s, tc);

	tc = tcase_create("defer");
	tcase_add_test(tc, test_defer_runs_once_newest_first);
	tcase_add_test(tc, test_defer_frees_heap_memory);
	tcase_add_test(tc, test_free_empty_and_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("sbuf");
	tcase_add_test(tc, test_sbuf_printf_append_steal);
	tcase_add_test(tc, test_sbuf_grows);
	tcase_add_test(tc, test_sbuf_steal_empty);
	suite_add_tcase(s, tc);

	return s;
}
