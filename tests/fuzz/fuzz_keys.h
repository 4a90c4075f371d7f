/*
 * fuzz_keys.h - fixed keys for the fuzz targets, so that the seed corpus
 * can hold wrapped keys and sealed fields that open (crypt_seeds.c made
 * them). Never used outside tests: every byte of them is public.
 */
#ifndef TIAOJIE_FUZZ_KEYS_H
#define TIAOJIE_FUZZ_KEYS_H

/* The index key is 32 bytes of 0x11, master key v1 of 0x22, v2 of 0x33. */
#define FUZZ_KEY_TEXT                                                                              \
	"index:ERERERERERERERERERERERERERERERERERERERERERE\n"                                      \
	"v1:IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI\n"                                         \
	"v2:MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM\n"

/* The data key fields are sealed under: 32 bytes of 0x44. */
#define FUZZ_DATA_KEY "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"

#endif
