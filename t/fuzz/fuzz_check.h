/* fuzz_check.h - an assert that NDEBUG does not remove: a broken
 * invariant aborts, which both libFuzzer and the replay report; and the
 * input as a C string */
#ifndef AR_FUZZ_CHECK_H
#define AR_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,         \
                    __LINE__, #x);                                             \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* the size bytes of data and a NUL after them (inner NULs kept); NULL
 * when out of memory. free() it. */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
