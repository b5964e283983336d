/*
 * loadgen - an MTA-side milter load generator that speaks protocol 6 as
 * Postfix 3.7 does: N connections, each negotiating, then connect, HELO
 * and a series of transactions (MAIL, two RCPTs, then abort or end of
 * message). As Postfix, it sends each stage's macros even where the
 * filter skips the step itself -- the macros the filter asked for, or
 * Postfix's default lists, each one Postfix would define -- and holds
 * back the packets whose reply the filter waived until it must read one
 * (Postfix's buffered stream). Every transaction mixes a local and a
 * remote recipient and every other one is authenticated, so the right
 * answers are known: a reply that differs counts as a failure.
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

#include <libmilter/mfdef.h> /* the protocol's flags */

#include "mtaclient.h"

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

/* What Postfix sends at a stage when the filter asked for no list of its
 * own: postconf -d milter_*_macros (3.7). */
static const char *const postfix_lists[MC_STAGES] = {
    [MC_CONNECT] = "j {daemon_name} {daemon_addr} v _",
    [MC_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} "
                "{cert_issuer}",
    [MC_ENVFROM] = "i {auth_type} {auth_authen} {auth_author} {mail_addr} "
                   "{mail_host} {mail_mailer}",
    [MC_ENVRCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
    [MC_DATA] = "i",
    [MC_EOM] = "i",
    [MC_EOH] = "i",
};
static const char stage_letter[MC_STAGES] = "CHMRTEN";

/* one connection: the macro names of each stage, split once */
struct session {
    struct mc m;
    char names[MC_STAGES][256];
    const char *name[MC_STAGES][24];
    size_t nnames[MC_STAGES];
    bool auth, queued; /* the transaction's AUTH; a queue file is open */
    char rcpt[64];     /* the recipient, without its brackets */
};

static void
split_lists(struct session *s)
{
    for (int st = 0; st < MC_STAGES; st++) {
        const char *l =
            s->m.symlist[st][0] ? s->m.symlist[st] : postfix_lists[st];
        snprintf(s->names[st], sizeof(s->names[st]), "%s", l);
        s->nnames[st] = 0;
        char *save = NULL;
        for (char *t = strtok_r(s->names[st], " ,", &save);
             t && s->nnames[st] < 24; t = strtok_r(NULL, " ,", &save))
            s->name[st][s->nnames[st]++] = t;
    }
}

/* A macro's value as Postfix's smtpd would have it here, or NULL where
 * it has none (no TLS; no AUTH; no queue id before the first accepted
 * recipient, as with smtpd_delay_open_until_valid_rcpt = yes). */
static const char *
value(const struct session *s, const char *name)
{
    static const char *const fixed[][2] = {
        {"j", "mx.bench.test"},
        {"{daemon_name}", "mx.bench.test"},
        {"{daemon_addr}", "127.0.0.1"},
        {"v", "Postfix 3.7.11"},
        {"_", "client.remote.test [192.0.2.99]"},
        {"{client_addr}", "192.0.2.99"},
        {"{client_name}", "client.remote.test"},
        {"{mail_addr}", "sender@remote.test"},
        {"{mail_host}", "remote.test"},
        {"{mail_mailer}", "smtp"},
        {"{rcpt_mailer}", "smtp"},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(name, fixed[i][0]) == 0)
            return fixed[i][1];
    if (strcmp(name, "i") == 0)
        return s->queued ? "4bQ7xR1zKPz9" : NULL;
    if (strcmp(name, "{auth_type}") == 0)
        return s->auth ? "PLAIN" : NULL;
    if (strcmp(name, "{auth_authen}") == 0)
        return s->auth ? "alice@customer0.example" : NULL;
    if (strcmp(name, "{rcpt_addr}") == 0)
        return s->rcpt;
    if (strcmp(name, "{rcpt_host}") == 0)
        return strchr(s->rcpt, '@') + 1;
    return NULL;
}

/* SMFIC_MACRO for a stage, each macro of its list that has a value */
static int
macros(struct session *s, int st)
{
    const char *nv[48];
    size_t n = 0;
    for (size_t i = 0; i < s->nnames[st]; i++) {
        const char *v = value(s, s->name[st][i]);
        if (v) {
            nv[n++] = s->name[st][i];
            nv[n++] = v;
        }
    }
    return mc_macrov(&s->m, stage_letter[st], nv, n);
}

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

/* RCPT with its macros; -1 on a broken connection, else whether the
 * reply was an acceptance */
static int
rcpt(struct session *s, const char *addr, struct mc_reply *r)
{
    snprintf(s->rcpt, sizeof(s->rcpt), "%.*s", (int)strlen(addr) - 2, addr + 1);
    if (macros(s, MC_ENVRCPT) < 0 || mc_rcpt(&s->m, addr, r) < 0)
        return -1;
    if (r->cmd == 'c')
        s->queued = true;
    return r->cmd == 'c';
}

/* one transaction; false if any reply was not the expected one */
static bool
transaction(struct session *s, struct worker *w, long n)
{
    struct mc *m = &s->m;
    struct mc_reply r;
    char local[64];
    bool ok = true;

    s->auth = n % 2;
    s->queued = false;
    if (macros(s, MC_ENVFROM) < 0)
        return false;
    if (!(m->proto & SMFIP_NOMAIL)) {
        if (mc_mail(m, "<sender@remote.test>", &r) < 0)
            return false;
        ok &= r.cmd == 'c';
    }
    snprintf(local, sizeof(local), "<u@customer%d.example>",
             (int)(rand_r(&w->seed) % (unsigned)ndomains));
    int a = rcpt(s, local, &r);
    if (a < 0)
        return false;
    ok &= a == 1;
    if ((a = rcpt(s, "<r@remote.test>", &r)) < 0)
        return false;
    ok &= s->auth ? a == 1 : rejected(&r);
    if (!message)
        return mc_abort(m) == 0 && ok;
    /* headers and body are not sent: neither filter asks for them */
    if (macros(s, MC_DATA) < 0)
        return false;
    if (!(m->proto & SMFIP_NODATA)) {
        if (mc_send(m, 'T', NULL, 0) < 0 ||
            (!(m->proto & SMFIP_NR_DATA) && mc_read_reply(m, &r) < 0))
            return false;
    }
    if (macros(s, MC_EOM) < 0 || mc_send(m, 'E', NULL, 0) < 0 ||
        mc_read_reply(m, &r) < 0)
        return false;
    return ok && (r.cmd == 'c' || r.cmd == 'a');
}

/* negotiation, connect and HELO; false if the connection failed */
static bool
open_session(struct session *s)
{
    struct mc *m = &s->m;
    struct mc_reply r;
    if (mc_open(m, sock) < 0 || mc_negotiate(m) < 0)
        return false;
    m->batch = true;
    split_lists(s);
    if (macros(s, MC_CONNECT) < 0)
        return false;
    if (!(m->proto & SMFIP_NOCONNECT) &&
        mc_connect(m, "client.remote.test", '4', "192.0.2.99", &r) < 0)
        return false;
    if (macros(s, MC_HELO) < 0)
        return false;
    if (!(m->proto & SMFIP_NOHELO) && mc_helo(m, "client.remote.test", &r) < 0)
        return false;
    return true;
}

static void *
run(void *arg)
{
    struct worker *w = arg;
    struct session *s = malloc(sizeof(*s));
    long n = 0;
    while (s && now() < deadline) {
        if (!open_session(s)) {
            w->failed++;
            mc_close(&s->m);
            usleep(1000);
            continue;
        }
        for (int t = 0; t < txns && now() < deadline; t++, n++) {
            double t0 = now();
            bool ok = transaction(s, w, n);
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
        mc_quit(&s->m);
        mc_close(&s->m);
    }
    free(s);
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
