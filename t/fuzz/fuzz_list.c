/*
 * fuzz_list - the *_files readers: the same bytes as a local_domains_files
 * list, a trusted_networks_files list and a sender_login map file. No
 * crash; a policy exactly when there is no error.
 */
#include "fuzz_check.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static const char *const policies[] = {
    "version = 1;\nrelay = { local_domains_files = [ \"list\" ]; };\n",
    "version = 1;\nrelay = { local_domains = [ \"a.test\" ];\n"
    "  trusted_networks_files = [ \"list\" ]; };\n",
    "version = 1;\nrelay = { local_domains = [ \"a.test\" ]; };\n"
    "sender_login = { mode = \"enforce\"; map_files = [ \"list\" ]; };\n",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/ar_fuzz_list_%ld", (long)getpid());
        mkdir(dir, 0700);
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/list", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    for (size_t i = 0; i < 3; i++) {
        struct ar_diags d;
        ar_diags_init(&d);
        struct ar_policy *p = ar_policy_load_string(
            "fuzz.conf", policies[i], strlen(policies[i]), dir, 0, &d);
        CHECK((p == NULL) == (d.nerrors > 0 || d.oom));
        if (p) {
            struct ar_request r = {.rcpt = "<x@a.test>",
                                   .auth_authen = "alice",
                                   .mail_from = "<alice@a.test>"};
            struct ar_verdict v;
            ar_ip_parse("10.1.2.3", &r.client_addr);
            ar_policy_decide(p, &r, &v, NULL);
            ar_policy_unref(p);
        }
        ar_diags_free(&d);
    }
    return 0;
}
