/* check_netset.c - addresses, CIDR parsing and network sets */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netset.h"

static const struct {
    const char *in;
    bool ok;
    const char *canon; /* ar_cidr_format() of it */
} cidrs[] = {
    {"192.0.2.0/24", true, "192.0.2.0/24"},
    {"192.0.2.7", true, "192.0.2.7/32"},
    {"0.0.0.0/0", true, "0.0.0.0/0"},
    {"2001:db8::/32", true, "2001:db8::/32"},
    {"2001:DB8::1", true, "2001:db8::1/128"},
    {"::/0", true, "::/0"},
    {"::ffff:192.0.2.0/120", true, "::ffff:192.0.2.0/120"},
    {"192.0.2.1/24", false, NULL}, /* host bits set */
    {"2001:db8::1/32", false, NULL},
    {"192.0.2.0/33", false, NULL},
    {"2001:db8::/129", false, NULL},
    {"192.0.2.0/", false, NULL},
    {"192.0.2.0/024", false, NULL},
    {"192.0.2.0/-1", false, NULL},
    {"192.0.2.0/24x", false, NULL},
    {"192.0.2", false, NULL},
    {"192.0.2.256", false, NULL},
    {"example.com", false, NULL},
    {"", false, NULL},
    {"/24", false, NULL},
};

START_TEST(test_cidr_parse)
{
    struct ar_cidr c;
    const char *why = NULL;
    char buf[80];
    int rc = ar_cidr_parse(cidrs[_i].in, &c, &why);
    ck_assert_msg((rc == 0) == cidrs[_i].ok, "%s: got %s, want %s",
                  cidrs[_i].in, rc == 0 ? "ok" : why,
                  cidrs[_i].ok ? "ok" : "error");
    if (rc == 0) {
        ar_cidr_format(&c, buf, sizeof(buf));
        ck_assert_msg(strcmp(buf, cidrs[_i].canon) == 0, "%s: got %s, want %s",
                      cidrs[_i].in, buf, cidrs[_i].canon);
    }
}
END_TEST

static const char *const set_entries[] = {
    "192.0.2.0/24",   "198.51.100.7",     "2001:db8:1::/48",
    "10.0.0.0/8",     "10.1.0.0/16",      /* inside 10/8: merged */
    "203.0.113.0/25", "203.0.113.128/25", /* adjacent: merged */
};

static const struct {
    const char *addr;
    bool in;
} probes[] = {
    {"192.0.2.0", true},
    {"192.0.2.255", true},
    {"192.0.3.0", false},
    {"192.0.1.255", false},
    {"198.51.100.7", true},
    {"198.51.100.8", false},
    {"::ffff:192.0.2.9", true},
    {"::ffff:198.51.100.6", false},
    {"2001:db8:1::1", true},
    {"2001:db8:1:ffff::1", true},
    {"2001:db8:2::1", false},
    {"10.255.255.255", true},
    {"11.0.0.0", false},
    {"203.0.113.127", true},
    {"203.0.113.128", true},
    {"203.0.114.0", false},
    {"::1", false},
    {"0.0.0.0", false},
    {"255.255.255.255", false},
    {"::", false},
};

static struct ar_netset *
build(void)
{
    struct ar_cidr v[sizeof(set_entries) / sizeof(set_entries[0])];
    const char *why;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        ck_assert_int_eq(ar_cidr_parse(set_entries[i], &v[i], &why), 0);
    return ar_netset_new(v, sizeof(v) / sizeof(v[0]));
}

START_TEST(test_contains)
{
    struct ar_netset *s = build();
    struct ar_ip ip;
    ck_assert_int_eq(ar_ip_parse(probes[_i].addr, &ip), 0);
    ck_assert_msg(ar_netset_contains(s, &ip) == probes[_i].in,
                  "%s: got %s, want %s", probes[_i].addr,
                  probes[_i].in ? "not in set" : "in set",
                  probes[_i].in ? "in set" : "not in set");
    ar_netset_free(s);
}
END_TEST

START_TEST(test_unknown_and_empty)
{
    struct ar_netset *s = build();
    struct ar_ip unknown = {false, 0};
    ck_assert(!ar_netset_contains(s, &unknown));
    struct ar_netset *e = ar_netset_new(NULL, 0);
    struct ar_ip ip;
    ar_ip_parse("192.0.2.1", &ip);
    ck_assert(!ar_netset_contains(e, &ip));
    ar_netset_free(e);
    ar_netset_free(s);
}
END_TEST

START_TEST(test_sockaddr)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    struct ar_ip a, b;
    char buf[64];

    inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
    inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr);
    ar_ip_from_sockaddr((struct sockaddr *)&s4, &a);
    ar_ip_from_sockaddr((struct sockaddr *)&s6, &b);
    ck_assert(a.valid && b.valid && a.a == b.a);
    ar_ip_format(&b, buf, sizeof(buf));
    ck_assert_str_eq(buf, "192.0.2.7");
    struct sockaddr un = {.sa_family = AF_UNIX};
    ar_ip_from_sockaddr(&un, &a);
    ck_assert(!a.valid);
    ar_ip_from_sockaddr(NULL, &a);
    ck_assert(!a.valid);
}
END_TEST

/* IPv4 is formatted without inet_ntop: the same text, every octet value
 * in every place; a buffer too small gets "" */
START_TEST(test_format_v4)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct ar_ip a;
    char got[64], want[INET_ADDRSTRLEN];

    for (unsigned o = 0; o < 256; o++)
        for (int place = 0; place < 4; place++) {
            unsigned char b[4] = {192, 0, 2, 7};
            b[place] = (unsigned char)o;
            memcpy(&s4.sin_addr, b, 4);
            ar_ip_from_sockaddr((struct sockaddr *)&s4, &a);
            ar_ip_format(&a, got, sizeof(got));
            inet_ntop(AF_INET, b, want, sizeof(want));
            ck_assert_str_eq(got, want);
        }
    inet_pton(AF_INET, "255.255.255.255", &s4.sin_addr);
    ar_ip_from_sockaddr((struct sockaddr *)&s4, &a);
    ar_ip_format(&a, got, 16);
    ck_assert_str_eq(got, "255.255.255.255");
    ar_ip_format(&a, got, 15);
    ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(test_covers)
{
    struct ar_netset *s = build();
    struct ar_cidr c;
    const char *why;
    ar_cidr_parse("10.200.0.0/16", &c, &why);
    ck_assert(ar_netset_covers(s, &c));
    ar_cidr_parse("203.0.113.0/24", &c, &why);
    ck_assert(ar_netset_covers(s, &c)); /* two merged halves */
    ar_cidr_parse("192.0.2.0/23", &c, &why);
    ck_assert(!ar_netset_covers(s, &c));
    ar_netset_free(s);
}
END_TEST

/* 100,000 networks: all found, gaps between them not. */
START_TEST(test_large)
{
    enum { N = 100000 };
    static struct ar_cidr v[N];
    char buf[64];
    const char *why;
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof(buf), "10.%d.%d.%d/26", i / 512, (i / 2) % 256,
                 (i % 2) * 128);
        ck_assert_int_eq(ar_cidr_parse(buf, &v[i], &why), 0);
    }
    struct ar_netset *s = ar_netset_new(v, N);
    for (int i = 0; i < N; i++) {
        struct ar_ip ip;
        snprintf(buf, sizeof(buf), "10.%d.%d.%d", i / 512, (i / 2) % 256,
                 (i % 2) * 128 + 1);
        ar_ip_parse(buf, &ip);
        ck_assert_msg(ar_netset_contains(s, &ip), "%s", buf);
        snprintf(buf, sizeof(buf), "10.%d.%d.%d", i / 512, (i / 2) % 256,
                 (i % 2) * 128 + 65);
        ar_ip_parse(buf, &ip);
        ck_assert_msg(!ar_netset_contains(s, &ip), "%s", buf);
    }
    ar_netset_free(s);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("netset");
    TCase *tc = tcase_create("netset");
    tcase_add_loop_test(tc, test_cidr_parse, 0,
                        sizeof(cidrs) / sizeof(cidrs[0]));
    tcase_add_loop_test(tc, test_contains, 0,
                        sizeof(probes) / sizeof(probes[0]));
    tcase_add_test(tc, test_unknown_and_empty);
    tcase_add_test(tc, test_sockaddr);
    tcase_add_test(tc, test_format_v4);
    tcase_add_test(tc, test_covers);
    tcase_add_test(tc, test_large);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
