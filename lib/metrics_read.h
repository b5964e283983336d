/*
 * metrics_read.h - read back the daemon's Prometheus text file: the last
 * time each exception matched, for `lint --metrics` and for the daemon to
 * carry those times across a restart.
 */
#ifndef AR_METRICS_READ_H
#define AR_METRICS_READ_H

#include <stddef.h>

#include "fileio.h"

#define AR_METRIC_LAST_MATCH "authrelay_rule_last_match_timestamp_seconds"

/* the largest metrics file read back, octets: thousands of rules */
#define AR_METRICS_READ_MAX (16u << 20)

/* ar_metrics_read_last_match - call fn for every
 * authrelay_rule_last_match_timestamp_seconds{rule="NAME"} VALUE line of
 * path, a regular file of at most AR_METRICS_READ_MAX octets (flags:
 * AR_FILE_NOFOLLOW or 0, as for ar_file_read). 0; -1 when it cannot be
 * opened, -2 when it cannot be read, with why set (see ar_file_read). */
int ar_metrics_read_last_match(const char *path, int flags,
                               void (*fn)(const char *rule, double ts,
                                          void *ctx),
                               void *ctx, char *why, size_t whysize);

#endif
