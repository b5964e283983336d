/*
 * diff.c - authrelay-policy diff [--cases FILE]... OLD NEW: what changed
 * in the rules and lists, and which decisions change over probes made
 * from both policies and over the requests of the cases files, each as
 * the `authrelay-policy query` command line that reproduces it. Exit 0
 * same decisions, 1 different, 2 on an error.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "hash.h"
#include "policy.h"
#include "policy_diff.h"
#include "tool.h"

struct differ {
    const struct ar_policy *old, *new;
    int64_t today;
    unsigned long probes, changed;
    char **seen; /* the command lines printed: open addressing */
    size_t cap, n;
    bool oom;
};

/* s as one shell word */
static void
quote(FILE *f, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789@._:/+-",
                       *p) != NULL;
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

static void
option(FILE *f, const char *name, const char *value)
{
    if (value == NULL)
        return;
    fprintf(f, " --%s ", name);
    quote(f, value);
}

/* true the first time s is seen (then kept) */
static bool
first_time(struct differ *df, char *s)
{
    if (2 * (df->n + 1) > df->cap) {
        size_t cap = df->cap ? 2 * df->cap : 1024;
        char **t = calloc(cap, sizeof(*t));
        if (t == NULL) {
            df->oom = true;
            return true;
        }
        for (size_t i = 0; i < df->cap; i++) {
            if (df->seen[i] == NULL)
                continue;
            size_t k = ar_hash(df->seen[i], strlen(df->seen[i])) & (cap - 1);
            while (t[k])
                k = (k + 1) & (cap - 1);
            t[k] = df->seen[i];
        }
        free(df->seen);
        df->seen = t;
        df->cap = cap;
    }
    size_t k = ar_hash(s, strlen(s)) & (df->cap - 1);
    for (; df->seen[k]; k = (k + 1) & (df->cap - 1))
        if (strcmp(df->seen[k], s) == 0)
            return false;
    df->seen[k] = s;
    df->n++;
    return true;
}

static void
compare(const struct ar_request *r, void *ctx)
{
    struct differ *df = ctx;
    struct ar_verdict a, b;
    df->probes++;
    ar_policy_decide(df->old, r, &a, NULL);
    ar_policy_decide(df->new, r, &b, NULL);
    if (a.decision == b.decision && strcmp(a.rule, b.rule) == 0)
        return;

    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (f == NULL) {
        df->oom = true;
        return;
    }
    fputs("authrelay-policy query", f);
    if (r->client_addr.valid) {
        char ip[64];
        ar_ip_format(&r->client_addr, ip, sizeof(ip));
        option(f, "client-addr", ip);
    }
    option(f, "client-name", r->client_name);
    option(f, "helo", r->helo);
    option(f, "auth", r->auth_authen);
    option(f, "auth-type", r->auth_type);
    option(f, "from", r->mail_from);
    option(f, "rcpt-mailer", r->rcpt_mailer);
    if (r->today != df->today) {
        char day[16];
        ar_format_date(r->today, day, sizeof(day));
        option(f, "date", day);
    }
    option(f, "rcpt", r->rcpt);
    fclose(f);
    if (line && first_time(df, line)) {
        df->changed++;
        printf("%s  # old: %s rule=%s, new: %s rule=%s\n", line,
               ar_decision_name(a.decision), a.rule,
               ar_decision_name(b.decision), b.rule);
    } else {
        free(line);
    }
}

static int
diff_usage(void)
{
    fputs("usage: authrelay-policy diff [--cases FILE]... OLD NEW\n", stderr);
    return EX_USAGE_TOOL;
}

int
ar_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cases", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    const char **cases = calloc((size_t)argc + 1, sizeof(*cases));
    size_t ncases = 0;
    int c, rc = EX_USAGE_TOOL;
    if (cases == NULL)
        return EX_USAGE_TOOL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'C') {
            free(cases);
            return diff_usage();
        }
        cases[ncases++] = optarg;
    }
    if (optind + 2 != argc) {
        free(cases);
        return diff_usage();
    }

    struct differ df;
    memset(&df, 0, sizeof(df));
    df.today = ar_today();
    struct ar_policy *old = ar_tool_load(argv[optind], df.today, false);
    struct ar_policy *new =
        old ? ar_tool_load(argv[optind + 1], df.today, false) : NULL;
    if (old == NULL || new == NULL)
        goto out;
    df.old = old;
    df.new = new;

    size_t nstruct = ar_policy_diff_structure(old, new, stdout);
    ar_policy_probes(old, df.today, compare, &df);
    ar_policy_probes(new, df.today, compare, &df);
    for (size_t i = 0; i < ncases; i++) {
        struct ar_cases cs;
        struct ar_diags d;
        ar_diags_init(&d);
        if (ar_cases_load(cases[i], &cs, &d) < 0) {
            ar_tool_print_diags(&d);
            ar_diags_free(&d);
            ar_cases_free(&cs);
            goto out;
        }
        ar_diags_free(&d);
        for (size_t k = 0; k < cs.n; k++) {
            struct ar_request r;
            ar_case_request(&cs.v[k], df.today, &r);
            compare(&r, &df);
        }
        ar_cases_free(&cs);
    }
    printf("%zu structural change%s, %lu decision%s changed over %lu "
           "probes\n",
           nstruct, nstruct == 1 ? "" : "s", df.changed,
           df.changed == 1 ? "" : "s", df.probes);
    if (df.oom)
        fprintf(stderr, "authrelay-policy: out of memory\n");
    rc = df.oom ? EX_USAGE_TOOL : df.changed ? 1 : 0;
out:
    for (size_t i = 0; i < df.cap; i++)
        free(df.seen[i]);
    free(df.seen);
    if (old)
        ar_policy_unref(old);
    if (new)
        ar_policy_unref(new);
    free(cases);
    return rc;
}
