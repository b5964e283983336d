/* cases.c - policy test cases; see cases.h */
#include "cases.h"

#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

static const char *const case_keys[] = {
    "name", "client_addr", "client_name", "helo", "auth", "auth_type", "from",
    "rcpt", "rcpt_mailer", "expect",      "rule", "date", NULL};

static char **
field(struct ar_case *c, const char *key)
{
    if (strcmp(key, "name") == 0)
        return &c->name;
    if (strcmp(key, "client_addr") == 0)
        return &c->client_addr;
    if (strcmp(key, "client_name") == 0)
        return &c->client_name;
    if (strcmp(key, "helo") == 0)
        return &c->helo;
    if (strcmp(key, "auth") == 0)
        return &c->auth;
    if (strcmp(key, "auth_type") == 0)
        return &c->auth_type;
    if (strcmp(key, "from") == 0)
        return &c->from;
    if (strcmp(key, "rcpt") == 0)
        return &c->rcpt;
    if (strcmp(key, "rcpt_mailer") == 0)
        return &c->rcpt_mailer;
    if (strcmp(key, "rule") == 0)
        return &c->rule;
    return NULL;
}

static void
load_case(const config_setting_t *g, struct ar_case *c, const char *file,
          struct ar_diags *d)
{
    unsigned line = config_setting_source_line(g);
    char *expect = NULL, *date = NULL;
    unsigned expect_line = line, date_line = line, addr_line = line;

    c->file = file;
    c->line = line;
    c->date = -1;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        ar_diag_error(d, file, line, "a case must be a group { ... }");
        return;
    }
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(s);
        unsigned sl = config_setting_source_line(s);
        size_t k;
        for (k = 0; case_keys[k]; k++)
            if (strcmp(case_keys[k], key) == 0)
                break;
        if (case_keys[k] == NULL) {
            ar_diag_error(d, file, sl, "unknown key '%s' in a case", key);
            continue;
        }
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
            ar_diag_error(d, file, sl, "%s must be a string", key);
            continue;
        }
        char *v = strdup(config_setting_get_string(s));
        if (v == NULL) {
            ar_diag_error(d, file, sl, "out of memory");
            continue;
        }
        if (strcmp(key, "expect") == 0) {
            expect = v;
            expect_line = sl;
        } else if (strcmp(key, "date") == 0) {
            date = v;
            date_line = sl;
        } else {
            if (strcmp(key, "client_addr") == 0)
                addr_line = sl;
            *field(c, key) = v;
        }
    }
    if (c->rcpt == NULL)
        ar_diag_error(d, file, line, "case without rcpt");
    if (expect == NULL)
        ar_diag_error(d, file, line, "case without expect");
    else if (strcmp(expect, "accept") == 0)
        c->expect = AR_ACCEPT;
    else if (strcmp(expect, "reject") == 0)
        c->expect = AR_REJECT;
    else if (strcmp(expect, "tempfail") == 0)
        c->expect = AR_TEMPFAIL;
    else
        ar_diag_error(d, file, expect_line,
                      "expect \"%s\" must be accept, reject or tempfail",
                      expect);
    struct ar_ip ip;
    if (c->client_addr && c->client_addr[0] &&
        ar_ip_parse(c->client_addr, &ip) < 0)
        ar_diag_error(d, file, addr_line,
                      "client_addr \"%s\" is not an address", c->client_addr);
    if (date && (c->date = ar_parse_date(date)) < 0)
        ar_diag_error(d, file, date_line, "date \"%s\" is not YYYY-MM-DD",
                      date);
    free(expect);
    free(date);
}

int
ar_cases_load(const char *path, struct ar_cases *cs, struct ar_diags *d)
{
    config_t cf;
    size_t before = d->nerrors;

    memset(cs, 0, sizeof(*cs));
    if ((cs->file = strdup(path)) == NULL) {
        ar_diag_error(d, path, 0, "out of memory");
        return -1;
    }
    config_init(&cf);
    if (!config_read_file(&cf, path)) {
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
            ar_diag_error(d, path, 0, "cannot read the cases file");
        else
            ar_diag_error(d, path, (unsigned)config_error_line(&cf), "%s",
                          config_error_text(&cf));
        config_destroy(&cf);
        return -1;
    }
    const config_setting_t *root = config_root_setting(&cf);
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        if (strcmp(config_setting_name(s), "cases") != 0)
            ar_diag_error(d, path, config_setting_source_line(s),
                          "unknown key '%s' (only cases = ( ... ))",
                          config_setting_name(s));
    }
    const config_setting_t *l = config_setting_get_member(root, "cases");
    if (l == NULL) {
        ar_diag_error(d, path, 1, "no cases = ( ... ) list");
    } else if (config_setting_type(l) != CONFIG_TYPE_LIST) {
        ar_diag_error(d, path, config_setting_source_line(l),
                      "cases must be a list ( { ... }, ... )");
    } else if (config_setting_length(l) > 0) {
        cs->n = (size_t)config_setting_length(l);
        if ((cs->v = calloc(cs->n, sizeof(*cs->v))) == NULL) {
            cs->n = 0;
            ar_diag_error(d, path, 0, "out of memory");
        }
        for (size_t i = 0; i < cs->n; i++)
            load_case(config_setting_get_elem(l, (unsigned)i), &cs->v[i],
                      cs->file, d);
    }
    config_destroy(&cf);
    return d->nerrors == before ? 0 : -1;
}

void
ar_cases_free(struct ar_cases *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        struct ar_case *c = &cs->v[i];
        for (size_t k = 0; case_keys[k]; k++) {
            char **f = field(c, case_keys[k]);
            if (f)
                free(*f);
        }
    }
    free(cs->v);
    free(cs->file);
    memset(cs, 0, sizeof(*cs));
}

void
ar_case_request(const struct ar_case *c, int64_t today, struct ar_request *r)
{
    memset(r, 0, sizeof(*r));
    if (c->client_addr && c->client_addr[0])
        ar_ip_parse(c->client_addr, &r->client_addr);
    r->client_name = c->client_name;
    r->client_name_verified = c->client_name != NULL;
    r->helo = c->helo;
    r->auth_authen = c->auth;
    r->auth_type = c->auth_type;
    r->mail_from = c->from;
    r->rcpt = c->rcpt;
    r->rcpt_mailer = c->rcpt_mailer;
    r->today = c->date >= 0 ? c->date : today;
}
