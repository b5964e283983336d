/*
 * authrelay-policy - the policy maintainer's tool: lint, query and test a
 * policy file with the same engine the daemon uses (authrelay-policy(1)).
 *
 * Exit status: lint 0 valid / 1 invalid; query 0 / 2 on a usage or policy
 * error; test 0 all passed / 1 some failed / 2 on a usage, policy or cases
 * file error.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "metrics_read.h"
#include "policy.h"
#include "tool.h"

#define DEFAULT_POLICY AR_DEFAULT_POLICY

static void
usage(FILE *f)
{
    fputs("usage: authrelay-policy lint  [-c FILE] [--metrics FILE "
          "[--stale-days N]]\n"
          "       authrelay-policy query [-c FILE] [--client-addr IP] "
          "[--client-name NAME]\n"
          "                              [--helo NAME] [--auth LOGIN] "
          "[--auth-type MECH]\n"
          "                              [--from ADDR] [--rcpt-mailer M] "
          "[--date YYYY-MM-DD]\n"
          "                              [--explain] --rcpt ADDR "
          "[--rcpt ADDR ...]\n"
          "       authrelay-policy test  [-c FILE] CASES_FILE\n"
          "       authrelay-policy replay [-c FILE] LOG...\n"
          "       authrelay-policy diff [--cases FILE]... OLD NEW\n",
          f);
}

/* ---- lint -----------------------------------------------------------------
 */

struct last_match {
    const char *rule;
    double ts; /* < 0: not in the file */
};

static void
note_match(const char *rule, double ts, void *ctx)
{
    struct last_match *m = ctx;
    if (strcmp(rule, m->rule) == 0 && ts > m->ts)
        m->ts = ts;
}

/* exceptions that have not matched for stale_days, per the metrics file */
static void
lint_stale(const struct ar_policy *p, const char *metrics, long stale_days,
           struct ar_diags *d)
{
    struct ar_policy_stats st;
    double now = (double)time(NULL);
    ar_policy_stats(p, &st);
    for (size_t i = 0; i < st.exceptions; i++) {
        const char *file;
        unsigned line;
        struct last_match m = {ar_policy_exception(p, i, &file, &line), -1};
        char why[AR_FILE_WHY];
        if (ar_metrics_read_last_match(metrics, 0, note_match, &m, why,
                                       sizeof(why)) < 0) {
            ar_diag_error(d, metrics, 0, "cannot read the metrics file: %s",
                          why);
            return;
        }
        if (m.ts < 0) {
            ar_diag_warn(d, file, line,
                         "exception %s has never matched (no last match in "
                         "%s)",
                         m.rule, metrics);
        } else if (now - m.ts > (double)stale_days * 86400) {
            char date[16];
            ar_format_date((int64_t)(m.ts / 86400), date, sizeof(date));
            ar_diag_warn(d, file, line,
                         "exception %s last matched on %s, %ld days ago "
                         "(stale after %ld)",
                         m.rule, date, (long)((now - m.ts) / 86400),
                         stale_days);
        }
    }
}

static int
cmd_lint(const char *path, const char *metrics, long stale_days)
{
    struct ar_diags d;
    int64_t today = ar_today();
    char line[1024];

    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, today, &d);
    if (p)
        ar_policy_lint(p, today, &d);
    if (p && metrics)
        lint_stale(p, metrics, stale_days, &d);
    ar_tool_print_diags(&d);
    if (p) {
        ar_policy_summary(p, line, sizeof(line));
        printf("%s, %zu warning%s\n", line, d.nwarnings,
               d.nwarnings == 1 ? "" : "s");
        ar_policy_unref(p);
    }
    ar_diags_free(&d);
    return p ? 0 : 1;
}

/* ---- query ----------------------------------------------------------------
 */

static void
print_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void
print_verdict(const char *rcpt, const struct ar_verdict *v)
{
    printf("%s %s rule=%s", rcpt, ar_decision_name(v->decision), v->rule);
    if (v->reply) {
        printf(" code=%s xcode=%s text=", v->reply->code, v->reply->xcode);
        print_quoted(v->reply->text);
    }
    for (size_t i = 0; i < v->ndry; i++)
        printf(" dry_run=%s:%s", v->dry[i].rule,
               ar_decision_name(v->dry[i].decision));
    putchar('\n');
}

/* --explain lines are printed after the result line they explain */
struct explain_buf {
    char *text;
    size_t len;
    FILE *f;
};

static void
explain_line(void *ctx, const char *text)
{
    struct explain_buf *b = ctx;
    fprintf(b->f, "    %s\n", text);
}

enum {
    OPT_CLIENT_ADDR = 256,
    OPT_CLIENT_NAME,
    OPT_HELO,
    OPT_AUTH,
    OPT_AUTH_TYPE,
    OPT_FROM,
    OPT_RCPT,
    OPT_RCPT_MAILER,
    OPT_DATE,
    OPT_EXPLAIN,
};

static int
cmd_query(const char *path, int argc, char **argv)
{
    static const struct option opts[] = {
        {"client-addr", required_argument, NULL, OPT_CLIENT_ADDR},
        {"client-name", required_argument, NULL, OPT_CLIENT_NAME},
        {"helo", required_argument, NULL, OPT_HELO},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"auth-type", required_argument, NULL, OPT_AUTH_TYPE},
        {"from", required_argument, NULL, OPT_FROM},
        {"rcpt", required_argument, NULL, OPT_RCPT},
        {"rcpt-mailer", required_argument, NULL, OPT_RCPT_MAILER},
        {"date", required_argument, NULL, OPT_DATE},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    struct ar_request r;
    const char **rcpts = calloc((size_t)argc + 1, sizeof(*rcpts));
    size_t nrcpt = 0;
    bool explain = false;
    int c;

    if (rcpts == NULL)
        return EX_USAGE_TOOL;
    memset(&r, 0, sizeof(r));
    r.today = ar_today();
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case OPT_CLIENT_ADDR:
            if (ar_ip_parse(optarg, &r.client_addr) < 0) {
                fprintf(stderr,
                        "authrelay-policy: --client-addr %s: not an "
                        "IPv4 or IPv6 address\n",
                        optarg);
                goto usage;
            }
            break;
        case OPT_CLIENT_NAME:
            r.client_name = optarg;
            r.client_name_verified = true; /* query and test take a name as verified */
            break;
        case OPT_HELO:
            r.helo = optarg;
            break;
        case OPT_AUTH:
            r.auth_authen = optarg;
            break;
        case OPT_AUTH_TYPE:
            r.auth_type = optarg;
            break;
        case OPT_FROM:
            r.mail_from = optarg;
            break;
        case OPT_RCPT:
            rcpts[nrcpt++] = optarg;
            break;
        case OPT_RCPT_MAILER:
            r.rcpt_mailer = optarg;
            break;
        case OPT_DATE:
            if ((r.today = ar_parse_date(optarg)) < 0) {
                fprintf(stderr,
                        "authrelay-policy: --date %s: not "
                        "YYYY-MM-DD\n",
                        optarg);
                goto usage;
            }
            break;
        case OPT_EXPLAIN:
            explain = true;
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc || nrcpt == 0) {
        fprintf(stderr, "authrelay-policy: query needs at least one --rcpt "
                        "and no other arguments\n");
        goto usage;
    }
    struct ar_policy *p = ar_tool_load(path, r.today, false);
    if (p == NULL) {
        free(rcpts);
        return EX_USAGE_TOOL;
    }
    for (size_t i = 0; i < nrcpt; i++) {
        struct ar_verdict v;
        struct explain_buf b = {NULL, 0, NULL};
        struct ar_trace t = {explain_line, &b};
        r.rcpt = rcpts[i];
        if (explain && (b.f = open_memstream(&b.text, &b.len)) == NULL)
            explain = false;
        ar_policy_decide(p, &r, &v, explain ? &t : NULL);
        print_verdict(rcpts[i], &v);
        if (b.f) {
            fclose(b.f);
            fputs(b.text, stdout);
            free(b.text);
        }
    }
    ar_policy_unref(p);
    free(rcpts);
    return 0;
usage:
    free(rcpts);
    usage(stderr);
    return EX_USAGE_TOOL;
}

/* ---- test -----------------------------------------------------------------
 */

static int
cmd_test(const char *path, const char *cases_path)
{
    struct ar_cases cs;
    struct ar_diags d;
    int64_t today = ar_today();
    size_t passed = 0, failed = 0;

    struct ar_policy *p = ar_tool_load(path, today, false);
    if (p == NULL)
        return EX_USAGE_TOOL;
    ar_diags_init(&d);
    if (ar_cases_load(cases_path, &cs, &d) < 0) {
        ar_tool_print_diags(&d);
        ar_diags_free(&d);
        ar_cases_free(&cs);
        ar_policy_unref(p);
        return EX_USAGE_TOOL;
    }
    ar_diags_free(&d);
    for (size_t i = 0; i < cs.n; i++) {
        const struct ar_case *c = &cs.v[i];
        struct ar_request r;
        struct ar_verdict v;
        ar_case_request(c, today, &r);
        ar_policy_decide(p, &r, &v, NULL);
        if (v.decision == c->expect &&
            (c->rule == NULL || strcmp(c->rule, v.rule) == 0)) {
            passed++;
            continue;
        }
        failed++;
        printf("FAIL %s:%u [%s]: %s -> got %s rule=%s, want %s", c->file,
               c->line, c->name ? c->name : "", c->rcpt,
               ar_decision_name(v.decision), v.rule,
               ar_decision_name(c->expect));
        if (c->rule)
            printf(" rule=%s", c->rule);
        putchar('\n');
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    ar_cases_free(&cs);
    ar_policy_unref(p);
    return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
    const char *path = DEFAULT_POLICY;
    int c;

    if (argc < 2) {
        usage(stderr);
        return EX_USAGE_TOOL;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("authrelay-policy %s\n", AR_VERSION);
        return 0;
    }
    argc--, argv++;
    if (strcmp(cmd, "diff") == 0)
        return ar_cmd_diff(argc, argv);
    if (strcmp(cmd, "replay") == 0)
        return ar_cmd_replay(path, argc, argv);
    if (strcmp(cmd, "query") == 0)
        return cmd_query(path, argc, argv);
    if (strcmp(cmd, "lint") == 0) {
        static const struct option opts[] = {
            {"config", required_argument, NULL, 'c'},
            {"metrics", required_argument, NULL, 'm'},
            {"stale-days", required_argument, NULL, 's'},
            {NULL, 0, NULL, 0},
        };
        const char *metrics = NULL;
        long stale = 90;
        char *end;
        while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
            if (c == 'c') {
                path = optarg;
            } else if (c == 'm') {
                metrics = optarg;
            } else if (c == 's') {
                stale = strtol(optarg, &end, 10);
                if (*end || stale < 0) {
                    fprintf(stderr,
                            "authrelay-policy: --stale-days %s: not a "
                            "number of days\n",
                            optarg);
                    return EX_USAGE_TOOL;
                }
            } else {
                usage(stderr);
                return EX_USAGE_TOOL;
            }
        }
        if (optind != argc) {
            usage(stderr);
            return EX_USAGE_TOOL;
        }
        return cmd_lint(path, metrics, stale);
    }
    if (strcmp(cmd, "test") != 0) {
        fprintf(stderr, "authrelay-policy: unknown command %s\n", cmd);
        usage(stderr);
        return EX_USAGE_TOOL;
    }
    while ((c = getopt(argc, argv, "c:")) != -1) {
        if (c != 'c') {
            usage(stderr);
            return EX_USAGE_TOOL;
        }
        path = optarg;
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return EX_USAGE_TOOL;
    }
    return cmd_test(path, argv[optind]);
}
