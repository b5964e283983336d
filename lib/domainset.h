/*
 * domainset.h - a set of domain entries with exact and ".suffix" matching.
 *
 * "example.com" matches that domain only; ".example.com" matches every
 * subdomain of it but not example.com itself. Entries and lookups are in
 * the normal form of domain.h (case-folded, no trailing dot); address
 * literals match only a literal entry with the same text.
 *
 * The set is an open-addressing hash table over one string arena: a lookup
 * costs one probe per label of the looked-up domain, whatever the size of
 * the set, and a million entries take tens of megabytes. Build with
 * ar_domainset_add(), then share freely: lookups never modify the set.
 */
#ifndef AR_DOMAINSET_H
#define AR_DOMAINSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ar_domainset;

struct ar_domainset *ar_domainset_new(void);
void ar_domainset_free(struct ar_domainset *s);

/*
 * ar_domainset_add - validate entry[0..len) and add its normal form.
 * Returns 1 when added, 0 when it was already there, -1 with *why set when
 * the entry is malformed or memory ran out.
 */
int ar_domainset_add(struct ar_domainset *s, const char *entry, size_t len,
                     const char **why);

/*
 * ar_domainset_match - the entry that matches a domain already in normal
 * form (as ar_addr_parse() returns it), or NULL. The most specific entry
 * wins: the exact one, then the longest suffix.
 */
const char *ar_domainset_match(const struct ar_domainset *s, const char *domain,
                               size_t len);

/* ar_domainset_match_name - as ar_domainset_match, for raw text (HELO,
 * host names): normalises first; malformed text matches nothing */
const char *ar_domainset_match_name(const struct ar_domainset *s,
                                    const char *name);

/* ar_domainset_seal - the set is complete: lay it out for lookups (a big
 * one on huge pages); adding afterwards still works */
void ar_domainset_seal(struct ar_domainset *s);

size_t ar_domainset_count(const struct ar_domainset *s);

/*
 * Every entry carries a 32-bit value (0 until set), for indexes built on
 * top of a set. ar_domainset_add_id() adds like ar_domainset_add() and
 * gives the entry's id, new or not; ar_domainset_each_match() calls fn for
 * every entry matching a normalised domain: the exact one, then each
 * suffix from the longest.
 */
int ar_domainset_add_id(struct ar_domainset *s, const char *entry, size_t len,
                        uint32_t *id, const char **why);
void ar_domainset_set_value(struct ar_domainset *s, uint32_t id,
                            uint32_t value);
void ar_domainset_each_match(const struct ar_domainset *s, const char *domain,
                             size_t len, void (*fn)(uint32_t value, void *ctx),
                             void *ctx);

/* ar_domainset_foreach - call fn for each entry, in no particular order */
void ar_domainset_foreach(const struct ar_domainset *s,
                          void (*fn)(const char *entry, void *ctx), void *ctx);

#endif
