/*
 * fuzz_config - the policy loader on arbitrary libconfig text: no crash,
 * and never a half-loaded policy (a policy comes back exactly when there
 * is no error); a loaded policy is linted and asked a few questions.
 */
#include "fuzz_check.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    struct ar_diags d;
    ar_diags_init(&d);
    /* *_files resolve in a directory with no files: errors, not reads */
    struct ar_policy *p = ar_policy_load_string(
        "fuzz.conf", text, size, "/nonexistent-authrelay-fuzz", 0, &d);
    CHECK((p == NULL) == (d.nerrors > 0 || d.oom));
    if (p) {
        ar_policy_lint(p, 0, &d);
        static const char *const rcpts[] = {"<a@example.com>", "<a@b.test>",
                                            "<a%b@example.com>", "<>"};
        struct ar_request r = {.mail_from = "<s@example.com>",
                               .helo = "helo.test",
                               .client_name = "mx.example.net",
                               .client_name_verified = true};
        ar_ip_parse("192.0.2.1", &r.client_addr);
        for (size_t i = 0; i < 4; i++) {
            struct ar_verdict v;
            r.rcpt = rcpts[i];
            ar_policy_decide(p, &r, &v, NULL);
            CHECK(v.decision == AR_ACCEPT || v.reply != NULL);
        }
        ar_policy_unref(p);
    }
    ar_diags_free(&d);
    free(text);
    return 0;
}
