/*
 * load_sections.c - the policy's sections, each read by its key table
 * (see loader.h): replies, the named values of enumerated keys, milter,
 * relay, sender_login and the root. The exceptions are in
 * ld_load_exceptions.c.
 */
#define _GNU_SOURCE
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "loader.h"

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

/* a reply group: load_reply reads the three together */
static const struct key reply_keys[] = {
    {"code", CONFIG_TYPE_STRING, NULL, NULL},
    {"xcode", CONFIG_TYPE_STRING, NULL, NULL},
    {"text", CONFIG_TYPE_STRING, NULL, NULL},
    {NULL, 0, NULL, NULL}};

/* classes: the allowed first digits, e.g. "5" or "45" */
bool
ld_load_reply(struct loader *ld, const config_setting_t *g, const char *what,
              const char *classes, struct ar_reply *r)
{
    char *code = NULL, *xcode = NULL, *text = NULL;
    bool ok = ld_check_keys(ld, g, what, reply_keys);
    const config_setting_t *sc = config_setting_get_member(g, "code");
    const config_setting_t *sx = config_setting_get_member(g, "xcode");
    const config_setting_t *st = config_setting_get_member(g, "text");

    if (ld_get_string(ld, g, "code", what, &code) < 0 ||
        ld_get_string(ld, g, "xcode", what, &xcode) < 0 ||
        ld_get_string(ld, g, "text", what, &text) < 0)
        ok = false;
    if (!sc || !sx || !st) {
        ld_err(ld, g, "%s needs code, xcode and text", what);
        ok = false;
    }
    const char *e;
    if (code && (!digits(code, 3, 3, &e) || *e || !strchr(classes, code[0]) ||
                 code[1] > '5')) {
        if (strlen(classes) == 1)
            ld_err(ld, sc, "%s.code \"%s\" must be a %cxx SMTP reply code",
                   what, code, classes[0]);
        else
            ld_err(ld, sc, "%s.code \"%s\" must be a 4xx or 5xx reply code",
                   what, code);
        ok = false;
    }
    if (xcode) {
        const char *p = xcode;
        bool good = (p[0] == '2' || p[0] == '4' || p[0] == '5') &&
                    p[1] == '.' && digits(p + 2, 1, 3, &e) && *e == '.' &&
                    digits(e + 1, 1, 3, &e) && *e == '\0';
        if (!good) {
            ld_err(ld, sx,
                   "%s.xcode \"%s\" is not an enhanced status code "
                   "(class.subject.detail, RFC 3463)",
                   what, xcode);
            ok = false;
        } else if (code && code[0] != xcode[0]) {
            ld_err(ld, sx,
                   "%s.xcode \"%s\" does not match the class of code %s", what,
                   xcode, code);
            ok = false;
        }
    }
    if (text) {
        size_t n = strlen(text);
        if (n == 0) {
            ld_err(ld, st, "%s.text is empty", what);
            ok = false;
        } else if (n > AR_REPLY_TEXT_MAX) {
            ld_err(ld, st, "%s.text is %zu characters long; at most %d", what,
                   n, AR_REPLY_TEXT_MAX);
            ok = false;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c < 0x20 || c > 0x7e) {
                ld_err(ld, st,
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

bool
ld_copy_reply(struct loader *ld, struct ar_reply *dst,
              const struct ar_reply *src)
{
    *dst = *src;
    dst->text = ld_strdup(ld, src->text);
    return dst->text != NULL;
}

/* ---- named values: one lookup for every enumerated key ------------------ */

static const struct choice milter_modes[] = {
    {"enforce", AR_MODE_ENFORCE}, {"report", AR_MODE_REPORT}, {NULL, 0}};
static const struct choice on_errors[] = {{"tempfail", AR_ONERR_TEMPFAIL},
                                          {"accept", AR_ONERR_ACCEPT},
                                          {"reject", AR_ONERR_REJECT},
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
int
ld_get_choice(struct loader *ld, const config_setting_t *s, const char *label,
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
    ld_err(ld, s, "%s \"%s\" must be %s", label, v, list);
    return -1;
}

/* ---- milter ------------------------------------------------------------ */

static void
load_socket(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    const char *v = config_setting_get_string(s);
    ld->p->socket = ld_strdup(ld, v);
    if (strncmp(v, "inet:", 5) != 0 && strncmp(v, "inet6:", 6) != 0 &&
        strncmp(v, "unix:", 5) != 0 && strncmp(v, "local:", 6) != 0)
        ld_err(ld, s,
               "milter.socket \"%s\" must start with inet:, inet6:, unix: or "
               "local:",
               v);
}

static void
load_user(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld->p->user = ld_strdup(ld, config_setting_get_string(s));
    if (ld->p->user && ld->p->user[0] == '\0')
        ld_err(ld, s, "milter.user is empty");
}

/* an absolute path into *dst */
static void
load_path(struct loader *ld, const config_setting_t *s, const char *what,
          char **dst)
{
    *dst = ld_strdup(ld, config_setting_get_string(s));
    if (*dst && (*dst)[0] != '/')
        ld_err(ld, s, "%s must be an absolute path", what);
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
    int v = ld_get_choice(ld, s, "milter.mode", milter_modes);
    if (v >= 0)
        ld->p->mode = (enum ar_mode)v;
}

static void
load_on_error(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    int v = ld_get_choice(ld, s, "milter.on_error", on_errors);
    if (v >= 0)
        ld->p->on_error = (enum ar_on_error)v;
}

/* milter.KEY, a number of seconds from 1 to 86400, into *out */
static void
load_seconds(struct loader *ld, const config_setting_t *s, unsigned *out)
{
    long long v = config_setting_get_int64(s);
    if (v < 1 || v > 86400)
        ld_err(ld, s, "milter.%s %lld must be 1 to 86400 seconds",
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
    ld_load_keys(ld, g, "milter", milter_keys, NULL);
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
        ld_err(ld, e, "bad mailer name \"%s\"", v);
        return;
    }
    char **nv =
        realloc(p->remote_mailers, (p->nremote_mailers + 1) * sizeof(*nv));
    if (nv == NULL)
        return;
    p->remote_mailers = nv;
    if ((nv[p->nremote_mailers] = ld_strdup(ld, v)) != NULL)
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
    ld_each_string(ld, s, "relay.local_domains", ld_add_domain_setting,
                   &rc->dc);
}

static void
load_local_domains_files(struct loader *ld, const config_setting_t *s,
                         void *ctx)
{
    struct relay_ctx *rc = ctx;
    ld_each_file(ld, s, "domain", ld_add_domain, &rc->dc);
}

static void
load_trusted_networks(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct relay_ctx *rc = ctx;
    ld_each_string(ld, s, "relay.trusted_networks", ld_add_net_setting,
                   &rc->nc);
}

static void
load_trusted_networks_files(struct loader *ld, const config_setting_t *s,
                            void *ctx)
{
    struct relay_ctx *rc = ctx;
    ld_each_file(ld, s, "network", ld_add_net, &rc->nc);
}

static void
load_remote_mailers(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld_each_string(ld, s, "relay.remote_mailers", add_mailer, ld->p);
}

static void
load_relay_reply(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld_load_reply(ld, s, "relay.reply", "5", &ld->p->reply);
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
        ld_err(ld, g, "relay needs local_domains or local_domains_files");
    /* relay.reply replaces the built-in default, valid or not */
    const config_setting_t *r = config_setting_get_member(g, "reply");
    if (r && config_setting_type(r) == CONFIG_TYPE_GROUP) {
        free(p->reply.text);
        p->reply.text = NULL;
    }
    ld_load_keys(ld, g, "relay", relay_keys, &rc);
    if ((p->trusted = ar_netset_new(rc.nc.v, rc.nc.n)) == NULL)
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
    free(rc.nc.v);
    if (p->reply.text == NULL)
        p->reply.text = ld_strdup(ld, AR_DEFAULT_REPLY_TEXT);
}

/* ---- sender_login -------------------------------------------------------- */

static void
add_any_login(struct loader *ld, const config_setting_t *e, const char *v,
              void *ctx)
{
    const char *why;
    char q[QUOTE_SIZE];
    if (ar_loginmap_add_any(ctx, v, &why) < 0)
        ld_err(ld, e, "bad login %s: %s", ld_quote(v, strlen(v), q), why);
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
        ld_err(ld, e, "bad sender %s for login %s: %s",
               ld_quote(v, strlen(v), q), se->login, why);
}

/* a map file line: LOGIN SENDER [SENDER ...] */
static int
add_map_line(struct loader *ld, const char *line, const char *file,
             unsigned lineno, void *ctx, const char **why)
{
    (void)ld, (void)file, (void)lineno;
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", line) >= sizeof(buf)) {
        /* cut, its last sender would be half a sender */
        *why = "a line of over 4095 octets";
        return -1;
    }
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
        ld_err(ld, e,
               "sender_login.map entries must be groups "
               "{ login = ...; senders = [ ... ]; }");
        return;
    }
    ld_check_keys(ld, e, "sender_login.map entry", map_entry_keys);
    const config_setting_t *senders =
        ld_member(ld, e, "senders", CONFIG_TYPE_ARRAY, "sender_login.map");
    const config_setting_t *login =
        ld_member(ld, e, "login", CONFIG_TYPE_STRING, "sender_login.map");
    if (login == NULL && config_setting_get_member(e, "login"))
        return; /* mistyped: said */
    if (login == NULL || senders == NULL) {
        ld_err(ld, e, "a sender_login.map entry needs login and senders");
    } else if (config_setting_length(senders) == 0) {
        ld_err(ld, senders, "senders of login %s is empty",
               config_setting_get_string(login));
    } else {
        struct sl_entry se = {ld->p->sl_map, config_setting_get_string(login)};
        ld_each_string(ld, senders, "senders", add_login_sender, &se);
    }
}

static void
load_sl_mode(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    int v = ld_get_choice(ld, s, "sender_login.mode", sl_modes);
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
    ld_each_file(ld, s, "sender-login line", add_map_line, ld->p->sl_map);
}

static void
load_sl_any(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld_each_string(ld, s, "any_sender_logins", add_any_login, ld->p->sl_map);
}

static void
load_sl_reply(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    ld->p->sl_has_reply =
        ld_load_reply(ld, s, "sender_login.reply", "5", &ld->p->sl_reply);
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
        ld_check_keys(ld, g, "sender_login", sender_login_keys);
        ar_diag_error(ld->d, ld->path, 0, "out of memory");
        return;
    }
    ld_load_keys(ld, g, "sender_login", sender_login_keys, NULL);
}

/* ---- the root ------------------------------------------------------------ */

static void
load_version(struct loader *ld, const config_setting_t *s, void *ctx)
{
    (void)ctx;
    if (config_setting_get_int64(s) != 1)
        ld_err(ld, s, "unsupported version %lld: this is version 1",
               (long long)config_setting_get_int64(s));
}

static const struct key root_keys[] = {
    {"version", CONFIG_TYPE_INT, NULL, load_version},
    {"milter", CONFIG_TYPE_GROUP, NULL, load_milter},
    {"relay", CONFIG_TYPE_GROUP, NULL, load_relay},
    {"exceptions", 0, NULL, ld_load_exceptions},
    {"sender_login", CONFIG_TYPE_GROUP, NULL, load_sender_login},
    {NULL, 0, NULL, NULL}};

void
ld_load_root(struct loader *ld, config_t *cf)
{
    const config_setting_t *root = config_root_setting(cf);
    struct ar_policy *p = ld->p;

    /* the built-in default reply, until relay.reply replaces it */
    memcpy(p->reply.code, "554", 4);
    memcpy(p->reply.xcode, "5.7.1", 6);
    p->reply.text = ld_strdup(ld, AR_DEFAULT_REPLY_TEXT);
    p->timeout = AR_MILTER_TIMEOUT;
    /* the root's two required keys are said at line 1 */
    if (config_setting_get_member(root, "version") == NULL)
        ar_diag_error(ld->d, ld->path, 1, "missing version = 1;");
    if (config_setting_get_member(root, "relay") == NULL)
        ar_diag_error(ld->d, ld->path, 1,
                      "missing relay section (relay = { local_domains = "
                      "[ ... ]; };)");
    ld_check_keys(ld, root, "the policy", root_keys);
    for (const struct key *k = root_keys; k->name; k++) {
        const config_setting_t *s = config_setting_get_member(root, k->name);
        if (s &&
            (k->type == 0 || ld_member(ld, root, k->name, k->type, "policy")))
            k->load(ld, s, NULL);
    }
}
