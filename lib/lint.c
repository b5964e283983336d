/*
 * lint.c - warnings about a policy that loads but may not do what its
 * maintainer meant: shadowed rules, HELO-only matches, overlapping
 * networks, permit-everything rules and trusted networks (an IPv6 one
 * that covers every IPv4 client too), expiring rules.
 */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define EXPIRY_WARN_DAYS 30

struct cover {
    const struct ar_domainset *by;
    bool all;
};

static void
check_covered(const char *entry, void *ctx)
{
    struct cover *c = ctx;
    /* ".x" is covered by ".x" or a parent suffix; "x" by either kind */
    if (!ar_domainset_match(c->by, entry, strlen(entry)))
        c->all = false;
}

static bool
domains_cover(const struct ar_domainset *a, const struct ar_domainset *b)
{
    struct cover c = {a, true};
    if (b == NULL)
        return false;
    ar_domainset_foreach(b, check_covered, &c);
    return c.all;
}

static bool
nets_cover(const struct ar_netset *a, const struct ar_netset *b)
{
    if (b == NULL)
        return false;
    const struct ar_cidr *v = ar_netset_entries(b);
    for (size_t i = 0; i < ar_netset_count(b); i++)
        if (!ar_netset_covers(a, &v[i]))
            return false;
    return true;
}

/* Does a match whenever b does? (then b, after a, can never decide) */
static bool
shadows(const struct ar_exception *a, const struct ar_exception *b)
{
    if (a->expires >= 0 && (b->expires < 0 || b->expires > a->expires))
        return false;
    if (a->networks && !nets_cover(a->networks, b->networks))
        return false;
    if (a->hostnames && !domains_cover(a->hostnames, b->hostnames))
        return false;
    if (a->helo && !domains_cover(a->helo, b->helo))
        return false;
    if (a->sender_domains &&
        !domains_cover(a->sender_domains, b->sender_domains))
        return false;
    if (a->sender_is_local >= 0 && a->sender_is_local != b->sender_is_local)
        return false;
    return true;
}

static void
overlaps(const struct ar_netset *s, const char *what, struct ar_diags *d)
{
    const struct ar_cidr *v = ar_netset_entries(s);
    size_t widest = 0;
    for (size_t i = 1; i < ar_netset_count(s); i++) {
        if (v[i].lo <= v[widest].hi) {
            char x[64], y[64];
            ar_cidr_format(&v[i], x, sizeof(x));
            ar_cidr_format(&v[widest], y, sizeof(y));
            ar_diag_warn(d, v[i].file, v[i].line, "%s: %s overlaps %s (%s:%u)",
                         what, x, y, v[widest].file, v[widest].line);
        }
        if (v[i].hi > v[widest].hi)
            widest = i;
    }
}

static bool
permits_everyone(const struct ar_exception *e)
{
    const struct ar_cidr *v = ar_netset_entries(e->networks);
    for (size_t i = 0; i < ar_netset_count(e->networks); i++)
        if (v[i].prefix == 0)
            return true;
    return false;
}

/* Does the entry, written as IPv6, hold all of ::ffff:0:0/96? An IPv4
 * client is held as its IPv4-mapped address: it matches every one. */
static bool
covers_ipv4(const struct ar_cidr *c)
{
    const ar_u128 lo = (ar_u128)0xffff << 32, hi = lo | 0xffffffffu;
    return !c->v4 && c->lo <= lo && c->hi >= hi;
}

/* Warn about each entry of s that holds every address, or every IPv4
 * address without saying so (an IPv6 entry that covers the IPv4-mapped
 * ones); what names the list, effect what such an entry lets through.
 * wide_too: an entry of prefix 0 as well (else warned about elsewhere). */
static void
too_wide(const struct ar_netset *s, const char *what, const char *effect,
         bool wide_too, struct ar_diags *d)
{
    const struct ar_cidr *v = ar_netset_entries(s);
    for (size_t i = 0; i < ar_netset_count(s); i++) {
        const char *span =
            v[i].prefix == 0     ? (v[i].v4 ? "every IPv4 address"
                                            : "every address, IPv4 clients too "
                                              "(::ffff:0:0/96)")
            : covers_ipv4(&v[i]) ? "::ffff:0:0/96, every IPv4 client"
                                 : NULL;
        if (span == NULL || (v[i].prefix == 0 && !wide_too))
            continue;
        char x[64];
        ar_cidr_format(&v[i], x, sizeof(x));
        ar_diag_warn(d, v[i].file, v[i].line,
                     "%s: %s covers %s: %s, an open relay", what, x, span,
                     effect);
    }
}

void
ar_policy_lint(const struct ar_policy *p, int64_t today, struct ar_diags *d)
{
    if (p->sl_mode == AR_SL_OFF && ar_loginmap_count(p->sl_map) > 0)
        ar_diag_warn(d, p->path, 0,
                     "sender_login has logins but mode is off: nothing is "
                     "checked");
    if (ar_domainset_count(p->local_domains) == 0)
        ar_diag_warn(d, p->path, 0,
                     "relay.local_domains is empty: every recipient is a "
                     "relay attempt");
    if (p->socket && (strncmp(p->socket, "inet:", 5) == 0 ||
                      strncmp(p->socket, "inet6:", 6) == 0))
        ar_diag_warn(d, p->path, 0,
                     "milter.socket %s is an inet socket: every local user "
                     "can connect to it; use a unix socket only the MTA can "
                     "open",
                     p->socket);
    overlaps(p->trusted, "trusted_networks", d);
    too_wide(p->trusted, "trusted_networks", "it trusts all of them", true, d);
    for (size_t i = 0; i < p->nexc; i++) {
        const struct ar_exception *e = &p->exc[i];
        if (e->helo && !e->networks && !e->hostnames)
            ar_diag_warn(d, e->file, e->helo_line,
                         "exception %s matches on HELO alone, which the "
                         "client chooses freely; add client_networks or "
                         "client_hostnames",
                         e->name);
        if (e->networks) {
            char what[128];
            snprintf(what, sizeof(what), "exception %s client_networks",
                     e->name);
            overlaps(e->networks, what, d);
            if (nets_cover(p->trusted, e->networks))
                ar_diag_warn(d, e->file, e->networks_line,
                             "exception %s: every client_networks entry is "
                             "in trusted_networks, which are accepted first",
                             e->name);
        }
        if (e->action == AR_ACT_PERMIT && e->networks && permits_everyone(e))
            ar_diag_warn(d, e->file, e->networks_line,
                         "exception %s permits relay from every address: "
                         "an open relay",
                         e->name);
        if (e->action == AR_ACT_PERMIT && e->networks) {
            char what[128];
            snprintf(what, sizeof(what), "exception %s client_networks",
                     e->name);
            too_wide(e->networks, what, "it permits relay from all of them",
                     false, d);
        }
        if (e->action == AR_ACT_PERMIT && e->has_reply)
            ar_diag_warn(d, e->file, e->line,
                         "exception %s: a permit rule's reply is never sent",
                         e->name);
        if (e->expires >= 0 && today < e->expires &&
            e->expires - today <= EXPIRY_WARN_DAYS) {
            char date[16];
            ar_format_date(e->expires, date, sizeof(date));
            ar_diag_warn(d, e->file, e->expires_line,
                         "exception %s expires on %s, in %lld day%s", e->name,
                         date, (long long)(e->expires - today),
                         e->expires - today == 1 ? "" : "s");
        }
        for (size_t j = 0; j < i; j++) {
            if (p->exc[j].dry_run)
                continue; /* a dry run never decides */
            if (shadows(&p->exc[j], e)) {
                ar_diag_warn(d, e->file, e->line,
                             "exception %s can never match: exception %s "
                             "(line %u) always matches first",
                             e->name, p->exc[j].name, p->exc[j].line);
                break;
            }
        }
    }
}
