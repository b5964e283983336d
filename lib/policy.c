/* policy.c - the per-recipient decision (authrelay.conf(5), DECISION ORDER) and policy accessors */
#include "policy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "domain.h"

const char *
ar_decision_name(enum ar_decision d)
{
    switch (d) {
    case AR_ACCEPT:
        return "accept";
    case AR_REJECT:
        return "reject";
    case AR_TEMPFAIL:
        return "tempfail";
    }
    return "?";
}

static void trace_line(const struct ar_trace *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* a line of the trace, if one is wanted; without one (the daemon) the
 * arguments are not even gathered */
#define tr(t, ...) ((t) ? trace_line((t), __VA_ARGS__) : (void)0)

static void
trace_line(const struct ar_trace *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    t->line(t->ctx, buf);
}

static enum ar_decision
decide(struct ar_verdict *v, enum ar_decision d, const char *rule,
       const struct ar_reply *reply, const char *file, unsigned line)
{
    /* v->ndry and v->dry are the caller's: kept */
    v->decision = d;
    v->rule = rule;
    v->reply = d == AR_ACCEPT ? NULL : reply;
    v->rule_file = file;
    v->rule_line = line;
    return d;
}

static bool
in_list(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return true;
    return false;
}

/* Is the recipient a relay attempt? Steps 1 and 2 of the decision order. */
static bool
is_relay(const struct ar_policy *p, const struct ar_request *r,
         const struct ar_trace *t)
{
    struct ar_addr a;

    ar_addr_parse(r->rcpt ? r->rcpt : "", &a);
    switch (a.kind) {
    case AR_ADDR_NULL:
        tr(t, "recipient: null path: relay attempt");
        return true;
    case AR_ADDR_ROUTED:
        tr(t, "recipient: sender-specified routing (%s): relay attempt", a.why);
        return true;
    case AR_ADDR_INVALID:
        tr(t, "recipient: unparseable (%s): relay attempt", a.why);
        return true;
    case AR_ADDR_MAILBOX:
        break;
    }
    if (a.domain_len == 0) {
        tr(t,
           "recipient: local part \"%s\" without domain, no routing: "
           "local",
           a.local);
        return false;
    }
    tr(t, "recipient: local part \"%s\", domain %s, no routing", a.local,
       a.domain);
    const char *m =
        ar_domainset_match(p->local_domains, a.domain, a.domain_len);
    if (m == NULL) {
        tr(t, "local_domains: no entry matches %s: relay attempt", a.domain);
        return true;
    }
    if (r->rcpt_mailer &&
        in_list(p->remote_mailers, p->nremote_mailers, r->rcpt_mailer)) {
        tr(t,
           "local_domains: %s matches entry %s, but {rcpt_mailer} %s is "
           "in remote_mailers: relay attempt",
           a.domain, m, r->rcpt_mailer);
        return true;
    }
    tr(t, "local_domains: %s matches entry %s", a.domain, m);
    return false;
}

static bool
name_verified(const struct ar_request *r)
{
    /* "unknown" in any case; the first letter spares most names the call */
    return r->client_name_verified && r->client_name &&
           r->client_name[0] != '\0' && r->client_name[0] != '[' &&
           ((r->client_name[0] | 0x20) != 'u' ||
            strcasecmp(r->client_name, "unknown") != 0);
}

/* What the exceptions look at, in normal form, worked out at most once
 * per request however many rules are tried: the name at once (the index
 * needs it), the HELO and the sender when a rule first asks. */
struct facts {
    const struct ar_policy *p;
    const struct ar_request *r;
    const char *name;     /* verified client name; NULL: none */
    const char *helo;     /* NULL: none, or not a domain or literal */
    const char *from_dom; /* NULL: a null, domainless, routed or unparseable
                             sender has no domain */
    bool from_local;      /* from_dom is a local domain */
    bool helo_done, from_done;
    char name_buf[AR_DOMAIN_MAX + 2], helo_buf[AR_DOMAIN_MAX + 2];
    struct ar_addr from;
};

static void
facts_init(struct facts *f, const struct ar_policy *p,
           const struct ar_request *r)
{
    size_t n;
    const char *why;
    f->p = p;
    f->r = r;
    f->helo_done = f->from_done = false;
    f->name = name_verified(r) && ar_domain_normalize(
                                      r->client_name, strlen(r->client_name), 0,
                                      f->name_buf, &n, &why) == 0
                  ? f->name_buf
                  : NULL;
}

static const char *
facts_helo(struct facts *f)
{
    size_t n;
    const char *why;
    if (!f->helo_done) {
        const char *h = f->r->helo;
        f->helo = h && ar_domain_normalize(h, strlen(h), AR_DOM_LITERAL,
                                           f->helo_buf, &n, &why) == 0
                      ? f->helo_buf
                      : NULL;
        f->helo_done = true;
    }
    return f->helo;
}

static const char *
facts_from(struct facts *f)
{
    if (!f->from_done) {
        const char *m = f->r->mail_from;
        f->from_dom = m && ar_addr_parse(m, &f->from) == AR_ADDR_MAILBOX &&
                              f->from.domain_len > 0
                          ? f->from.domain
                          : NULL;
        f->from_local =
            f->from_dom && ar_domainset_match(f->p->local_domains, f->from_dom,
                                              f->from.domain_len);
        f->from_done = true;
    }
    return f->from_dom;
}

static bool
matches(const struct ar_domainset *s, const char *domain)
{
    return domain && ar_domainset_match(s, domain, strlen(domain));
}

/* Does exception e match? Logs the first condition that fails. */
static bool
exception_matches(const struct ar_exception *e, const struct ar_request *r,
                  struct facts *f, const struct ar_trace *t)
{
    if (e->expires >= 0 && r->today >= e->expires) {
        char d[16];
        ar_format_date(e->expires, d, sizeof(d));
        tr(t, "exception %s: skipped, expired on %s", e->name, d);
        return false;
    }
    if (e->networks && !ar_netset_contains(e->networks, &r->client_addr)) {
        char a[64];
        ar_ip_format(&r->client_addr, a, sizeof(a));
        tr(t, "exception %s: client_networks: %s not listed", e->name, a);
        return false;
    }
    if (e->hostnames && f->name == NULL) {
        tr(t, "exception %s: client_hostnames: client name %s is not verified",
           e->name, r->client_name ? r->client_name : "(none)");
        return false;
    }
    if (e->hostnames && !matches(e->hostnames, f->name)) {
        tr(t, "exception %s: client_hostnames: %s not listed", e->name,
           f->name);
        return false;
    }
    if (e->helo && !matches(e->helo, facts_helo(f))) {
        tr(t, "exception %s: helo: %s not listed", e->name,
           r->helo ? r->helo : "(none)");
        return false;
    }
    if (e->sender_domains && !matches(e->sender_domains, facts_from(f))) {
        tr(t, "exception %s: sender_domains: %s not listed", e->name,
           f->from_dom ? f->from_dom : "sender without a domain");
        return false;
    }
    if (e->sender_is_local >= 0) {
        facts_from(f);
        if (f->from_local != (e->sender_is_local == 1)) {
            tr(t, "exception %s: sender_is_local: sender %s local", e->name,
               f->from_local ? "is" : "is not");
            return false;
        }
    }
    tr(t, "exception %s: every condition holds", e->name);
    return true;
}

static void
add_dry(struct ar_verdict *v, const char *rule, enum ar_decision d)
{
    if (v->ndry < AR_DRY_RUN_MAX) {
        v->dry[v->ndry].rule = rule;
        v->dry[v->ndry].decision = d;
        v->ndry++;
    }
}

enum ar_decision
ar_policy_eval_trace(const struct ar_policy *p, const struct ar_request *r,
                     struct ar_verdict *v, const struct ar_trace *t)
{
    v->ndry = 0;
    if (!is_relay(p, r, t))
        return decide(v, AR_ACCEPT, AR_RULE_LOCAL, NULL, NULL, 0);
    if (ar_netset_contains(p->trusted, &r->client_addr)) {
        tr(t, "trusted_networks: client is listed");
        return decide(v, AR_ACCEPT, AR_RULE_TRUSTED, NULL, NULL, 0);
    }
    if (r->auth_authen && r->auth_authen[0] != '\0') {
        tr(t, "authenticated as %s", r->auth_authen);
        return decide(v, AR_ACCEPT, AR_RULE_AUTH, NULL, NULL, 0);
    }
    tr(t, "client not in trusted_networks and not authenticated");

    if (p->nexc == 0) {
        tr(t, "no exception: relay.reply");
        return decide(v, AR_REJECT, AR_RULE_DEFAULT, &p->reply, NULL, 0);
    }
    struct facts f;
    facts_init(&f, p, r);
    /* Only the rules the index names can match; a trace shows them all. */
    uint32_t cand[256];
    size_t ncand =
        t == NULL && p->exidx
            ? ar_exindex_candidates(p->exidx, &r->client_addr, f.name, cand,
                                    sizeof(cand) / sizeof(cand[0]))
            : SIZE_MAX;
    size_t n = ncand == SIZE_MAX ? p->nexc : ncand;
    for (size_t k = 0; k < n; k++) {
        const struct ar_exception *e = &p->exc[ncand == SIZE_MAX ? k : cand[k]];
        if (!exception_matches(e, r, &f, t))
            continue;
        enum ar_decision d = e->action == AR_ACT_PERMIT   ? AR_ACCEPT
                             : e->action == AR_ACT_REJECT ? AR_REJECT
                                                          : AR_TEMPFAIL;
        if (e->dry_run) {
            tr(t, "exception %s: dry run: would %s; going on as if absent",
               e->name, ar_decision_name(d));
            add_dry(v, e->name, d);
            continue;
        }
        return decide(v, d, e->name, &e->reply, e->file, e->line);
    }
    tr(t, "no exception matched: relay.reply");
    return decide(v, AR_REJECT, AR_RULE_DEFAULT, &p->reply, NULL, 0);
}

enum ar_decision
ar_policy_eval(const struct ar_policy *p, const struct ar_request *r,
               struct ar_verdict *v)
{
    return ar_policy_eval_trace(p, r, v, NULL);
}

struct ar_policy *
ar_policy_ref(struct ar_policy *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

/* everything a policy owns; policy_load.c builds it, unref frees it */
void
ar_policy_free(struct ar_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nexc; i++) {
        struct ar_exception *e = &p->exc[i];
        free(e->name);
        free(e->comment);
        free(e->owner);
        free(e->reply.text);
        ar_netset_free(e->networks);
        ar_domainset_free(e->hostnames);
        ar_domainset_free(e->helo);
        ar_domainset_free(e->sender_domains);
    }
    free(p->exc);
    ar_exindex_free(p->exidx);
    ar_loginmap_free(p->sl_map);
    free(p->sl_reply.text);
    free(p->metrics_file);
    for (size_t i = 0; i < p->nremote_mailers; i++)
        free(p->remote_mailers[i]);
    free(p->remote_mailers);
    ar_domainset_free(p->local_domains);
    ar_netset_free(p->trusted);
    free(p->reply.text);
    free(p->socket);
    free(p->user);
    free(p->pidfile);
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    free(p->path);
    free(p);
}

void
ar_policy_unref(struct ar_policy *p)
{
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        ar_policy_free(p);
}

const char *
ar_policy_socket(const struct ar_policy *p)
{
    return p->socket;
}

const char *
ar_policy_user(const struct ar_policy *p)
{
    return p->user;
}

const char *
ar_policy_pidfile(const struct ar_policy *p)
{
    return p->pidfile;
}

enum ar_mode
ar_policy_mode(const struct ar_policy *p)
{
    return p->mode;
}

enum ar_on_error
ar_policy_on_error(const struct ar_policy *p)
{
    return p->on_error;
}

const char *
ar_policy_path(const struct ar_policy *p)
{
    return p->path;
}

const char *
ar_policy_metrics_file(const struct ar_policy *p)
{
    return p->metrics_file;
}

unsigned
ar_policy_metrics_interval(const struct ar_policy *p)
{
    return p->metrics_interval;
}

unsigned
ar_policy_timeout(const struct ar_policy *p)
{
    return p->timeout;
}

const char *
ar_policy_sha256(const struct ar_policy *p)
{
    return p->sha256;
}

const char *
ar_policy_exception(const struct ar_policy *p, size_t i, const char **file,
                    unsigned *line)
{
    if (i >= p->nexc)
        return NULL;
    if (file)
        *file = p->exc[i].file;
    if (line)
        *line = p->exc[i].line;
    return p->exc[i].name;
}

bool
ar_policy_uses_helo(const struct ar_policy *p)
{
    return p->uses_helo;
}

bool
ar_policy_checks_sender(const struct ar_policy *p)
{
    return p->sl_mode != AR_SL_OFF;
}

bool
ar_policy_sender_login_report(const struct ar_policy *p)
{
    return p->sl_mode == AR_SL_REPORT;
}

/* the reply for a sender-login failure: the policy's, or the default
 * naming the login (made printable: it is the client's choice) */
static const struct ar_reply *
sender_login_reply(const struct ar_policy *p, const char *login,
                   struct ar_verdict *v)
{
    if (p->sl_has_reply)
        return &p->sl_reply;
    memcpy(v->own_reply.code, "553", 4);
    memcpy(v->own_reply.xcode, "5.7.1", 6);
    int n = snprintf(v->own_text, sizeof(v->own_text),
                     "Sender address rejected: not owned by user ");
    for (const char *c = login; *c && (size_t)n + 1 < sizeof(v->own_text); c++)
        v->own_text[n++] = (*c > 0x20 && *c < 0x7f) ? *c : '?';
    v->own_text[n] = '\0';
    v->own_reply.text = v->own_text;
    return &v->own_reply;
}

enum ar_decision
ar_policy_check_sender(const struct ar_policy *p, const struct ar_request *r,
                       struct ar_verdict *v, const struct ar_trace *t)
{
    struct ar_addr a;
    const char *entry;

    v->ndry = 0;
    if (p->sl_mode == AR_SL_OFF)
        return decide(v, AR_ACCEPT, NULL, NULL, NULL, 0);
    if (r->auth_authen == NULL || r->auth_authen[0] == '\0') {
        tr(t, "sender_login: not authenticated: not checked");
        return decide(v, AR_ACCEPT, NULL, NULL, NULL, 0);
    }
    enum ar_addr_kind k = ar_addr_parse(r->mail_from ? r->mail_from : "<>", &a);
    if (k == AR_ADDR_NULL) {
        tr(t, "sender_login: null sender: passes");
        return decide(v, AR_ACCEPT, NULL, NULL, NULL, 0);
    }
    if (k == AR_ADDR_MAILBOX) {
        enum ar_login_match m = ar_loginmap_match(p->sl_map, r->auth_authen,
                                                  a.local, a.domain, &entry);
        if (a.domain_len == 0 && m == AR_LOGIN_NO &&
            strcmp(a.local, r->auth_authen) == 0)
            m = AR_LOGIN_SELF; /* a domainless login and sender */
        static const char *const why[] = {
            [AR_LOGIN_ANY] = "the login may use any sender",
            [AR_LOGIN_SELF] = "the sender is the login",
            [AR_LOGIN_LISTED] = "listed for the login",
            [AR_LOGIN_DOMAIN] = "its domain is listed for the login",
        };
        if (m != AR_LOGIN_NO) {
            tr(t, "sender_login: %s%s%s%s: passes", why[m], entry ? " (" : "",
               entry ? entry : "", entry ? ")" : "");
            return decide(v, AR_ACCEPT, NULL, NULL, NULL, 0);
        }
        tr(t, "sender_login: %s@%s is not allowed for login %s", a.local,
           a.domain, r->auth_authen);
    } else {
        tr(t, "sender_login: sender is %s (%s): not owned by anyone",
           ar_addr_kind_name(k), a.why);
    }
    return decide(v, AR_REJECT, AR_RULE_SENDER_LOGIN,
                  sender_login_reply(p, r->auth_authen, v), NULL, 0);
}

enum ar_decision
ar_policy_decide(const struct ar_policy *p, const struct ar_request *r,
                 struct ar_verdict *v, const struct ar_trace *t)
{
    if (ar_policy_check_sender(p, r, v, t) != AR_ACCEPT) {
        if (!ar_policy_sender_login_report(p))
            return v->decision;
        tr(t, "sender_login: report mode: would reject; going on");
        ar_policy_eval_trace(p, r, v, t);
        add_dry(v, AR_RULE_SENDER_LOGIN, AR_REJECT);
        return v->decision;
    }
    return ar_policy_eval_trace(p, r, v, t);
}

void
ar_policy_stats(const struct ar_policy *p, struct ar_policy_stats *s)
{
    s->local_domains = ar_domainset_count(p->local_domains);
    s->trusted_networks = ar_netset_count(p->trusted);
    s->exceptions = p->nexc;
    s->remote_mailers = p->nremote_mailers;
}

int64_t
ar_today(void)
{
    return (int64_t)time(NULL) / 86400;
}

/* days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t
ar_parse_date(const char *s)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return -1;
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    if (s[10] != '\0')
        return -1;
    int64_t y = atoi(s);
    unsigned m = (unsigned)atoi(s + 5), d = (unsigned)atoi(s + 8);
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    return days_from_civil(y, m, d);
}

void
ar_format_date(int64_t day, char *buf, size_t size)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
}

void
ar_policy_summary(const struct ar_policy *p, char *buf, size_t size)
{
    struct ar_policy_stats st;
    ar_policy_stats(p, &st);
    snprintf(buf, size,
             "%s: OK: version 1, %zu local domain%s, %zu trusted network%s, "
             "%zu exception%s, mode %s",
             p->path, st.local_domains, st.local_domains == 1 ? "" : "s",
             st.trusted_networks, st.trusted_networks == 1 ? "" : "s",
             st.exceptions, st.exceptions == 1 ? "" : "s",
             p->mode == AR_MODE_REPORT ? "report" : "enforce");
}
