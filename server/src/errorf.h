/*
 * errorf.h - the "false with a reason" idiom of functions that report
 * errors into a caller's buffer (config_load, keyring_load, ...).
 */
#ifndef TIAOJIE_ERRORF_H
#define TIAOJIE_ERRORF_H

#include <stdbool.h>
#include <stddef.h>

/* Formats the reason into err (errlen bytes, always terminated); returns false. */
bool errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
