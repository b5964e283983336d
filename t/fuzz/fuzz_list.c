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

static char dir[4096], path[4200];

/* the list file and its directory go when the run ends */
static void
cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

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
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/ar_fuzz_list_XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(path, sizeof(path), "%s/list", dir);
        atexit(cleanup);
    }
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
