/*
 * policy_diff.h - what differs between two policies (authrelay-policy
 * diff): the structure (rules added, removed, changed, moved; entries
 * added to or removed from each list) and the probes whose decisions are
 * compared -- requests made from a policy's own domains, networks and
 * exceptions.
 */
#ifndef AR_POLICY_DIFF_H
#define AR_POLICY_DIFF_H

#include <stdio.h>

#include "policy.h"

/* at most this many entries shown of those added to a list, and of those
 * removed */
#define AR_DIFF_EXAMPLES 10

/* ar_policy_diff_structure - one line per change to f (entries indented
 * under their list's line); how many changes */
size_t ar_policy_diff_structure(const struct ar_policy *old,
                                const struct ar_policy *new, FILE *f);

/*
 * ar_policy_probes - call fn with every probe made from p: each domain of
 * every list, a subdomain and a parent of it; each network's first, last
 * and just-outside addresses; each exception's conditions all met and
 * each alone, authenticated or not, sender local or not, and on the day
 * an expiry takes effect and the day before; the routed forms of a
 * recipient; each remote mailer. today: the day of the probes without a
 * date of their own. The request's strings live only during the call.
 */
void ar_policy_probes(const struct ar_policy *p, int64_t today,
                      void (*fn)(const struct ar_request *r, void *ctx),
                      void *ctx);

#endif
