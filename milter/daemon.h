/*
 * daemon.h - state shared by the daemon's threads: the current policy
 * (a snapshot holder: see snapshot.h) and the once-per-run warnings.
 */
#ifndef AR_DAEMON_H
#define AR_DAEMON_H

#include <libmilter/mfapi.h>
#include <stdatomic.h>

#include "snapshot.h"

struct ar_daemon {
    struct ar_snapshot snap;
    const char *policy_path;
    atomic_bool warned_mail_macros;
    atomic_bool warned_resolve;
};

extern struct ar_daemon ar_d;
extern struct smfiDesc ar_filter;

/* Who calls whom: main.c starts the threads of reload.c (SIGUSR1),
 * metrics.c (the metrics file) and stop.c (the stop's deadline); none of
 * them calls back into main.c -- the stop gets its "overdue" action as a
 * function pointer -- and ar_d lives in daemon.c. */

/* ar_reload_start - start the thread that reloads on SIGUSR1 (which must
 * already be blocked in every thread). 0 or -1. */
int ar_reload_start(void);
/* ar_reload_stop - end that thread (before the snapshot goes away); it
 * may wait for a reload in progress, but the stop watcher does not */
void ar_reload_stop(void);
/* ar_stop_start - start the thread that, once libmilter's stop flag is
 * up, hurries its listener out (sock: the daemon's socket spec) and keeps
 * the stop's deadline: if the stop has not ended by then (libmilter has
 * not returned, or our reload thread has not) it calls overdue with the
 * seconds waited, which ends the stop without them (removes the pidfile
 * and socket, sends the queued log lines, exits 0) or returns when the
 * main thread is already finishing. 0 or -1. */
int ar_stop_start(const char *sock, void (*overdue)(unsigned seconds));
/* ar_reload_log_policy - log what a freshly loaded policy holds */
void ar_reload_log_policy(const char *what, const struct ar_policy *p);

#endif
