/*
 * ld_load_exceptions.c - the exceptions list: each rule and its match, read
 * by their key tables (see loader.h).
 */
#define _GNU_SOURCE
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "loader.h"

static const struct choice actions[] = {{"permit", AR_ACT_PERMIT},
                                        {"reject", AR_ACT_REJECT},
                                        {"tempfail", AR_ACT_TEMPFAIL},
                                        {NULL, 0}};

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
        ld_err(ld, s, "%s.%s is empty: the rule could never match", what,
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
    ld_each_string(ld, s, full, ld_add_domain_setting, &dc);
    return dc.set;
}

static void
load_client_networks(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    if (match_list(ld, s, xc->match_what, &xc->e->networks_line) == NULL)
        return;
    struct netctx nc = {0};
    ld_each_string(ld, s, "client_networks", ld_add_net_setting, &nc);
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
        ld_check_keys(ld, m, xc->match_what, match_keys);
        ld_err(ld, m, "%s is empty: a rule needs at least one client condition",
               xc->match_what);
        return;
    }
    ld_load_keys(ld, m, xc->match_what, match_keys, xc);
    if (!config_setting_get_member(m, "client_networks") &&
        !config_setting_get_member(m, "client_hostnames") &&
        !config_setting_get_member(m, "helo"))
        ld_err(ld, m,
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
    if ((e->name = ld_strdup(ld, config_setting_get_string(s))) == NULL)
        return;
    if (!valid_name(e->name)) {
        ld_err(ld, s,
               "exception name \"%s\" must match [A-Za-z0-9][A-Za-z0-9._-]*",
               e->name);
        return;
    }
    if (reserved_name(e->name))
        ld_err(ld, s, "exception name \"%s\" is reserved", e->name);
    else
        for (size_t i = 0; i < xc->idx; i++)
            if (p->exc[i].name && strcmp(p->exc[i].name, e->name) == 0)
                ld_err(ld, s,
                       "duplicate exception name \"%s\" (first at line %u)",
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
    xc->e->comment = ld_strdup(ld, config_setting_get_string(s));
}

static void
load_owner(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    xc->e->owner = ld_strdup(ld, config_setting_get_string(s));
}

static void
load_expires(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    struct ar_exception *e = xc->e;
    const char *v = config_setting_get_string(s);
    e->expires_line = config_setting_source_line(s);
    if ((e->expires = ar_parse_date(v)) < 0)
        ld_err(ld, s, "%s: expires \"%s\" is not a date (YYYY-MM-DD)", xc->what,
               v);
    else if (ld->today >= e->expires)
        ar_diag_warn(ld->d, ld_file_of(ld, s), e->expires_line,
                     "%s expired on %s and no longer matches", xc->what, v);
}

static void
load_action(struct loader *ld, const config_setting_t *s, void *ctx)
{
    struct exc_ctx *xc = ctx;
    char label[200];
    snprintf(label, sizeof(label), "%s: action", xc->what);
    if ((xc->action = ld_get_choice(ld, s, label, actions)) >= 0)
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
    xc->e->has_reply = ld_load_reply(ld, s, rw, classes, &xc->e->reply);
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

    e->file = ld_file_of(ld, g);
    e->line = config_setting_source_line(g);
    e->expires = -1;
    e->sender_is_local = -1;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        ld_err(ld, g, "exceptions entries must be groups { ... }, not %s",
               ld_type_name(config_setting_type(g)));
        return;
    }
    snprintf(xc.what, sizeof(xc.what), "exceptions[%zu]", idx);
    ld_load_keys(ld, g, xc.what, exception_keys, &xc);
    if (config_setting_get_member(g, "reply") == NULL) {
        if (xc.action == AR_ACT_TEMPFAIL)
            ld_err(ld, g,
                   "%s: a tempfail rule needs its own reply (4xx, 4.x.x)",
                   xc.what);
        else if (xc.action == AR_ACT_REJECT && p->reply.text)
            ld_copy_reply(ld, &e->reply, &p->reply);
    }
}

void
ld_load_exceptions(struct loader *ld, const config_setting_t *l, void *ctx)
{
    (void)ctx;
    int t = config_setting_type(l), n = config_setting_length(l);
    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && n == 0)) {
        ld_err(ld, l, "exceptions must be a list ( { ... }, { ... } ), not %s",
               ld_type_name(t));
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
