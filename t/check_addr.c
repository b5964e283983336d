/* check_addr.c - the RFC 5321 path parser, table-driven */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define M AR_ADDR_MAILBOX
#define N AR_ADDR_NULL
#define R AR_ADDR_ROUTED
#define I AR_ADDR_INVALID

static const struct {
    const char *in;
    enum ar_addr_kind kind;
    const char *local;  /* decoded local part, MAILBOX only */
    const char *domain; /* normal form, MAILBOX only */
} rows[] = {
    {"<user@example.com>", M, "user", "example.com"},
    {"<USER@EXAMPLE.COM>", M, "USER", "example.com"},
    {"<user@example.com.>", M, "user", "example.com"},
    {"<\"user\"@example.com>", M, "user", "example.com"},
    {"<\"first last\"@example.com>", M, "first last", "example.com"},
    {"<\"a\\\"b\"@example.com>", M, "a\"b", "example.com"},
    {"<postmaster>", M, "postmaster", ""},
    {"<Postmaster>", M, "Postmaster", ""},
    {"user@example.com", M, "user", "example.com"},
    {"<first.last+tag@sub.example.com>", M, "first.last+tag",
     "sub.example.com"},
    {"<user@remote.test>", M, "user", "remote.test"},
    {"<user@Remote.TEST>", M, "user", "remote.test"},
    {"<user@remote.test.>", M, "user", "remote.test"},
    {"<user@[192.0.2.10]>", M, "user", "[192.0.2.10]"},
    {"<user@[198.51.100.7]>", M, "user", "[198.51.100.7]"},
    {"<user@[IPv6:2001:db8::1]>", M, "user", "[ipv6:2001:db8::1]"},
    {"<user@192.0.2.10>", M, "user", "192.0.2.10"},
    {"<user@sub.example.com>", M, "user", "sub.example.com"},
    {"<user@example.com.remote.test>", M, "user", "example.com.remote.test"},
    {"<user@notexample.com>", M, "user", "notexample.com"},
    /* internationalised domains: the A-label form after UTS #46
     * non-transitional processing; the local part as written */
    {"<j\xc3\xb6rg@b\xc3\xbc\x63her.example>", M, "j\xc3\xb6rg",
     "xn--bcher-kva.example"},
    {"<user@xn--bcher-kva.example>", M, "user", "xn--bcher-kva.example"},
    {"<user@XN--BCHER-KVA.Example>", M, "user", "xn--bcher-kva.example"},
    {"<user@B\xc3\x9c\x43HER.Example>", M, "user", /* BÜCHER: folded */
     "xn--bcher-kva.example"},
    {"<user@bu\xcc\x88\x63her.example>", M, "user", /* NFD: u + U+0308 */
     "xn--bcher-kva.example"},
    {"<user@b\xc3\xbc\x63her.example.>", M, "user", "xn--bcher-kva.example"},
    {"<user@b\xc3\xbc\x63her\xe3\x80\x82\x65xample>", M, "user", /* U+3002 */
     "xn--bcher-kva.example"},
    {"<user@stra\xc3\x9f\x65.example>", M, "user", /* non-transitional */
     "xn--strae-oqa.example"},
    {"<user@ab--cd.b\xc3\xbc\x63her.example>", M, "user", /* ASCII label */
     "ab--cd.xn--bcher-kva.example"},
    {"<user@\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
     "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
     "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
     "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
     ".example>", /* 64 octets of UTF-8, 36 as an A-label */
     M, "user", "xn--tdaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"},
    /* routing: a relay attempt whatever the domain */
    {"<user%remote.test@example.com>", R, NULL, NULL},
    {"<remote.test!user@example.com>", R, NULL, NULL},
    {"<remote.test!user>", R, NULL, NULL},
    {"<user%remote.test>", R, NULL, NULL},
    {"<user@remote.test@example.com>", R, NULL, NULL},
    {"<user@example.com@remote.test>", R, NULL, NULL},
    {"<\"user@remote.test\"@example.com>", R, NULL, NULL},
    {"<\"user%remote.test\"@example.com>", R, NULL, NULL},
    {"<\"user!remote.test\"@example.com>", R, NULL, NULL},
    {"<\"user@remote.test\">", R, NULL, NULL},
    {"<\"user%remote.test\">", R, NULL, NULL},
    {"<\"user\\@remote.test\"@example.com>", R, NULL, NULL},
    {"<user\\@remote.test@example.com>", R, NULL, NULL},
    {"<@example.com:user@remote.test>", R, NULL, NULL},
    {"<@[192.0.2.10]:user@remote.test>", R, NULL, NULL},
    {"<@example.com,@example.com:user@remote.test>", R, NULL, NULL},
    {"<@garbage", R, NULL, NULL},
    {"@example.com:user@remote.test", R, NULL, NULL},
    {"<user%remote.test@[192.0.2.10]>", R, NULL, NULL},
    /* unparseable */
    {"<>", N, NULL, NULL},
    {"", N, NULL, NULL},
    {"<user@example.com..>", I, NULL, NULL},
    {"<user@.example.com>", I, NULL, NULL},
    {"<user@example..com>", I, NULL, NULL},
    {"<user@example.com> junk", I, NULL, NULL},
    {"<user@example.com", I, NULL, NULL},
    {"<user@>", I, NULL, NULL},
    {"<@>", R, NULL, NULL},
    {"<.user@example.com>", I, NULL, NULL},
    {"<user.@example.com>", I, NULL, NULL},
    {"<us..er@example.com>", I, NULL, NULL},
    {"<us er@example.com>", I, NULL, NULL},
    {"< user@example.com>", I, NULL, NULL},
    {"<user@exa mple.com>", I, NULL, NULL},
    {"<user@-example.com>", I, NULL, NULL},
    {"<user@example-.com>", I, NULL, NULL},
    {"<user@exam_ple.com>", I, NULL, NULL},
    {"<\"user@example.com>", R, NULL, NULL}, /* unterminated, routed */
    {"<\"user\"x@example.com>", I, NULL, NULL},
    {"<user@[192.0.2.300]>", I, NULL, NULL},
    {"<user@[IPv6:zz::1]>", I, NULL, NULL},
    {"<user@[192.0.2.1>", I, NULL, NULL},
    {"<user\xff@example.com>", I, NULL, NULL},
    {"<user@ex\xc3\x28.com>", I, NULL, NULL},
    {"<user@example.com>>", I, NULL, NULL},
    /* not valid IDNA */
    {"<user@\xe2\x98\x83.example>", I, NULL, NULL}, /* U+2603: disallowed */
    {"<user@\xcc\x88\x61\x62\x63.example>", I, NULL, NULL}, /* combining */
    {"<user@xn--zz.example>", I, NULL, NULL},               /* bad punycode */
    {"<user@XN--ZZ.example>", I, NULL, NULL},               /* bad punycode */
    {"<user@xn--a.example>", I, NULL, NULL},             /* decodes to U+0080 */
    {"<user@\xe2\x80\x8b.example>", I, NULL, NULL},      /* maps to nothing */
    {"<user@a\xef\xbc\xbf\x62.example>", I, NULL, NULL}, /* maps to '_' */
    {"<user@b\xc3\xbc--x.example>", I, NULL, NULL},      /* "--" at 3 and 4 */
    {"<<user@example.com>", I, NULL, NULL},
    {"user@example.com junk", I, NULL, NULL},
    /* over-long parts */
    {"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "@example.com>",
     I, NULL, NULL},
    {"<user@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     ".example.com>",
     I, NULL, NULL},
};

START_TEST(test_parse)
{
    struct ar_addr a;
    enum ar_addr_kind k = ar_addr_parse(rows[_i].in, &a);
    ck_assert_msg(k == rows[_i].kind, "%s: got %s (%s), want %s", rows[_i].in,
                  ar_addr_kind_name(k), a.why ? a.why : "-",
                  ar_addr_kind_name(rows[_i].kind));
    if (k == AR_ADDR_MAILBOX) {
        ck_assert_msg(strcmp(a.local, rows[_i].local) == 0,
                      "%s: local part: got \"%s\", want \"%s\"", rows[_i].in,
                      a.local, rows[_i].local);
        ck_assert_msg(strcmp(a.domain, rows[_i].domain) == 0,
                      "%s: domain: got \"%s\", want \"%s\"", rows[_i].in,
                      a.domain, rows[_i].domain);
    } else {
        ck_assert_msg(a.domain[0] == '\0', "%s: non-mailbox with a domain",
                      rows[_i].in);
    }
    if (k == AR_ADDR_ROUTED || k == AR_ADDR_INVALID)
        ck_assert_msg(a.why != NULL, "%s: no reason given", rows[_i].in);
}
END_TEST

/* A 64-octet local part and a 255-octet domain are still fine; 254 octets
 * is the most a mailbox may have. */
START_TEST(test_limits)
{
    char buf[600];
    char local[65];
    struct ar_addr a;

    memset(local, 'l', 64);
    local[64] = '\0';
    snprintf(buf, sizeof(buf), "<%s@example.com>", local);
    ck_assert_int_eq(ar_addr_parse(buf, &a), AR_ADDR_MAILBOX);
    ck_assert_uint_eq(a.local_len, 64);

    /* 63-octet labels: 3 * 64 + "example.com" */
    char dom[300] = "";
    for (int i = 0; i < 3; i++) {
        char label[64];
        memset(label, 'a' + i, 63);
        label[63] = '\0';
        strcat(dom, label);
        strcat(dom, ".");
    }
    strcat(dom, "example.com");
    snprintf(buf, sizeof(buf), "<u@%s>", dom);
    ck_assert_int_eq(ar_addr_parse(buf, &a), AR_ADDR_MAILBOX);
    /* the same with a 64-octet local part: over 254 octets */
    snprintf(buf, sizeof(buf), "<%s@%s>", local, dom);
    ck_assert_int_eq(ar_addr_parse(buf, &a), AR_ADDR_INVALID);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_parse, 0, sizeof(rows) / sizeof(rows[0]));
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
