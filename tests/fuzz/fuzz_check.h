/*
 * fuzz_check.h - CHECK(cond): what a fuzz target asserts of the code under
 * test. A failed check names itself on stderr and aborts, which libFuzzer
 * reports as a crash and keeps the input of.
 */
#ifndef TIAOJIE_FUZZ_CHECK_H
#define TIAOJIE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
