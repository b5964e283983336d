/*
 * hash.h - FNV-1a, 32 bits: the string hash of every table in authrelay
 * (domain sets, the login map, the daemon's metrics). Short keys, good
 * spread, no alignment needs.
 */
#ifndef AR_HASH_H
#define AR_HASH_H

#include <stddef.h>
#include <stdint.h>

/* ar_hash_add - the hash of what h is the hash of, followed by s */
static inline uint32_t
ar_hash_add(uint32_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static inline uint32_t
ar_hash(const char *s, size_t len)
{
    return ar_hash_add(2166136261u, s, len);
}

#endif
