/*
 * snapshot.h - the holder of the current policy, for hot reload.
 *
 * ar_snapshot_acquire() returns the current policy with a reference the
 * caller owns (release it with ar_policy_unref); ar_snapshot_swap()
 * publishes a new policy and drops the holder's reference to the old one,
 * which is freed when the last transaction pinned to it lets go. A mutex
 * makes "read the pointer and take a reference" one step, so a swap can
 * never free a policy between the two. Thread-safe.
 */
#ifndef AR_SNAPSHOT_H
#define AR_SNAPSHOT_H

#include <pthread.h>

#include "policy.h"

struct ar_snapshot {
    pthread_mutex_t lock;
    struct ar_policy *current;
};

/* ar_snapshot_init - takes over the caller's reference to p */
void ar_snapshot_init(struct ar_snapshot *s, struct ar_policy *p);
struct ar_policy *ar_snapshot_acquire(struct ar_snapshot *s);
/* ar_snapshot_swap - takes over the caller's reference to p */
void ar_snapshot_swap(struct ar_snapshot *s, struct ar_policy *p);
void ar_snapshot_destroy(struct ar_snapshot *s);

#endif
