/*
 * fuzz_addr - the address parser, and the relay decision on what it
 * returns: whatever the bytes, no crash, and a recipient carrying routing
 * ('%', '!', a second '@', a source route) never comes out local.
 */
#include "fuzz_check.h"
#include "fuzz_policy.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ar_policy *policy;

static const char policy_text[] =
    "version = 1;\n"
    "relay = { local_domains = [ \"example.com\", \".example.com\", "
    "\"[192.0.2.1]\" ]; };\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (policy == NULL)
        policy = fuzz_policy(policy_text, sizeof(policy_text) - 1);
    char *s = fuzz_text(data, size);
    if (s == NULL)
        return 0;

    struct ar_addr a;
    enum ar_addr_kind k = ar_addr_parse(s, &a);
    if (k == AR_ADDR_MAILBOX) {
        CHECK(strpbrk(a.local, "%!@") == NULL);
        CHECK(a.local_len <= AR_LOCAL_MAX);
        CHECK(strlen(a.domain) == a.domain_len);
        for (size_t i = 0; i < a.domain_len; i++)
            CHECK(!(a.domain[i] >= 'A' && a.domain[i] <= 'Z'));
    } else {
        CHECK(a.domain_len == 0 && a.domain[0] == '\0');
    }

    /* the decision: never local while the text carries routing */
    size_t n = strlen(s); /* up to the first NUL, as the MTA sees it */
    const char *p = s + (s[0] == '<');
    size_t ats = 0;
    for (size_t i = 0; i < n; i++)
        ats += s[i] == '@';
    bool routed =
        memchr(s, '%', n) || memchr(s, '!', n) || ats > 1 || p[0] == '@';
    struct ar_request r = {.rcpt = s};
    struct ar_verdict v;
    ar_policy_eval(policy, &r, &v);
    if (v.decision == AR_ACCEPT)
        CHECK(!routed && k == AR_ADDR_MAILBOX);
    free(s);
    return 0;
}
