/* check_domainset.c - exact and .suffix domain sets */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "domainset.h"

static const char *const entries[] = {
    "example.com",          ".example.net",       "Mixed.Case.ORG.",
    "[192.0.2.1]",          "[IPv6:2001:DB8::1]", "b\xc3\xbc\x63her.example",
    ".xn--caf-dma.example",
};

static const struct {
    const char *name;
    const char *want; /* the entry that matches, or NULL */
} lookups[] = {
    {"example.com", "example.com"},
    {"EXAMPLE.COM", "example.com"},
    {"example.com.", "example.com"},
    {"sub.example.com", NULL}, /* exact entry: not its subdomains */
    {"notexample.com", NULL},
    {"example.com.remote.test", NULL},
    {"example.net", NULL}, /* suffix entry: not the domain itself */
    {"a.example.net", ".example.net"},
    {"a.b.c.EXAMPLE.net.", ".example.net"},
    {"xexample.net", NULL},
    {"mixed.case.org", "mixed.case.org"},
    {"[192.0.2.1]", "[192.0.2.1]"},
    {"[192.0.2.01]", NULL}, /* literals compare as text */
    {"192.0.2.1", NULL},
    {"[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]"},
    {"[IPv6:2001:db8:0::1]", NULL},
    /* a U-label entry and an A-label entry match either form */
    {"B\xc3\xbc\x63HER.example", "xn--bcher-kva.example"},
    {"bu\xcc\x88\x63her.example", "xn--bcher-kva.example"}, /* NFD */
    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
    {"XN--BCHER-KVA.example", "xn--bcher-kva.example"},
    {"sub.b\xc3\xbc\x63her.example", NULL},
    {"a.caf\xc3\xa9.example", ".xn--caf-dma.example"},
    {"a.CAF\xc3\x89.example", ".xn--caf-dma.example"},
    {"a.cafe\xcc\x81.example", ".xn--caf-dma.example"}, /* NFD */
    {"a.xn--caf-dma.example", ".xn--caf-dma.example"},
    {"caf\xc3\xa9.example", NULL},
    {"xn--zz.example", NULL},
    {"", NULL},
    {"..", NULL},
};

static struct ar_domainset *
build(void)
{
    struct ar_domainset *s = ar_domainset_new();
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        const char *why = NULL;
        ck_assert_msg(
            ar_domainset_add(s, entries[i], strlen(entries[i]), &why) == 1,
            "add %s: %s", entries[i], why ? why : "duplicate");
    }
    return s;
}

START_TEST(test_lookup)
{
    struct ar_domainset *s = build();
    const char *got = ar_domainset_match_name(s, lookups[_i].name);
    const char *want = lookups[_i].want;
    ck_assert_msg((got == NULL && want == NULL) ||
                      (got && want && strcmp(got, want) == 0),
                  "%s: got %s, want %s", lookups[_i].name,
                  got ? got : "no match", want ? want : "no match");
    ar_domainset_free(s);
}
END_TEST

START_TEST(test_duplicates)
{
    struct ar_domainset *s = build();
    const char *why;
    ck_assert_int_eq(ar_domainset_add(s, "EXAMPLE.com.", 12, &why), 0);
    ck_assert_int_eq(ar_domainset_add(s, "xn--bcher-kva.example", 21, &why),
                     0); /* the A-label of the U-label entry */
    ck_assert_int_eq(ar_domainset_add(s, "example.net", 11, &why), 1);
    ck_assert_uint_eq(ar_domainset_count(s), 8);
    ar_domainset_free(s);
}
END_TEST

static const char *const bad[] = {
    "",
    ".",
    "..",
    "a..b",
    "-a.com",
    "a-.com",
    "a_b.com",
    "a b.com",
    "example.com..",
    "[1.2.3.4",
    "[1.2.3.999]",
    "[IPv6:1::x]",
    "a@b.com",
    "\xff.com",
    /* not valid IDNA, also as a suffix entry */
    "xn--zz.example",
    ".xn--zz.example",
    "\xe2\x98\x83.example",
    ".\xcc\x88\x61.example",
    "b\xc3\xbc\x63her.\xe2\x80\x8b",
    ".\xe2\x80\x8b",
};

START_TEST(test_bad)
{
    struct ar_domainset *s = ar_domainset_new();
    const char *why = NULL;
    ck_assert_msg(ar_domainset_add(s, bad[_i], strlen(bad[_i]), &why) == -1,
                  "\"%s\" accepted", bad[_i]);
    ck_assert_ptr_nonnull(why);
    ck_assert_uint_eq(ar_domainset_count(s), 0);
    ar_domainset_free(s);
}
END_TEST

/* Many entries (megabytes of table: the huge-page layout), every one is
 * found and near misses are not; _i 1: sealed first, and an entry added
 * after the seal is found too. */
START_TEST(test_large)
{
    struct ar_domainset *s = ar_domainset_new();
    char buf[64];
    const char *why;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        int n =
            snprintf(buf, sizeof(buf), "%sd%d.example", i % 2 ? "." : "", i);
        ck_assert_int_eq(ar_domainset_add(s, buf, (size_t)n, &why), 1);
    }
    ck_assert_uint_eq(ar_domainset_count(s), N);
    if (_i == 1) {
        ar_domainset_seal(s);
        ck_assert_int_eq(ar_domainset_add(s, "late.example", 12, &why), 1);
        ck_assert_ptr_nonnull(ar_domainset_match_name(s, "late.example"));
    }
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof(buf), "%sd%d.example", i % 2 ? "x." : "", i);
        ck_assert_msg(ar_domainset_match_name(s, buf) != NULL, "%s", buf);
        snprintf(buf, sizeof(buf), "%sd%d.example", i % 2 ? "" : "x.", i);
        ck_assert_msg(ar_domainset_match_name(s, buf) == NULL, "%s", buf);
    }
    ar_domainset_free(s);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("domainset");
    TCase *tc = tcase_create("domainset");
    tcase_add_loop_test(tc, test_lookup, 0,
                        sizeof(lookups) / sizeof(lookups[0]));
    tcase_add_test(tc, test_duplicates);
    tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_loop_test(tc, test_large, 0, 2);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
