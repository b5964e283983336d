/*
 * metrics.h - counters for node_exporter's textfile collector: decisions
 * by decision and rule, the last time each exception matched, reloads,
 * the loaded policy's SHA-256 and load time. Written atomically (a
 * temporary file renamed over the old one) every milter.metrics_interval
 * seconds and on SIGUSR2, which also logs them. Last-match times are read
 * back at start, so they survive a restart. No HTTP server. Thread-safe.
 */
#ifndef AR_METRICS_H
#define AR_METRICS_H

#include <stdbool.h>
#include <time.h>

void ar_metrics_count(const char *decision, const char *rule);
void ar_metrics_matched(const char *rule, time_t when);
void ar_metrics_reload(bool ok);
void ar_metrics_policy(const char *sha256, double load_seconds);
/* ar_metrics_restore - last-match times from an earlier metrics file */
void ar_metrics_restore(const char *path);
/* ar_metrics_write - 0, or -1 with errno set */
int ar_metrics_write(const char *path);
/* ar_metrics_log - every metric to the log, a line each */
void ar_metrics_log(void);
/* ar_metrics_start - start the thread that writes the metrics file the
 * policy in force names: every metrics_interval seconds, on SIGUSR2 (and
 * logs them; SIGUSR2 must already be blocked in every thread), and once
 * when libmilter's stop flag goes up. 0 or -1. */
int ar_metrics_start(void);
/* ar_metrics_stop - end that thread, after its last write */
void ar_metrics_stop(void);

#endif
