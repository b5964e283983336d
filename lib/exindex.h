/*
 * exindex.h - an index over the exception rules, so that finding the
 * first rule that matches does not walk a thousand rules for every
 * recipient. For a client address and a verified name it yields, in file
 * order, the only rules that can match: those with a client_networks
 * entry containing the address, those with a client_hostnames entry
 * matching the name, and those with neither condition. Each candidate is
 * then checked in full, so the index can only narrow, never decide.
 * Immutable once built; share freely.
 */
#ifndef AR_EXINDEX_H
#define AR_EXINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "netset.h"

struct ar_exception;
struct ar_exindex;

struct ar_exindex *ar_exindex_build(const struct ar_exception *exc, size_t n);
void ar_exindex_free(struct ar_exindex *x);

/*
 * ar_exindex_candidates - the rule indexes that may match, ascending and
 * without duplicates, into out[cap]; name is the verified client name in
 * normal form, or NULL. Returns their number, or SIZE_MAX when there are
 * more than cap (then every rule must be tried).
 */
size_t ar_exindex_candidates(const struct ar_exindex *x, const struct ar_ip *ip,
                             const char *name, uint32_t *out, size_t cap);

#endif
