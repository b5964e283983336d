/* snapshot.c - current-policy holder; see snapshot.h */
#include "snapshot.h"

void
ar_snapshot_init(struct ar_snapshot *s, struct ar_policy *p)
{
    pthread_mutex_init(&s->lock, NULL);
    s->current = p;
}

struct ar_policy *
ar_snapshot_acquire(struct ar_snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    struct ar_policy *p = s->current ? ar_policy_ref(s->current) : NULL;
    pthread_mutex_unlock(&s->lock);
    return p;
}

void
ar_snapshot_swap(struct ar_snapshot *s, struct ar_policy *p)
{
    pthread_mutex_lock(&s->lock);
    struct ar_policy *old = s->current;
    s->current = p;
    pthread_mutex_unlock(&s->lock);
    ar_policy_unref(old); /* outside the lock: freeing may take a while */
}

void
ar_snapshot_destroy(struct ar_snapshot *s)
{
    ar_snapshot_swap(s, NULL);
    pthread_mutex_destroy(&s->lock);
}
