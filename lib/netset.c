/* netset.c - addresses and network sets; see netset.h */
#include "netset.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct range {
    ar_u128 lo, hi;
};

struct ar_netset {
    struct ar_cidr *entries; /* sorted by lo */
    size_t n;
    struct range *ranges; /* merged, disjoint, sorted */
    size_t nranges;
};

#define V4MAPPED ((ar_u128)0xffff << 32)

static ar_u128
from_bytes(const unsigned char *b, size_t n)
{
    ar_u128 v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | b[i];
    return v;
}

int
ar_ip_parse(const char *s, struct ar_ip *ip)
{
    struct in_addr a4;
    struct in6_addr a6;

    ip->valid = false;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        ip->a = V4MAPPED | from_bytes((const unsigned char *)&a4, 4);
    } else if (inet_pton(AF_INET6, s, &a6) == 1) {
        ip->a = from_bytes(a6.s6_addr, 16);
    } else {
        return -1;
    }
    ip->valid = true;
    return 0;
}

void
ar_ip_from_sockaddr(const struct sockaddr *sa, struct ar_ip *ip)
{
    ip->valid = false;
    ip->a = 0;
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        ip->a = V4MAPPED |
                from_bytes((const unsigned char *)&s4->sin_addr.s_addr, 4);
        ip->valid = true;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        ip->a = from_bytes(s6->sin6_addr.s6_addr, 16);
        ip->valid = true;
    }
}

/* dotted quad of the low 32 bits (inet_ntop formats through sprintf,
 * and the daemon formats every client's address) */
static void
format_v4(uint32_t v, char *buf, size_t size)
{
    char t[16];
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned o = (v >> shift) & 0xff;
        if (o >= 100)
            t[n++] = (char)('0' + o / 100);
        if (o >= 10)
            t[n++] = (char)('0' + o / 10 % 10);
        t[n++] = (char)('0' + o % 10);
        t[n++] = shift ? '.' : '\0';
    }
    if (size >= n)
        memcpy(buf, t, n);
    else if (size > 0)
        buf[0] = '\0';
}

static void
format_addr(ar_u128 a, bool as_v4, char *buf, size_t size)
{
    unsigned char b[16];
    if (as_v4) {
        format_v4((uint32_t)a, buf, size);
        return;
    }
    for (int i = 15; i >= 0; i--, a >>= 8)
        b[i] = (unsigned char)a;
    inet_ntop(AF_INET6, b, buf, (socklen_t)size);
}

void
ar_ip_format(const struct ar_ip *ip, char *buf, size_t size)
{
    if (!ip->valid) {
        snprintf(buf, size, "unknown");
        return;
    }
    format_addr(ip->a, (ip->a >> 32) == 0xffff, buf, size);
}

static ar_u128
host_mask(unsigned bits) /* the low `bits` bits set */
{
    return bits >= 128 ? ~(ar_u128)0 : (((ar_u128)1 << bits) - 1);
}

int
ar_cidr_parse(const char *s, struct ar_cidr *c, const char **why)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    struct ar_ip ip;
    unsigned long prefix;

    memset(c, 0, sizeof(*c));
    if (alen == 0 || alen >= sizeof(buf)) {
        *why = "malformed network address";
        return -1;
    }
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (ar_ip_parse(buf, &ip) < 0) {
        *why = "malformed network address";
        return -1;
    }
    c->v4 = strchr(buf, ':') == NULL;
    unsigned max = c->v4 ? 32 : 128;
    if (slash) {
        const char *p = slash + 1;
        char *end;
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0')) {
            *why = "malformed prefix length";
            return -1;
        }
        prefix = strtoul(p, &end, 10);
        if (*end != '\0' || prefix > max) {
            *why = c->v4 ? "prefix length must be 0 to 32"
                         : "prefix length must be 0 to 128";
            return -1;
        }
    } else {
        prefix = max;
    }
    c->prefix = (unsigned)prefix;
    ar_u128 hm = host_mask(max - c->prefix);
    if (ip.a & hm) {
        *why = "host bits set after the prefix length";
        return -1;
    }
    c->lo = ip.a;
    c->hi = ip.a | hm;
    return 0;
}

void
ar_cidr_format(const struct ar_cidr *c, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    format_addr(c->lo, c->v4, a, sizeof(a));
    snprintf(buf, size, "%s/%u", a, c->prefix);
}

static int
cmp_cidr(const void *x, const void *y)
{
    const struct ar_cidr *a = x, *b = y;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi > b->hi ? -1 : 1; /* wider first */
    return 0;
}

struct ar_netset *
ar_netset_new(const struct ar_cidr *v, size_t n)
{
    struct ar_netset *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->entries = malloc((n ? n : 1) * sizeof(*s->entries));
    s->ranges = malloc((n ? n : 1) * sizeof(*s->ranges));
    if (s->entries == NULL || s->ranges == NULL) {
        ar_netset_free(s);
        return NULL;
    }
    if (n)
        memcpy(s->entries, v, n * sizeof(*v));
    s->n = n;
    qsort(s->entries, n, sizeof(*s->entries), cmp_cidr);
    for (size_t i = 0; i < n; i++) {
        struct range *last = s->nranges ? &s->ranges[s->nranges - 1] : NULL;
        /* merge overlapping and adjacent ranges */
        if (last &&
            (s->entries[i].lo <= last->hi ||
             (last->hi != ~(ar_u128)0 && s->entries[i].lo == last->hi + 1))) {
            if (s->entries[i].hi > last->hi)
                last->hi = s->entries[i].hi;
            continue;
        }
        s->ranges[s->nranges].lo = s->entries[i].lo;
        s->ranges[s->nranges].hi = s->entries[i].hi;
        s->nranges++;
    }
    return s;
}

void
ar_netset_free(struct ar_netset *s)
{
    if (s == NULL)
        return;
    free(s->entries);
    free(s->ranges);
    free(s);
}

/* the last range whose lo <= a, or NULL */
static const struct range *
floor_range(const struct ar_netset *s, ar_u128 a)
{
    size_t lo = 0, hi = s->nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranges[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &s->ranges[lo - 1] : NULL;
}

bool
ar_netset_contains(const struct ar_netset *s, const struct ar_ip *ip)
{
    if (s == NULL || !ip->valid)
        return false;
    const struct range *r = floor_range(s, ip->a);
    return r != NULL && ip->a <= r->hi;
}

bool
ar_netset_covers(const struct ar_netset *s, const struct ar_cidr *c)
{
    if (s == NULL)
        return false;
    const struct range *r = floor_range(s, c->lo);
    return r != NULL && c->hi <= r->hi;
}

size_t
ar_netset_count(const struct ar_netset *s)
{
    return s ? s->n : 0;
}

const struct ar_cidr *
ar_netset_entries(const struct ar_netset *s)
{
    return s ? s->entries : NULL;
}
