/*
 * reload.c - SIGUSR1 re-reads the policy, in a thread of its own that
 * sigwait()s for it (libmilter's own signal thread takes SIGHUP, SIGTERM
 * and SIGINT as "stop"; stop.c watches the stop). A new policy replaces
 * the old one atomically; a broken one is logged with its file and line
 * and the old one stays. (SIGUSR2 and the metrics file: metrics.c.)
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
#include "testhooks.h"

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
log_diag(bool warning, const char *line)
{
    ar_log(warning ? LOG_WARNING : LOG_ERR, "%s", line);
}

static void
reload(void)
{
    struct ar_diags d;
    struct timespec t0, t1;

    /* tests only: a reload that never ends, as a read of a hung file
     * system would (the stop must not wait for it) */
    AR_TEST_STALL("AUTHRELAY_TEST_STALL_RELOAD");
    ar_diags_init(&d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ar_policy *p = ar_policy_load(ar_d.policy_path, ar_today(), &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ar_diags_print(&d, NULL, log_diag);
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

static pthread_t thread;
static atomic_bool stopping;

static void *
reload_thread(void *arg)
{
    sigset_t set;
    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    while (!atomic_load(&stopping)) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        if (sigtimedwait(&set, NULL, &tick) == SIGUSR1)
            reload();
    }
    return NULL;
}

int
ar_reload_start(void)
{
    return pthread_create(&thread, NULL, reload_thread, NULL) == 0 ? 0 : -1;
}

void
ar_reload_stop(void)
{
    atomic_store(&stopping, true);
    pthread_join(thread, NULL); /* it looks at the flag every 100 ms */
}
