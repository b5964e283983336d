/* addr.c - RFC 5321 path parser; see addr.h */
#include "addr.h"

#include <string.h>

/* atext of RFC 5322, which RFC 5321's Atom uses */
static bool
is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_routing(unsigned char c)
{
    return c == '%' || c == '!' || c == '@';
}

static enum ar_addr_kind
verdict(struct ar_addr *a, enum ar_addr_kind k, const char *why)
{
    a->kind = k;
    a->why = why;
    if (k != AR_ADDR_MAILBOX) {
        a->local[0] = a->domain[0] = '\0';
        a->local_len = a->domain_len = 0;
        a->literal = false;
    }
    return k;
}

/*
 * Parse the local part at *pp up to (not including) the '@', '>' or end.
 * Returns MAILBOX when it is a plain local part, else ROUTED or INVALID.
 */
static enum ar_addr_kind
parse_local(struct ar_addr *a, const char **pp, const char *end)
{
    const char *p = *pp;
    const char *start = p;
    size_t n = 0;

    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '\\') {
                if (++p == end)
                    return verdict(a, AR_ADDR_INVALID, "unterminated quote");
                c = (unsigned char)*p;
                if (c < 32 || c > 126)
                    return verdict(a, AR_ADDR_INVALID,
                                   "bad quoted pair in local part");
                if (is_routing(c))
                    return verdict(a, AR_ADDR_ROUTED,
                                   "escaped routing character in local part");
            } else if (c < 32 || c == 127) {
                return verdict(a, AR_ADDR_INVALID,
                               "control character in local part");
            } else if (is_routing(c)) {
                return verdict(a, AR_ADDR_ROUTED,
                               "routing character in quoted local part");
            }
            if (n < AR_LOCAL_MAX)
                a->local[n++] = (char)c;
        }
        if (p == end)
            return verdict(a, AR_ADDR_INVALID, "unterminated quote");
        p++;
        if (p < end && *p != '@' && *p != '>')
            return verdict(a, AR_ADDR_INVALID, "text after quoted local part");
    } else {
        bool dot_ok = false; /* a dot may follow an atom, not start one */
        for (; p < end && *p != '@' && *p != '>'; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '\\') {
                if (p + 1 < end && is_routing((unsigned char)p[1]))
                    return verdict(a, AR_ADDR_ROUTED,
                                   "escaped routing character in local part");
                return verdict(a, AR_ADDR_INVALID,
                               "backslash outside quotes in local part");
            }
            if (c == '%' || c == '!')
                return verdict(a, AR_ADDR_ROUTED,
                               c == '%' ? "'%' routing in local part"
                                        : "'!' (UUCP) routing in local part");
            if (c == '"')
                return verdict(a, AR_ADDR_INVALID, "misplaced quote");
            if (c == '.') {
                if (!dot_ok)
                    return verdict(a, AR_ADDR_INVALID,
                                   "misplaced dot in local part");
                dot_ok = false;
            } else if (is_atext(c) || c >= 0x80) {
                dot_ok = true;
            } else {
                return verdict(a, AR_ADDR_INVALID,
                               "invalid character in local part");
            }
            if (n < AR_LOCAL_MAX)
                a->local[n++] = (char)c;
        }
        if (p == start)
            return verdict(a, AR_ADDR_INVALID, "empty local part");
        if (!dot_ok)
            return verdict(a, AR_ADDR_INVALID, "local part ends with a dot");
    }
    if ((size_t)(p - start) > AR_LOCAL_MAX)
        return verdict(a, AR_ADDR_INVALID, "local part longer than 64 octets");
    if (!ar_utf8_valid((const unsigned char *)start, (size_t)(p - start)))
        return verdict(a, AR_ADDR_INVALID, "local part is not valid UTF-8");
    a->local[n] = '\0';
    a->local_len = n;
    *pp = p;
    return AR_ADDR_MAILBOX;
}

enum ar_addr_kind
ar_addr_parse(const char *s, struct ar_addr *a)
{
    const char *p = s;
    const char *end;
    bool bracketed = false;

    memset(a, 0, sizeof(*a));
    if (*p == '<') {
        bracketed = true;
        p++;
    }
    /* A source route is a relay attempt even when it is malformed. */
    if (*p == '@')
        return verdict(a, AR_ADDR_ROUTED, "source route");
    end = p + strlen(p);
    if (bracketed) {
        /* the path ends at the last '>'; anything after it is junk */
        const char *gt = strrchr(p, '>');
        if (gt == NULL)
            return verdict(a, AR_ADDR_INVALID, "missing '>'");
        if (gt[1] != '\0')
            return verdict(a, AR_ADDR_INVALID, "text after the address");
        end = gt;
        if (end == p)
            return verdict(a, AR_ADDR_NULL, NULL);
    } else if (end == p) {
        return verdict(a, AR_ADDR_NULL, NULL);
    }
    if ((size_t)(end - p) > AR_MAILBOX_MAX)
        return verdict(a, AR_ADDR_INVALID, "address longer than 256 octets");

    enum ar_addr_kind k = parse_local(a, &p, end);
    if (k != AR_ADDR_MAILBOX)
        return k;
    if (p < end && *p == '>')
        return verdict(a, AR_ADDR_INVALID, "text after the address");
    if (p == end)
        return verdict(a, AR_ADDR_MAILBOX, NULL); /* <postmaster> */

    /* p is at '@' */
    const char *dom = ++p;
    if (memchr(dom, '@', (size_t)(end - dom)) != NULL)
        return verdict(a, AR_ADDR_ROUTED, "more than one '@'");
    const char *why;
    if (ar_domain_normalize(dom, (size_t)(end - dom), AR_DOM_LITERAL, a->domain,
                            &a->domain_len, &why) < 0)
        return verdict(a, AR_ADDR_INVALID, why);
    a->literal = dom[0] == '[';
    return verdict(a, AR_ADDR_MAILBOX, NULL);
}

const char *
ar_addr_kind_name(enum ar_addr_kind k)
{
    switch (k) {
    case AR_ADDR_MAILBOX:
        return "mailbox";
    case AR_ADDR_NULL:
        return "null";
    case AR_ADDR_ROUTED:
        return "routed";
    case AR_ADDR_INVALID:
        return "invalid";
    }
    return "?";
}
