/*
 * test_crypt.c - keys, wrapped data keys, sealed fields and blind indexes
 * (crypt.c). Key files are temporary files; the environment is a fake
 * getter, as in test_config.c.
 */
#include <check.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt.h"
#include "fake_env.h"
#include "suites.h"

/* Fixed keys as unpadded base64url; test_fixture_keys checks their sizes. */
#define A_10   "AAAAAAAAAA"
#define K_A    A_10 A_10 A_10 A_10 "AAA" /* 32 zero bytes */
#define K_B    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA"
#define K_C    "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA"
#define K_31   A_10 A_10 A_10 A_10 "AA"     /* 31 bytes */
#define K_33   A_10 A_10 A_10 A_10 "AAAA"   /* 33 bytes */
#define K_PLUS A_10 A_10 "A+" A_10 A_10 "A" /* '+' is not base64url */

#define KEYGEN_MAX 256

static size_t
decoded_len(const char *b64)
{
	unsigned char bin[64];
	size_t got = 0;
	const char *end = NULL;
	if (sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &got, &end,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != b64 + strlen(b64))
		return 0;
	return got;
}

static struct keyring *
parse_ok(const char *text)
{
	char err[256] = "";
	struct keyring *k = keyring_parse(text, err, sizeof(err));
	ck_assert_msg(k != NULL, "refused \"%s\": %s", text, err);
	return k;
}

/* A keyring with a random index key and random master keys v1 .. vn. */
static struct keyring *
random_keyring(unsigned n)
{
	char text[2048],
	    b64[sodium_base64_ENCODED_LEN(
		CRYPT_KEY_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	unsigned char key[CRYPT_KEY_BYTES];
	size_t used = 0;
	for (unsigned v = 0; v <= n; v++) {
		randombytes_buf(key, sizeof(key));
		sodium_bin2base64(
		    b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		int w = v == 0 ? snprintf(text + used, sizeof(text) - used, "index:%s\n", b64)
			       : snprintf(text + used, sizeof(text) - used, "v%u:%s\n", v, b64);
		ck_assert(w > 0 && (size_t)w < sizeof(text) - used);
		used += (size_t)w;
	}
	return parse_ok(text);
}

/* --- keygen ------------------------------------------------------------- */

START_TEST(test_keygen_parses)
{
	char text[KEYGEN_MAX];
	ck_assert_int_ge(sodium_init(), 0);
	/* 256 bytes are enough, as crypt.h promises. */
	ck_assert(keygen_text(text, sizeof(text)));
	ck_assert_ptr_nonnull(strstr(text, "\nindex:"));
	ck_assert_ptr_nonnull(strstr(text, "\nv1:"));
	struct keyring *k = parse_ok(text);
	ck_assert_uint_eq(keyring_current(k), 1);
	ck_assert(keyring_has(k, 1));
	ck_assert(!keyring_has(k, 0));
	ck_assert(!keyring_has(k, 2));
	keyring_free(k);
}
END_TEST

START_TEST(test_keygens_differ)
{
	char a[KEYGEN_MAX], b[KEYGEN_MAX];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert(keygen_text(a, sizeof(a)));
	ck_assert(keygen_text(b, sizeof(b)));
	ck_assert_str_ne(a, b);
	/* Both keys are new, not only one of them. */
	const char *ia = strstr(a, "\nindex:"), *ib = strstr(b, "\nindex:");
	const char *va = strstr(a, "\nv1:"), *vb = strstr(b, "\nv1:");
	ck_assert_ptr_nonnull(ia);
	ck_assert_ptr_nonnull(ib);
	ck_assert_ptr_nonnull(va);
	ck_assert_ptr_nonnull(vb);
	ck_assert(strncmp(ia, ib, 7 + 43) != 0);
	ck_assert(strncmp(va, vb, 4 + 43) != 0);
	ck_assert(strncmp(ia + 7, va + 4, 43) != 0);
}
END_TEST

START_TEST(test_keygen_small_buffer)
{
	char text[KEYGEN_MAX], small[KEYGEN_MAX];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert(keygen_text(text, sizeof(text)));
	size_t need = strlen(text) + 1;
	ck_assert(!keygen_text(small, need - 1));
	ck_assert(!keygen_text(small, 16));
	ck_assert(!keygen_text(small, 1));
	ck_assert(!keygen_text(small, 0));
	ck_assert(keygen_text(small, need));
	ck_assert_uint_eq(strlen(small), need - 1);
}
END_TEST

/* --- keyring_parse -------------------------------------------------------- */

START_TEST(test_fixture_keys)
{
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_uint_eq(decoded_len(K_A), 32);
	ck_assert_uint_eq(decoded_len(K_B), 32);
	ck_assert_uint_eq(decoded_len(K_C), 32);
	ck_assert_uint_eq(decoded_len(K_31), 31);
	ck_assert_uint_eq(decoded_len(K_33), 33);
	ck_assert_uint_eq(decoded_len(K_PLUS), 0);
}
END_TEST

static const char *const good_layouts[] = {
	"index:" K_A "\nv1:" K_B "\n",
	"index:" K_A "\nv1:" K_B,
	"# keys\n\n# more\nindex:" K_A "\n\n\nv1:" K_B "\n# end\n",
	"index:" K_A "\r\nv1:" K_B "\r\n",
	"# comment\r\n\r\nindex:" K_A "\r\n\r\nv1:" K_B "\r\n",
	"index:" K_A ",v1:" K_B,
	"index:" K_A ", v1:" K_B,
	"index:" K_A " v1:" K_B,
	"  index:" K_A "   v1:" K_B "  ",
	"index:" K_A "\tv1:" K_B,
	",index:" K_A ",,v1:" K_B ",",
	"v1:" K_B "\nindex:" K_A "\n",
	"index:" K_A " # the index key\nv1:" K_B " # master key one\n",
};

START_TEST(test_parse_layouts)
{
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = parse_ok(good_layouts[_i]);
	ck_assert_uint_eq(keyring_current(k), 1);
	ck_assert(keyring_has(k, 1));
	ck_assert(!keyring_has(k, 2));
	keyring_free(k);
}
END_TEST

START_TEST(test_parse_versions)
{
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = parse_ok("index:" K_A "\nv10:" K_A "\nv1:" K_B "\nv2:" K_C "\n");
	ck_assert_uint_eq(keyring_current(k), 10);
	ck_assert(keyring_has(k, 1));
	ck_assert(keyring_has(k, 2));
	ck_assert(keyring_has(k, 10));
	ck_assert(!keyring_has(k, 0));
	ck_assert(!keyring_has(k, 3));
	ck_assert(!keyring_has(k, 9));
	ck_assert(!keyring_has(k, 11));
	keyring_free(k);

	/* As TIAOJIE_MASTER_KEY would hold them, on one line. */
	k = parse_ok("index:" K_A ",v1:" K_B ",v2:" K_C);
	ck_assert_uint_eq(keyring_current(k), 2);
	ck_assert(keyring_has(k, 1));
	ck_assert(keyring_has(k, 2));
	keyring_free(k);
}
END_TEST

static const char *const bad_texts[] = {
	"", "# only a comment\n\n", "v1:" K_B "\n",    /* no index key */
	"index:" K_A "\n",                             /* no version */
	"index:" K_PLUS "\nv1:" K_B "\n",              /* bad base64 */
	"index:" K_A "\nv1:" K_PLUS "\n",              /* bad base64 */
	"index:" K_A "\nv1:" K_31 "\n",                /* 31 bytes */
	"index:" K_A "\nv1:" K_33 "\n",                /* 33 bytes */
	"index:" K_31 "\nv1:" K_B "\n",                /* 31-byte index key */
	"index:" K_A "\nv1:" K_B "=\n",                /* padded */
	"index:" K_A "=\nv1:" K_B "\n",                /* padded */
	"index:" K_A "\nv0:" K_B "\n",                 /* version 0 */
	"index:" K_A "\nv1:" K_B "\nv1:" K_C "\n",     /* repeated */
	"index:" K_A "\nv1:" K_B "\nv01:" K_C "\n",    /* repeated, spelt apart */
	"index:" K_A "\nv1:" K_B "\nw1:" K_C "\n",     /* unknown name */
	"index:" K_A "\nv1:" K_B "\nindexx:" K_C "\n", /* unknown name */
	"index:" K_A "\nv:" K_B "\n",                  /* no number */
	"index:" K_A "\nv1a:" K_B "\n",                /* not a number */
	"index:" K_A "\nv-1:" K_B "\n",                /* not a number */
	"index" K_A "\nv1:" K_B "\n",                  /* missing colon */
	"index:" K_A "\nv1" K_B "\n",                  /* missing colon */
	"index:" K_A "\nv1:\n",                        /* empty key */
	"index:\nv1:" K_B "\n",                        /* empty index key */
	"index:" K_A "\nv1:" K_B "junk\n",             /* trailing text */
	"index:" K_A "\nv1:" K_B "\nnot a key line\n", /* stray words */
};

START_TEST(test_parse_refused)
{
	char err[256];
	ck_assert_int_ge(sodium_init(), 0);
	err[0] = '\0';
	struct keyring *k = keyring_parse(bad_texts[_i], err, sizeof(err));
	ck_assert_msg(k == NULL, "accepted bad key text %d: \"%s\"", _i, bad_texts[_i]);
	ck_assert_msg(err[0] != '\0', "bad key text %d refused without a reason", _i);
}
END_TEST

/* --- keyring_load ------------------------------------------------------- */

static struct keyring *
load_with(const char *key_file, const char *master_key, char *err, size_t errlen)
{
	const struct kv env[] = {
		{ "TIAOJIE_KEY_FILE", key_file },
		{ "TIAOJIE_MASTER_KEY", master_key },
		{ NULL, NULL },
	};
	fake_env = env;
	err[0] = '\0';
	struct keyring *k = keyring_load(fake_get, err, errlen);
	fake_env = NULL;
	return k;
}

/* Writes text to a new temporary file with the given mode; path gets its name. */
static void
write_key_file(char path[64], const char *text, mode_t mode)
{
	snprintf(path, 64, "/tmp/tiaojie-keys-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_load_key_file)
{
	char path[64], err[512];
	ck_assert_int_ge(sodium_init(), 0);
	write_key_file(path, "# keys\nindex:" K_A "\nv1:" K_B "\nv2:" K_C "\n", 0600);
	struct keyring *k = load_with(path, NULL, err, sizeof(err));
	ck_assert_msg(k != NULL, "mode 600 key file refused: %s", err);
	ck_assert_uint_eq(keyring_current(k), 2);
	ck_assert(keyring_has(k, 1));
	keyring_free(k);

	/* The file wins over TIAOJIE_MASTER_KEY. */
	k = load_with(path, "index:" K_A ",v1:" K_B ",v7:" K_C, err, sizeof(err));
	ck_assert_msg(k != NULL, "key file refused: %s", err);
	ck_assert_uint_eq(keyring_current(k), 2);
	ck_assert(!keyring_has(k, 7));
	keyring_free(k);

	/* A read-only file is fine too. */
	ck_assert_int_eq(chmod(path, 0400), 0);
	k = load_with(path, NULL, err, sizeof(err));
	ck_assert_msg(k != NULL, "mode 400 key file refused: %s", err);
	keyring_free(k);
	/* So is one the owner alone may execute: nobody else gets anything. */
	ck_assert_int_eq(chmod(path, 0700), 0);
	k = load_with(path, NULL, err, sizeof(err));
	ck_assert_msg(k != NULL, "mode 700 key file refused: %s", err);
	keyring_free(k);
	unlink(path);
}
END_TEST

static const mode_t loose_modes[] = { 0640, 0604, 0644, 0660, 0620, 0602, 0610, 0601 };

START_TEST(test_load_key_file_loose_mode)
{
	char path[64], err[512];
	mode_t mode = loose_modes[_i];
	ck_assert_int_ge(sodium_init(), 0);
	write_key_file(path, "index:" K_A "\nv1:" K_B "\n", mode);
	struct keyring *k = load_with(path, NULL, err, sizeof(err));
	unlink(path);
	ck_assert_msg(k == NULL, "key file with mode %03o accepted", (unsigned)mode);
	ck_assert_msg(
	    strstr(err, "chmod 600") != NULL, "mode %03o: err \"%s\"", (unsigned)mode, err);
	ck_assert_msg(strstr(err, path) != NULL, "err \"%s\" does not name the file", err);
}
END_TEST

START_TEST(test_load_key_file_missing)
{
	char dir[] = "/tmp/tiaojie-keydir-XXXXXX", path[128], err[512];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/absent.keys", dir);
	/* A missing file is an error, not a reason to use TIAOJIE_MASTER_KEY. */
	struct keyring *k = load_with(path, "index:" K_A ",v1:" K_B, err, sizeof(err));
	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(err, path) != NULL, "err \"%s\" does not name the file", err);
	ck_assert_msg(
	    strstr(err, "tiaojie keygen") != NULL, "err \"%s\" does not say how to make one", err);

	/* A directory is not a key file, whatever its mode. */
	ck_assert_int_eq(chmod(dir, 0700), 0);
	k = load_with(dir, NULL, err, sizeof(err));
	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(err, "regular file") != NULL, "a directory refused with \"%s\"", err);
	ck_assert_msg(strstr(err, dir) != NULL, "err \"%s\" does not name the directory", err);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_load_key_file_too_long)
{
	/* 64 KiB of keys and comments is read; one byte more is refused. */
	enum { MAX = 64 * 1024 };
	char path[64], err[512];
	ck_assert_int_ge(sodium_init(), 0);
	const char *keys = "index:" K_A "\nv1:" K_B "\n";
	char *text = malloc(MAX + 2);
	ck_assert_ptr_nonnull(text);
	size_t len = strlen(keys);
	memcpy(text, keys, len);
	memset(text + len, '#', MAX - len);
	text[MAX] = '\0';
	for (size_t i = len; i < MAX; i += 100)
		text[i] = '\n';
	write_key_file(path, text, 0600);
	struct keyring *k = load_with(path, NULL, err, sizeof(err));
	ck_assert_msg(k != NULL, "a key file of 64 KiB refused: %s", err);
	keyring_free(k);
	unlink(path);

	strcpy(text + MAX, "#");
	write_key_file(path, text, 0600);
	k = load_with(path, NULL, err, sizeof(err));
	unlink(path);
	free(text);
	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(err, "larger than") != NULL && strstr(err, path) != NULL,
	    "an over-long key file refused with \"%s\"", err);
}
END_TEST

START_TEST(test_load_master_key)
{
	char err[512];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = load_with(NULL, "index:" K_A ",v1:" K_B ",v3:" K_C, err, sizeof(err));
	ck_assert_msg(k != NULL, "TIAOJIE_MASTER_KEY refused: %s", err);
	ck_assert_uint_eq(keyring_current(k), 3);
	keyring_free(k);

	/* An empty TIAOJIE_KEY_FILE is unset. */
	k = load_with("", "index:" K_A " v1:" K_B, err, sizeof(err));
	ck_assert_msg(k != NULL, "TIAOJIE_MASTER_KEY refused: %s", err);
	ck_assert_uint_eq(keyring_current(k), 1);
	keyring_free(k);

	k = load_with(NULL, "index:" K_A ",v1:" K_31, err, sizeof(err));
	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(err, "TIAOJIE_MASTER_KEY") != NULL, "err \"%s\"", err);
}
END_TEST

START_TEST(test_load_no_keys)
{
	char err[512];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_ptr_null(load_with(NULL, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "tiaojie keygen") != NULL, "err \"%s\"", err);
	ck_assert_ptr_null(load_with("", "", err, sizeof(err)));
	ck_assert_msg(strstr(err, "tiaojie keygen") != NULL, "err \"%s\"", err);
}
END_TEST

START_TEST(test_load_key_file_bad_line)
{
	char path[64], err[512];
	ck_assert_int_ge(sodium_init(), 0);
	write_key_file(path, "index:" K_A "\nv1:" K_B "\nv2:" K_33 "\n", 0600);
	struct keyring *k = load_with(path, NULL, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(err, "TIAOJIE_KEY_FILE") != NULL, "err \"%s\"", err);
	ck_assert_msg(strstr(err, path) != NULL, "err \"%s\" does not name the file", err);
}
END_TEST

/* --- wrap and unwrap ------------------------------------------------------ */

START_TEST(test_wrap_roundtrip)
{
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES];
	unsigned char w1[CRYPT_WRAPPED_BYTES], w2[CRYPT_WRAPPED_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(2);
	crypt_new_data_key(dek);
	ck_assert(crypt_wrap(k, 1, 42, dek, w1));
	ck_assert_uint_eq(w1[0], 1);
	memset(back, 0, sizeof(back));
	ck_assert(crypt_unwrap(k, 1, 42, w1, sizeof(w1), back));
	ck_assert_mem_eq(back, dek, sizeof(dek));
	ck_assert_ptr_null(memmem(w1, sizeof(w1), dek, sizeof(dek)));

	/* Under the other version, and wrapped twice: two different outputs. */
	ck_assert(crypt_wrap(k, 2, 42, dek, w2));
	ck_assert(memcmp(w1, w2, sizeof(w1)) != 0);
	memset(back, 0, sizeof(back));
	ck_assert(crypt_unwrap(k, 2, 42, w2, sizeof(w2), back));
	ck_assert_mem_eq(back, dek, sizeof(dek));
	ck_assert(crypt_wrap(k, 1, 42, dek, w2));
	ck_assert(memcmp(w1, w2, sizeof(w1)) != 0);

	/* Extreme ids. */
	ck_assert(crypt_wrap(k, 2, INT64_MIN, dek, w2));
	ck_assert(crypt_unwrap(k, 2, INT64_MIN, w2, sizeof(w2), back));
	ck_assert(!crypt_unwrap(k, 2, INT64_MAX, w2, sizeof(w2), back));
	keyring_free(k);
}
END_TEST

START_TEST(test_wrap_same_keys_reloaded)
{
	char text[KEYGEN_MAX];
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES], w[CRYPT_WRAPPED_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert(keygen_text(text, sizeof(text)));
	struct keyring *a = parse_ok(text), *b = parse_ok(text);
	crypt_new_data_key(dek);
	ck_assert(crypt_wrap(a, 1, 7, dek, w));
	ck_assert(crypt_unwrap(b, 1, 7, w, sizeof(w), back));
	ck_assert_mem_eq(back, dek, sizeof(dek));
	keyring_free(a);
	keyring_free(b);
}
END_TEST

START_TEST(test_unwrap_wrong_id_or_version)
{
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES], w[CRYPT_WRAPPED_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(2);
	crypt_new_data_key(dek);
	ck_assert(crypt_wrap(k, 1, 42, dek, w));
	ck_assert(!crypt_unwrap(k, 1, 43, w, sizeof(w), back));
	ck_assert(!crypt_unwrap(k, 1, 41, w, sizeof(w), back));
	ck_assert(!crypt_unwrap(k, 1, -42, w, sizeof(w), back));
	ck_assert(!crypt_unwrap(k, 1, 0, w, sizeof(w), back));
	/* Version 2 is present, but not the one that wrapped it. */
	ck_assert(keyring_has(k, 2));
	ck_assert(!crypt_unwrap(k, 2, 42, w, sizeof(w), back));
	/* Still fine with the right ones. */
	ck_assert(crypt_unwrap(k, 1, 42, w, sizeof(w), back));
	ck_assert_mem_eq(back, dek, sizeof(dek));
	keyring_free(k);
}
END_TEST

START_TEST(test_wrap_missing_version)
{
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES], w[CRYPT_WRAPPED_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(2);
	crypt_new_data_key(dek);
	ck_assert(!crypt_wrap(k, 3, 42, dek, w));
	ck_assert(!crypt_wrap(k, 0, 42, dek, w));
	ck_assert(crypt_wrap(k, 1, 42, dek, w));
	ck_assert(!crypt_unwrap(k, 3, 42, w, sizeof(w), back));
	ck_assert(!crypt_unwrap(k, 0, 42, w, sizeof(w), back));
	keyring_free(k);
}
END_TEST

START_TEST(test_unwrap_altered)
{
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES], w[CRYPT_WRAPPED_BYTES];
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(1);
	crypt_new_data_key(dek);
	ck_assert(crypt_wrap(k, 1, 42, dek, w));
	for (size_t i = 0; i < sizeof(w); i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			w[i] ^= flips[f];
			ck_assert_msg(!crypt_unwrap(k, 1, 42, w, sizeof(w), back),
			    "byte %zu ^ 0x%02x accepted", i, flips[f]);
			w[i] ^= flips[f];
		}
	}
	ck_assert(crypt_unwrap(k, 1, 42, w, sizeof(w), back));
	ck_assert_mem_eq(back, dek, sizeof(dek));
	keyring_free(k);
}
END_TEST

START_TEST(test_unwrap_wrong_length)
{
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES], w[CRYPT_WRAPPED_BYTES + 8];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(1);
	crypt_new_data_key(dek);
	memset(w, 0, sizeof(w));
	ck_assert(crypt_wrap(k, 1, 42, dek, w));
	ck_assert(!crypt_unwrap(k, 1, 42, w, CRYPT_WRAPPED_BYTES - 1, back));
	ck_assert(!crypt_unwrap(k, 1, 42, w, CRYPT_WRAPPED_BYTES + 1, back));
	ck_assert(!crypt_unwrap(k, 1, 42, w, CRYPT_WRAPPED_BYTES + 8, back));
	ck_assert(!crypt_unwrap(k, 1, 42, w, 1, back));
	ck_assert(crypt_unwrap(k, 1, 42, w, CRYPT_WRAPPED_BYTES, back));
	keyring_free(k);
}
END_TEST

/* A wrong master key fails cleanly. */
START_TEST(test_unwrap_other_keyring)
{
	char ta[KEYGEN_MAX], tb[KEYGEN_MAX];
	unsigned char dek[CRYPT_KEY_BYTES], back[CRYPT_KEY_BYTES], w[CRYPT_WRAPPED_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert(keygen_text(ta, sizeof(ta)));
	ck_assert(keygen_text(tb, sizeof(tb)));
	struct keyring *a = parse_ok(ta), *b = parse_ok(tb);
	ck_assert(keyring_has(b, 1));
	crypt_new_data_key(dek);
	ck_assert(crypt_wrap(a, 1, 42, dek, w));
	ck_assert(!crypt_unwrap(b, 1, 42, w, sizeof(w), back));
	ck_assert(crypt_unwrap(a, 1, 42, w, sizeof(w), back));
	ck_assert_mem_eq(back, dek, sizeof(dek));
	keyring_free(a);
	keyring_free(b);
}
END_TEST

/* --- seal and open -------------------------------------------------------- */

/* Seals len bytes for t.c of row r; the caller frees. */
static unsigned char *
seal_ok(const unsigned char *dek, const char *t, const char *c, const char *r,
    const unsigned char *plain, size_t len)
{
	unsigned char *out = malloc(len + CRYPT_FIELD_OVERHEAD);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(crypt_seal(dek, t, c, r, plain, len, out), "sealing %zu bytes refused", len);
	ck_assert_uint_eq(out[0], 1);
	return out;
}

/* Opens what seal_ok made; true when it decrypts to plain. */
static bool
opens_to(const unsigned char *dek, const char *t, const char *c, const char *r,
    const unsigned char *in, size_t inlen, const unsigned char *plain, size_t len)
{
	size_t room = inlen > CRYPT_FIELD_OVERHEAD ? inlen - CRYPT_FIELD_OVERHEAD : 1;
	unsigned char *out = malloc(room);
	ck_assert_ptr_nonnull(out);
	size_t got = (size_t)-1;
	bool ok = crypt_open(dek, t, c, r, in, inlen, out, &got);
	if (ok) {
		ck_assert_uint_eq(got, len);
		ck_assert(len == 0 || memcmp(out, plain, len) == 0);
	}
	free(out);
	return ok;
}

START_TEST(test_seal_roundtrip)
{
	static const char chinese[] = "张三，广西壮族自治区柳州市城中区，电话 138 0013 8000";
	unsigned char dek[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	unsigned char *big = malloc(CRYPT_FIELD_MAX);
	ck_assert_ptr_nonnull(big);
	randombytes_buf(big, CRYPT_FIELD_MAX);
	const struct {
		const unsigned char *plain;
		size_t len;
	} cases[] = {
		{ (const unsigned char *)"", 0 },
		{ (const unsigned char *)"x", 1 },
		{ (const unsigned char *)chinese, sizeof(chinese) - 1 },
		{ big, CRYPT_FIELD_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len;
		unsigned char *s = seal_ok(dek, "parties", "name", "17", cases[i].plain, len);
		ck_assert_msg(opens_to(dek, "parties", "name", "17", s, len + CRYPT_FIELD_OVERHEAD,
				  cases[i].plain, len),
		    "case %zu (%zu bytes) did not open", i, len);
		if (len > 4)
			ck_assert_msg(
			    memmem(s, len + CRYPT_FIELD_OVERHEAD, cases[i].plain, len) == NULL,
			    "case %zu: plaintext visible", i);
		free(s);
	}
	free(big);
}
END_TEST

START_TEST(test_seal_twice_differs)
{
	static const unsigned char plain[] = "13800138000";
	size_t len = sizeof(plain) - 1;
	unsigned char dek[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	unsigned char *a = seal_ok(dek, "parties", "phone", "1", plain, len);
	unsigned char *b = seal_ok(dek, "parties", "phone", "1", plain, len);
	ck_assert(memcmp(a, b, len + CRYPT_FIELD_OVERHEAD) != 0);
	/* The nonces differ, not only the ciphertexts. */
	ck_assert(memcmp(a + 1, b + 1, 24) != 0);
	ck_assert(
	    opens_to(dek, "parties", "phone", "1", a, len + CRYPT_FIELD_OVERHEAD, plain, len));
	ck_assert(
	    opens_to(dek, "parties", "phone", "1", b, len + CRYPT_FIELD_OVERHEAD, plain, len));
	free(a);
	free(b);
}
END_TEST

START_TEST(test_open_moved)
{
	static const unsigned char plain[] = "110105194912310021";
	size_t len = sizeof(plain) - 1, n = len + CRYPT_FIELD_OVERHEAD;
	unsigned char dek[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	unsigned char *s = seal_ok(dek, "parties", "id_number", "12", plain, len);
	ck_assert(opens_to(dek, "parties", "id_number", "12", s, n, plain, len));
	ck_assert(!opens_to(dek, "parties", "id_number", "13", s, n, plain, len));
	ck_assert(!opens_to(dek, "parties", "id_number", "1", s, n, plain, len));
	ck_assert(!opens_to(dek, "parties", "id_number", "120", s, n, plain, len));
	ck_assert(!opens_to(dek, "parties", "id_number", "", s, n, plain, len));
	ck_assert(!opens_to(dek, "parties", "phone", "12", s, n, plain, len));
	ck_assert(!opens_to(dek, "parties", "id_numbe", "12", s, n, plain, len));
	ck_assert(!opens_to(dek, "witnesses", "id_number", "12", s, n, plain, len));
	ck_assert(!opens_to(dek, "party", "id_number", "12", s, n, plain, len));
	ck_assert(!opens_to(dek, "id_number", "parties", "12", s, n, plain, len));
	free(s);
}
END_TEST

START_TEST(test_open_altered)
{
	static const unsigned char plain[] = "广西柳州 545001";
	size_t len = sizeof(plain) - 1, n = len + CRYPT_FIELD_OVERHEAD;
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	unsigned char dek[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	unsigned char *s = seal_ok(dek, "cases", "address", "3", plain, len);
	for (size_t i = 0; i < n; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			s[i] ^= flips[f];
			ck_assert_msg(!opens_to(dek, "cases", "address", "3", s, n, plain, len),
			    "byte %zu ^ 0x%02x accepted", i, flips[f]);
			s[i] ^= flips[f];
		}
	}
	ck_assert(opens_to(dek, "cases", "address", "3", s, n, plain, len));
	free(s);
}
END_TEST

START_TEST(test_open_truncated)
{
	static const unsigned char plain[] = "a short note";
	size_t len = sizeof(plain) - 1, n = len + CRYPT_FIELD_OVERHEAD;
	unsigned char dek[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	unsigned char *s = seal_ok(dek, "cases", "note", "3", plain, len);
	for (size_t cut = 0; cut < n; cut++) {
		/* A copy of exactly cut bytes, so that reading past it is caught. */
		unsigned char *t = malloc(cut > 0 ? cut : 1);
		ck_assert_ptr_nonnull(t);
		memcpy(t, s, cut);
		ck_assert_msg(!opens_to(dek, "cases", "note", "3", t, cut, plain, len),
		    "%zu of %zu bytes accepted", cut, n);
		free(t);
	}
	/* Nor with bytes dropped from the front. */
	ck_assert(!opens_to(dek, "cases", "note", "3", s + 1, n - 1, plain, len));
	ck_assert(opens_to(dek, "cases", "note", "3", s, n, plain, len));
	free(s);
}
END_TEST

START_TEST(test_field_too_long)
{
	size_t big = CRYPT_FIELD_MAX + CRYPT_FIELD_OVERHEAD + 1;
	unsigned char dek[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	unsigned char *in = calloc(1, big), *plain = calloc(1, big);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(plain);
	size_t got = 0;
	/* A valid field of the longest length, with one byte too many. */
	ck_assert(crypt_seal(dek, "cases", "note", "3", plain, CRYPT_FIELD_MAX, in));
	ck_assert(crypt_open(dek, "cases", "note", "3", in, big - 1, plain, &got));
	ck_assert_uint_eq(got, CRYPT_FIELD_MAX);
	ck_assert(!crypt_open(dek, "cases", "note", "3", in, big, plain, &got));
	/* Seal refuses a plaintext over the limit. */
	ck_assert(!crypt_seal(dek, "cases", "note", "3", plain, CRYPT_FIELD_MAX + 1, in));
	ck_assert(!crypt_seal(dek, "cases", "note", "3", plain, SIZE_MAX / 2, in));
	free(in);
	free(plain);
}
END_TEST

START_TEST(test_open_wrong_key_or_format)
{
	static const unsigned char plain[] = "调解协议";
	size_t len = sizeof(plain) - 1, n = len + CRYPT_FIELD_OVERHEAD;
	unsigned char dek[CRYPT_KEY_BYTES], other[CRYPT_KEY_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);
	crypt_new_data_key(other);
	ck_assert(memcmp(dek, other, sizeof(dek)) != 0);
	unsigned char *s = seal_ok(dek, "cases", "agreement", "9", plain, len);
	ck_assert(!opens_to(other, "cases", "agreement", "9", s, n, plain, len));
	s[0] = 2;
	ck_assert(!opens_to(dek, "cases", "agreement", "9", s, n, plain, len));
	s[0] = 0;
	ck_assert(!opens_to(dek, "cases", "agreement", "9", s, n, plain, len));
	s[0] = 1;
	ck_assert(opens_to(dek, "cases", "agreement", "9", s, n, plain, len));
	free(s);
}
END_TEST

/*
 * The associated data is "tiaojie:f:1:<len>:table:<len>:column:row", 255
 * bytes at most.
 */
START_TEST(test_names_too_long)
{
	static const unsigned char plain[] = "x";
	char t[300], c[300], r[300];
	unsigned char dek[CRYPT_KEY_BYTES], out[1 + CRYPT_FIELD_OVERHEAD], back[1];
	size_t got = 0;
	ck_assert_int_ge(sodium_init(), 0);
	crypt_new_data_key(dek);

	/* The longest table name that keeps the associated data within 255 bytes. */
	size_t fit = 0;
	for (size_t n = 1; n < 300; n++) {
		char ad[400];
		memset(t, 't', n);
		t[n] = '\0';
		if (snprintf(ad, sizeof(ad), "tiaojie:f:1:%zu:%s:1:c:1", n, t) <= 255)
			fit = n;
	}
	memset(t, 't', fit);
	t[fit] = '\0';
	ck_assert(crypt_seal(dek, t, "c", "1", plain, 1, out));
	ck_assert(crypt_open(dek, t, "c", "1", out, sizeof(out), back, &got));
	ck_assert_uint_eq(got, 1);
	ck_assert_uint_eq(back[0], 'x');

	/* One more byte in any of them: refused. */
	t[fit] = 't';
	t[fit + 1] = '\0';
	ck_assert(!crypt_seal(dek, t, "c", "1", plain, 1, out));
	ck_assert(!crypt_open(dek, t, "c", "1", out, sizeof(out), back, &got));
	t[fit] = '\0';
	ck_assert(!crypt_seal(dek, t, "cc", "1", plain, 1, out));
	ck_assert(!crypt_seal(dek, t, "c", "12", plain, 1, out));

	/* Each one long on its own. */
	memset(t, 't', 299);
	t[299] = '\0';
	memset(c, 'c', 299);
	c[299] = '\0';
	memset(r, '7', 299);
	r[299] = '\0';
	ck_assert(!crypt_seal(dek, t, "c", "1", plain, 1, out));
	ck_assert(!crypt_seal(dek, "t", c, "1", plain, 1, out));
	ck_assert(!crypt_seal(dek, "t", "c", r, plain, 1, out));
	ck_assert(!crypt_open(dek, "t", c, "1", out, sizeof(out), back, &got));
	ck_assert(!crypt_open(dek, "t", "c", r, out, sizeof(out), back, &got));
}
END_TEST

/* --- blind_normalise -------------------------------------------------------- */

START_TEST(test_normalise_phone)
{
	static const char *const same[] = {
		"13800138000",
		"138 0013 8000",
		"138-0013-8000",
		"+86 138 0013 8000",
		"+86-138-0013-8000",
		"0086 13800138000",
		"8613800138000",
		"(+86) 138 0013 8000",
	};
	char out[32];
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		memset(out, 0, sizeof(out));
		ck_assert_msg(blind_normalise(BLIND_PHONE, same[i], out, sizeof(out)),
		    "\"%s\" refused", same[i]);
		ck_assert_str_eq(out, "13800138000");
	}
	ck_assert(blind_normalise(BLIND_PHONE, "0772-2812345", out, sizeof(out)));
	ck_assert_str_eq(out, "07722812345");
	ck_assert(blind_normalise(BLIND_PHONE, "(0772) 281 2345", out, sizeof(out)));
	ck_assert_str_eq(out, "07722812345");
	/* 7 to 12 digits: a local landline up to an area code and 8 digits. */
	ck_assert(blind_normalise(BLIND_PHONE, "2812345", out, sizeof(out)));
	ck_assert_str_eq(out, "2812345");
	ck_assert(blind_normalise(BLIND_PHONE, "075528123456", out, sizeof(out)));
	ck_assert_str_eq(out, "075528123456");
	ck_assert(!blind_normalise(BLIND_PHONE, "281234", out, sizeof(out)));
	ck_assert(!blind_normalise(BLIND_PHONE, "0755281234567", out, sizeof(out)));
	/* The output must have room for the digits and the NUL. */
	ck_assert(blind_normalise(BLIND_PHONE, "13800138000", out, 12));
	ck_assert(!blind_normalise(BLIND_PHONE, "13800138000", out, 11));
}
END_TEST

START_TEST(test_normalise_phone_refused)
{
	static const char *const bad[] = {
		"",
		"   ",
		"1234",
		"abc",
		"1380013800a",
		"138 0013 8000 ext",
		"138.0013.8000",
		"138/0013/8000",
		"１３８００１３８０００", /* full-width digits */
		"1234567890123456",
		"12345678901234567",
		"123456789012345678901234567890",
		"1234567890123456789012345678901234567890",
		"+8612345678901234",
		"13800138000\n",
	};
	char out[32];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!blind_normalise(BLIND_PHONE, bad[i], out, sizeof(out)),
		    "\"%s\" accepted as a phone number", bad[i]);
}
END_TEST

/*
 * crypt.h promises the canonical form "without +86 or 0086", so one number
 * written with either prefix has one form, whatever its length: a landline
 * in international form has 10 digits after the country code, not 11.
 */
START_TEST(test_normalise_phone_country_code)
{
	static const char *const forms[][2] = {
		{ "+86 772 281 2345", "0086 772 281 2345" },
		{ "+86-772-2812345", "0086-772-2812345" },
		{ "+86 10 6512 3456", "0086 10 6512 3456" },
		{ "+86 138 0013 8000", "0086 138 0013 8000" },
	};
	char plus[32], zeros[32];
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_msg(blind_normalise(BLIND_PHONE, forms[i][0], plus, sizeof(plus)),
		    "\"%s\" refused", forms[i][0]);
		ck_assert_msg(blind_normalise(BLIND_PHONE, forms[i][1], zeros, sizeof(zeros)),
		    "\"%s\" refused", forms[i][1]);
		ck_assert_msg(strcmp(plus, zeros) == 0, "\"%s\" gives %s but \"%s\" gives %s",
		    forms[i][0], plus, forms[i][1], zeros);
		ck_assert_msg(strncmp(plus, "86", 2) != 0, "\"%s\" kept the country code: %s",
		    forms[i][0], plus);
	}
}
END_TEST

/*
 * A canonical form is its own canonical form. A country code given twice
 * names no number: taken, "86 0086 231 0026" would become 00862310026,
 * whose canonical form is 2310026.
 */
START_TEST(test_normalise_phone_canonical)
{
	static const char *const forms[] = {
		"13800138000",
		"+86 138 0013 8000",
		"0086 13800138000",
		"8613800138000",
		"0772-2812345",
		"+86 772 281 2345",
		"2812345",
		"+86 0772 281 2345",
	};
	static const char *const twice[] = {
		"8600862310026",
		"86 0086 231 0026",
		"+86 0086 231 0026",
		"0086 0086 231 0026",
		"+86 0086 138 0013 8000",
	};
	char out[32], again[32];
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_msg(blind_normalise(BLIND_PHONE, forms[i], out, sizeof(out)),
		    "\"%s\" refused", forms[i]);
		ck_assert_msg(blind_normalise(BLIND_PHONE, out, again, sizeof(again)),
		    "the canonical form %s of \"%s\" refused", out, forms[i]);
		ck_assert_str_eq(again, out);
	}
	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++)
		ck_assert_msg(!blind_normalise(BLIND_PHONE, twice[i], out, sizeof(out)),
		    "\"%s\" accepted as %s", twice[i], out);
}
END_TEST

/* The GB 11643 check character of 17 digits, computed here independently. */
static char
id_check(const char *d17)
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += (d17[i] - '0') * weight[i];
	return "10X98765432"[sum % 11];
}

static const char *const id_bases[] = {
	"11010519491231002",
	"45020219800101123",
	"44030419900307541",
	"45022119751120008",
	"32010619881212999",
	"65010120000229000",
	"45020019700101000",
	"51010419960815327",
	"45022220101010101",
	"23010319850606777",
	"37020219991231888",
};

START_TEST(test_normalise_id_number)
{
	char out[32], id[32];
	/* The well-known example confirms id_check(). */
	ck_assert_int_eq(id_check("11010519491231002"), 'X');
	ck_assert(blind_normalise(BLIND_ID_NUMBER, "11010519491231002X", out, sizeof(out)));
	ck_assert_str_eq(out, "11010519491231002X");
	ck_assert(blind_normalise(BLIND_ID_NUMBER, "11010519491231002x", out, sizeof(out)));
	ck_assert_str_eq(out, "11010519491231002X");
	ck_assert(blind_normalise(BLIND_ID_NUMBER, "110105 19491231 002x", out, sizeof(out)));
	ck_assert_str_eq(out, "11010519491231002X");
	ck_assert(blind_normalise(BLIND_ID_NUMBER, " 110105 1949 1231 002X ", out, sizeof(out)));
	ck_assert_str_eq(out, "11010519491231002X");

	bool seen_digit = false;
	for (size_t i = 0; i < sizeof(id_bases) / sizeof(id_bases[0]); i++) {
		char want = id_check(id_bases[i]);
		seen_digit = seen_digit || want != 'X';
		snprintf(id, sizeof(id), "%s%c", id_bases[i], want);
		ck_assert_msg(
		    blind_normalise(BLIND_ID_NUMBER, id, out, sizeof(out)), "valid %s refused", id);
		ck_assert_str_eq(out, id);
		/* Every other check character is refused. */
		for (const char *w = "0123456789Xx"; *w; w++) {
			if (*w == want || (*w == 'x' && want == 'X'))
				continue;
			id[17] = *w;
			ck_assert_msg(!blind_normalise(BLIND_ID_NUMBER, id, out, sizeof(out)),
			    "%s accepted with check character %c, not %c", id, *w, want);
		}
	}
	ck_assert(seen_digit);
	/* The output must have room for 18 characters and the NUL. */
	ck_assert(blind_normalise(BLIND_ID_NUMBER, "11010519491231002X", out, 19));
	ck_assert(!blind_normalise(BLIND_ID_NUMBER, "11010519491231002X", out, 18));
}
END_TEST

START_TEST(test_normalise_id_number_refused)
{
	static const char *const bad[] = {
		"", "   ", "11010519491231002", /* 17 */
		"110105194912310021",           /* wrong check digit */
		"11010519491231002Y",           /* not X */
		"11010519491231002XX",          /* 19 */
		"110105194912310020X",          /* 19 */
		"1101051949123100212",          /* 19 */
		"X10105194912310021",           /* X at the front */
		"1101051949123100X2",           /* X inside */
		"a1010519491231002X",           /* a letter */
		"11010519491231o02X",           /* a letter */
		"110105-19491231-002X",         /* dashes */
		"11010519491231002X\n", "１１０１０５１９４９１２３１００２Ｘ", /* full-width */
	};
	char out[32];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!blind_normalise(BLIND_ID_NUMBER, bad[i], out, sizeof(out)),
		    "\"%s\" accepted as an ID number", bad[i]);
}
END_TEST

/* --- blind_index ---------------------------------------------------------- */

START_TEST(test_blind_deterministic)
{
	char text[KEYGEN_MAX], phone[16];
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert(keygen_text(text, sizeof(text)));
	struct keyring *a = parse_ok(text), *b = parse_ok(text);
	for (int i = 0; i < 50; i++) {
		snprintf(phone, sizeof(phone), "1390000%04d", i);
		uint32_t v = blind_index(a, BLIND_PHONE, phone);
		ck_assert_uint_lt(v, 1u << BLIND_BITS);
		ck_assert_uint_eq(blind_index(a, BLIND_PHONE, phone), v);
		/* The same key text loaded again gives the same index. */
		ck_assert_uint_eq(blind_index(b, BLIND_PHONE, phone), v);
	}
	keyring_free(a);
	keyring_free(b);
}
END_TEST

START_TEST(test_blind_master_keys_do_not_matter)
{
	char phone[16];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *a = parse_ok("index:" K_A "\nv1:" K_B "\n");
	struct keyring *b = parse_ok("index:" K_A "\nv1:" K_C "\nv2:" K_B "\n");
	struct keyring *c = parse_ok("index:" K_B "\nv1:" K_B "\n");
	int differ = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(phone, sizeof(phone), "1390000%04d", i);
		/* Adding a master key version keeps every look-up working. */
		ck_assert_uint_eq(
		    blind_index(a, BLIND_PHONE, phone), blind_index(b, BLIND_PHONE, phone));
		differ += blind_index(a, BLIND_PHONE, phone) != blind_index(c, BLIND_PHONE, phone);
	}
	/* Another index key gives other indexes. */
	ck_assert_int_ge(differ, 48);
	keyring_free(a);
	keyring_free(b);
	keyring_free(c);
}
END_TEST

START_TEST(test_blind_kinds_differ)
{
	char id[32];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(1);
	int equal = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "4502021980010%04d", i);
		snprintf(id + 17, sizeof(id) - 17, "%c", id_check(id));
		uint32_t p = blind_index(k, BLIND_PHONE, id),
			 n = blind_index(k, BLIND_ID_NUMBER, id);
		ck_assert_uint_lt(p, 1u << BLIND_BITS);
		ck_assert_uint_lt(n, 1u << BLIND_BITS);
		equal += p == n;
	}
	ck_assert_int_le(equal, 1);
	keyring_free(k);
}
END_TEST

START_TEST(test_blind_keyrings_differ)
{
	char phone[16];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *a = random_keyring(1), *b = random_keyring(1);
	int differ = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(phone, sizeof(phone), "1860772%04d", i);
		differ += blind_index(a, BLIND_PHONE, phone) != blind_index(b, BLIND_PHONE, phone);
	}
	ck_assert_int_ge(differ, 48);
	keyring_free(a);
	keyring_free(b);
}
END_TEST

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * 20,000 values in 2^24 buckets: about n^2 / 2^25 = 12 collisions are
 * expected, so at least 19,900 distinct indexes.
 */
START_TEST(test_blind_distribution)
{
	enum { N = 20000 };
	char phone[16];
	ck_assert_int_ge(sodium_init(), 0);
	struct keyring *k = random_keyring(1);
	uint32_t *v = malloc(N * sizeof(*v));
	ck_assert_ptr_nonnull(v);
	for (int i = 0; i < N; i++) {
		snprintf(phone, sizeof(phone), "138%08d", i * 4999);
		v[i] = blind_index(k, BLIND_PHONE, phone);
		ck_assert_uint_lt(v[i], 1u << BLIND_BITS);
	}
	qsort(v, N, sizeof(*v), cmp_u32);
	int distinct = 1;
	for (int i = 1; i < N; i++)
		distinct += v[i] != v[i - 1];
	ck_assert_int_ge(distinct, 19900);
	/* The high bits are used: not everything sits in the low half. */
	ck_assert_uint_ge(v[N - 1], 1u << (BLIND_BITS - 1));
	free(v);
	keyring_free(k);
}
END_TEST

Suite *
crypt_suite(void)
{
	Suite *s = suite_create("crypt");

	TCase *tc = tcase_create("keys");
	tcase_add_test(tc, test_keygen_parses);
	tcase_add_test(tc, test_keygens_differ);
	tcase_add_test(tc, test_keygen_small_buffer);
	tcase_add_test(tc, test_fixture_keys);
	tcase_add_loop_test(
	    tc, test_parse_layouts, 0, (int)(sizeof(good_layouts) / sizeof(good_layouts[0])));
	tcase_add_test(tc, test_parse_versions);
	tcase_add_loop_test(
	    tc, test_parse_refused, 0, (int)(sizeof(bad_texts) / sizeof(bad_texts[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_load_key_file);
	tcase_add_loop_test(tc, test_load_key_file_loose_mode, 0,
	    (int)(sizeof(loose_modes) / sizeof(loose_modes[0])));
	tcase_add_test(tc, test_load_key_file_missing);
	tcase_add_test(tc, test_load_key_file_too_long);
	tcase_add_test(tc, test_load_master_key);
	tcase_add_test(tc, test_load_no_keys);
	tcase_add_test(tc, test_load_key_file_bad_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("wrap");
	tcase_add_test(tc, test_wrap_roundtrip);
	tcase_add_test(tc, test_wrap_same_keys_reloaded);
	tcase_add_test(tc, test_unwrap_wrong_id_or_version);
	tcase_add_test(tc, test_wrap_missing_version);
	tcase_add_test(tc, test_unwrap_altered);
	tcase_add_test(tc, test_unwrap_wrong_length);
	tcase_add_test(tc, test_unwrap_other_keyring);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_seal_roundtrip);
	tcase_add_test(tc, test_seal_twice_differs);
	tcase_add_test(tc, test_open_moved);
	tcase_add_test(tc, test_open_altered);
	tcase_add_test(tc, test_open_truncated);
	tcase_add_test(tc, test_field_too_long);
	tcase_add_test(tc, test_open_wrong_key_or_format);
	tcase_add_test(tc, test_names_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("blind");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_normalise_phone);
	tcase_add_test(tc, test_normalise_phone_refused);
	tcase_add_test(tc, test_normalise_phone_country_code);
	tcase_add_test(tc, test_normalise_phone_canonical);
	tcase_add_test(tc, test_normalise_id_number);
	tcase_add_test(tc, test_normalise_id_number_refused);
	tcase_add_test(tc, test_blind_deterministic);
	tcase_add_test(tc, test_blind_master_keys_do_not_matter);
	tcase_add_test(tc, test_blind_kinds_differ);
	tcase_add_test(tc, test_blind_keyrings_differ);
	tcase_add_test(tc, test_blind_distribution);
	suite_add_tcase(s, tc);

	return s;
}
