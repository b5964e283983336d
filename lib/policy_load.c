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
#include "loader.h"
#include "sha256.h"

#define MAX_FILE_ERRORS 20  /* per *_files file: then give up on that file */
#define MAX_FILE (1u << 30) /* the policy or a *_files file, octets */

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

const char *
ld_file_of(struct loader *ld, const config_setting_t *s)
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
        config_setting_name(s) != NULL || ld_file_of(ld, s) != ld->path ||
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

void
ld_err(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ar_diag_error(ld->d, ld_file_of(ld, s), line_of(ld, s), "%s", buf);
}

char *
ld_strdup(struct loader *ld, const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
    return c;
}

/* ---- typed getters ------------------------------------------------------ */

const char *
ld_type_name(int type)
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
config_setting_t *
ld_member(struct loader *ld, const config_setting_t *g, const char *key,
          int type, const char *what)
{
    config_setting_t *s = config_setting_get_member(g, key);
    if (s == NULL)
        return NULL;
    int t = config_setting_type(s);
    bool ok = t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64);
    if (type == CONFIG_TYPE_ARRAY && t == CONFIG_TYPE_LIST)
        ok = true; /* ( "a", "b" ) is as good as [ "a", "b" ] */
    if (!ok) {
        ld_err(ld, s, "%s.%s must be %s, not %s", what, key, ld_type_name(type),
               ld_type_name(t));
        return NULL;
    }
    return s;
}

/* a string member copied into *out; -1 on a type error */
int
ld_get_string(struct loader *ld, const config_setting_t *g, const char *key,
              const char *what, char **out)
{
    config_setting_t *s = config_setting_get_member(g, key);
    *out = NULL;
    if (s == NULL)
        return 0;
    if ((s = ld_member(ld, g, key, CONFIG_TYPE_STRING, what)) == NULL)
        return -1;
    return (*out = ld_strdup(ld, config_setting_get_string(s))) ? 0 : -1;
}

/* the string elements of an array member, each checked by fn */
void
ld_each_string(struct loader *ld, const config_setting_t *arr, const char *what,
               void (*fn)(struct loader *, const config_setting_t *,
                          const char *, void *),
               void *ctx)
{
    for (int i = 0; i < config_setting_length(arr); i++) {
        const config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            ld_err(ld, e, "%s entries must be strings, not %s", what,
                   ld_type_name(config_setting_type(e)));
            continue;
        }
        fn(ld, e, config_setting_get_string(e), ctx);
    }
}

/* ---- *_files ---------------------------------------------------------- */

/*
 * A bad entry as messages quote it: at most QUOTE_MAX octets, in quotes,
 * '"', '\' and every octet outside printable ASCII escaped (\xHH), and
 * ... after the quotes when cut. A list file may be anything the policy
 * names, read as root at start (a shadow file, a key): its lines go to
 * syslog only as far as a short prefix, and never as raw bytes.
 */
const char *
ld_quote(const char *s, size_t n, char *buf)
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
        ld_err(ld, s, "empty file name");
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
        ld_err(ld, s, "cannot %s %s: %s", rc == -1 ? "open" : "read", path,
               why);
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
                          ld_quote(p, (size_t)(e - p), q), bad);
            if (++nerr == MAX_FILE_ERRORS) {
                ar_diag_error(ld->d, fname, line,
                              "too many errors, rest of file skipped");
                break;
            }
        }
    }
    free(text);
}

void
ld_each_file(struct loader *ld, const config_setting_t *arr, const char *what,
             entry_fn fn, void *ctx)
{
    for (int i = 0; i < config_setting_length(arr); i++) {
        const config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            ld_err(ld, e, "file names must be strings");
            continue;
        }
        read_list_file(ld, e, config_setting_get_string(e), what, fn, ctx);
    }
}

/* ---- domain and network lists ------------------------------------------ */

int
ld_add_domain(struct loader *ld, const char *entry, const char *file,
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

void
ld_add_domain_setting(struct loader *ld, const config_setting_t *e,
                      const char *v, void *ctx)
{
    const char *why;
    char q[QUOTE_SIZE];
    if (ld_add_domain(ld, v, NULL, 0, ctx, &why) < 0)
        ld_err(ld, e, "bad domain %s: %s", ld_quote(v, strlen(v), q), why);
}

int
ld_add_net(struct loader *ld, const char *entry, const char *file,
           unsigned line, void *ctx, const char **why)
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

void
ld_add_net_setting(struct loader *ld, const config_setting_t *e, const char *v,
                   void *ctx)
{
    const char *why;
    char q[QUOTE_SIZE];
    if (ld_add_net(ld, v, ld_file_of(ld, e), line_of(ld, e), ctx, &why) < 0)
        ld_err(ld, e, "bad network %s: %s", ld_quote(v, strlen(v), q), why);
}

/* ---- the schema: one table a section ------------------------------------ */

/* every key of g is in keys; false after reporting those that are not */
bool
ld_check_keys(struct loader *ld, const config_setting_t *g, const char *what,
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
            ld_err(ld, c, "unknown key '%s' in %s", name, what);
            ok = false;
        }
    }
    return ok;
}

/* the group g read by its table: what names it in messages */
void
ld_load_keys(struct loader *ld, const config_setting_t *g, const char *what,
             const struct key *keys, void *ctx)
{
    ld_check_keys(ld, g, what, keys);
    for (const struct key *k = keys; k->name; k++) {
        config_setting_t *s = config_setting_get_member(g, k->name);
        if (s == NULL) {
            if (k->missing)
                ld_err(ld, g, "%s %s", what, k->missing);
            continue;
        }
        if (k->load &&
            (k->type == 0 || ld_member(ld, g, k->name, k->type, what)))
            k->load(ld, s, ctx);
    }
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
        ld_load_root(&ld, &cf);
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
