/*
 * reload.c - SIGUSR1 re-reads the policy, in a thread of its own that
 * sigwait()s for it (libmilter's own signal thread takes SIGHUP, SIGTERM
 * and SIGINT as "stop"; stop.c watches the stop). A new policy replaces
 * the old one atomically; a broken one is logged with its file and line
 * and the old one stays. The same thread writes the metrics file, on
 * SIGUSR2, every metrics_interval and once at a stop.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
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

    /* tests only: a reload that never ends, as a read of a hung file
     * system would (the stop must not wait for it) */
    if (getenv("AUTHRELAY_TEST_STALL_RELOAD"))
        for (;;)
            pause();
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

/* libmilter's own (exported, undeclared) reader of its stop flag */
extern int mi_stop(void);

static pthread_t thread;
static atomic_bool stopping;

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

static void *
reload_thread(void *arg)
{
    sigset_t set;
    bool last_word = false;
    struct timespec last, now;
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
        } else if (!last_word && mi_stop() != 0) {
            write_metrics(false); /* the last word before we go */
            last_word = true;
        }
        unsigned every = metrics_interval();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (every && now.tv_sec - last.tv_sec >= (time_t)every) {
            write_metrics(false);
            last = now;
        }
    }
    if (!last_word) /* the stop came before our next tick */
        write_metrics(false);
    return NULL;
}

int
ar_reload_start(const char *sock)
{
    if (ar_stop_start(sock) < 0)
        return -1;
    return pthread_create(&thread, NULL, reload_thread, NULL) == 0 ? 0 : -1;
}

void
ar_reload_stop(void)
{
    atomic_store(&stopping, true);
    pthread_join(thread, NULL); /* it looks at the flag every 100 ms */
}
