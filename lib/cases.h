/*
 * cases.h - policy test cases (the format is in authrelay-policy(1)) for `authrelay-policy test`.
 *
 * A cases file is libconfig: cases = ( { name = ...; rcpt = ...;
 * expect = "accept"; rule = ...; }, ... ). Loading checks every case and
 * reports problems as FILE:LINE like the policy loader. Running a case
 * builds a struct ar_request and calls ar_policy_eval(), the same path the
 * daemon takes.
 */
#ifndef AR_CASES_H
#define AR_CASES_H

#include "policy.h"

struct ar_case {
    char *name; /* may be NULL */
    const char *file;
    unsigned line;
    char *client_addr, *client_name, *helo, *auth, *auth_type, *from, *rcpt,
        *rcpt_mailer;
    int64_t date; /* -1: today */
    enum ar_decision expect;
    char *rule; /* NULL: any rule */
};

struct ar_cases {
    char *file;
    struct ar_case *v;
    size_t n;
};

/* ar_cases_load - 0, or -1 with every problem in d */
int ar_cases_load(const char *path, struct ar_cases *c, struct ar_diags *d);
void ar_cases_free(struct ar_cases *c);

/* ar_case_request - fill r from c (strings point into c) */
void ar_case_request(const struct ar_case *c, int64_t today,
                     struct ar_request *r);

#endif
