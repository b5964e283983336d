/* check_sockspec.c - the milter socket spec parser, table-driven */
#include <check.h>
#include <string.h>

#include "sockspec.h"

#define U AR_SOCK_UNIX
#define I4 AR_SOCK_INET
#define I6 AR_SOCK_INET6

static const struct {
    const char *in;
    int rc;
    enum ar_sock_family family;
    bool bare;
    const char *path, *port, *host; /* path for unix, port/host for inet */
} rows[] = {
    {"unix:/run/authrelay/authrelay.sock", 0, U, false,
     "/run/authrelay/authrelay.sock", NULL, NULL},
    {"local:/tmp/s", 0, U, false, "/tmp/s", NULL, NULL},
    {"/tmp/bare.sock", 0, U, true, "/tmp/bare.sock", NULL, NULL},
    {"relative.sock", 0, U, true, "relative.sock", NULL, NULL},
    {"inet:8891@127.0.0.1", 0, I4, false, NULL, "8891", "127.0.0.1"},
    {"inet:8891", 0, I4, false, NULL, "8891", ""},
    {"inet:8891@", 0, I4, false, NULL, "8891", ""},
    {"inet6:8891@::1", 0, I6, false, NULL, "8891", "::1"},
    {"inet6:8891@[::1]", 0, I6, false, NULL, "8891", "[::1]"},
    /* not a spec: an unknown prefix, nothing after the prefix, a port
     * that does not fit */
    {"tcp:8891@127.0.0.1", -1, U, false, NULL, NULL, NULL},
    {"unix:", -1, U, false, NULL, NULL, NULL},
    {"local:", -1, U, false, NULL, NULL, NULL},
    {"", -1, U, false, NULL, NULL, NULL},
    {"inet:", -1, U, false, NULL, NULL, NULL},
    {"inet:@127.0.0.1", -1, U, false, NULL, NULL, NULL},
    {"inet:12345678901234567890@h", -1, U, false, NULL, NULL, NULL},
};

START_TEST(test_rows)
{
    struct ar_sockspec s;
    const char *in = rows[_i].in;
    int rc = ar_sockspec_parse(in, &s);
    ck_assert_msg(rc == rows[_i].rc, "%s: %d", in, rc);
    if (rc < 0)
        return;
    ck_assert_msg(s.family == rows[_i].family, "%s: family %d", in, s.family);
    ck_assert_msg(s.bare == rows[_i].bare, "%s: bare %d", in, s.bare);
    if (rows[_i].path)
        ck_assert_str_eq(s.path, rows[_i].path);
    if (rows[_i].port) {
        ck_assert_str_eq(s.port, rows[_i].port);
        ck_assert_str_eq(s.host, rows[_i].host);
    }
}
END_TEST

START_TEST(test_long_host)
{
    char spec[300] = "inet:25@";
    struct ar_sockspec s;
    memset(spec + 8, 'h', 255);
    spec[8 + 255] = '\0';
    ck_assert_int_eq(ar_sockspec_parse(spec, &s), 0);
    ck_assert_uint_eq(strlen(s.host), 255);
    strcat(spec, "h"); /* 256 octets: does not fit */
    ck_assert_int_eq(ar_sockspec_parse(spec, &s), -1);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("sockspec");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_rows, 0, sizeof(rows) / sizeof(rows[0]));
    tcase_add_test(tc, test_long_host);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
