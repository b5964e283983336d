/*
 * check_policy_load.c - the loader: the shipped policy and the fixtures
 * load; every t/data/bad/ *.conf fails with the errors its "# expect:" lines
 * name ("# expect: LINE: substring" for the file itself, or
 * "# expect: FILE:LINE: substring" for a *_files list it reads).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

#define BAD_DIR AR_TEST_DATA "/bad"
#define MIN_BAD_FIXTURES 45

static int64_t
day(const char *s)
{
    return ar_parse_date(s);
}

static void
dump(const struct ar_diags *d, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->n && n < size; i++) {
        char line[1024];
        ar_diag_format(&d->v[i], line, sizeof(line));
        n += (size_t)snprintf(buf + n, size - n, "\n    %s", line);
    }
}

START_TEST(test_shipped_policy)
{
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p =
        ar_policy_load(AR_ETC "/authrelay.conf", day("2026-01-01"), &d);
    char buf[4096];
    dump(&d, buf, sizeof(buf));
    ck_assert_msg(p != NULL, "shipped policy does not load:%s", buf);
    ck_assert_msg(d.n == 0, "shipped policy has diagnostics:%s", buf);
    ar_policy_lint(p, day("2026-01-01"), &d);
    dump(&d, buf, sizeof(buf));
    ck_assert_msg(d.n == 0, "shipped policy has lint warnings:%s", buf);
    struct ar_policy_stats st;
    ar_policy_stats(p, &st);
    ck_assert_uint_eq(st.exceptions, 7);
    ck_assert_int_eq(ar_policy_mode(p), AR_MODE_ENFORCE);
    ck_assert_int_eq(ar_policy_on_error(p), AR_ONERR_TEMPFAIL);
    ck_assert_str_eq(ar_policy_socket(p), "unix:/run/authrelay/authrelay.sock");
    ar_policy_unref(p);
    ar_diags_free(&d);
}
END_TEST

START_TEST(test_fixtures_load)
{
    static const char *const good[] = {"forms.conf", "order.conf"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        struct ar_diags d;
        char buf[4096];
        snprintf(path, sizeof(path), "%s/%s", AR_TEST_DATA, good[i]);
        ar_diags_init(&d);
        struct ar_policy *p = ar_policy_load(path, day("2026-01-01"), &d);
        dump(&d, buf, sizeof(buf));
        ck_assert_msg(p != NULL, "%s:%s", good[i], buf);
        ar_policy_unref(p);
        ar_diags_free(&d);
    }
}
END_TEST

/* Check one bad fixture; returns a malloc'ed failure text or NULL. */
static char *
check_bad(const char *name)
{
    char path[512], line[512], buf[8192];
    struct ar_diags d;
    char *fail = NULL;
    int nexpect = 0;

    snprintf(path, sizeof(path), "%s/%s", BAD_DIR, name);
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, day("2026-01-01"), &d);
    dump(&d, buf, sizeof(buf));
    if (p != NULL) {
        ar_policy_unref(p);
        if (asprintf(&fail, "%s: loaded, want an error", name) < 0)
            abort();
        ar_diags_free(&d);
        return fail;
    }
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "# expect: ", 10) != 0)
            continue;
        nexpect++;
        line[strcspn(line, "\n")] = '\0';
        /* "[FILE:]LINE: substring" */
        char *spec = line + 10, *file = NULL;
        char *colon = strchr(spec, ':');
        if (colon && (spec[0] < '0' || spec[0] > '9')) {
            file = spec;
            *colon = '\0';
            spec = colon + 1;
        }
        unsigned want_line = (unsigned)strtoul(spec, &spec, 10);
        const char *want = spec + 2;
        bool found = false;
        for (size_t i = 0; i < d.n && !found; i++) {
            const struct ar_diag *g = &d.v[i];
            const char *base = g->file ? strrchr(g->file, '/') : NULL;
            base = base ? base + 1 : g->file;
            found = !g->warning && g->line == want_line &&
                    strstr(g->msg, want) != NULL && base &&
                    strcmp(base, file ? file : name) == 0;
        }
        if (!found) {
            if (asprintf(&fail, "%s: want error %s:%u: %s, got:%s", name,
                         file ? file : name, want_line, want, buf) < 0)
                abort();
            break;
        }
    }
    if (f)
        fclose(f);
    if (!fail && nexpect == 0 && asprintf(&fail, "%s: no # expect", name) < 0)
        abort();
    if (!fail && d.nerrors < (size_t)nexpect &&
        asprintf(&fail, "%s: %zu errors, want %d:%s", name, d.nerrors, nexpect,
                 buf) < 0)
        abort();
    ar_diags_free(&d);
    return fail;
}

START_TEST(test_bad_fixtures)
{
    DIR *dir = opendir(BAD_DIR);
    struct dirent *de;
    int n = 0, failed = 0;
    char *first = NULL;

    ck_assert_msg(dir != NULL, "cannot open %s", BAD_DIR);
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
            continue;
        n++;
        char *fail = check_bad(de->d_name);
        if (fail) {
            fprintf(stderr, "FAIL %s\n", fail);
            failed++;
            if (first == NULL)
                first = fail;
            else
                free(fail);
        }
    }
    closedir(dir);
    ck_assert_msg(n >= MIN_BAD_FIXTURES, "only %d bad fixtures, want >= %d", n,
                  MIN_BAD_FIXTURES);
    ck_assert_msg(failed == 0, "%d of %d fixtures failed; first: %s", failed, n,
                  first ? first : "");
}
END_TEST

START_TEST(test_missing_file)
{
    struct ar_diags d;
    ar_diags_init(&d);
    ck_assert_ptr_null(ar_policy_load("/nonexistent/authrelay.conf", 0, &d));
    ck_assert_uint_eq(d.nerrors, 1);
    ck_assert_ptr_nonnull(strstr(d.v[0].msg, "cannot read"));
    ar_diags_free(&d);
}
END_TEST

/* An exception past its expiry date loads, with a warning naming it. */
START_TEST(test_expired_warning)
{
    struct ar_diags d;
    char path[512];
    snprintf(path, sizeof(path), "%s/order.conf", AR_TEST_DATA);
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, day("2026-01-01"), &d);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(d.nwarnings, 1);
    ck_assert_uint_eq(d.v[0].line, 12);
    ck_assert_ptr_nonnull(strstr(d.v[0].msg, "exception expired expired on "
                                             "2020-01-01"));
    ar_policy_unref(p);
    ar_diags_free(&d);
}
END_TEST

/* A million domains from a file load (the time is the benchmark's job). */
START_TEST(test_million_domains)
{
    char dir[] = "/tmp/ar_million_XXXXXX";
    char path[600], list[600];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(list, sizeof(list), "%s/domains", dir);
    snprintf(path, sizeof(path), "%s/policy.conf", dir);
    FILE *f = fopen(list, "w");
    for (int i = 0; i < 1000000; i++)
        fprintf(f, "%sdomain%d.example\n", i % 3 == 0 ? "." : "", i);
    fclose(f);
    f = fopen(path, "w");
    fprintf(f, "version = 1;\nrelay = { local_domains_files = [ \"domains\" "
               "]; };\n");
    fclose(f);
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, 0, &d);
    ck_assert_ptr_nonnull(p);
    struct ar_policy_stats st;
    ar_policy_stats(p, &st);
    ck_assert_uint_eq(st.local_domains, 1000000);
    struct ar_request r = {.rcpt = "<u@x.domain999999.example>"};
    struct ar_verdict v;
    ck_assert_int_eq(ar_policy_eval(p, &r, &v), AR_ACCEPT);
    ck_assert_str_eq(v.rule, "local");
    r.rcpt = "<u@domain999999.example>";
    ck_assert_int_eq(ar_policy_eval(p, &r, &v), AR_REJECT);
    ar_policy_unref(p);
    ar_diags_free(&d);
    unlink(list);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("policy_load");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_shipped_policy);
    tcase_add_test(tc, test_fixtures_load);
    tcase_add_test(tc, test_bad_fixtures);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_expired_warning);
    tcase_add_test(tc, test_million_domains);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
