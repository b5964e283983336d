/* check_cases.c - the test-cases file reader of `authrelay-policy test` */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cases.h"

static int
load(const char *name, struct ar_cases *cs, struct ar_diags *d)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/cases/%s", AR_TEST_DATA, name);
    ar_diags_init(d);
    return ar_cases_load(path, cs, d);
}

START_TEST(test_good)
{
    struct ar_cases cs;
    struct ar_diags d;
    ck_assert_int_eq(load("good.tests", &cs, &d), 0);
    ck_assert_uint_eq(cs.n, 2);
    ck_assert_str_eq(cs.v[0].name, "first");
    ck_assert_uint_eq(cs.v[0].line, 3);
    ck_assert_int_eq(cs.v[0].expect, AR_REJECT);
    ck_assert_ptr_null(cs.v[1].rule);
    struct ar_request r;
    ar_case_request(&cs.v[0], 7, &r);
    ck_assert(r.client_addr.valid);
    ck_assert(r.client_name_verified);
    ck_assert_int_eq(r.today, 7);
    ar_case_request(&cs.v[1], 7, &r);
    ck_assert(!r.client_addr.valid);
    ck_assert_int_eq(r.today, ar_parse_date("2030-05-01"));
    ar_cases_free(&cs);
    ar_diags_free(&d);
}
END_TEST

static const struct {
    const char *file;
    unsigned line;
    const char *msg;
} bad[] = {
    {"bad_expect.tests", 3, "expect \"allow\" must be"},
    {"bad_key.tests", 3, "unknown key 'rcpts'"},
    {"bad_addr.tests", 2, "client_addr \"999.1.1.1\""},
    {"bad_syntax.tests", 3, "syntax error"},
    {"no_rcpt.tests", 2, "case without rcpt"},
    {"bad_date.tests", 2, "date \"2030-13-01\""},
    {"missing.tests", 0, "cannot read"},
};

START_TEST(test_bad)
{
    struct ar_cases cs;
    struct ar_diags d;
    ck_assert_int_eq(load(bad[_i].file, &cs, &d), -1);
    bool found = false;
    for (size_t i = 0; i < d.n; i++)
        found |= d.v[i].line == bad[_i].line &&
                 strstr(d.v[i].msg, bad[_i].msg) != NULL;
    ck_assert_msg(found, "%s: want %u: %s; got %zu errors, first %u: %s",
                  bad[_i].file, bad[_i].line, bad[_i].msg, d.n,
                  d.n ? d.v[0].line : 0, d.n ? d.v[0].msg : "");
    ar_cases_free(&cs);
    ar_diags_free(&d);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("cases");
    TCase *tc = tcase_create("cases");
    tcase_add_test(tc, test_good);
    tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
