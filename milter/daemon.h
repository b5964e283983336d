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
    atomic_bool warned_rcpt_mailer;
};

extern struct ar_daemon ar_d;
extern struct smfiDesc ar_filter;

/* ar_reload_start - start the thread that reloads on SIGUSR1 and writes
 * the metrics on SIGUSR2 (both must already be blocked in every thread),
 * and the stop watcher (ar_stop_start); sock is the daemon's socket
 * spec. 0 or -1. */
int ar_reload_start(const char *sock);
/* ar_reload_stop - end that thread (before the snapshot goes away); it
 * may wait for a reload in progress, but the stop watcher does not */
void ar_reload_stop(void);
/* ar_stop_start - start the thread that, once libmilter's stop flag is
 * up, hurries its listener out and keeps the stop's deadline (stop.c) */
int ar_stop_start(const char *sock);
/* ar_stop_overdue - a stop asked for seconds ago has not ended (libmilter
 * has not returned, or our reload thread has not): end it without them
 * (removes the pidfile and socket, sends the queued log lines, exits 0);
 * returns only when the main thread is already finishing */
void ar_stop_overdue(unsigned seconds);
/* ar_reload_log_policy - log what a freshly loaded policy holds */
void ar_reload_log_policy(const char *what, const struct ar_policy *p);

#endif
