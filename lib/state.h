/*
 * state.h - what authrelay remembers between recipients: the counters of
 * the limits and the recent POP/IMAP logins (authrelay.conf(5), STATE,
 * LIMITS). One struct ar_state lives as long as the daemon (or one run of
 * `authrelay-policy state`); ar_state_configure() gives it each policy
 * loaded, and keeps the counters of every limit whose name, key, count
 * and per are unchanged.
 *
 * Two backends. "memory": counters in this process, at most max_keys
 * keys, the least recently used dropped first. "redis": counters and
 * logins shared by every daemon using the same Redis and prefix, checked
 * and counted atomically by a server-side script, waited for at most
 * timeout_ms; while Redis is unreachable the memory counters decide (they
 * are kept up to date either way), a connection is tried at most once a
 * second, and the loss and the return are each logged once.
 *
 * Windows: a limit's counts are kept in buckets of per/15 seconds (at
 * least 1); every bucket that overlaps the last `per` seconds counts, so
 * no interval of length per ever admits more than max. Distinct clients
 * are kept with the time each was last seen, exactly.
 *
 * Thread-safe: any number of threads may call every function at once.
 * No function waits longer than timeout_ms on Redis per call (a show or
 * reset of many keys: per command).
 */
#ifndef AR_STATE_H
#define AR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netset.h"
#include "policy.h"

struct ar_state;
struct ar_limit;

/* where the state's own lines go (Redis lost/back, max_keys reached, a
 * limit's first refusal of a key): level is a syslog priority; msg is one
 * line, and may hold client-chosen octets (a login): escape before
 * logging */
typedef void ar_state_log_fn(void *ctx, int level, const char *msg);

struct ar_state *ar_state_new(ar_state_log_fn *log, void *log_ctx);
void ar_state_free(struct ar_state *s);

/* ar_state_configure - take p's state section and limits (p is only read
 * during the call). Returns 0, or -1 with why (out of memory; a Redis that
 * is down is not an error: it is tried again). */
int ar_state_configure(struct ar_state *s, const struct ar_policy *p,
                       char *why, size_t whysize);

#define AR_LIMIT_DRY_MAX 4

/* what the limits made of one accepted recipient */
struct ar_limit_outcome {
    const struct ar_limit *refused; /* NULL: admitted */
    /* dry-run limits that would have refused it, in policy order */
    const struct ar_limit *dry[AR_LIMIT_DRY_MAX];
    size_t ndry;
};

/*
 * ar_state_limits - the limits of p (the policy the recipient was decided
 * under) for a recipient accepted with rule: the first limit that refuses
 * decides and counts nothing; otherwise every limit that applies counts
 * it. r->auth_authen is the login (a login-keyed limit does not apply
 * without one), r->client_addr the client, r->now the time.
 */
void ar_state_limits(struct ar_state *s, const struct ar_policy *p,
                     const struct ar_request *r, const char *rule,
                     struct ar_limit_outcome *o);

/* ar_state_recent_login - has addr logged in by POP/IMAP within
 * recent_login_ttl? */
bool ar_state_recent_login(struct ar_state *s, const struct ar_ip *addr,
                           int64_t now);
/* ar_state_login_seen - record such a login; login may be NULL. 0, or -1
 * when Redis could not take it (said in why). */
int ar_state_login_seen(struct ar_state *s, const struct ar_ip *addr,
                        const char *login, int64_t now, char *why,
                        size_t whysize);

/* ar_state_show - the counts of every limit for key (NULL: the top 20
 * keys of each limit), and for key the recent login of that address, as
 * lines on out. 0, or -1 with why. */
int ar_state_show(struct ar_state *s, const char *key, int64_t now, FILE *out,
                  char *why, size_t whysize);
/* ar_state_reset - forget key's counts in every limit (and its recent
 * login); *n gets how many entries went. 0, or -1 with why. */
int ar_state_reset(struct ar_state *s, const char *key, int64_t now,
                   size_t *n, char *why, size_t whysize);

struct ar_state_stats {
    bool backend_up;       /* memory: always; redis: connected */
    uint64_t errors;       /* Redis errors and timeouts so far */
    uint64_t recent_logins; /* entries held in memory */
    uint64_t keys;         /* memory keys held */
};
void ar_state_stats(struct ar_state *s, struct ar_state_stats *st);

/* ar_state_key_of - the key a limit of kind key gives r: the login, or
 * the client address (IPv6: its /64, as "2001:db8::/64"); false when it
 * has none (no login; unknown client) */
bool ar_state_key_of(int key, const struct ar_request *r, char *buf,
                     size_t size);

#endif
