/*
 * loadgen - an MTA-side milter load generator (protocol 6, as Postfix
 * speaks it): N connections, each negotiating, then connect, HELO and a
 * series of transactions (MAIL, two RCPTs, then abort or end of message),
 * skipping the steps the filter asked to skip and not waiting for the
 * replies it waived. Every transaction mixes a local and a remote
 * recipient and every other one is authenticated, so the right answers
 * are known: a reply that differs counts as a failure.
 *
 * usage: loadgen -s SOCKET [-c CONNS] [-d SECONDS] [-t TXNS_PER_CONN]
 *                [-n LOCAL_DOMAINS] [-m]
 * Prints one line: conns, transactions, failures, txn/s, p50/p90/p99 us.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtaclient.h"

#define SMFIP_NOCONNECT 0x1u
#define SMFIP_NOHELO 0x2u
#define SMFIP_NOMAIL 0x4u

static const char *sock;
static int conns = 1, seconds = 5, txns = 10, ndomains = 10, message;
static double deadline;

struct worker {
    pthread_t t;
    unsigned seed;
    long done, failed;
    double *lat; /* microseconds */
    size_t nlat, cap;
};

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
rejected(const struct mc_reply *r)
{
    return r->cmd == 'r' || (r->cmd == 'y' && r->text[0] == '5');
}

/* one transaction; false if any reply was not the expected one */
static bool
transaction(struct mc *m, struct worker *w, long n)
{
    struct mc_reply r;
    char local[64];
    bool auth = n % 2;
    bool ok = true;

    if (auth)
        mc_macros(m, 'M', "{auth_authen}", "alice@customer0.example",
                  "{auth_type}", "PLAIN", "{mail_addr}", "a", NULL);
    else
        mc_macros(m, 'M', "{mail_addr}", "a", NULL);
    if (!(m->proto & SMFIP_NOMAIL)) {
        if (mc_mail(m, "<sender@remote.test>", &r) < 0)
            return false;
        ok &= r.cmd == 'c';
    }
    snprintf(local, sizeof(local), "<u@customer%d.example>",
             (int)(rand_r(&w->seed) % (unsigned)ndomains));
    mc_macros(m, 'R', "{rcpt_mailer}", "esmtp", NULL);
    if (mc_rcpt(m, local, &r) < 0)
        return false;
    ok &= r.cmd == 'c';
    mc_macros(m, 'R', "{rcpt_mailer}", "esmtp", NULL);
    if (mc_rcpt(m, "<r@remote.test>", &r) < 0)
        return false;
    ok &= auth ? r.cmd == 'c' : rejected(&r);
    if (message) {
        if (mc_send(m, 'E', NULL, 0) < 0 || mc_read_reply(m, &r) < 0)
            return false;
        ok &= r.cmd == 'c' || r.cmd == 'a';
    } else {
        mc_abort(m);
    }
    return ok;
}

static void *
run(void *arg)
{
    struct worker *w = arg;
    long n = 0;
    while (now() < deadline) {
        struct mc m;
        struct mc_reply r;
        if (mc_open(&m, sock) < 0 || mc_negotiate(&m) < 0) {
            w->failed++;
            mc_close(&m);
            usleep(1000);
            continue;
        }
        if (!(m.proto & SMFIP_NOCONNECT)) {
            mc_macros(&m, 'C', "{client_resolve}", "OK", "v", "Postfix 3.7.11",
                      NULL);
            if (mc_connect(&m, "client.remote.test", '4', "192.0.2.99", &r) <
                0) {
                w->failed++;
                mc_close(&m);
                continue;
            }
        }
        if (!(m.proto & SMFIP_NOHELO))
            mc_helo(&m, "client.remote.test", &r);
        for (int t = 0; t < txns && now() < deadline; t++, n++) {
            double t0 = now();
            bool ok = transaction(&m, w, n);
            double us = (now() - t0) * 1e6;
            if (!ok) {
                w->failed++;
                break;
            }
            w->done++;
            if (w->nlat == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 4096;
                w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
            }
            w->lat[w->nlat++] = us;
        }
        mc_quit(&m);
        mc_close(&m);
    }
    return NULL;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "s:c:d:t:n:m")) != -1) {
        switch (c) {
        case 's':
            sock = optarg;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 'd':
            seconds = atoi(optarg);
            break;
        case 't':
            txns = atoi(optarg);
            break;
        case 'n':
            ndomains = atoi(optarg);
            break;
        case 'm':
            message = 1;
            break;
        default:
            fprintf(stderr, "usage: loadgen -s SOCKET [-c CONNS] [-d SECONDS] "
                            "[-t TXNS] [-n DOMAINS] [-m]\n");
            return 64;
        }
    }
    if (sock == NULL || conns < 1 || seconds < 1 || txns < 1 || ndomains < 1) {
        fprintf(stderr, "loadgen: -s SOCKET is required\n");
        return 64;
    }
    struct worker *w = calloc((size_t)conns, sizeof(*w));
    double t0 = now();
    deadline = t0 + seconds;
    for (int i = 0; i < conns; i++) {
        w[i].seed = (unsigned)i * 7919u + 1;
        pthread_create(&w[i].t, NULL, run, &w[i]);
    }
    long done = 0, failed = 0;
    size_t nlat = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(w[i].t, NULL);
        done += w[i].done;
        failed += w[i].failed;
        nlat += w[i].nlat;
    }
    double elapsed = now() - t0;
    double *all = malloc((nlat ? nlat : 1) * sizeof(*all));
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, w[i].lat, w[i].nlat * sizeof(*all));
        k += w[i].nlat;
        free(w[i].lat);
    }
    qsort(all, nlat, sizeof(*all), cmp);
#define PCT(p) (nlat ? all[(size_t)((double)(nlat - 1) * (p))] : 0.0)
    printf("conns=%d txns=%ld failed=%ld txn_per_s=%.0f p50_us=%.0f "
           "p90_us=%.0f p99_us=%.0f\n",
           conns, done, failed, (double)done / elapsed, PCT(0.50), PCT(0.90),
           PCT(0.99));
    free(all);
    free(w);
    return failed ? 1 : 0;
}
