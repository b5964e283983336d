/*
 * metrics_read.h - read back the daemon's Prometheus text file: the last
 * time each exception matched, for `lint --metrics` and for the daemon to
 * carry those times across a restart.
 */
#ifndef AR_METRICS_READ_H
#define AR_METRICS_READ_H

#define AR_METRIC_LAST_MATCH "authrelay_rule_last_match_timestamp_seconds"

/* ar_metrics_read_last_match - call fn for every
 * authrelay_rule_last_match_timestamp_seconds{rule="NAME"} VALUE line;
 * -1 if the file cannot be opened */
int ar_metrics_read_last_match(const char *path,
                               void (*fn)(const char *rule, double ts,
                                          void *ctx),
                               void *ctx);

#endif
