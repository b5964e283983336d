/*
 * reload.c - SIGUSR1 re-reads the policy, in a thread of its own that
 * sigwait()s for it (libmilter's own signal thread takes SIGHUP, SIGTERM
 * and SIGINT as "stop"). A new policy replaces the old one atomically; a
 * broken one is logged with its file and line and the old one stays.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <stdatomic.h>
#include <stdbool.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"

void
ar_reload_log_policy(const char *what, const struct ar_policy *p)
{
    struct ar_policy_stats st;
    ar_policy_stats(p, &st);
    ar_log(LOG_INFO,
           "%s %s: %zu local domains, %zu trusted networks, %zu exception "
           "rules, mode %s",
           what, ar_policy_path(p), st.local_domains, st.trusted_networks,
           st.exceptions,
           ar_policy_mode(p) == AR_MODE_REPORT ? "report" : "enforce");
}

static void
log_diags(const struct ar_diags *d)
{
    char buf[1400];
    for (size_t i = 0; i < d->n; i++) {
        ar_diag_format(&d->v[i], buf, sizeof(buf));
        ar_log(d->v[i].warning ? LOG_WARNING : LOG_ERR, "%s", buf);
    }
}

static void
reload(void)
{
    struct ar_diags d;
    struct timespec t0, t1;

    ar_diags_init(&d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ar_policy *p = ar_policy_load(ar_d.policy_path, ar_today(), &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    log_diags(&d);
    ar_metrics_reload(p != NULL);
    if (p == NULL) {
        ar_log(LOG_ERR,
               "reload of %s failed (%zu error%s): the previous policy "
               "stays in force",
               ar_d.policy_path, d.nerrors, d.nerrors == 1 ? "" : "s");
    } else {
        ar_metrics_policy(ar_policy_sha256(p),
                          (double)(t1.tv_sec - t0.tv_sec) +
                              (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        ar_snapshot_swap(&ar_d.snap, p); /* the snapshot owns p now */
        struct ar_policy *cur = ar_snapshot_acquire(&ar_d.snap);
        if (cur) {
            ar_reload_log_policy("reloaded", cur);
            ar_policy_unref(cur);
        }
        ar_log(LOG_INFO, "reload took %.3f s",
               (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    ar_diags_free(&d);
}

/*
 * libmilter's listener looks at its stop flag only when its select()
 * times out, every 5 seconds: an orderly stop would take that long. Once
 * the flag is up, one connection to our own socket wakes it at once.
 * mi_stop() is libmilter's own (exported, undeclared) reader of the flag.
 */
extern int mi_stop(void);

static const char *sockspec;
static pthread_t thread;
static atomic_bool stopping;

static void
poke_listener(void)
{
    const char *path = NULL;
    int fd = -1;
    if (strncmp(sockspec, "unix:", 5) == 0)
        path = sockspec + 5;
    else if (strncmp(sockspec, "local:", 6) == 0)
        path = sockspec + 6;
    else if (strchr(sockspec, ':') == NULL)
        path = sockspec;
    if (path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0)
            connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    } else {
        /* inet:PORT@HOST, inet6:PORT@HOST; no host means all: loopback */
        bool v6 = strncmp(sockspec, "inet6:", 6) == 0;
        const char *p = strchr(sockspec, ':') + 1, *at = strchr(p, '@');
        char port[16], host[256];
        snprintf(port, sizeof(port), "%.*s",
                 (int)(at ? (size_t)(at - p) : strlen(p)), p);
        snprintf(host, sizeof(host), "%s",
                 at && at[1] && strcmp(at + 1, "0.0.0.0") &&
                         strcmp(at + 1, "::")
                     ? at + 1
                     : (v6 ? "::1" : "127.0.0.1"));
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
        hints.ai_family = v6 ? AF_INET6 : AF_INET;
        if (getaddrinfo(host, port, &hints, &ai) == 0) {
            if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) >= 0)
                connect(fd, ai->ai_addr, ai->ai_addrlen);
            freeaddrinfo(ai);
        }
    }
    if (fd >= 0)
        close(fd);
}

/* write the metrics file, if the policy in force names one */
static void
write_metrics(bool and_log)
{
    struct ar_policy *p = ar_snapshot_acquire(&ar_d.snap);
    const char *path = p ? ar_policy_metrics_file(p) : NULL;
    if (path && ar_metrics_write(path) < 0)
        ar_log(LOG_WARNING, "cannot write metrics to %s: %m", path);
    if (and_log)
        ar_metrics_log();
    if (p)
        ar_policy_unref(p);
}

static unsigned
metrics_interval(void)
{
    struct ar_policy *p = ar_snapshot_acquire(&ar_d.snap);
    unsigned s =
        p && ar_policy_metrics_file(p) ? ar_policy_metrics_interval(p) : 0;
    if (p)
        ar_policy_unref(p);
    return s;
}

/* How long libmilter may take to return from a stop: it returns at once
 * (it does not wait for open sessions), but its pool teardown can race
 * and never end (seen under the sanitizers after a thousand
 * connections); then we end the stop ourselves, before a supervisor's
 * SIGKILL would lose the queued log lines. */
#define STOP_DEADLINE 30

static unsigned
stop_deadline(void)
{
    const char *t = getenv("AUTHRELAY_TEST_STOP_DEADLINE"); /* tests only */
    return t && atoi(t) > 0 ? (unsigned)atoi(t) : STOP_DEADLINE;
}

static void *
reload_thread(void *arg)
{
    sigset_t set;
    bool poked = false;
    struct timespec last, now, stop_seen = {0, 0};
    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (!atomic_load(&stopping)) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGUSR1) {
            reload();
        } else if (sig == SIGUSR2) {
            write_metrics(true);
        } else if (!poked && mi_stop() != 0) {
            write_metrics(false); /* the last word before we go */
            poke_listener();
            poked = true;
            clock_gettime(CLOCK_MONOTONIC, &stop_seen);
        }
        unsigned every = metrics_interval();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (poked && now.tv_sec - stop_seen.tv_sec >= (time_t)stop_deadline())
            ar_stop_overdue(stop_deadline());
        if (every && now.tv_sec - last.tv_sec >= (time_t)every) {
            write_metrics(false);
            last = now;
        }
    }
    return NULL;
}

int
ar_reload_start(const char *sock)
{
    sockspec = sock;
    return pthread_create(&thread, NULL, reload_thread, NULL) == 0 ? 0 : -1;
}

void
ar_reload_stop(void)
{
    atomic_store(&stopping, true);
    pthread_join(thread, NULL); /* it looks at the flag every 100 ms */
}
