/* fuzz_check.h - an assert that NDEBUG does not remove: a broken
 * invariant aborts, which both libFuzzer and the replay report */
#ifndef AR_FUZZ_CHECK_H
#define AR_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,         \
                    __LINE__, #x);                                             \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
