/*
 * engine_bench - decisions per second of ar_policy_eval() on one core,
 * as `authrelay-policy query` makes them, over a fixed mix of requests
 * (local, remote, routed, authenticated, trusted, exception matches).
 * usage: engine_bench POLICY [SECONDS] [LOCAL_DOMAINS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "policy.h"

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: engine_bench POLICY [SECONDS] [DOMAINS]\n");
        return 64;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    int ndomains = argc > 3 ? atoi(argv[3]) : 10;
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(argv[1], ar_today(), &d);
    if (p == NULL) {
        fprintf(stderr, "engine_bench: %s does not load\n", argv[1]);
        return 78;
    }
    enum { N = 64 };
    static char rcpt[N][64];
    struct ar_request req[N];
    for (int i = 0; i < N; i++) {
        struct ar_request *r = &req[i];
        *r = (struct ar_request){.today = ar_today()};
        static char addr[N][32], name[N][64];
        snprintf(addr[i], sizeof(addr[i]), "%s",
                 i % 8 == 7 ? "10.1.2.3" : "192.0.2.99");
        snprintf(name[i], sizeof(name[i]), "client.remote.test");
        if (i % 8 == 3) { /* matches a generated exception, if any */
            snprintf(addr[i], sizeof(addr[i]), "198.18.0.%d", i);
            snprintf(name[i], sizeof(name[i]), "mx.isp%d.test", i);
        }
        ar_ip_parse(addr[i], &r->client_addr);
        r->client_name = name[i];
        r->client_name_verified = true;
        r->helo = "client.remote.test";
        r->mail_from = "<sender@remote.test>";
        r->auth_authen = i % 4 == 1 ? "alice@example.com" : NULL;
        switch (i % 4) {
        case 0:
            snprintf(rcpt[i], sizeof(rcpt[i]), "<u@customer%d.example>",
                     (i * 7919) % ndomains);
            break;
        case 2:
            snprintf(rcpt[i], sizeof(rcpt[i]), "<u%%x@customer%d.example>",
                     i % ndomains);
            break;
        default:
            snprintf(rcpt[i], sizeof(rcpt[i]), "<u%d@remote.test>", i);
        }
        r->rcpt = rcpt[i];
    }
    long n = 0, accepted = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 1024; k++, n++) {
            struct ar_verdict v;
            accepted += ar_policy_eval(p, &req[n % N], &v) == AR_ACCEPT;
        }
    } while ((t = now()) - t0 < seconds);
    printf("decisions=%ld accepted=%ld seconds=%.2f decisions_per_s=%.0f\n", n,
           accepted, t - t0, (double)n / (t - t0));
    ar_policy_unref(p);
    ar_diags_free(&d);
    return 0;
}
