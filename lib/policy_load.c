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
#include "fileio.h"
#include "policy_int.h"
#include "sha256.h"

#define MAX_FILE_ERRORS 20  /* per *_files file: then give up on that file */
#define MAX_FILE (1u << 30) /* the policy or a *_files file, octets */
#define QUOTE_MAX 20        /* of a bad entry, octets quoted in messages */
#define AR_DEFAULT_REPLY_TEXT "Relay access denied"

/* a file read, to see at the end that it did not change since */
struct read_file {
    const char *path; /* interned */
    struct ar_file_id id;
};

struct loader {
    struct ar_diags *d;
    struct ar_policy *p;
    const char *path; /* interned main file name */
    char *dir;        /* directory of the main file, for relative paths */
    int64_t today;
    char **lines; /* main file text split in lines, for finding entries */
    size_t nlines;
    char *text;
    struct read_file *read; /* every file read */
    size_t nread;
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

/* ---- typed getters ------------------------------------------------------ */

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

/*
 * A bad entry as messages quote it: at most QUOTE_MAX octets, in quotes,
 * '"', '\' and every octet outside printable ASCII escaped (\xHH), and
 * ... after the quotes when cut. A list file may be anything the policy
 * names, read as root at start (a shadow file, a key): its lines go to
 * syslog only as far as a short prefix, and never as raw bytes.
 */
#define QUOTE_SIZE (2 + QUOTE_MAX * 4 + 3 + 1)

static const char *
quote(const char *s, size_t n, char *buf)
{
    size_t k = 0;
    buf[k++] = '"';
    for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            k += (size_t)sprintf(buf + k, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            k += (size_t)sprintf(buf + k, "\\x%02x", c);
        else
            buf[k++] = (char)c;
    }
    buf[k++] = '"';
    if (n > QUOTE_MAX)
        k += (size_t)sprintf(buf + k, "...");
    buf[k] = '\0';
    return buf;
}

/* note a file read, for check_unchanged() */
static void
note_read(struct loader *ld, const char *path, const struct ar_file_id *id)
{
    struct read_file *nv = realloc(ld->read, (ld->nread + 1) * sizeof(*nv));
    if (nv == NULL) {
        ar_diag_error(ld->d, path, 0, "out of memory");
        return;
    }
    ld->read = nv;
    nv[ld->nread++] = (struct read_file){path, *id};
}

/* A file written in place while we read it is refused by ar_file_read;
 * one written in place after we read it, while the rest was loading, is
 * caught here: either way the policy is never a mix of two versions. */
static void
check_unchanged(struct loader *ld)
{
    for (size_t i = 0; i < ld->nread; i++)
        if (ar_file_changed(ld->read[i].path, &ld->read[i].id))
            ar_diag_error(ld->d, ld->read[i].path, 0,
                          "changed while the policy was loading (replace "
                          "it by rename, not in place)");
}

/* read one entry a line; '#' starts a comment; errors name the file:line */
static void
read_list_file(struct loader *ld, const config_setting_t *s, const char *name,
               const char *what, entry_fn fn, void *ctx)
{
    char path[PATH_MAX], why[AR_FILE_WHY];
    if (name[0] == '\0') {
        err(ld, s, "empty file name");
        return;
    }
    if (name[0] == '/' || ld->dir == NULL)
        snprintf(path, sizeof(path), "%s", name);
    else
        snprintf(path, sizeof(path), "%s/%s", ld->dir, name);
    /* read whole, or not at all: every failure (memory included) is an
     * error, never the end of the list */
    char *text;
    size_t len;
    struct ar_file_id id;
    int rc =
        ar_file_read(path, 0, MAX_FILE, &text, &len, &id, why, sizeof(why));
    if (rc < 0) {
        err(ld, s, "cannot %s %s: %s", rc == -1 ? "open" : "read", path, why);
        return;
    }
    const char *fname = intern(ld, path);
    note_read(ld, fname, &id);
    unsigned line = 0, nerr = 0;
    for (char *buf = text, *end = text + len; buf < end;) {
        char *nl = memchr(buf, '\n', (size_t)(end - buf));
        size_t n = nl ? (size_t)(nl - buf) : (size_t)(end - buf);
        char *next = nl ? nl + 1 : end;
        line++;
        char *p = buf, *e;
        char *hash = memchr(buf, '#', n);
        e = hash ? hash : buf + n;
        buf = next;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (p == e)
            continue;
        *e = '\0';
        const char *bad = NULL;
        if (memchr(p, '\0', (size_t)(e - p)) != NULL)
            bad = "NUL byte in line";
        if (bad || fn(ld, p, fname, line, ctx, &bad) < 0) {
            char q[QUOTE_SIZE];
            ar_diag_error(ld->d, fname, line, "bad %s %s: %s", what,
                          quote(p, (size_t)(e - p), q), bad);
            if (++nerr == MAX_FILE_ERRORS) {
                ar_diag_error(ld->d, fname, line,
                              "too many errors, rest of file skipped");
                break;
            }
        }
    }
    free(text);
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
    char q[QUOTE_SIZE];
    if (add_domain(ld, v, NULL, 0, ctx, &why) < 0)
        err(ld, e, "bad domain %s: %s", quote(v, strlen(v), q), why);
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
    char q[QUOTE_SIZE];
    if (add_net(ld, v, file_of(ld, e), line_of(ld, e), ctx, &why) < 0)
        err(ld, e, "bad network %s: %s", quote(v, strlen(v), q), why);
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

/* ---- the schema: one table a section ------------------------------------ */

/*
 * A section's keys, in the order they are read (and their errors found).
 * A key not in its section's table is an error; a present key of the
 * wrong type is one too, and its handler is not called; a key with
 * `missing` set is required, and its absence is reported as
 * "WHAT MISSING". A NULL handler: the section reads that key itself.
 * Type 0: any type, the handler checks it.
 */
struct key {
    const char *name;
    int type;
    const char *missing;
    void (*load)(struct loader *ld, const config_setting_t *s, void *ctx);
};

/* every key of g is in keys; false after reporting those that are not */
static bool
check_keys(struct loader *ld, const config_setting_t *g, const char *what,
           const struct key *keys)
{
    bool ok = true;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(c);
        const struct key *k;
        for (k = keys; k->name; k++)
            if (strcmp(k->name, name) == 0)
                break;
        if (k->name == NULL) {
            err(ld, c, "unknown key '%s' in %s", name, what);
            ok = false;
        }
    }
    return ok;
}

/* the group g read by its table: what names it in messages */
static void
load_keys(struct loader *ld, const config_setting_t *g, const char *what,
          const struct key *keys, void *ctx)
{
    check_keys(ld, g, what, keys);
    for (const struct key *k = keys; k->name; k++) {
        config_setting_t *s = config_setting_get_member(g, k->name);
        if (s == NULL) {
            if (k->missing)
                err(ld, g, "%s %s", what, k->missing);
            continue;
        }
        if (k->load && (k->type == 0 || member(ld, g, k->name, k->type, what)))
            k->load(ld, s, ctx);
    }
}

/* a reply group: load_reply reads the three together */
static const struct key reply_keys[] = {
    {"code", CONFIG_TYPE_STRING, NULL, NULL},
    {"xcode", CONFIG_TYPE_STRING, NULL, NULL},
    {"text", CONFIG_TYPE_STRING, NULL, NULL},
    {NULL, 0, NULL, NULL}};

/* classes: the allowed first digits, e.g. "5" or "45" */
static bool
load_reply(struct loader *ld, const config_setting_t *g, const char *what,
           const char *classes, struct ar_reply *r)
{
    char *code = NULL, *xcode = NULL, *text = NULL;
    bool ok = check_keys(ld, g, what, reply_keys);
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
        } else if (n > AR_REPLY_TEXT_MAX) {
            err(ld, st, "%s.text is %zu characters long; at most %d", what, n,
                AR_REPLY_TEXT_MAX);
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

/* ---- named values: one lookup for every enumerated key ------------------ */

struct choice {
    const char *name;
    int value;
};

static const struct choice milter_modes[] = {
    {"enforce", AR_MODE_ENFORCE}, {"report", AR_MODE_REPORT}, {NULL, 0}};
static const struct choice on_errors[] = {{"tempfail", AR_ONERR_TEMPFAIL},
                                          {"accept", AR_ONERR_ACCEPT},
                                          {"reject", AR_ONERR_REJECT},
                                          {NULL, 0}};
static const struct choice actions[] = {{"permit", AR_ACT_PERMIT},
                                        {"reject", AR_ACT_REJECT},
                                        {"tempfail", AR_ACT_TEMPFAIL},
                                        {NULL, 0}};
static const struct choice sl_modes[] = {{"off", AR_SL_OFF},
                                         {"enforce", AR_SL_ENFORCE},
                                         {"report", AR_SL_REPORT},
                                         {NULL, 0}};

/* the value named v; -1 when v is none of the choices */
static int
choose(const struct choice *c, const char *v)
{
    for (; c->name; c++)
        if (strcmp(c->name, v) == 0)
            return c->value;
    return -1;
}

/* s's string as one of the choices, or an error: LABEL "v" must be "a",
 * "b" or "c"; -1 then */
static int
get_choice(struct loader *ld, const config_setting_t *s, const char *label,
           const struct choice *c)
{
    const char *v = config_setting_get_string(s);
    int x = choose(c, v);
    if (x >= 0)
        return x;
    char list[160];
    size_t n = 0;
    for (const struct choice *k = c; k->name && n < sizeof(list); k++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
                              k == c          ? ""
                              : (k + 1)->name ? ", "
                                              : " or ",
                              k->name);
    err(ld, s, "%s \"%s\" must be %s", label, v, list);
    return -1;
}

/* ---- milter ------------------------------------------------------------ */

static void
load_socket(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    const char *v = config_setting_get_string(s);
    ld->p->socket = xstrdup(ld, v);
    if (strncmp(v, "inet:", 5) != 0 && strncmp(v, "inet6:", 6) != 0 &&
        strncmp(v, "unix:", 5) != 0 && strncmp(v, "local:", 6) != 0)
        err(ld, s,
            "milter.socket \"%s\" must start with inet:, inet6:, unix: or "
            "local:",
            v);
}

static void
load_user(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld->p->user = xstrdup(ld, config_setting_get_string(s));
    if (ld->p->user && ld->p->user[0] == '\0')
        err(ld, s, "milter.user is empty");
}

/* an absolute path into *dst */
static void
load_path(struct loader *ld, const config_setting_t *s, const char *what,
          char **dst)
{
    *dst = xstrdup(ld, config_setting_get_string(s));
    if (*dst && (*dst)[0] != '/')
        err(ld, s, "%s must be an absolute path", what);
}

static void
load_pidfile(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    load_path(ld, s, "milter.pidfile", &ld->p->pidfile);
}

static void
load_metrics_file(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    load_path(ld, s, "milter.metrics_file", &ld->p->metrics_file);
}

static void
load_mode(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    int v = get_choice(ld, s, "milter.mode", milter_modes);
    if (v >= 0)
        ld->p->mode = (enum ar_mode)v;
}

static void
load_on_error(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    int v = get_choice(ld, s, "milter.on_error", on_errors);
    if (v >= 0)
        ld->p->on_error = (enum ar_on_error)v;
}

/* milter.KEY, a number of seconds from 1 to 86400, into *out */
static void
load_seconds(struct loader *ld, const config_setting_t *s, unsigned *out)
{
    long long v = config_setting_get_int64(s);
    if (v < 1 || v > 86400)
        err(ld, s, "milter.%s %lld must be 1 to 86400 seconds",
            config_setting_name(s), v);
    else
        *out = (unsigned)v;
}

static void
load_metrics_interval(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    load_seconds(ld, s, &ld->p->metrics_interval);
}

static void
load_timeout(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    load_seconds(ld, s, &ld->p->timeout);
}

static const struct key milter_keys[] = {
    {"socket", CONFIG_TYPE_STRING, NULL, load_socket},
    {"user", CONFIG_TYPE_STRING, NULL, load_user},
    {"pidfile", CONFIG_TYPE_STRING, NULL, load_pidfile},
    {"mode", CONFIG_TYPE_STRING, NULL, load_mode},
    {"on_error", CONFIG_TYPE_STRING, NULL, load_on_error},
    {"metrics_file", CONFIG_TYPE_STRING, NULL, load_metrics_file},
    {"metrics_interval", CONFIG_TYPE_INT, NULL, load_metrics_interval},
    {"timeout", CONFIG_TYPE_INT, NULL, load_timeout},
    {NULL, 0, NULL, NULL}};

static void
load_milter(struct loader *ld, const config_setting_t *g, void *ctx)
{
    (void)ctx;
    ld->p->metrics_interval = 15;
    load_keys(ld, g, "milter", milter_keys, NULL);
}

/* ---- relay ------------------------------------------------------------- */

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

/* relay's lists while they are read */
struct relay_ctx {
    struct domctx dc;
    struct netctx nc;
};

static void
load_local_domains(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct relay_ctx *rc = ctx;
    each_string(ld, s, "relay.local_domains", add_domain_setting, &rc->dc);
}

static void
load_local_domains_files(struct loader *ld, const config_setting_t *s,
                         void *ctx)
{
    struct relay_ctx *rc = ctx;
    each_file(ld, s, "domain", add_domain, &rc->dc);
}

static void
load_trusted_networks(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct relay_ctx *rc = ctx;
    each_string(ld, s, "relay.trusted_networks", add_net_setting, &rc->nc);
}

static void
load_trusted_networks_files(struct loader *ld, const config_setting_t *s,
                            void *ctx)
{
    struct relay_ctx *rc = ctx;
    each_file(ld, s, "network", add_net, &rc->nc);
}

static void
load_remote_mailers(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    each_string(ld, s, "relay.remote_mailers", add_mailer, ld->p);
}

static void
load_relay_reply(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    load_reply(ld, s, "relay.reply", "5", &ld->p->reply);
}

static const struct key relay_keys[] = {
    {"local_domains", CONFIG_TYPE_ARRAY, NULL, load_local_domains},
    {"local_domains_files", CONFIG_TYPE_ARRAY, NULL, load_local_domains_files},
    {"trusted_networks", CONFIG_TYPE_ARRAY, NULL, load_trusted_networks},
    {"trusted_networks_files", CONFIG_TYPE_ARRAY, NULL,
     load_trusted_networks_files},
    {"remote_mailers", CONFIG_TYPE_ARRAY, NULL, load_remote_mailers},
    {"reply", CONFIG_TYPE_GROUP, NULL, load_relay_reply},
    {NULL, 0, NULL, NULL}};

static void
load_relay(struct loader *ld, const config_setting_t *g, void *ctx)
{
    (void)ctx;
    struct ar_policy *p = ld->p;
    struct relay_ctx rc = {{p->local_domains, AR_DOM_SUFFIX | AR_DOM_LITERAL},
                           {0}};

    if (!config_setting_get_member(g, "local_domains") &&
        !config_setting_get_member(g, "local_domains_files"))
        err(ld, g, "relay needs local_domains or local_domains_files");
    /* relay.reply replaces the built-in default, valid or not */
    const config_setting_t *r = config_setting_get_member(g, "reply");
    if (r && config_setting_type(r) == CONFIG_TYPE_GROUP) {
        free(p->reply.text);
        p->reply.text = NULL;
    }
    load_keys(ld, g, "relay", relay_keys, &rc);
    if ((p->trusted = ar_netset_new(rc.nc.v, rc.nc.n)) == NULL)
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
    free(rc.nc.v);
    if (p->reply.text == NULL)
        p->reply.text = xstrdup(ld, AR_DEFAULT_REPLY_TEXT);
}

/* ---- exceptions -------------------------------------------------------- */

static bool
valid_name(const char *n)
{
    if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
          (n[0] >= '0' && n[0] <= '9')))
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") == strlen(n);
}

/* the rule names the decision itself gives */
static bool
reserved_name(const char *n)
{
    static const char *const reserved[] = {AR_RULE_LOCAL, AR_RULE_TRUSTED,
                                           AR_RULE_AUTH, AR_RULE_DEFAULT};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(n, reserved[i]) == 0)
            return true;
    return false;
}

/* a match list: an array, not empty; returns it or NULL */
static const config_setting_t *
match_list(struct loader *ld, const config_setting_t *s, const char *what,
           unsigned *line)
{
    *line = config_setting_source_line(s);
    if (config_setting_length(s) == 0) {
        err(ld, s, "%s.%s is empty: the rule could never match", what,
            config_setting_name(s));
        return NULL;
    }
    return s;
}

/* an exception while it is read */
struct exc_ctx {
    struct ar_exception *e;
    size_t idx;
    char what[160]; /* "exceptions[N]", then "exception NAME" */
    char match_what[200];
    int action; /* -1: absent or not one of the actions */
};

static struct ar_domainset *
match_domains(struct loader *ld, const config_setting_t *s, struct exc_ctx *xc,
              unsigned flags, unsigned *line)
{
    if (match_list(ld, s, xc->match_what, line) == NULL)
        return NULL;
    struct domctx dc = {ar_domainset_new(), flags};
    if (dc.set == NULL) {
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
        return NULL;
    }
    char full[256];
    snprintf(full, sizeof(full), "%s.%s", xc->match_what,
             config_setting_name(s));
    each_string(ld, s, full, add_domain_setting, &dc);
    return dc.set;
}

static void
load_client_networks(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    if (match_list(ld, s, xc->match_what, &xc->e->networks_line) == NULL)
        return;
    struct netctx nc = {0};
    each_string(ld, s, "client_networks", add_net_setting, &nc);
    if ((xc->e->networks = ar_netset_new(nc.v, nc.n)) == NULL)
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
    free(nc.v);
}

static void
load_client_hostnames(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    xc->e->hostnames =
        match_domains(ld, s, xc, AR_DOM_SUFFIX, &xc->e->hostnames_line);
}

static void
load_helo(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    xc->e->helo = match_domains(ld, s, xc, AR_DOM_SUFFIX | AR_DOM_LITERAL,
                                &xc->e->helo_line);
}

static void
load_sender_domains(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    xc->e->sender_domains = match_domains(
        ld, s, xc, AR_DOM_SUFFIX | AR_DOM_LITERAL, &xc->e->sender_domains_line);
}

static void
load_sender_is_local(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ld;
    struct exc_ctx *xc = ctx;
    xc->e->sender_is_local = config_setting_get_bool(s) ? 1 : 0;
    xc->e->sender_is_local_line = config_setting_source_line(s);
}

static const struct key match_keys[] = {
    {"client_networks", CONFIG_TYPE_ARRAY, NULL, load_client_networks},
    {"client_hostnames", CONFIG_TYPE_ARRAY, NULL, load_client_hostnames},
    {"helo", CONFIG_TYPE_ARRAY, NULL, load_helo},
    {"sender_domains", CONFIG_TYPE_ARRAY, NULL, load_sender_domains},
    {"sender_is_local", CONFIG_TYPE_BOOL, NULL, load_sender_is_local},
    {NULL, 0, NULL, NULL}};

static void
load_match(struct loader *ld, const config_setting_t *m, void *ctx)
{
    struct exc_ctx *xc = ctx;
    snprintf(xc->match_what, sizeof(xc->match_what), "%s match", xc->what);
    if (config_setting_length(m) == 0) {
        check_keys(ld, m, xc->match_what, match_keys);
        err(ld, m, "%s is empty: a rule needs at least one client condition",
            xc->match_what);
        return;
    }
    load_keys(ld, m, xc->match_what, match_keys, xc);
    if (!config_setting_get_member(m, "client_networks") &&
        !config_setting_get_member(m, "client_hostnames") &&
        !config_setting_get_member(m, "helo"))
        err(ld, m,
            "%s has only sender conditions: the envelope sender is "
            "forgeable, so it may only narrow client_networks, "
            "client_hostnames or helo",
            xc->match_what);
}

static void
load_name(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    struct ar_exception *e = xc->e;
    const struct ar_policy *p = ld->p;
    if ((e->name = xstrdup(ld, config_setting_get_string(s))) == NULL)
        return;
    if (!valid_name(e->name)) {
        err(ld, s,
            "exception name \"%s\" must match [A-Za-z0-9][A-Za-z0-9._-]*",
            e->name);
        return;
    }
    if (reserved_name(e->name))
        err(ld, s, "exception name \"%s\" is reserved", e->name);
    else
        for (size_t i = 0; i < xc->idx; i++)
            if (p->exc[i].name && strcmp(p->exc[i].name, e->name) == 0)
                err(ld, s, "duplicate exception name \"%s\" (first at line %u)",
                    e->name, p->exc[i].line);
    snprintf(xc->what, sizeof(xc->what), "exception %s", e->name);
}

static void
load_dry_run(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ld;
    struct exc_ctx *xc = ctx;
    xc->e->dry_run = config_setting_get_bool(s);
}

static void
load_comment(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    xc->e->comment = xstrdup(ld, config_setting_get_string(s));
}

static void
load_owner(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    xc->e->owner = xstrdup(ld, config_setting_get_string(s));
}

static void
load_expires(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    struct ar_exception *e = xc->e;
    const char *v = config_setting_get_string(s);
    e->expires_line = config_setting_source_line(s);
    if ((e->expires = ar_parse_date(v)) < 0)
        err(ld, s, "%s: expires \"%s\" is not a date (YYYY-MM-DD)", xc->what,
            v);
    else if (ld->today >= e->expires)
        ar_diag_warn(ld->d, file_of(ld, s), e->expires_line,
                     "%s expired on %s and no longer matches", xc->what, v);
}

static void
load_action(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    char label[200];
    snprintf(label, sizeof(label), "%s: action", xc->what);
    if ((xc->action = get_choice(ld, s, label, actions)) >= 0)
        xc->e->action = (enum ar_action)xc->action;
}

static void
load_exception_reply(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    char rw[200];
    snprintf(rw, sizeof(rw), "%s reply", xc->what);
    /* an unknown action: any class, the action's error is enough */
    const char *classes = xc->action == AR_ACT_REJECT     ? "5"
                          : xc->action == AR_ACT_TEMPFAIL ? "4"
                          : xc->action == AR_ACT_PERMIT   ? "2"
                                                          : "245";
    xc->e->has_reply = load_reply(ld, s, rw, classes, &xc->e->reply);
}

static const struct key exception_keys[] = {
    {"name", CONFIG_TYPE_STRING, "has no name", load_name},
    {"dry_run", CONFIG_TYPE_BOOL, NULL, load_dry_run},
    {"comment", CONFIG_TYPE_STRING, NULL, load_comment},
    {"owner", CONFIG_TYPE_STRING, NULL, load_owner},
    {"expires", CONFIG_TYPE_STRING, NULL, load_expires},
    {"action", CONFIG_TYPE_STRING, "has no action (permit, reject or tempfail)",
     load_action},
    {"reply", CONFIG_TYPE_GROUP, NULL, load_exception_reply},
    {"match", CONFIG_TYPE_GROUP, "has no match", load_match},
    {NULL, 0, NULL, NULL}};

static void
load_exception(struct loader *ld, const config_setting_t *g, size_t idx)
{
    struct ar_policy *p = ld->p;
    /* no action yet counts as permit for the reply's class (a missing
     * action is said once, as such) */
    struct exc_ctx xc = {
        .e = &p->exc[idx], .idx = idx, .action = AR_ACT_PERMIT};
    struct ar_exception *e = xc.e;

    e->file = file_of(ld, g);
    e->line = config_setting_source_line(g);
    e->expires = -1;
    e->sender_is_local = -1;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        err(ld, g, "exceptions entries must be groups { ... }, not %s",
            type_name(config_setting_type(g)));
        return;
    }
    snprintf(xc.what, sizeof(xc.what), "exceptions[%zu]", idx);
    load_keys(ld, g, xc.what, exception_keys, &xc);
    if (config_setting_get_member(g, "reply") == NULL) {
        if (xc.action == AR_ACT_TEMPFAIL)
            err(ld, g, "%s: a tempfail rule needs its own reply (4xx, 4.x.x)",
                xc.what);
        else if (xc.action == AR_ACT_REJECT && p->reply.text)
            copy_reply(ld, &e->reply, &p->reply);
    }
}

static void
load_exceptions(struct loader *ld, const config_setting_t *l, void *ctx)
{
    (void)ctx;
    int t = config_setting_type(l), n = config_setting_length(l);
    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && n == 0)) {
        err(ld, l, "exceptions must be a list ( { ... }, { ... } ), not %s",
            type_name(t));
        return;
    }
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

/* ---- sender_login -------------------------------------------------------- */

static void
add_any_login(struct loader *ld, const config_setting_t *e, const char *v,
              void *ctx)
{
    const char *why;
    char q[QUOTE_SIZE];
    if (ar_loginmap_add_any(ctx, v, &why) < 0)
        err(ld, e, "bad login %s: %s", quote(v, strlen(v), q), why);
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
    char q[QUOTE_SIZE];
    if (ar_loginmap_add(se->map, se->login, v, &why) < 0)
        err(ld, e, "bad sender %s for login %s: %s", quote(v, strlen(v), q),
            se->login, why);
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

/* the keys of a sender_login.map entry: the section reads them */
static const struct key map_entry_keys[] = {
    {"login", CONFIG_TYPE_STRING, NULL, NULL},
    {"senders", CONFIG_TYPE_ARRAY, NULL, NULL},
    {NULL, 0, NULL, NULL}};

static void
load_map_entry(struct loader *ld, const config_setting_t *e)
{
    if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
        err(ld, e,
            "sender_login.map entries must be groups "
            "{ login = ...; senders = [ ... ]; }");
        return;
    }
    check_keys(ld, e, "sender_login.map entry", map_entry_keys);
    const config_setting_t *senders =
        member(ld, e, "senders", CONFIG_TYPE_ARRAY, "sender_login.map");
    const config_setting_t *login =
        member(ld, e, "login", CONFIG_TYPE_STRING, "sender_login.map");
    if (login == NULL && config_setting_get_member(e, "login"))
        return; /* mistyped: said */
    if (login == NULL || senders == NULL) {
        err(ld, e, "a sender_login.map entry needs login and senders");
    } else if (config_setting_length(senders) == 0) {
        err(ld, senders, "senders of login %s is empty",
            config_setting_get_string(login));
    } else {
        struct sl_entry se = {ld->p->sl_map, config_setting_get_string(login)};
        each_string(ld, senders, "senders", add_login_sender, &se);
    }
}

static void
load_sl_mode(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    int v = get_choice(ld, s, "sender_login.mode", sl_modes);
    if (v >= 0)
        ld->p->sl_mode = v;
}

static void
load_sl_dry_run(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    if (config_setting_get_bool(s) && ld->p->sl_mode == AR_SL_ENFORCE)
        ld->p->sl_mode = AR_SL_REPORT; /* a dry run logs, as report does */
}

static void
load_sl_map(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < config_setting_length(s); i++)
        load_map_entry(ld, config_setting_get_elem(s, (unsigned)i));
}

static void
load_sl_map_files(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    each_file(ld, s, "sender-login line", add_map_line, ld->p->sl_map);
}

static void
load_sl_any(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    each_string(ld, s, "any_sender_logins", add_any_login, ld->p->sl_map);
}

static void
load_sl_reply(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld->p->sl_has_reply =
        load_reply(ld, s, "sender_login.reply", "5", &ld->p->sl_reply);
}

static const struct key sender_login_keys[] = {
    {"mode", CONFIG_TYPE_STRING, NULL, load_sl_mode},
    {"dry_run", CONFIG_TYPE_BOOL, NULL, load_sl_dry_run},
    {"map", CONFIG_TYPE_LIST, NULL, load_sl_map},
    {"map_files", CONFIG_TYPE_ARRAY, NULL, load_sl_map_files},
    {"any_sender_logins", CONFIG_TYPE_ARRAY, NULL, load_sl_any},
    {"reply", CONFIG_TYPE_GROUP, NULL, load_sl_reply},
    {NULL, 0, NULL, NULL}};

static void
load_sender_login(struct loader *ld, const config_setting_t *g, void *ctx)
{
    (void)ctx;
    if ((ld->p->sl_map = ar_loginmap_new()) == NULL) {
        check_keys(ld, g, "sender_login", sender_login_keys);
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
        return;
    }
    load_keys(ld, g, "sender_login", sender_login_keys, NULL);
}

/* ---- the whole file ------------------------------------------------------ */

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
load_version(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    if (config_setting_get_int64(s) != 1)
        err(ld, s, "unsupported version %lld: this is version 1",
            (long long)config_setting_get_int64(s));
}

static const struct key root_keys[] = {
    {"version", CONFIG_TYPE_INT, NULL, load_version},
    {"milter", CONFIG_TYPE_GROUP, NULL, load_milter},
    {"relay", CONFIG_TYPE_GROUP, NULL, load_relay},
    {"exceptions", 0, NULL, load_exceptions},
    {"sender_login", CONFIG_TYPE_GROUP, NULL, load_sender_login},
    {NULL, 0, NULL, NULL}};

static void
load_root(struct loader *ld, config_t *cf)
{
    const config_setting_t *root = config_root_setting(cf);
    struct ar_policy *p = ld->p;

    /* the built-in default reply, until relay.reply replaces it */
    memcpy(p->reply.code, "554", 4);
    memcpy(p->reply.xcode, "5.7.1", 6);
    p->reply.text = xstrdup(ld, AR_DEFAULT_REPLY_TEXT);
    p->timeout = AR_MILTER_TIMEOUT;
    /* the root's two required keys are said at line 1 */
    if (config_setting_get_member(root, "version") == NULL)
        ar_diag_error(ld->d, ld->path, 1, "missing version = 1;");
    if (config_setting_get_member(root, "relay") == NULL)
        ar_diag_error(ld->d, ld->path, 1,
                      "missing relay section (relay = { local_domains = "
                      "[ ... ]; };)");
    check_keys(ld, root, "the policy", root_keys);
    for (const struct key *k = root_keys; k->name; k++) {
        const config_setting_t *s = config_setting_get_member(root, k->name);
        if (s && (k->type == 0 || member(ld, root, k->name, k->type, "policy")))
            k->load(ld, s, NULL);
    }
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
 * where relative *_files and @include paths start, id the file the text
 * came from (NULL for a string), looked at again once all is loaded. The
 * file is read once, so that what is parsed, hashed and quoted in errors
 * is the same text.
 */
static struct ar_policy *
load_text(const char *name, const char *text, size_t len, const char *dir,
          const struct ar_file_id *id, int64_t today, struct ar_diags *d)
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
    ld.path = intern(&ld, name);
    if (id)
        note_read(&ld, ld.path, id);
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
        check_unchanged(&ld);
    }
    config_destroy(&cf);
    free(ld.read);
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
    char *text, why[AR_FILE_WHY];
    size_t len;
    struct ar_file_id id;
    if (ar_file_read(path, 0, MAX_FILE, &text, &len, &id, why, sizeof(why)) <
        0) {
        ar_diag_error(d, path, 0, "cannot read: %s", why);
        return NULL;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + (slash == path)))
                      : strdup(".");
    struct ar_policy *p =
        dir ? load_text(path, text, len, dir, &id, today, d) : NULL;
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
    return load_text(name, text, len, dir, NULL, today, d);
}
