/*
 * fuzz_logline - the mail log line parser of `authrelay-policy replay`,
 * and the decision on what it returns: whatever the bytes, no crash, every
 * field it returns lies inside the line and holds no space, and a request
 * made from it decides.
 */
#include "fuzz_check.h"
#include "fuzz_policy.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logline.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ar_policy *policy;

static const char policy_text[] =
    "version = 1;\n"
    "relay = { local_domains = [ \"example.com\" ]; };\n"
    "exceptions = ( { name = \"isp\"; match = { client_hostnames = [ "
    "\".isp.test\" ]; helo = [ \"mx.isp.test\" ]; }; action = \"permit\"; "
    "expires = \"2026-01-01\"; } );\n";

static void
inside(const char *f, const char *line, size_t size)
{
    if (f == NULL)
        return;
    CHECK(f >= line && f <= line + size);
    CHECK(strlen(f) <= size);
    CHECK(strchr(f, ' ') == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (policy == NULL)
        policy = fuzz_policy(policy_text, sizeof(policy_text) - 1);
    char *s = fuzz_text(data, size);
    if (s == NULL)
        return 0;
    struct ar_logline l;
    enum ar_logline_kind k = ar_logline_parse(s, size, &l);
    if (k == AR_LL_DECISION || k == AR_LL_SENDER) {
        const char *f[] = {l.qid,         l.rcpt,        l.word,  l.rule,
                           l.client_name, l.client_addr, l.auth,  l.from,
                           l.helo,        l.resolve,     l.mailer};
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
            inside(f[i], s, size);
        CHECK(l.word && l.rule && l.client_name && l.client_addr && l.auth &&
              l.from);
        CHECK((k == AR_LL_DECISION) == (l.rcpt != NULL));
    } else {
        CHECK(l.rcpt == NULL || k == AR_LL_BAD);
    }
    struct ar_request r;
    struct ar_verdict v;
    if (k == AR_LL_DECISION && ar_logline_request(&l, 20000, &r) == 0)
        ar_policy_eval(policy, &r, &v);
    free(s);
    return 0;
}
