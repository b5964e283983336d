/*
 * policy_load.c - libconfig text to a compiled struct ar_policy.
 *
 * Every key the policy file may hold appears once, in the key tables below.
 * Every problem is reported with its file and line, and loading goes on to
 * find the next one; a policy with any error is freed, never returned. All
 * strings are copied, so the config_t is destroyed before we return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "policy_int.h"
#include "sha256.h"

#define MAX_FILE_ERRORS 20 /* per *_files file: then give up on that file */
#define MAX_TEXT 400       /* reply text, octets */

struct loader {
    struct ar_diags *d;
    struct ar_policy *p;
    const char *path; /* interned main file name */
    char *dir;        /* directory of the main file, for relative paths */
    int64_t today;
    char **lines; /* main file text split in lines, for finding entries */
    size_t nlines;
    char *text;
};

/* ---- files and locations ---------------------------------------------- */

static const char *
intern(struct loader *ld, const char *name)
{
    struct ar_policy *p = ld->p;
    for (size_t i = 0; i < p->nfiles; i++)
        if (strcmp(p->files[i], name) == 0)
            return p->files[i];
    char **nv = realloc(p->files, (p->nfiles + 1) * sizeof(*nv));
    if (nv == NULL)
        return ld->path;
    p->files = nv;
    if ((nv[p->nfiles] = strdup(name)) == NULL)
        return ld->path;
    return nv[p->nfiles++];
}

static const char *
file_of(struct loader *ld, const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);
    return f ? intern(ld, f) : ld->path;
}

/*
 * libconfig gives a list element the line where the parser stood after
 * reading it, which can be the line of the closing bracket. Walk back to
 * the line that really holds the quoted value.
 */
static unsigned
line_of(struct loader *ld, const config_setting_t *s)
{
    unsigned line = config_setting_source_line(s);
    const char *v;
    char quoted[512];

    if (config_setting_type(s) != CONFIG_TYPE_STRING ||
        config_setting_name(s) != NULL || file_of(ld, s) != ld->path ||
        line == 0 || line > ld->nlines ||
        (v = config_setting_get_string(s)) == NULL)
        return line;
    if ((size_t)snprintf(quoted, sizeof(quoted), "\"%s\"", v) >= sizeof(quoted))
        return line;
    for (unsigned l = line; l > 0 && l + 20 > line; l--)
        if (strstr(ld->lines[l - 1], quoted))
            return l;
    return line;
}

static void err(struct loader *ld, const config_setting_t *s, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static void
err(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ar_diag_error(ld->d, file_of(ld, s), line_of(ld, s), "%s", buf);
}

static char *
xstrdup(struct loader *ld, const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
    return c;
}

/* ---- key tables and typed getters ------------------------------------- */

static bool
check_keys(struct loader *ld, const config_setting_t *g, const char *what,
           const char *const *keys)
{
    bool ok = true;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(c);
        size_t k;
        for (k = 0; keys[k]; k++)
            if (strcmp(keys[k], name) == 0)
                break;
        if (keys[k] == NULL) {
            err(ld, c, "unknown key '%s' in %s", name, what);
            ok = false;
        }
    }
    return ok;
}

static const char *
type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    }
    return "something else";
}

/* the member key of g with the given type; NULL when absent or mistyped */
static config_setting_t *
member(struct loader *ld, const config_setting_t *g, const char *key, int type,
       const char *what)
{
    config_setting_t *s = config_setting_get_member(g, key);
    if (s == NULL)
        return NULL;
    int t = config_setting_type(s);
    bool ok = t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64);
    if (type == CONFIG_TYPE_ARRAY && t == CONFIG_TYPE_LIST)
        ok = true; /* ( "a", "b" ) is as good as [ "a", "b" ] */
    if (!ok) {
        err(ld, s, "%s.%s must be %s, not %s", what, key, type_name(type),
            type_name(t));
        return NULL;
    }
    return s;
}

/* a string member copied into *out; -1 on a type error */
static int
get_string(struct loader *ld, const config_setting_t *g, const char *key,
           const char *what, char **out)
{
    config_setting_t *s = config_setting_get_member(g, key);
    *out = NULL;
    if (s == NULL)
        return 0;
    if ((s = member(ld, g, key, CONFIG_TYPE_STRING, what)) == NULL)
        return -1;
    return (*out = xstrdup(ld, config_setting_get_string(s))) ? 0 : -1;
}

/* the string elements of an array member, each checked by fn */
static void
each_string(struct loader *ld, const config_setting_t *arr, const char *what,
            void (*fn)(struct loader *, const config_setting_t *, const char *,
                       void *),
            void *ctx)
{
    for (int i = 0; i < config_setting_length(arr); i++) {
        const config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            err(ld, e, "%s entries must be strings, not %s", what,
                type_name(config_setting_type(e)));
            continue;
        }
        fn(ld, e, config_setting_get_string(e), ctx);
    }
}

/* ---- *_files ---------------------------------------------------------- */

/* one list entry, from the policy or from a file; where = file and line */
typedef int (*entry_fn)(struct loader *, const char *entry, const char *file,
                        unsigned line, void *ctx, const char **why);

/* read one entry a line; '#' starts a comment; errors name the file:line */
static void
read_list_file(struct loader *ld, const config_setting_t *s, const char *name,
               const char *what, entry_fn fn, void *ctx)
{
    char path[PATH_MAX];
    if (name[0] == '\0') {
        err(ld, s, "empty file name");
        return;
    }
    if (name[0] == '/' || ld->dir == NULL)
        snprintf(path, sizeof(path), "%s", name);
    else
        snprintf(path, sizeof(path), "%s/%s", ld->dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        err(ld, s, "cannot open %s: %s", path, strerror(errno));
        return;
    }
    const char *fname = intern(ld, path);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned line = 0, nerr = 0;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        line++;
        char *p = buf, *e;
        char *hash = memchr(buf, '#', (size_t)n);
        e = hash ? hash : buf + n;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
                         e[-1] == '\r'))
            e--;
        if (p == e)
            continue;
        *e = '\0';
        const char *why = NULL;
        if (memchr(p, '\0', (size_t)(e - p)) != NULL)
            why = "NUL byte in line";
        if (why || fn(ld, p, fname, line, ctx, &why) < 0) {
            ar_diag_error(ld->d, fname, line, "bad %s \"%s\": %s", what, p,
                          why);
            if (++nerr == MAX_FILE_ERRORS) {
                ar_diag_error(ld->d, fname, line,
                              "too many errors, rest of file skipped");
                break;
            }
        }
    }
    if (ferror(f))
        ar_diag_error(ld->d, fname, line, "read error: %s", strerror(errno));
    free(buf);
    fclose(f);
}

static void
each_file(struct loader *ld, const config_setting_t *arr, const char *what,
          entry_fn fn, void *ctx)
{
    for (int i = 0; i < config_setting_length(arr); i++) {
        const config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            err(ld, e, "file names must be strings");
            continue;
        }
        read_list_file(ld, e, config_setting_get_string(e), what, fn, ctx);
    }
}

/* ---- domain and network lists ------------------------------------------ */

struct domctx {
    struct ar_domainset *set;
    unsigned flags;
};

static int
add_domain(struct loader *ld, const char *entry, const char *file,
           unsigned line, void *ctx, const char **why)
{
    struct domctx *dc = ctx;
    (void)ld, (void)file, (void)line;
    if (strpbrk(entry, " \t")) {
        *why = "one entry per line";
        return -1;
    }
    if ((dc->flags & AR_DOM_LITERAL) == 0 && entry[0] == '[') {
        *why = "an address literal is never a verified host name";
        return -1;
    }
    return ar_domainset_add(dc->set, entry, strlen(entry), why) < 0 ? -1 : 0;
}

static void
add_domain_setting(struct loader *ld, const config_setting_t *e, const char *v,
                   void *ctx)
{
    const char *why;
    if (add_domain(ld, v, NULL, 0, ctx, &why) < 0)
        err(ld, e, "bad domain \"%s\": %s", v, why);
}

struct netctx {
    struct ar_cidr *v;
    size_t n, cap;
};

static int
add_net(struct loader *ld, const char *entry, const char *file, unsigned line,
        void *ctx, const char **why)
{
    struct netctx *nc = ctx;
    struct ar_cidr c;
    if (strpbrk(entry, " \t")) {
        *why = "one entry per line";
        return -1;
    }
    if (ar_cidr_parse(entry, &c, why) < 0)
        return -1;
    if (nc->n == nc->cap) {
        size_t ncap = nc->cap ? nc->cap * 2 : 16;
        struct ar_cidr *nv = realloc(nc->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            *why = "out of memory";
            return -1;
        }
        nc->v = nv;
        nc->cap = ncap;
    }
    c.file = file ? file : ld->path;
    c.line = line;
    nc->v[nc->n++] = c;
    return 0;
}

static void
add_net_setting(struct loader *ld, const config_setting_t *e, const char *v,
                void *ctx)
{
    const char *why;
    if (add_net(ld, v, file_of(ld, e), line_of(ld, e), ctx, &why) < 0)
        err(ld, e, "bad network \"%s\": %s", v, why);
}

/* ---- replies ------------------------------------------------------------ */

static bool
digits(const char *s, size_t min, size_t max, const char **end)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    *end = s + n;
    return n >= min && n <= max;
}

/* classes: the allowed first digits, e.g. "5" or "45" */
static bool
load_reply(struct loader *ld, const config_setting_t *g, const char *what,
           const char *classes, struct ar_reply *r)
{
    static const char *const keys[] = {"code", "xcode", "text", NULL};
    char *code = NULL, *xcode = NULL, *text = NULL;
    bool ok = check_keys(ld, g, what, keys);
    const config_setting_t *sc = config_setting_get_member(g, "code");
    const config_setting_t *sx = config_setting_get_member(g, "xcode");
    const config_setting_t *st = config_setting_get_member(g, "text");

    if (get_string(ld, g, "code", what, &code) < 0 ||
        get_string(ld, g, "xcode", what, &xcode) < 0 ||
        get_string(ld, g, "text", what, &text) < 0)
        ok = false;
    if (!sc || !sx || !st) {
        err(ld, g, "%s needs code, xcode and text", what);
        ok = false;
    }
    const char *e;
    if (code && (!digits(code, 3, 3, &e) || *e || !strchr(classes, code[0]) ||
                 code[1] > '5')) {
        if (strlen(classes) == 1)
            err(ld, sc, "%s.code \"%s\" must be a %cxx SMTP reply code", what,
                code, classes[0]);
        else
            err(ld, sc, "%s.code \"%s\" must be a 4xx or 5xx reply code", what,
                code);
        ok = false;
    }
    if (xcode) {
        const char *p = xcode;
        bool good = (p[0] == '2' || p[0] == '4' || p[0] == '5') &&
                    p[1] == '.' && digits(p + 2, 1, 3, &e) && *e == '.' &&
                    digits(e + 1, 1, 3, &e) && *e == '\0';
        if (!good) {
            err(ld, sx,
                "%s.xcode \"%s\" is not an enhanced status code "
                "(class.subject.detail, RFC 3463)",
                what, xcode);
            ok = false;
        } else if (code && code[0] != xcode[0]) {
            err(ld, sx, "%s.xcode \"%s\" does not match the class of code %s",
                what, xcode, code);
            ok = false;
        }
    }
    if (text) {
        size_t n = strlen(text);
        if (n == 0) {
            err(ld, st, "%s.text is empty", what);
            ok = false;
        } else if (n > MAX_TEXT) {
            err(ld, st, "%s.text is %zu characters long; at most %d", what, n,
                MAX_TEXT);
            ok = false;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c < 0x20 || c > 0x7e) {
                err(ld, st,
                    "%s.text: character %zu is not printable ASCII "
                    "(CR, LF, tabs and UTF-8 are not allowed)",
                    what, i + 1);
                ok = false;
                break;
            }
        }
    }
    if (ok) {
        memcpy(r->code, code, 4);
        snprintf(r->xcode, sizeof(r->xcode), "%s", xcode);
        r->text = text;
        text = NULL;
    }
    free(code);
    free(xcode);
    free(text);
    return ok;
}

static bool
copy_reply(struct loader *ld, struct ar_reply *dst, const struct ar_reply *src)
{
    *dst = *src;
    dst->text = xstrdup(ld, src->text);
    return dst->text != NULL;
}

/* ---- sections ----------------------------------------------------------- */

/* milter.KEY, a number of seconds from 1 to 86400, into *out if set */
static void
get_seconds(struct loader *ld, const config_setting_t *g, const char *key,
            unsigned *out)
{
    const config_setting_t *m = member(ld, g, key, CONFIG_TYPE_INT, "milter");
    if (m == NULL)
        return;
    long long v = config_setting_get_int64(m);
    if (v < 1 || v > 86400)
        err(ld, m, "milter.%s %lld must be 1 to 86400 seconds", key, v);
    else
        *out = (unsigned)v;
}

static void
load_milter(struct loader *ld, const config_setting_t *g)
{
    static const char *const keys[] = {
        "socket",  "mode",         "on_error",         "user",
        "pidfile", "metrics_file", "metrics_interval", "timeout",
        NULL};
    struct ar_policy *p = ld->p;
    char *mode = NULL, *onerr = NULL;

    check_keys(ld, g, "milter", keys);
    get_string(ld, g, "socket", "milter", &p->socket);
    get_string(ld, g, "user", "milter", &p->user);
    get_string(ld, g, "pidfile", "milter", &p->pidfile);
    get_string(ld, g, "mode", "milter", &mode);
    get_string(ld, g, "on_error", "milter", &onerr);
    get_string(ld, g, "metrics_file", "milter", &p->metrics_file);
    if (p->metrics_file && p->metrics_file[0] != '/')
        err(ld, config_setting_get_member(g, "metrics_file"),
            "milter.metrics_file must be an absolute path");
    get_seconds(ld, g, "metrics_interval", &p->metrics_interval);
    get_seconds(ld, g, "timeout", &p->timeout);
    if (p->socket && strncmp(p->socket, "inet:", 5) != 0 &&
        strncmp(p->socket, "inet6:", 6) != 0 &&
        strncmp(p->socket, "unix:", 5) != 0 &&
        strncmp(p->socket, "local:", 6) != 0)
        err(ld, config_setting_get_member(g, "socket"),
            "milter.socket \"%s\" must start with inet:, inet6:, unix: or "
            "local:",
            p->socket);
    if (p->user && p->user[0] == '\0')
        err(ld, config_setting_get_member(g, "user"), "milter.user is empty");
    if (p->pidfile && p->pidfile[0] != '/')
        err(ld, config_setting_get_member(g, "pidfile"),
            "milter.pidfile must be an absolute path");
    if (mode) {
        if (strcmp(mode, "enforce") == 0)
            p->mode = AR_MODE_ENFORCE;
        else if (strcmp(mode, "report") == 0)
            p->mode = AR_MODE_REPORT;
        else
            err(ld, config_setting_get_member(g, "mode"),
                "milter.mode \"%s\" must be \"enforce\" or \"report\"", mode);
    }
    if (onerr) {
        if (strcmp(onerr, "tempfail") == 0)
            p->on_error = AR_ONERR_TEMPFAIL;
        else if (strcmp(onerr, "accept") == 0)
            p->on_error = AR_ONERR_ACCEPT;
        else if (strcmp(onerr, "reject") == 0)
            p->on_error = AR_ONERR_REJECT;
        else
            err(ld, config_setting_get_member(g, "on_error"),
                "milter.on_error \"%s\" must be \"tempfail\", \"accept\" or "
                "\"reject\"",
                onerr);
    }
    free(mode);
    free(onerr);
}

static void
add_mailer(struct loader *ld, const config_setting_t *e, const char *v,
           void *ctx)
{
    struct ar_policy *p = ctx;
    if (v[0] == '\0' ||
        strspn(v, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(v)) {
        err(ld, e, "bad mailer name \"%s\"", v);
        return;
    }
    char **nv =
        realloc(p->remote_mailers, (p->nremote_mailers + 1) * sizeof(*nv));
    if (nv == NULL)
        return;
    p->remote_mailers = nv;
    if ((nv[p->nremote_mailers] = xstrdup(ld, v)) != NULL)
        p->nremote_mailers++;
}

static void
load_relay(struct loader *ld, const config_setting_t *g)
{
    static const char *const keys[] = {"local_domains",
                                       "local_domains_files",
                                       "trusted_networks",
                                       "trusted_networks_files",
                                       "remote_mailers",
                                       "reply",
                                       NULL};
    struct ar_policy *p = ld->p;
    const config_setting_t *s;

    check_keys(ld, g, "relay", keys);
    if (!config_setting_get_member(g, "local_domains") &&
        !config_setting_get_member(g, "local_domains_files"))
        err(ld, g, "relay needs local_domains or local_domains_files");

    struct domctx dc = {p->local_domains, AR_DOM_SUFFIX | AR_DOM_LITERAL};
    if ((s = member(ld, g, "local_domains", CONFIG_TYPE_ARRAY, "relay")))
        each_string(ld, s, "relay.local_domains", add_domain_setting, &dc);
    if ((s = member(ld, g, "local_domains_files", CONFIG_TYPE_ARRAY, "relay")))
        each_file(ld, s, "domain", add_domain, &dc);

    struct netctx nc = {0};
    if ((s = member(ld, g, "trusted_networks", CONFIG_TYPE_ARRAY, "relay")))
        each_string(ld, s, "relay.trusted_networks", add_net_setting, &nc);
    if ((s = member(ld, g, "trusted_networks_files", CONFIG_TYPE_ARRAY,
                    "relay")))
        each_file(ld, s, "network", add_net, &nc);
    if ((p->trusted = ar_netset_new(nc.v, nc.n)) == NULL)
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
    free(nc.v);

    if ((s = member(ld, g, "remote_mailers", CONFIG_TYPE_ARRAY, "relay")))
        each_string(ld, s, "relay.remote_mailers", add_mailer, p);

    if ((s = member(ld, g, "reply", CONFIG_TYPE_GROUP, "relay")))
        load_reply(ld, s, "relay.reply", "5", &p->reply);
}

/* ---- exceptions ---------------------------------------------------------- */

static bool
valid_name(const char *n)
{
    if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
          (n[0] >= '0' && n[0] <= '9')))
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") == strlen(n);
}

/* a match list: present, an array, not empty; returns it or NULL */
static const config_setting_t *
match_list(struct loader *ld, const config_setting_t *m, const char *key,
           const char *what, unsigned *line)
{
    const config_setting_t *s = member(ld, m, key, CONFIG_TYPE_ARRAY, what);
    if (s == NULL)
        return NULL;
    *line = config_setting_source_line(s);
    if (config_setting_length(s) == 0) {
        err(ld, s, "%s.%s is empty: the rule could never match", what, key);
        return NULL;
    }
    return s;
}

static struct ar_domainset *
match_domains(struct loader *ld, const config_setting_t *m, const char *key,
              const char *what, unsigned flags, unsigned *line)
{
    const config_setting_t *s = match_list(ld, m, key, what, line);
    if (s == NULL)
        return NULL;
    struct domctx dc = {ar_domainset_new(), flags};
    if (dc.set == NULL) {
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
        return NULL;
    }
    char full[128];
    snprintf(full, sizeof(full), "%s.%s", what, key);
    each_string(ld, s, full, add_domain_setting, &dc);
    return dc.set;
}

static void
load_match(struct loader *ld, const config_setting_t *m, const char *what,
           struct ar_exception *e)
{
    static const char *const keys[] = {
        "client_networks", "client_hostnames", "helo",
        "sender_domains",  "sender_is_local",  NULL};
    const config_setting_t *s;

    check_keys(ld, m, what, keys);
    if (config_setting_length(m) == 0) {
        err(ld, m, "%s is empty: a rule needs at least one client condition",
            what);
        return;
    }
    if ((s = match_list(ld, m, "client_networks", what, &e->networks_line))) {
        struct netctx nc = {0};
        each_string(ld, s, "client_networks", add_net_setting, &nc);
        if ((e->networks = ar_netset_new(nc.v, nc.n)) == NULL)
            ar_diag_error(ld->d, ld->path, 0, "out of memory");
        free(nc.v);
    }
    e->hostnames = match_domains(ld, m, "client_hostnames", what, AR_DOM_SUFFIX,
                                 &e->hostnames_line);
    e->helo = match_domains(ld, m, "helo", what, AR_DOM_SUFFIX | AR_DOM_LITERAL,
                            &e->helo_line);
    e->sender_domains =
        match_domains(ld, m, "sender_domains", what,
                      AR_DOM_SUFFIX | AR_DOM_LITERAL, &e->sender_domains_line);
    if ((s = member(ld, m, "sender_is_local", CONFIG_TYPE_BOOL, what))) {
        e->sender_is_local = config_setting_get_bool(s) ? 1 : 0;
        e->sender_is_local_line = config_setting_source_line(s);
    }
    bool client = config_setting_get_member(m, "client_networks") ||
                  config_setting_get_member(m, "client_hostnames") ||
                  config_setting_get_member(m, "helo");
    if (!client)
        err(ld, m,
            "%s has only sender conditions: the envelope sender is "
            "forgeable, so it may only narrow client_networks, "
            "client_hostnames or helo",
            what);
}

static void
load_exception(struct loader *ld, const config_setting_t *g, size_t idx)
{
    static const char *const keys[] = {"name",    "comment", "owner",
                                       "expires", "match",   "action",
                                       "reply",   "dry_run", NULL};
    struct ar_policy *p = ld->p;
    struct ar_exception *e = &p->exc[idx];
    char what[160];
    char *action = NULL, *expires = NULL;
    const config_setting_t *s;

    e->file = file_of(ld, g);
    e->line = config_setting_source_line(g);
    e->expires = -1;
    e->sender_is_local = -1;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        err(ld, g, "exceptions entries must be groups { ... }, not %s",
            type_name(config_setting_type(g)));
        return;
    }
    snprintf(what, sizeof(what), "exceptions[%zu]", idx);
    check_keys(ld, g, what, keys);
    if (get_string(ld, g, "name", what, &e->name) == 0) {
        s = config_setting_get_member(g, "name");
        if (e->name == NULL) {
            err(ld, g, "%s has no name", what);
        } else if (!valid_name(e->name)) {
            err(ld, s,
                "exception name \"%s\" must match [A-Za-z0-9][A-Za-z0-9._-]*",
                e->name);
        } else if (strcmp(e->name, AR_RULE_LOCAL) == 0 ||
                   strcmp(e->name, AR_RULE_TRUSTED) == 0 ||
                   strcmp(e->name, AR_RULE_AUTH) == 0 ||
                   strcmp(e->name, AR_RULE_DEFAULT) == 0) {
            err(ld, s, "exception name \"%s\" is reserved", e->name);
        } else {
            for (size_t i = 0; i < idx; i++)
                if (p->exc[i].name && strcmp(p->exc[i].name, e->name) == 0)
                    err(ld, s,
                        "duplicate exception name \"%s\" (first at line %u)",
                        e->name, p->exc[i].line);
        }
        if (e->name && valid_name(e->name))
            snprintf(what, sizeof(what), "exception %s", e->name);
    }
    if ((s = member(ld, g, "dry_run", CONFIG_TYPE_BOOL, what)))
        e->dry_run = config_setting_get_bool(s);
    get_string(ld, g, "comment", what, &e->comment);
    get_string(ld, g, "owner", what, &e->owner);
    if (get_string(ld, g, "expires", what, &expires) == 0 && expires) {
        s = config_setting_get_member(g, "expires");
        e->expires_line = config_setting_source_line(s);
        if ((e->expires = ar_parse_date(expires)) < 0) {
            err(ld, s, "%s: expires \"%s\" is not a date (YYYY-MM-DD)", what,
                expires);
        } else if (ld->today >= e->expires) {
            ar_diag_warn(ld->d, file_of(ld, s), e->expires_line,
                         "%s expired on %s and no longer matches", what,
                         expires);
        }
    }
    free(expires);

    if (get_string(ld, g, "action", what, &action) == 0) {
        s = config_setting_get_member(g, "action");
        if (action == NULL)
            err(ld, g, "%s has no action (permit, reject or tempfail)", what);
        else if (strcmp(action, "permit") == 0)
            e->action = AR_ACT_PERMIT;
        else if (strcmp(action, "reject") == 0)
            e->action = AR_ACT_REJECT;
        else if (strcmp(action, "tempfail") == 0)
            e->action = AR_ACT_TEMPFAIL;
        else
            err(ld, s,
                "%s: action \"%s\" must be \"permit\", \"reject\" or "
                "\"tempfail\"",
                what, action);
    }

    if ((s = member(ld, g, "reply", CONFIG_TYPE_GROUP, what))) {
        char rw[200];
        snprintf(rw, sizeof(rw), "%s reply", what);
        const char *classes = e->action == AR_ACT_REJECT     ? "5"
                              : e->action == AR_ACT_TEMPFAIL ? "4"
                                                             : "2";
        if (action && strcmp(action, "permit") != 0 &&
            strcmp(action, "reject") != 0 && strcmp(action, "tempfail") != 0)
            classes = "245";
        e->has_reply = load_reply(ld, s, rw, classes, &e->reply);
    } else if (action && strcmp(action, "tempfail") == 0) {
        err(ld, g, "%s: a tempfail rule needs its own reply (4xx, 4.x.x)",
            what);
    } else if (action && strcmp(action, "reject") == 0 && p->reply.text) {
        copy_reply(ld, &e->reply, &p->reply);
    }
    free(action);

    if ((s = member(ld, g, "match", CONFIG_TYPE_GROUP, what))) {
        char mw[200];
        snprintf(mw, sizeof(mw), "%s match", what);
        load_match(ld, s, mw, e);
    } else if (!config_setting_get_member(g, "match")) {
        err(ld, g, "%s has no match", what);
    }
}

static void
load_exceptions(struct loader *ld, const config_setting_t *l)
{
    int n = config_setting_length(l);
    if (n == 0)
        return;
    ld->p->exc = calloc((size_t)n, sizeof(*ld->p->exc));
    if (ld->p->exc == NULL) {
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
        return;
    }
    ld->p->nexc = (size_t)n;
    for (int i = 0; i < n; i++)
        load_exception(ld, config_setting_get_elem(l, (unsigned)i), (size_t)i);
}

/* ---- sender_login ----------------------------------------------------------
 */

static void
add_any_login(struct loader *ld, const config_setting_t *e, const char *v,
              void *ctx)
{
    const char *why;
    if (ar_loginmap_add_any(ctx, v, &why) < 0)
        err(ld, e, "bad login \"%s\": %s", v, why);
}

struct sl_entry {
    struct ar_loginmap *map;
    const char *login;
};

static void
add_login_sender(struct loader *ld, const config_setting_t *e, const char *v,
                 void *ctx)
{
    struct sl_entry *se = ctx;
    const char *why;
    if (ar_loginmap_add(se->map, se->login, v, &why) < 0)
        err(ld, e, "bad sender \"%s\" for login %s: %s", v, se->login, why);
}

/* a map file line: LOGIN SENDER [SENDER ...] */
static int
add_map_line(struct loader *ld, const char *line, const char *file,
             unsigned lineno, void *ctx, const char **why)
{
    (void)ld, (void)file, (void)lineno;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", line);
    char *save, *login = strtok_r(buf, " \t", &save), *sender;
    int n = 0;
    while ((sender = strtok_r(NULL, " \t", &save)) != NULL) {
        if (ar_loginmap_add(ctx, login, sender, why) < 0)
            return -1;
        n++;
    }
    if (n == 0) {
        *why = "a line needs a login and at least one sender";
        return -1;
    }
    return 0;
}

static void
load_sender_login(struct loader *ld, const config_setting_t *g)
{
    static const char *const keys[] = {
        "mode",  "map",     "map_files", "any_sender_logins",
        "reply", "dry_run", NULL};
    struct ar_policy *p = ld->p;
    const config_setting_t *s;
    char *mode = NULL;

    check_keys(ld, g, "sender_login", keys);
    if ((p->sl_map = ar_loginmap_new()) == NULL) {
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
        return;
    }
    if (get_string(ld, g, "mode", "sender_login", &mode) == 0 && mode) {
        if (strcmp(mode, "off") == 0)
            p->sl_mode = AR_SL_OFF;
        else if (strcmp(mode, "enforce") == 0)
            p->sl_mode = AR_SL_ENFORCE;
        else if (strcmp(mode, "report") == 0)
            p->sl_mode = AR_SL_REPORT;
        else
            err(ld, config_setting_get_member(g, "mode"),
                "sender_login.mode \"%s\" must be \"off\", \"enforce\" or "
                "\"report\"",
                mode);
    }
    free(mode);
    if ((s = member(ld, g, "dry_run", CONFIG_TYPE_BOOL, "sender_login")) &&
        config_setting_get_bool(s) && p->sl_mode == AR_SL_ENFORCE)
        p->sl_mode = AR_SL_REPORT; /* a dry run logs, as report mode does */
    if ((s = member(ld, g, "map", CONFIG_TYPE_LIST, "sender_login"))) {
        for (int i = 0; i < config_setting_length(s); i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            static const char *const ekeys[] = {"login", "senders", NULL};
            if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                err(ld, e,
                    "sender_login.map entries must be groups "
                    "{ login = ...; senders = [ ... ]; }");
                continue;
            }
            check_keys(ld, e, "sender_login.map entry", ekeys);
            char *login = NULL;
            const config_setting_t *senders =
                member(ld, e, "senders", CONFIG_TYPE_ARRAY, "sender_login.map");
            if (get_string(ld, e, "login", "sender_login.map", &login) < 0)
                continue;
            if (login == NULL || senders == NULL) {
                err(ld, e, "a sender_login.map entry needs login and senders");
            } else if (config_setting_length(senders) == 0) {
                err(ld, senders, "senders of login %s is empty", login);
            } else {
                struct sl_entry se = {p->sl_map, login};
                each_string(ld, senders, "senders", add_login_sender, &se);
            }
            free(login);
        }
    }
    if ((s = member(ld, g, "map_files", CONFIG_TYPE_ARRAY, "sender_login")))
        each_file(ld, s, "sender-login line", add_map_line, p->sl_map);
    if ((s = member(ld, g, "any_sender_logins", CONFIG_TYPE_ARRAY,
                    "sender_login")))
        each_string(ld, s, "any_sender_logins", add_any_login, p->sl_map);
    if ((s = member(ld, g, "reply", CONFIG_TYPE_GROUP, "sender_login")))
        p->sl_has_reply =
            load_reply(ld, s, "sender_login.reply", "5", &p->sl_reply);
}

/* ---- the whole file ------------------------------------------------------ */

/* the whole file, NUL-terminated, into *text; -1 with errno on failure */
static int
read_text(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t cap = 0, n = 0, got;
    char *buf = NULL;
    do {
        if (n + 8192 + 1 > cap) {
            cap = (n + 8192 + 1) * 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, 8192, f);
        n += got;
    } while (got > 0);
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

/* keep a copy of the text split in lines, for line_of() */
static void
split_text(struct loader *ld, const char *text, size_t len)
{
    if ((ld->text = malloc(len + 1)) == NULL)
        return;
    memcpy(ld->text, text, len + 1);
    size_t nl = 1;
    for (size_t i = 0; i < len; i++)
        nl += ld->text[i] == '\n';
    if ((ld->lines = malloc(nl * sizeof(*ld->lines))) == NULL)
        return;
    char *p = ld->text;
    for (;;) {
        ld->lines[ld->nlines++] = p;
        char *e = strchr(p, '\n');
        if (e == NULL)
            break;
        *e = '\0';
        p = e + 1;
    }
}

static void
load_root(struct loader *ld, config_t *cf)
{
    static const char *const keys[] = {"version",    "milter",       "relay",
                                       "exceptions", "sender_login", NULL};
    const config_setting_t *root = config_root_setting(cf);
    const config_setting_t *s;
    struct ar_policy *p = ld->p;

    check_keys(ld, root, "the policy", keys);
    if ((s = config_setting_get_member(root, "version")) == NULL) {
        ar_diag_error(ld->d, ld->path, 1, "missing version = 1;");
    } else if ((s = member(ld, root, "version", CONFIG_TYPE_INT, "policy"))) {
        if (config_setting_get_int64(s) != 1)
            err(ld, s, "unsupported version %lld: this is version 1",
                (long long)config_setting_get_int64(s));
    }
    if ((s = member(ld, root, "milter", CONFIG_TYPE_GROUP, "policy")))
        load_milter(ld, s);

    /* the built-in default reply, until relay.reply replaces it */
    memcpy(p->reply.code, "554", 4);
    memcpy(p->reply.xcode, "5.7.1", 6);
    p->reply.text = xstrdup(ld, "Relay access denied");
    if ((s = config_setting_get_member(root, "relay")) == NULL) {
        ar_diag_error(ld->d, ld->path, 1,
                      "missing relay section (relay = { local_domains = "
                      "[ ... ]; };)");
    } else if ((s = member(ld, root, "relay", CONFIG_TYPE_GROUP, "policy"))) {
        const config_setting_t *r = config_setting_get_member(s, "reply");
        if (r && config_setting_type(r) == CONFIG_TYPE_GROUP) {
            free(p->reply.text);
            p->reply.text = NULL;
        }
        load_relay(ld, s);
        if (p->reply.text == NULL)
            p->reply.text = xstrdup(ld, "Relay access denied");
    }
    s = config_setting_get_member(root, "exceptions");
    if (s && config_setting_type(s) != CONFIG_TYPE_LIST &&
        !(config_setting_type(s) == CONFIG_TYPE_ARRAY &&
          config_setting_length(s) == 0))
        err(ld, s, "exceptions must be a list ( { ... }, { ... } ), not %s",
            type_name(config_setting_type(s)));
    else if (s)
        load_exceptions(ld, s);
    if ((s = member(ld, root, "sender_login", CONFIG_TYPE_GROUP, "policy")))
        load_sender_login(ld, s);
}

/*
 * libconfig 1.5 ends the whole process ("input in flex scanner failed")
 * on some @include directives, such as @include "." (hyperrealm/libconfig
 * issue 292): a reload must never be able to do that to the daemon. The
 * policy does not need them (lists go in *_files): refuse every one.
 */
static bool
has_include(const char *text, const char *name, struct ar_diags *d)
{
    bool found = false;
    unsigned line = 1;
    for (const char *p = text; *p; line++) {
        const char *q = p + strspn(p, " \t");
        if (strncmp(q, "@include", 8) == 0) {
            ar_diag_error(d, name, line,
                          "@include is not supported: put lists in "
                          "local_domains_files, trusted_networks_files or "
                          "sender_login.map_files");
            found = true;
        }
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return found;
}

/*
 * The one loader: text is the whole policy, name what errors call it, dir
 * where relative *_files and @include paths start. The file is read once,
 * so that what is parsed, hashed and quoted in errors is the same text.
 */
static struct ar_policy *
load_text(const char *name, const char *text, size_t len, const char *dir,
          int64_t today, struct ar_diags *d)
{
    struct loader ld = {.d = d, .today = today};
    config_t cf;
    size_t errors_before = d->nerrors;

    ld.p = calloc(1, sizeof(*ld.p));
    if (ld.p == NULL || (ld.p->local_domains = ar_domainset_new()) == NULL ||
        (ld.p->path = strdup(name)) == NULL || (ld.dir = strdup(dir)) == NULL) {
        ar_diag_error(d, name, 0, "out of memory");
        if (ld.p)
            ar_policy_free(ld.p);
        return NULL;
    }
    atomic_init(&ld.p->refs, 1);
    ld.p->metrics_interval = 15;
    ld.p->timeout = AR_MILTER_TIMEOUT;
    ld.path = intern(&ld, name);
    ar_sha256_hex(text, len, ld.p->sha256);

    config_init(&cf);
    if (strlen(text) != len) {
        ar_diag_error(d, name, 0, "NUL byte in the policy text");
    } else if (has_include(text, name, d)) {
        /* reported; libconfig is not asked */
    } else if (!config_read_string(&cf, text)) {
        ar_diag_error(d, config_error_file(&cf) ? config_error_file(&cf) : name,
                      (unsigned)config_error_line(&cf), "%s",
                      config_error_text(&cf));
    } else {
        split_text(&ld, text, len);
        load_root(&ld, &cf);
    }
    config_destroy(&cf);
    free(ld.lines);
    free(ld.text);
    free(ld.dir);
    ar_domainset_seal(ld.p->local_domains);
    for (size_t i = 0; i < ld.p->nexc; i++)
        ld.p->uses_helo |= ld.p->exc[i].helo != NULL;
    if (d->nerrors == errors_before && !d->oom && ld.p->nexc > 0 &&
        (ld.p->exidx = ar_exindex_build(ld.p->exc, ld.p->nexc)) == NULL)
        ar_diag_error(d, name, 0, "out of memory");
    if (d->nerrors != errors_before || d->oom) {
        ar_policy_free(ld.p);
        return NULL;
    }
    return ld.p;
}

struct ar_policy *
ar_policy_load(const char *path, int64_t today, struct ar_diags *d)
{
    char *text;
    size_t len;
    if (read_text(path, &text, &len) < 0) {
        ar_diag_error(d, path, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + (slash == path)))
                      : strdup(".");
    struct ar_policy *p =
        dir ? load_text(path, text, len, dir, today, d) : NULL;
    if (dir == NULL)
        ar_diag_error(d, path, 0, "out of memory");
    free(dir);
    free(text);
    return p;
}

struct ar_policy *
ar_policy_load_string(const char *name, const char *text, size_t len,
                      const char *dir, int64_t today, struct ar_diags *d)
{
    return load_text(name, text, len, dir, today, d);
}

/* ---- freeing ---------------------------------------------------------------
 */

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
