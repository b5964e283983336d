/* domainset.c - hashed exact/suffix domain set; see domainset.h */
#include "domainset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "domain.h"
#include "hash.h"

struct slot {
    uint32_t hash;
    uint32_t off; /* offset of the entry in the arena; 0 = empty slot */
};

struct ar_domainset {
    struct slot *slots;
    size_t mask; /* number of slots - 1; a power of two minus one */
    size_t count;
    size_t nsuffix; /* entries with a leading dot */
    char *arena;    /* NUL-terminated entries; offset 0 is a dummy byte */
    size_t used, cap;
};

static uint32_t
hash(const char *s, size_t len)
{
    return ar_hash(s, len);
}

struct ar_domainset *
ar_domainset_new(void)
{
    struct ar_domainset *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->mask = 15;
    s->slots = calloc(s->mask + 1, sizeof(*s->slots));
    s->cap = 256;
    s->arena = malloc(s->cap);
    if (s->slots == NULL || s->arena == NULL) {
        ar_domainset_free(s);
        return NULL;
    }
    s->arena[0] = '\0';
    s->used = 1;
    return s;
}

void
ar_domainset_free(struct ar_domainset *s)
{
    if (s == NULL)
        return;
    free(s->slots);
    free(s->arena);
    free(s);
}

static const char *
find(const struct ar_domainset *s, const char *key, size_t len, uint32_t h)
{
    for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
        const struct slot *sl = &s->slots[i];
        if (sl->off == 0)
            return NULL;
        if (sl->hash == h) {
            const char *e = s->arena + sl->off;
            if (strncmp(e, key, len) == 0 && e[len] == '\0')
                return e;
        }
    }
}

/* Memory for a big table: a lookup in a million entries touches two
 * random places of tens of megabytes, and with 4 kB pages each is a TLB
 * miss too (a costly one in a virtual machine). From 2 MB on, ask the
 * kernel for huge pages (before the first touch, when it can still give
 * them): aligned to them, advised, then zeroed. Smaller: calloc. */
#define HUGE_PAGE ((size_t)2 << 20)
#ifndef MADV_COLLAPSE /* Linux 6.1; glibc 2.36's headers lack it */
#define MADV_COLLAPSE 25
#endif

static void *
big_zalloc(size_t bytes)
{
    void *p = NULL;
    if (bytes < HUGE_PAGE)
        return calloc(1, bytes);
    size_t len = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (posix_memalign(&p, HUGE_PAGE, len) != 0)
        return NULL;
    (void)madvise(p, len, MADV_HUGEPAGE); /* a hint: fine if refused */
    memset(p, 0, len);
    return p;
}

static int
grow(struct ar_domainset *s)
{
    size_t nmask = s->mask * 2 + 1;
    struct slot *ns = big_zalloc((nmask + 1) * sizeof(*ns));
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i <= s->mask; i++) {
        if (s->slots[i].off == 0)
            continue;
        size_t j = s->slots[i].hash & nmask;
        while (ns[j].off != 0)
            j = (j + 1) & nmask;
        ns[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->mask = nmask;
    return 0;
}

#define VALUE_SIZE 4 /* after each entry's NUL: its value, unaligned */

int
ar_domainset_add(struct ar_domainset *s, const char *entry, size_t len,
                 const char **why)
{
    uint32_t id;
    return ar_domainset_add_id(s, entry, len, &id, why);
}

int
ar_domainset_add_id(struct ar_domainset *s, const char *entry, size_t len,
                    uint32_t *id, const char **why)
{
    char norm[AR_DOMAIN_MAX + 2];
    size_t n;

    if (ar_domain_normalize(entry, len, AR_DOM_SUFFIX | AR_DOM_LITERAL, norm,
                            &n, why) < 0)
        return -1;
    uint32_t h = hash(norm, n);
    const char *old = find(s, norm, n, h);
    if (old != NULL) {
        *id = (uint32_t)(old - s->arena);
        return 0;
    }
    /* keep the load factor under 1/2: probe runs stay short */
    if ((s->count + 1) * 2 > s->mask + 1 && grow(s) < 0)
        goto oom;
    if (s->used + n + 1 + VALUE_SIZE > s->cap) {
        size_t ncap = s->cap * 2;
        while (s->used + n + 1 + VALUE_SIZE > ncap)
            ncap *= 2;
        if (ncap > UINT32_MAX)
            goto oom;
        char *na = realloc(s->arena, ncap);
        if (na == NULL)
            goto oom;
        s->arena = na;
        s->cap = ncap;
    }
    size_t off = s->used;
    memcpy(s->arena + off, norm, n + 1);
    memset(s->arena + off + n + 1, 0, VALUE_SIZE);
    s->used += n + 1 + VALUE_SIZE;
    *id = (uint32_t)off;
    size_t i = h & s->mask;
    while (s->slots[i].off != 0)
        i = (i + 1) & s->mask;
    s->slots[i].hash = h;
    s->slots[i].off = (uint32_t)off;
    s->count++;
    if (norm[0] == '.')
        s->nsuffix++;
    return 1;
oom:
    *why = "out of memory";
    return -1;
}

const char *
ar_domainset_match(const struct ar_domainset *s, const char *domain, size_t len)
{
    const char *e;

    if (s == NULL || len == 0)
        return NULL;
    if ((e = find(s, domain, len, hash(domain, len))) != NULL)
        return e;
    if (s->nsuffix == 0 || domain[0] == '[')
        return NULL;
    /* ".b.c" then ".c" for "a.b.c": longest suffix first */
    for (size_t i = 0; i < len; i++) {
        if (domain[i] != '.')
            continue;
        if ((e = find(s, domain + i, len - i, hash(domain + i, len - i))))
            return e;
    }
    return NULL;
}

const char *
ar_domainset_match_name(const struct ar_domainset *s, const char *name)
{
    char norm[AR_DOMAIN_MAX + 2];
    size_t n;
    const char *why;

    if (s == NULL || name == NULL ||
        ar_domain_normalize(name, strlen(name), AR_DOM_LITERAL, norm, &n,
                            &why) < 0)
        return NULL;
    return ar_domainset_match(s, norm, n);
}

void
ar_domainset_set_value(struct ar_domainset *s, uint32_t id, uint32_t value)
{
    memcpy(s->arena + id + strlen(s->arena + id) + 1, &value, VALUE_SIZE);
}

/* call fn with the value stored after entry e */
static void
call(const char *e, void (*fn)(uint32_t value, void *ctx), void *ctx)
{
    uint32_t v;
    memcpy(&v, e + strlen(e) + 1, VALUE_SIZE);
    fn(v, ctx);
}

void
ar_domainset_each_match(const struct ar_domainset *s, const char *domain,
                        size_t len, void (*fn)(uint32_t value, void *ctx),
                        void *ctx)
{
    const char *e;
    if (s == NULL || len == 0)
        return;
    if ((e = find(s, domain, len, hash(domain, len))) != NULL)
        call(e, fn, ctx);
    if (s->nsuffix == 0 || domain[0] == '[')
        return;
    for (size_t i = 0; i < len; i++)
        if (domain[i] == '.' &&
            (e = find(s, domain + i, len - i, hash(domain + i, len - i))))
            call(e, fn, ctx);
}

void
ar_domainset_seal(struct ar_domainset *s)
{
    /* The arena grew by doubling (realloc), its pages touched as it grew:
     * the kernel turns them into huge pages in place, 2 MB at a time --
     * no second copy of tens of megabytes while the old policy still
     * serves. Hints both: the lookups are right on any pages. */
    if (s == NULL || s->used < HUGE_PAGE)
        return;
    const uintptr_t page = 4096; /* only whole pages of the arena's own */
    uintptr_t a = ((uintptr_t)s->arena + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)s->arena + s->cap) & ~(page - 1);
    (void)madvise((void *)a, end - a, MADV_HUGEPAGE);
    (void)madvise((void *)a, end - a, MADV_COLLAPSE);
}

size_t
ar_domainset_count(const struct ar_domainset *s)
{
    return s ? s->count : 0;
}

void
ar_domainset_foreach(const struct ar_domainset *s,
                     void (*fn)(const char *entry, void *ctx), void *ctx)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i <= s->mask; i++)
        if (s->slots[i].off != 0)
            fn(s->arena + s->slots[i].off, ctx);
}
