/*
 * addr.h - the envelope address parser (RFC 5321 Path, SMTPUTF8).
 *
 * ar_addr_parse() classifies a MAIL FROM or RCPT TO argument exactly once:
 *   AR_ADDR_MAILBOX  a plain mailbox: local part and, unless it is a bare
 *                    "<postmaster>"-style name, a domain in normal form;
 *   AR_ADDR_NULL     the null path "<>";
 *   AR_ADDR_ROUTED   sender-specified routing: a source route, or '%', '!'
 *                    or '@' in the local part (quoted or escaped too);
 *   AR_ADDR_INVALID  anything that is not RFC 5321 syntax.
 * The relay decision treats ROUTED, INVALID and NULL recipients as relay
 * attempts; only a MAILBOX can ever be local. No allocation; thread-safe.
 */
#ifndef AR_ADDR_H
#define AR_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"

#define AR_LOCAL_MAX 64    /* octets of the local part, as written */
#define AR_MAILBOX_MAX 254 /* a path is at most 256 octets with <> */

enum ar_addr_kind {
    AR_ADDR_MAILBOX,
    AR_ADDR_NULL,
    AR_ADDR_ROUTED,
    AR_ADDR_INVALID,
};

struct ar_addr {
    enum ar_addr_kind kind;
    const char *why; /* static: why ROUTED or INVALID; NULL otherwise */
    /* MAILBOX only: */
    char local[AR_LOCAL_MAX + 1]; /* decoded (quotes and escapes removed) */
    size_t local_len;
    char domain[AR_DOMAIN_MAX + 2]; /* normal form; "" when there is none */
    size_t domain_len;
    bool literal; /* the domain is an address literal */
};

/* ar_addr_parse - parse s (with or without angle brackets) into *a */
enum ar_addr_kind ar_addr_parse(const char *s, struct ar_addr *a);

/* ar_addr_kind_name - "mailbox", "null", "routed", "invalid" */
const char *ar_addr_kind_name(enum ar_addr_kind k);

#endif
