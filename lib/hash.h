/*
 * hash.h - FNV-1a, 32 bits: the string hash of every table in authrelay
 * (domain sets, the login map, the daemon's metrics). Short keys, good
 * spread, no alignment needs.
 */
#ifndef AR_HASH_H
#define AR_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t
ar_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

#endif
