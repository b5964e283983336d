/*
 * testhooks.h - the daemon's test-only hooks: environment variables that
 * make it stall or shorten a wait, so that the daemon suite can reach
 * states a real run reaches only by bad luck. Compiled in only with the
 * CMake option AR_TEST_HOOKS (ON for the build the tests run against;
 * packaging/ builds with it OFF): without it the macros are no-ops and
 * the names are not in the binary.
 */
#ifndef AR_TESTHOOKS_H
#define AR_TESTHOOKS_H

#ifdef AR_TEST_HOOKS
#include <stdlib.h>
#include <unistd.h>

/* AR_TEST_STALL - never return when the variable name is set */
#define AR_TEST_STALL(name)                                                    \
    do {                                                                       \
        if (getenv(name))                                                      \
            for (;;)                                                           \
                pause();                                                       \
    } while (0)
/* AR_TEST_UNSIGNED - the variable's positive number, else dflt */
#define AR_TEST_UNSIGNED(name, dflt)                                           \
    (getenv(name) && atoi(getenv(name)) > 0 ? (unsigned)atoi(getenv(name))     \
                                            : (dflt))
#else
#define AR_TEST_STALL(name) ((void)0)
#define AR_TEST_UNSIGNED(name, dflt) (dflt)
#endif

#endif
