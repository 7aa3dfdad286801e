/* Freestanding <stdlib.h>: only what lib/string.c provides. */
#ifndef EXO_LIBC_STDLIB_H
#define EXO_LIBC_STDLIB_H

#include <stddef.h>

unsigned long strtoul(const char *s, char **end, int base);

#endif
