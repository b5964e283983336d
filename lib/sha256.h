/*
 * sha256.h - SHA-256 (FIPS 180-4), for the policy version in the metrics:
 * authrelay_policy_info{sha256="..."} names the exact text that is loaded.
 */
#ifndef AR_SHA256_H
#define AR_SHA256_H

#include <stddef.h>

/* ar_sha256_hex - the digest of data[0..len) as 64 hex digits and a NUL */
void ar_sha256_hex(const void *data, size_t len, char out[65]);

#endif
