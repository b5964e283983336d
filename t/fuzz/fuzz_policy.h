/* fuzz_policy.h - the small policy a fuzz target decides with, loaded
 * once from text (a broken one aborts) */
#ifndef AR_FUZZ_POLICY_H
#define AR_FUZZ_POLICY_H

#include "fuzz_check.h"
#include "policy.h"

static inline struct ar_policy *
fuzz_policy(const char *text, size_t len)
{
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load_string("fuzz", text, len, ".", 0, &d);
    ar_diags_free(&d);
    CHECK(p != NULL);
    return p;
}

#endif
