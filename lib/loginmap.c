/* loginmap.c - the sender-login map; see loginmap.h */
#include "loginmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "hash.h"

#define LOGIN_MAX 255

struct login {
    char *key; /* the login, lower-cased */
    bool any;
    char **senders; /* "local@domain" or "@domain", domain normalised */
    size_t n, cap;
};

struct ar_loginmap {
    struct login *v;
    size_t n, cap;
    size_t *slots; /* index + 1 into v; 0 = empty */
    size_t mask;
};

struct ar_loginmap *
ar_loginmap_new(void)
{
    struct ar_loginmap *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->mask = 15;
    if ((m->slots = calloc(m->mask + 1, sizeof(*m->slots))) == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void
ar_loginmap_free(struct ar_loginmap *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        for (size_t k = 0; k < m->v[i].n; k++)
            free(m->v[i].senders[k]);
        free(m->v[i].senders);
        free(m->v[i].key);
    }
    free(m->v);
    free(m->slots);
    free(m);
}

static uint32_t
hash(const char *s)
{
    return ar_hash(s, strlen(s));
}

/* lower-case copy of login into buf; -1 if empty or too long */
static int
fold(const char *login, char *buf)
{
    size_t n = strlen(login);
    if (n == 0 || n > LOGIN_MAX)
        return -1;
    for (size_t i = 0; i <= n; i++)
        buf[i] = ar_lower(login[i]);
    return 0;
}

static struct login *
find(const struct ar_loginmap *m, const char *key)
{
    for (size_t i = hash(key) & m->mask; m->slots[i]; i = (i + 1) & m->mask) {
        struct login *l = &m->v[m->slots[i] - 1];
        if (strcmp(l->key, key) == 0)
            return l;
    }
    return NULL;
}

static int
rehash(struct ar_loginmap *m)
{
    size_t nmask = m->mask * 2 + 1;
    size_t *ns = calloc(nmask + 1, sizeof(*ns));
    if (ns == NULL)
        return -1;
    for (size_t k = 0; k < m->n; k++) {
        size_t i = hash(m->v[k].key) & nmask;
        while (ns[i])
            i = (i + 1) & nmask;
        ns[i] = k + 1;
    }
    free(m->slots);
    m->slots = ns;
    m->mask = nmask;
    return 0;
}

static struct login *
get(struct ar_loginmap *m, const char *login, const char **why)
{
    char key[LOGIN_MAX + 1];
    if (fold(login, key) < 0) {
        *why = "empty or over-long login";
        return NULL;
    }
    struct login *l = find(m, key);
    if (l)
        return l;
    if ((m->n + 1) * 2 > m->mask + 1 && rehash(m) < 0)
        goto oom;
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct login *nv = realloc(m->v, ncap * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        m->v = nv;
        m->cap = ncap;
    }
    l = &m->v[m->n];
    memset(l, 0, sizeof(*l));
    if ((l->key = strdup(key)) == NULL)
        goto oom;
    size_t i = hash(key) & m->mask;
    while (m->slots[i])
        i = (i + 1) & m->mask;
    m->slots[i] = ++m->n;
    return l;
oom:
    *why = "out of memory";
    return NULL;
}

/* "local@domain" or "@domain" in normal form, into out */
static int
normalize_pattern(const char *p, char *out, size_t size, const char **why)
{
    const char *at = strrchr(p, '@');
    char dom[AR_DOMAIN_MAX + 2];
    size_t dlen;
    if (at == NULL) {
        *why = "a sender must be local@domain or @domain";
        return -1;
    }
    if ((size_t)(at - p) > 64 || memchr(p, '@', (size_t)(at - p))) {
        *why = "bad local part";
        return -1;
    }
    if (ar_domain_normalize(at + 1, strlen(at + 1), AR_DOM_LITERAL, dom, &dlen,
                            why) < 0)
        return -1;
    snprintf(out, size, "%.*s@%s", (int)(at - p), p, dom);
    return 0;
}

int
ar_loginmap_add(struct ar_loginmap *m, const char *login, const char *pattern,
                const char **why)
{
    char norm[AR_DOMAIN_MAX + 80];
    if (normalize_pattern(pattern, norm, sizeof(norm), why) < 0)
        return -1;
    struct login *l = get(m, login, why);
    if (l == NULL)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->senders[i], norm) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 4;
        char **nv = realloc(l->senders, ncap * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        l->senders = nv;
        l->cap = ncap;
    }
    if ((l->senders[l->n] = strdup(norm)) == NULL)
        goto oom;
    l->n++;
    return 0;
oom:
    *why = "out of memory";
    return -1;
}

int
ar_loginmap_add_any(struct ar_loginmap *m, const char *login, const char **why)
{
    struct login *l = get(m, login, why);
    if (l == NULL)
        return -1;
    l->any = true;
    return 0;
}

/* Is the folded domain of a login the normal-form domain? The login's
 * is as the client wrote it: when it is not the same text, its normal
 * form (A-labels, for a login with an internationalised domain) is. */
static bool
same_domain(const char *login_domain, const char *domain)
{
    char norm[AR_DOMAIN_MAX + 2];
    size_t n;
    const char *why;
    return strcmp(login_domain, domain) == 0 ||
           (ar_domain_normalize(login_domain, strlen(login_domain),
                                AR_DOM_LITERAL, norm, &n, &why) == 0 &&
            strcmp(norm, domain) == 0);
}

enum ar_login_match
ar_loginmap_match(const struct ar_loginmap *m, const char *login,
                  const char *local, const char *domain, const char **entry)
{
    char key[LOGIN_MAX + 1];
    *entry = NULL;
    if (login == NULL || fold(login, key) < 0)
        return AR_LOGIN_NO;
    const struct login *l = m ? find(m, key) : NULL;
    if (l && l->any)
        return AR_LOGIN_ANY;
    /* the login itself: local part exact, domain case-insensitive */
    const char *at = strrchr(login, '@');
    if (at && (size_t)(at - login) == strlen(local) &&
        strncmp(login, local, (size_t)(at - login)) == 0 &&
        same_domain(key + (at - login) + 1, domain))
        return AR_LOGIN_SELF;
    if (l == NULL)
        return AR_LOGIN_NO;
    size_t llen = strlen(local);
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->senders[i];
        if (s[0] == '@') {
            if (strcmp(s + 1, domain) == 0) {
                *entry = s;
                return AR_LOGIN_DOMAIN;
            }
        } else if (strncmp(s, local, llen) == 0 && s[llen] == '@' &&
                   strcmp(s + llen + 1, domain) == 0) {
            *entry = s;
            return AR_LOGIN_LISTED;
        }
    }
    return AR_LOGIN_NO;
}

size_t
ar_loginmap_count(const struct ar_loginmap *m)
{
    return m ? m->n : 0;
}
