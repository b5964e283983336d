/* policy_diff.c - the structure of two policies compared, and the probes
 * made from one (see policy_diff.h) */
#include "policy_diff.h"

#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

/* ---- lists of strings ------------------------------------------------ */

struct strs {
    const char **v;
    size_t n, cap;
    bool oom;
};

static void
strs_add(const char *s, void *ctx)
{
    struct strs *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        const char **v = realloc(a->v, cap * sizeof(*v));
        if (v == NULL) {
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
}

static int
by_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* the entries of a domain set, sorted (none for NULL) */
static struct strs
domains_of(const struct ar_domainset *s)
{
    struct strs a = {NULL, 0, 0, false};
    if (s)
        ar_domainset_foreach(s, strs_add, &a);
    if (a.n)
        qsort(a.v, a.n, sizeof(*a.v), by_str);
    return a;
}

struct list_diff {
    size_t added, removed;
    const char *add_ex[AR_DIFF_EXAMPLES], *rm_ex[AR_DIFF_EXAMPLES];
};

static void
note(struct list_diff *d, bool add, const char *s)
{
    size_t *n = add ? &d->added : &d->removed;
    if (*n < AR_DIFF_EXAMPLES)
        (add ? d->add_ex : d->rm_ex)[*n] = s;
    (*n)++;
}

/* two sorted lists merged: what b adds to a, and removes */
static void
diff_sorted(const struct strs *a, const struct strs *b, struct list_diff *d)
{
    size_t i = 0, j = 0;
    memset(d, 0, sizeof(*d));
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
        if (c < 0)
            note(d, false, a->v[i++]);
        else if (c > 0)
            note(d, true, b->v[j++]);
        else
            i++, j++;
    }
}

static void
print_list_diff(FILE *f, const char *what, const struct list_diff *d)
{
    fprintf(f, "list %s: %zu added, %zu removed\n", what, d->added, d->removed);
    for (size_t i = 0; i < d->added && i < AR_DIFF_EXAMPLES; i++)
        fprintf(f, "  + %s\n", d->add_ex[i]);
    if (d->added > AR_DIFF_EXAMPLES)
        fprintf(f, "  + ... %zu more\n", d->added - AR_DIFF_EXAMPLES);
    for (size_t i = 0; i < d->removed && i < AR_DIFF_EXAMPLES; i++)
        fprintf(f, "  - %s\n", d->rm_ex[i]);
    if (d->removed > AR_DIFF_EXAMPLES)
        fprintf(f, "  - ... %zu more\n", d->removed - AR_DIFF_EXAMPLES);
}

/* a list compared; f NULL: only whether it differs. 1 if it does. */
static int
diff_strs(FILE *f, const char *what, struct strs *a, struct strs *b)
{
    struct list_diff d;
    diff_sorted(a, b, &d);
    bool differs = d.added || d.removed;
    if (differs && f)
        print_list_diff(f, what, &d);
    return differs;
}

static int
diff_domains(FILE *f, const char *what, const struct ar_domainset *x,
             const struct ar_domainset *y)
{
    struct strs a = domains_of(x), b = domains_of(y);
    int r = diff_strs(f, what, &a, &b);
    free(a.v);
    free(b.v);
    return r;
}

/* networks as text, sorted */
struct nets {
    struct strs s;
    char *text; /* the strings, each in 48 octets */
};

static struct nets
nets_of(const struct ar_netset *s)
{
    struct nets n = {{NULL, 0, 0, false}, NULL};
    size_t k = s ? ar_netset_count(s) : 0;
    if (k == 0 || (n.text = malloc(k * 48)) == NULL)
        return n;
    const struct ar_cidr *v = ar_netset_entries(s);
    for (size_t i = 0; i < k; i++) {
        ar_cidr_format(&v[i], n.text + 48 * i, 48);
        strs_add(n.text + 48 * i, &n.s);
    }
    if (n.s.n)
        qsort(n.s.v, n.s.n, sizeof(*n.s.v), by_str);
    return n;
}

static int
diff_nets(FILE *f, const char *what, const struct ar_netset *x,
          const struct ar_netset *y)
{
    struct nets a = nets_of(x), b = nets_of(y);
    int r = diff_strs(f, what, &a.s, &b.s);
    free(a.s.v);
    free(b.s.v);
    free(a.text);
    free(b.text);
    return r;
}

static const struct ar_exception *
find_rule(const struct ar_policy *p, const char *name, size_t *at)
{
    for (size_t i = 0; i < p->nexc; i++)
        if (strcmp(p->exc[i].name, name) == 0) {
            *at = i;
            return &p->exc[i];
        }
    return NULL;
}

static bool
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool
same_reply(const struct ar_reply *a, const struct ar_reply *b)
{
    return strcmp(a->code, b->code) == 0 && strcmp(a->xcode, b->xcode) == 0 &&
           same_str(a->text, b->text);
}

/* one rule in both: the keys that changed, then its lists' entries */
static size_t
diff_rule(FILE *f, const struct ar_exception *a, size_t rank_a,
          const struct ar_exception *b, size_t rank_b, size_t ia, size_t ib)
{
    char keys[512] = "";
    size_t n = 0;
#define KEY(cond, name)                                                        \
    do {                                                                       \
        if (cond) {                                                            \
            strcat(keys, keys[0] ? ", " name : name);                          \
        }                                                                      \
    } while (0)
    KEY(a->action != b->action, "action");
    KEY(a->dry_run != b->dry_run, "dry_run");
    KEY(a->expires != b->expires, "expires");
    KEY(!same_reply(&a->reply, &b->reply), "reply");
    KEY(!same_str(a->comment, b->comment), "comment");
    KEY(!same_str(a->owner, b->owner), "owner");
    KEY(diff_nets(NULL, NULL, a->networks, b->networks) ||
            (a->networks == NULL) != (b->networks == NULL),
        "match.client_networks");
    KEY(diff_domains(NULL, NULL, a->hostnames, b->hostnames) ||
            (a->hostnames == NULL) != (b->hostnames == NULL),
        "match.client_hostnames");
    KEY(diff_domains(NULL, NULL, a->helo, b->helo) ||
            (a->helo == NULL) != (b->helo == NULL),
        "match.helo");
    KEY(diff_domains(NULL, NULL, a->sender_domains, b->sender_domains) ||
            (a->sender_domains == NULL) != (b->sender_domains == NULL),
        "match.sender_domains");
    KEY(a->sender_is_local != b->sender_is_local, "match.sender_is_local");
#undef KEY
    if (keys[0]) {
        fprintf(f, "rule %s: changed: %s\n", a->name, keys);
        n++;
    }
    if (rank_a != rank_b) {
        fprintf(f, "rule %s: moved from position %zu to %zu\n", a->name, ia + 1,
                ib + 1);
        n++;
    }
    char what[256];
    snprintf(what, sizeof(what), "rule %s match.client_networks", a->name);
    diff_nets(f, what, a->networks, b->networks);
    snprintf(what, sizeof(what), "rule %s match.client_hostnames", a->name);
    diff_domains(f, what, a->hostnames, b->hostnames);
    snprintf(what, sizeof(what), "rule %s match.helo", a->name);
    diff_domains(f, what, a->helo, b->helo);
    snprintf(what, sizeof(what), "rule %s match.sender_domains", a->name);
    diff_domains(f, what, a->sender_domains, b->sender_domains);
    return n;
}

size_t
ar_policy_diff_structure(const struct ar_policy *a, const struct ar_policy *b,
                         FILE *f)
{
    size_t n = 0, at;
    if (a->mode != b->mode)
        fprintf(f, "milter.mode: changed\n"), n++;
    if (a->on_error != b->on_error)
        fprintf(f, "milter.on_error: changed\n"), n++;
    if (!same_reply(&a->reply, &b->reply))
        fprintf(f, "relay.reply: changed\n"), n++;
    if (a->sl_mode != b->sl_mode)
        fprintf(f, "sender_login.mode: changed\n"), n++;
    n += (size_t)diff_domains(f, "relay.local_domains", a->local_domains,
                              b->local_domains);
    n += (size_t)diff_nets(f, "relay.trusted_networks", a->trusted, b->trusted);
    struct strs ma = {NULL, 0, 0, false}, mb = {NULL, 0, 0, false};
    for (size_t i = 0; i < a->nremote_mailers; i++)
        strs_add(a->remote_mailers[i], &ma);
    for (size_t i = 0; i < b->nremote_mailers; i++)
        strs_add(b->remote_mailers[i], &mb);
    if (ma.n)
        qsort(ma.v, ma.n, sizeof(*ma.v), by_str);
    if (mb.n)
        qsort(mb.v, mb.n, sizeof(*mb.v), by_str);
    n += (size_t)diff_strs(f, "relay.remote_mailers", &ma, &mb);
    free(ma.v);
    free(mb.v);

    /* a rule moved when its place among the rules of both changed (not
     * when one was added or removed before it) */
    size_t rank_a = 0;
    for (size_t i = 0; i < a->nexc; i++) {
        const struct ar_exception *e = find_rule(b, a->exc[i].name, &at);
        if (e == NULL) {
            fprintf(f, "rule %s: removed\n", a->exc[i].name), n++;
            continue;
        }
        size_t rank_b = 0, unused;
        for (size_t k = 0; k < at; k++)
            rank_b += find_rule(a, b->exc[k].name, &unused) != NULL;
        n += diff_rule(f, &a->exc[i], rank_a, e, rank_b, i, at);
        rank_a++;
    }
    for (size_t i = 0; i < b->nexc; i++)
        if (find_rule(a, b->exc[i].name, &at) == NULL)
            fprintf(f, "rule %s: added at position %zu\n", b->exc[i].name,
                    i + 1),
                n++;
    return n;
}

/* ---- probes ---------------------------------------------------------- */

struct prober {
    const struct ar_policy *p;
    void (*fn)(const struct ar_request *r, void *ctx);
    void *ctx;
    int64_t today;
    char local_sender[300]; /* "<probe@D>" for a local domain D, or "" */
};

#define REMOTE_RCPT "<probe@remote.invalid>"
#define REMOTE_SENDER "<sender@remote.invalid>"

static void
emit(struct prober *pr, struct ar_request *r)
{
    if (r->today == 0)
        r->today = pr->today;
    if (r->rcpt == NULL)
        r->rcpt = REMOTE_RCPT;
    pr->fn(r, pr->ctx);
    /* the same authenticated */
    if (r->auth_authen == NULL) {
        struct ar_request a = *r;
        a.auth_authen = "probe";
        pr->fn(&a, pr->ctx);
    }
}

/* a name an entry matches: "x.test" for "x.test", "probe.x.test" for
 * ".x.test"; and the subdomain, the parent */
static int
variants(const char *entry, char out[3][300])
{
    const char *base = entry[0] == '.' ? entry + 1 : entry;
    int n = 0;
    if (strlen(base) > 250 || *base == '\0' || *base == '[')
        return snprintf(out[n++], 300, "%s", entry[0] == '.' ? base : entry), n;
    snprintf(out[n++], 300, "%s", base);
    snprintf(out[n++], 300, "probe.%s", base);
    const char *dot = strchr(base, '.');
    if (dot && dot[1])
        snprintf(out[n++], 300, "%s", dot + 1);
    return n;
}

struct dom_probe {
    struct prober *pr;
    enum { AS_RCPT, AS_NAME, AS_HELO, AS_SENDER } as;
    const struct ar_request *base;
    size_t routed; /* routed forms made so far (the first domains only) */
};

static void
probe_domain(const char *entry, void *ctx)
{
    struct dom_probe *dp = ctx;
    char v[3][300], addr[1024];
    int n = variants(entry, v);
    for (int i = 0; i < n; i++) {
        struct ar_request r = *dp->base;
        snprintf(addr, sizeof(addr), "<probe@%s>", v[i]);
        switch (dp->as) {
        case AS_RCPT:
            r.rcpt = addr;
            break;
        case AS_NAME:
            r.client_name = v[i];
            r.client_name_verified = true;
            break;
        case AS_HELO:
            r.helo = v[i];
            break;
        case AS_SENDER:
            r.mail_from = addr;
            break;
        }
        emit(dp->pr, &r);
    }
    if (dp->as != AS_RCPT || dp->routed >= 100)
        return;
    dp->routed++;
    static const char *const routed[][2] = {
        {"<probe%remote.invalid@", ">"},
        {"<remote.invalid!probe@", ">"},
        {"<@", ":probe@remote.invalid>"},
        {"<\"probe@remote.invalid\"@", ">"}};
    for (size_t i = 0; i < sizeof(routed) / sizeof(routed[0]); i++) {
        struct ar_request r = *dp->base;
        snprintf(addr, sizeof(addr), "%s%s%s", routed[i][0], v[0],
                 routed[i][1]);
        r.rcpt = addr;
        emit(dp->pr, &r);
    }
}

static void
probe_domains(struct prober *pr, const struct ar_domainset *s, int as,
              const struct ar_request *base)
{
    struct dom_probe dp = {pr, as, base, 0};
    if (s)
        ar_domainset_foreach(s, probe_domain, &dp);
}

/* first, last and just-outside addresses of each network */
static void
probe_networks(struct prober *pr, const struct ar_netset *s,
               const struct ar_request *base)
{
    size_t k = s ? ar_netset_count(s) : 0;
    const struct ar_cidr *v = k ? ar_netset_entries(s) : NULL;
    for (size_t i = 0; i < k; i++) {
        ar_u128 lo = v[i].lo, hi = v[i].hi;
        ar_u128 a[4] = {lo, hi, lo - 1, hi + 1};
        bool ok[4] = {true, true, lo != 0, hi != ~(ar_u128)0};
        if (v[i].v4) { /* stay inside ::ffff:0:0/96 */
            ok[2] = (uint32_t)lo != 0;
            ok[3] = (uint32_t)hi != 0xffffffffu;
        }
        for (int j = 0; j < 4; j++) {
            if (!ok[j])
                continue;
            struct ar_request r = *base;
            r.client_addr.valid = true;
            r.client_addr.a = a[j];
            emit(pr, &r);
        }
    }
}

struct first {
    char name[300];
};

static void
take_first(const char *entry, void *ctx)
{
    struct first *f = ctx;
    if (f->name[0] == '\0')
        snprintf(f->name, sizeof(f->name), "%s%s",
                 entry[0] == '.' ? "probe" : "", entry);
}

/* an exception's conditions, each met (true) or not given */
enum { C_NET, C_NAME, C_HELO, C_SENDER, C_LOCAL, C_N };

static void
probe_exception(struct prober *pr, const struct ar_exception *e)
{
    struct first name = {""}, helo = {""}, sd = {""};
    char sender[1024];
    if (e->hostnames)
        ar_domainset_foreach(e->hostnames, take_first, &name);
    if (e->helo)
        ar_domainset_foreach(e->helo, take_first, &helo);
    if (e->sender_domains)
        ar_domainset_foreach(e->sender_domains, take_first, &sd);
    snprintf(sender, sizeof(sender), "<probe@%s>", sd.name);
    bool given[C_N] = {e->networks && ar_netset_count(e->networks) > 0,
                       name.name[0] != '\0', helo.name[0] != '\0',
                       sd.name[0] != '\0', e->sender_is_local >= 0};

    /* mask: the conditions met; all of them, then each alone */
    for (int m = -1; m < C_N; m++) {
        if (m >= 0 && !given[m])
            continue;
        struct ar_request r = {.mail_from = REMOTE_SENDER};
        bool met[C_N];
        for (int c = 0; c < C_N; c++)
            met[c] = given[c] && (m < 0 || m == c);
        if (met[C_NET]) {
            r.client_addr.valid = true;
            r.client_addr.a = ar_netset_entries(e->networks)[0].lo;
        }
        if (met[C_NAME]) {
            r.client_name = name.name;
            r.client_name_verified = true;
        }
        if (met[C_HELO])
            r.helo = helo.name;
        if (met[C_SENDER])
            r.mail_from = sender;
        if (met[C_LOCAL] && pr->local_sender[0])
            r.mail_from = e->sender_is_local ? pr->local_sender : REMOTE_SENDER;
        emit(pr, &r);
        if (!given[C_SENDER] && !given[C_LOCAL] && pr->local_sender[0]) {
            r.mail_from = pr->local_sender; /* sender local, or not */
            emit(pr, &r);
            r.mail_from = REMOTE_SENDER;
        }
        if (m < 0) {
            /* every entry of its lists, the other conditions met */
            if (met[C_NET])
                probe_networks(pr, e->networks, &r);
            struct ar_request o = r;
            probe_domains(pr, e->hostnames, AS_NAME, &o);
            probe_domains(pr, e->helo, AS_HELO, &o);
            probe_domains(pr, e->sender_domains, AS_SENDER, &o);
            /* its expiry: the day before and the day of */
            if (e->expires >= 0) {
                o.today = e->expires - 1;
                emit(pr, &o);
                o.today = e->expires;
                emit(pr, &o);
            }
        }
    }
}

static void
find_local(const char *entry, void *ctx)
{
    struct prober *pr = ctx;
    if (pr->local_sender[0] == '\0' && entry[0] != '[' && strlen(entry) < 250)
        snprintf(pr->local_sender, sizeof(pr->local_sender), "<probe@%s%s>",
                 entry[0] == '.' ? "probe" : "", entry);
}

void
ar_policy_probes(const struct ar_policy *p, int64_t today,
                 void (*fn)(const struct ar_request *r, void *ctx), void *ctx)
{
    struct prober pr = {p, fn, ctx, today, ""};
    ar_domainset_foreach(p->local_domains, find_local, &pr);

    struct ar_request base = {.mail_from = REMOTE_SENDER};
    struct ar_request rcpt = base;
    rcpt.rcpt = "<postmaster>";
    emit(&pr, &rcpt);
    probe_domains(&pr, p->local_domains, AS_RCPT, &base);
    probe_networks(&pr, p->trusted, &base);
    for (size_t i = 0; i < p->nremote_mailers; i++) {
        struct ar_request r = base;
        r.rcpt = pr.local_sender[0] ? pr.local_sender : "<postmaster>";
        r.rcpt_mailer = p->remote_mailers[i];
        emit(&pr, &r);
    }
    for (size_t i = 0; i < p->nexc; i++)
        probe_exception(&pr, &p->exc[i]);
}
