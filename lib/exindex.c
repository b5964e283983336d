/* exindex.c - candidate exceptions by address and name; see exindex.h */
#include "exindex.h"

#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

/*
 * The address index cuts the address space at every network boundary of
 * every rule: each elementary segment [lo, next lo) carries the list of
 * rules whose networks cover it all. The name index is one domain set of
 * every client_hostnames entry, whose value is that entry's rule list.
 * Lists live in one pool: pool[off] = count, then the rule indexes.
 */
struct seg {
    ar_u128 lo;
    uint32_t list; /* offset in pool; 0: no rule */
};

struct ar_exindex {
    struct seg *segs;
    size_t nsegs;
    struct ar_domainset *names;
    uint32_t *always; /* rules with neither networks nor hostnames */
    size_t nalways;
    uint32_t *pool;
    size_t npool, cap;
};

static int
pool_reserve(struct ar_exindex *x, size_t more)
{
    if (x->npool + more <= x->cap)
        return 0;
    size_t ncap = x->cap ? x->cap * 2 : 1024;
    while (ncap < x->npool + more)
        ncap *= 2;
    uint32_t *np = realloc(x->pool, ncap * sizeof(*np));
    if (np == NULL)
        return -1;
    x->pool = np;
    x->cap = ncap;
    return 0;
}

static int
cmp_u128(const void *a, const void *b)
{
    ar_u128 x = *(const ar_u128 *)a, y = *(const ar_u128 *)b;
    return x < y ? -1 : x > y;
}

struct pair {
    uint32_t key; /* segment index or name entry id */
    uint32_t rule;
};

static int
cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* sort pairs, then write one list per key; set(key, offset) records it */
static int
make_lists(struct ar_exindex *x, struct pair *v, size_t n,
           void (*set)(struct ar_exindex *, uint32_t key, uint32_t off))
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_pair);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].key == v[i].key)
            j++;
        if (pool_reserve(x, j - i + 1) < 0)
            return -1;
        uint32_t off = (uint32_t)x->npool;
        uint32_t *count = &x->pool[x->npool++];
        *count = 0;
        for (size_t k = i; k < j; k++) {
            if (k > i && v[k].rule == v[k - 1].rule)
                continue;
            x->pool[x->npool++] = v[k].rule;
            (*count)++;
        }
        set(x, v[i].key, off);
        i = j;
    }
    return 0;
}

static void
set_seg(struct ar_exindex *x, uint32_t key, uint32_t off)
{
    x->segs[key].list = off;
}

static void
set_name(struct ar_exindex *x, uint32_t key, uint32_t off)
{
    ar_domainset_set_value(x->names, key, off);
}

/* the last segment whose lo <= a */
static size_t
seg_of(const struct ar_exindex *x, ar_u128 a)
{
    size_t lo = 0, hi = x->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->segs[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1; /* segs[0].lo == 0: never underflows */
}

static int
build_networks(struct ar_exindex *x, const struct ar_exception *exc, size_t n)
{
    size_t nb = 1, k = 0;
    for (size_t i = 0; i < n; i++)
        nb += 2 * ar_netset_count(exc[i].networks);
    ar_u128 *b = malloc(nb * sizeof(*b));
    if (b == NULL)
        return -1;
    b[k++] = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ar_cidr *v = ar_netset_entries(exc[i].networks);
        for (size_t j = 0; j < ar_netset_count(exc[i].networks); j++) {
            b[k++] = v[j].lo;
            if (v[j].hi != ~(ar_u128)0)
                b[k++] = v[j].hi + 1;
        }
    }
    qsort(b, k, sizeof(*b), cmp_u128);
    x->segs = malloc(k * sizeof(*x->segs));
    if (x->segs == NULL) {
        free(b);
        return -1;
    }
    for (size_t i = 0; i < k; i++)
        if (i == 0 || b[i] != b[i - 1])
            x->segs[x->nsegs++] = (struct seg){b[i], 0};
    free(b);

    struct pair *pv = NULL;
    size_t np = 0, pcap = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ar_cidr *v = ar_netset_entries(exc[i].networks);
        for (size_t j = 0; j < ar_netset_count(exc[i].networks); j++) {
            for (size_t s = seg_of(x, v[j].lo);
                 s < x->nsegs && x->segs[s].lo <= v[j].hi; s++) {
                if (np == pcap) {
                    pcap = pcap ? pcap * 2 : 256;
                    struct pair *nv = realloc(pv, pcap * sizeof(*nv));
                    if (nv == NULL) {
                        free(pv);
                        return -1;
                    }
                    pv = nv;
                }
                pv[np++] = (struct pair){(uint32_t)s, (uint32_t)i};
            }
        }
    }
    int rc = make_lists(x, pv, np, set_seg);
    free(pv);
    return rc;
}

struct name_pairs {
    struct ar_exindex *x;
    struct pair *v;
    size_t n, cap;
    uint32_t rule;
    int failed;
};

static void
add_name(const char *entry, void *ctx)
{
    struct name_pairs *np = ctx;
    uint32_t id;
    const char *why;
    if (ar_domainset_add_id(np->x->names, entry, strlen(entry), &id, &why) <
        0) {
        np->failed = 1;
        return;
    }
    if (np->n == np->cap) {
        np->cap = np->cap ? np->cap * 2 : 256;
        struct pair *nv = realloc(np->v, np->cap * sizeof(*nv));
        if (nv == NULL) {
            np->failed = 1;
            return;
        }
        np->v = nv;
    }
    np->v[np->n++] = (struct pair){id, np->rule};
}

struct ar_exindex *
ar_exindex_build(const struct ar_exception *exc, size_t n)
{
    struct ar_exindex *x = calloc(1, sizeof(*x));
    if (x == NULL || (x->names = ar_domainset_new()) == NULL ||
        (x->always = malloc((n ? n : 1) * sizeof(*x->always))) == NULL ||
        pool_reserve(x, 1) < 0)
        goto fail;
    x->pool[x->npool++] = 0; /* offset 0: the empty list */
    if (build_networks(x, exc, n) < 0)
        goto fail;
    struct name_pairs np = {.x = x};
    for (size_t i = 0; i < n; i++) {
        if (exc[i].networks == NULL && exc[i].hostnames == NULL)
            x->always[x->nalways++] = (uint32_t)i;
        np.rule = (uint32_t)i;
        ar_domainset_foreach(exc[i].hostnames, add_name, &np);
    }
    int rc = np.failed ? -1 : make_lists(x, np.v, np.n, set_name);
    free(np.v);
    if (rc < 0)
        goto fail;
    return x;
fail:
    ar_exindex_free(x);
    return NULL;
}

void
ar_exindex_free(struct ar_exindex *x)
{
    if (x == NULL)
        return;
    free(x->segs);
    ar_domainset_free(x->names);
    free(x->always);
    free(x->pool);
    free(x);
}

struct gather {
    const struct ar_exindex *x;
    uint32_t *out;
    size_t n, cap;
    bool overflow;
};

static void
take_list(struct gather *g, uint32_t off)
{
    const uint32_t *l = &g->x->pool[off];
    for (uint32_t i = 1; i <= l[0]; i++) {
        if (g->n == g->cap) {
            g->overflow = true;
            return;
        }
        g->out[g->n++] = l[i];
    }
}

static void
take_name(uint32_t off, void *ctx)
{
    take_list(ctx, off);
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t
ar_exindex_candidates(const struct ar_exindex *x, const struct ar_ip *ip,
                      const char *name, uint32_t *out, size_t cap)
{
    struct gather g = {x, out, 0, cap, false};
    if (ip->valid && x->nsegs)
        take_list(&g, x->segs[seg_of(x, ip->a)].list);
    if (name)
        ar_domainset_each_match(x->names, name, strlen(name), take_name, &g);
    for (size_t i = 0; i < x->nalways && !g.overflow; i++) {
        if (g.n == cap)
            g.overflow = true;
        else
            out[g.n++] = x->always[i];
    }
    if (g.overflow)
        return SIZE_MAX;
    /* a few lists, each ascending: sort and drop repeats */
    qsort(out, g.n, sizeof(*out), cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < g.n; i++)
        if (k == 0 || out[k - 1] != out[i])
            out[k++] = out[i];
    return k;
}
