/*
 * check_policy.c - the decision of authrelay.conf(5) DECISION ORDER, table-driven: every recipient
 * form of the engine issue, then the decision order, exceptions, expiry
 * and remote_mailers against t/data/order.conf, and internationalised
 * domains against t/data/idn.conf.
 */
#define _GNU_SOURCE
#include <check.h>

#include "check_tmp.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

static struct ar_policy *
load(const char *name)
{
    char path[512];
    struct ar_diags d;
    snprintf(path, sizeof(path), "%s/%s", AR_TEST_DATA, name);
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, ar_parse_date("2026-01-01"), &d);
    ck_assert_msg(p != NULL, "%s does not load (%zu errors)", name, d.nerrors);
    ar_diags_free(&d);
    return p;
}

#define LOCAL AR_ACCEPT, "local"
#define RELAY AR_REJECT, "default"

/* client 192.0.2.99, not authenticated; example.com is local */
static const struct {
    const char *rcpt;
    enum ar_decision want;
    const char *rule;
} forms[] = {
    {"<user@example.com>", LOCAL},
    {"<USER@EXAMPLE.COM>", LOCAL},
    {"<user@example.com.>", LOCAL},
    {"<\"user\"@example.com>", LOCAL},
    {"<postmaster>", LOCAL},
    {"user@example.com", LOCAL},
    {"<user@remote.test>", RELAY},
    {"<user@Remote.TEST>", RELAY},
    {"<user@remote.test.>", RELAY},
    {"<user%remote.test@example.com>", RELAY},
    {"<remote.test!user@example.com>", RELAY},
    {"<remote.test!user>", RELAY},
    {"<user@remote.test@example.com>", RELAY},
    {"<user@example.com@remote.test>", RELAY},
    {"<\"user@remote.test\"@example.com>", RELAY},
    {"<\"user%remote.test\"@example.com>", RELAY},
    {"<\"user@remote.test\">", RELAY},
    {"<\"user%remote.test\">", RELAY},
    {"<user\\@remote.test@example.com>", RELAY},
    {"<@example.com:user@remote.test>", RELAY},
    {"<@[192.0.2.10]:user@remote.test>", RELAY},
    {"<@example.com,@example.com:user@remote.test>", RELAY},
    {"<user@[192.0.2.10]>", RELAY},
    {"<user@[198.51.100.7]>", RELAY},
    {"<user@[IPv6:2001:db8::1]>", RELAY},
    {"<user@192.0.2.10>", RELAY},
    {"<user%remote.test@[192.0.2.10]>", RELAY},
    {"<user@sub.example.com>", RELAY},
    {"<user@example.com.remote.test>", RELAY},
    {"<user@notexample.com>", RELAY},
    {"<user@example.com..>", RELAY},
    {"<user@.example.com>", RELAY},
    {"<>", RELAY},
    {"<user@example.com> junk", RELAY},
    {"", RELAY},
};

START_TEST(test_forms)
{
    struct ar_policy *p = load("forms.conf");
    struct ar_request r = {.today = ar_parse_date("2026-01-01")};
    struct ar_verdict v;
    ar_ip_parse("192.0.2.99", &r.client_addr);
    r.rcpt = forms[_i].rcpt;
    ar_policy_eval(p, &r, &v);
    ck_assert_msg(v.decision == forms[_i].want &&
                      strcmp(v.rule, forms[_i].rule) == 0,
                  "%s: got %s rule=%s, want %s rule=%s", forms[_i].rcpt,
                  ar_decision_name(v.decision), v.rule,
                  ar_decision_name(forms[_i].want), forms[_i].rule);
    if (v.decision == AR_REJECT) {
        ck_assert_ptr_nonnull(v.reply);
        ck_assert_str_eq(v.reply->code, "554");
        ck_assert_str_eq(v.reply->xcode, "5.7.1");
        ck_assert_str_eq(v.reply->text, "Relay access denied");
    } else {
        ck_assert_ptr_null(v.reply);
    }
    ar_policy_unref(p);
}
END_TEST

struct row {
    const char *label;
    const char *addr, *name, *helo, *auth, *from, *rcpt, *mailer, *date;
    enum ar_decision want;
    const char *rule;
    const char *code; /* NULL when accepted */
};

static const struct row order[] = {
    {"local from anyone", "192.0.2.99", 0, 0, 0, 0, "<a@example.com>", 0, 0,
     AR_ACCEPT, "local", 0},
    {"subdomain suffix", "192.0.2.99", 0, 0, 0, 0, "<a@x.y.example.com>", 0, 0,
     AR_ACCEPT, "local", 0},
    {"domain from a file", "192.0.2.99", 0, 0, 0, 0, "<a@hosted.test>", 0, 0,
     AR_ACCEPT, "local", 0},
    {"suffix from a file", "192.0.2.99", 0, 0, 0, 0, "<a@www.hosted.org>", 0, 0,
     AR_ACCEPT, "local", 0},
    {"literal entry", "192.0.2.99", 0, 0, 0, 0, "<a@[192.0.2.1]>", 0, 0,
     AR_ACCEPT, "local", 0},
    {"literal, other text", "192.0.2.99", 0, 0, 0, 0, "<a@[192.0.2.01]>", 0, 0,
     AR_REJECT, "default", "550"},
    {"remote mailer for a local domain", "192.0.2.99", 0, 0, 0, 0,
     "<a@example.com>", "smtp", 0, AR_REJECT, "default", "550"},
    {"local mailer for a local domain", "192.0.2.99", 0, 0, 0, 0,
     "<a@example.com>", "local", 0, AR_ACCEPT, "local", 0},
    {"remote mailer in another case", "192.0.2.99", 0, 0, 0, 0,
     "<a@example.com>", "SMTP", 0, AR_REJECT, "default", "550"},
    {"trusted", "10.1.2.3", 0, 0, 0, 0, "<a@remote.test>", 0, 0, AR_ACCEPT,
     "trusted-network", 0},
    {"trusted from a file", "172.20.0.1", 0, 0, 0, 0, "<a@remote.test>", 0, 0,
     AR_ACCEPT, "trusted-network", 0},
    {"trusted IPv6", "2001:db8:10::5", 0, 0, 0, 0, "<a@remote.test>", 0, 0,
     AR_ACCEPT, "trusted-network", 0},
    {"trusted IPv4-mapped", "::ffff:10.0.0.1", 0, 0, 0, 0, "<a@remote.test>", 0,
     0, AR_ACCEPT, "trusted-network", 0},
    {"trusted and authenticated", "10.1.2.3", 0, 0, "alice", 0,
     "<a@remote.test>", 0, 0, AR_ACCEPT, "trusted-network", 0},
    {"authenticated", "192.0.2.99", 0, 0, "alice", 0, "<a@remote.test>", 0, 0,
     AR_ACCEPT, "authenticated", 0},
    {"authenticated beats an exception", "192.0.2.5", 0, "busy.test", "alice",
     0, "<a@remote.test>", 0, 0, AR_ACCEPT, "authenticated", 0},
    {"authenticated, routed", "192.0.2.99", 0, 0, "alice", 0,
     "<a%b@example.com>", 0, 0, AR_ACCEPT, "authenticated", 0},
    {"empty login", "192.0.2.99", 0, 0, "", 0, "<a@remote.test>", 0, 0,
     AR_REJECT, "default", "550"},
    {"unknown client", NULL, 0, 0, 0, 0, "<a@remote.test>", 0, 0, AR_REJECT,
     "default", "550"},
    {"expired rule skipped, tempfail next", "192.0.2.5", 0, "BUSY.test.", 0, 0,
     "<a@remote.test>", 0, 0, AR_TEMPFAIL, "helo-tempfail", "451"},
    {"expired rule before its date", "192.0.2.5", 0, "busy.test", 0, 0,
     "<a@remote.test>", 0, "2019-12-31", AR_ACCEPT, "expired", 0},
    {"expired rule on its date", "192.0.2.5", 0, "other.test", 0, 0,
     "<a@remote.test>", 0, "2020-01-01", AR_REJECT, "default", "550"},
    {"exception never touches local", "192.0.2.5", 0, "busy.test", 0, 0,
     "<a@example.com>", 0, 0, AR_ACCEPT, "local", 0},
    {"partner, verified name, its sender", "198.18.0.1", "mx1.partner.test", 0,
     0, "<x@partner.test>", "<a@remote.test>", 0, 0, AR_ACCEPT, "partner", 0},
    {"partner, sender subdomain", "198.18.0.1", "mx1.partner.test", 0, 0,
     "<x@eu.partner.test>", "<a@remote.test>", 0, 0, AR_ACCEPT, "partner", 0},
    {"partner, other sender", "198.18.0.1", "mx1.partner.test", 0, 0,
     "<x@other.test>", "<a@remote.test>", 0, 0, AR_REJECT, "default", "550"},
    {"partner, null sender", "198.18.0.1", "mx1.partner.test", 0, 0, "<>",
     "<a@remote.test>", 0, 0, AR_REJECT, "default", "550"},
    {"partner, routed sender", "198.18.0.1", "mx1.partner.test", 0, 0,
     "<x%y@partner.test>", "<a@remote.test>", 0, 0, AR_REJECT, "default",
     "550"},
    {"partner, name not verified", "198.18.0.1", "unknown", 0, 0,
     "<x@partner.test>", "<a@remote.test>", 0, 0, AR_REJECT, "default", "550"},
    {"name UNKNOWN is never verified (named-unknown)", "198.18.0.1", "UNKNOWN",
     0, 0, "<x@partner.test>", "<a@remote.test>", 0, 0, AR_REJECT, "default",
     "550"},
    {"partner, bracketed name", "198.18.0.1", "[198.18.0.1]", 0, 0,
     "<x@partner.test>", "<a@remote.test>", 0, 0, AR_REJECT, "default", "550"},
    {"foreign sender rejected by rule", "198.51.100.1", 0, 0, 0,
     "<x@elsewhere.test>", "<a@remote.test>", 0, 0, AR_REJECT, "foreign-sender",
     "550"},
    {"local sender not matched by rule", "198.51.100.1", 0, 0, 0,
     "<x@example.com>", "<a@remote.test>", 0, 0, AR_REJECT, "default", "550"},
    {"domainless sender is not local", "198.51.100.1", 0, 0, 0, "<x>",
     "<a@remote.test>", 0, 0, AR_REJECT, "foreign-sender", "550"},
    {"future expiry: matches", "203.0.113.9", 0, 0, 0, 0, "<a@remote.test>", 0,
     0, AR_ACCEPT, "until-3000", 0},
    {"IPv6 exception", "2001:db8:99::1", 0, 0, 0, 0, "<a@remote.test>", 0, 0,
     AR_ACCEPT, "until-3000", 0},
    {"IPv4-mapped exception", "::ffff:203.0.113.9", 0, 0, 0, 0,
     "<a@remote.test>", 0, 0, AR_ACCEPT, "until-3000", 0},
};

/* the request of row w */
static void
row_request(const struct row *w, struct ar_request *r)
{
    memset(r, 0, sizeof(*r));
    if (w->addr) /* check_row checks that it parsed */
        ar_ip_parse(w->addr, &r->client_addr);
    r->client_name = w->name;
    r->client_name_verified = w->name != NULL;
    r->helo = w->helo;
    r->auth_authen = w->auth;
    r->mail_from = w->from;
    r->rcpt = w->rcpt;
    r->rcpt_mailer = w->mailer;
    r->today = ar_parse_date(w->date ? w->date : "2026-01-01");
}

/* p decides row w as it says (decide: with the sender-login check too) */
static void
check_row(const struct ar_policy *p, const struct row *w, bool decide)
{
    struct ar_request r;
    struct ar_verdict v;
    row_request(w, &r);
    ck_assert(r.client_addr.valid == (w->addr != NULL));
    if (decide)
        ar_policy_decide(p, &r, &v, NULL);
    else
        ar_policy_eval(p, &r, &v);
    ck_assert_msg(v.decision == w->want && strcmp(v.rule, w->rule) == 0,
                  "%s: got %s rule=%s, want %s rule=%s", w->label,
                  ar_decision_name(v.decision), v.rule,
                  ar_decision_name(w->want), w->rule);
    if (w->code) {
        ck_assert_msg(v.reply && strcmp(v.reply->code, w->code) == 0,
                      "%s: got code %s, want %s", w->label,
                      v.reply ? v.reply->code : "none", w->code);
    } else {
        ck_assert_ptr_null(v.reply);
    }
}

START_TEST(test_order)
{
    struct ar_policy *p = load("order.conf");
    check_row(p, &order[_i], false);
    ar_policy_unref(p);
}
END_TEST

#define U_BUCHER "b\xc3\xbc\x63her.example"       /* bücher */
#define U_BUCHER_NFD "bu\xcc\x88\x63her.example"  /* u + U+0308 */
#define U_BUCHER_UP "B\xc3\x9c\x43HER.Example"    /* BÜCHER */
#define U_CAFE "caf\xc3\xa9.example"              /* café */
#define U_MUNCHEN "m\xc3\xbcnchen.example"        /* münchen */
#define U_STRASSE "stra\xc3\x9f\x65.example"      /* straße */
#define U_REI "\xe4\xbe\x8b\xe3\x81\x88.test"     /* 例え */
#define U_EXAMPLE "\xc3\xa9xample.test"           /* éxample */
#define U_JORD "j\xc3\xb6r\xc3\xb0.example"       /* jörð */
#define U_GRUSSE "gr\xc3\xbc\xc3\x9f\x65.example" /* grüße */
#define U_NANDU "\xc3\xb1\x61nd\xc3\xba.example"  /* ñandú */
#define U_MX "b\xc3\xbc\x63her-mx.example"        /* bücher-mx */

/* t/data/idn.conf: each list written in one form, asked in the other;
 * mixed case and NFD too. Client 192.0.2.99 unless said. */
static const struct row idn[] = {
    /* local_domains: A-label entries, U-label recipients */
    {"A-label entry, U-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@" U_BUCHER ">", 0, 0, AR_ACCEPT, "local", 0},
    {"A-label entry, upper-case U-label", "192.0.2.99", 0, 0, 0, 0,
     "<u@" U_BUCHER_UP ">", 0, 0, AR_ACCEPT, "local", 0},
    {"A-label entry, NFD U-label", "192.0.2.99", 0, 0, 0, 0,
     "<u@" U_BUCHER_NFD ">", 0, 0, AR_ACCEPT, "local", 0},
    {"A-label entry, upper-case A-label", "192.0.2.99", 0, 0, 0, 0,
     "<u@XN--BCHER-KVA.EXAMPLE>", 0, 0, AR_ACCEPT, "local", 0},
    {"A-label entry, not its subdomain", "192.0.2.99", 0, 0, 0, 0,
     "<u@www." U_BUCHER ">", 0, 0, AR_REJECT, "default", "554"},
    {"A-label suffix entry, U-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@mail." U_CAFE ">", 0, 0, AR_ACCEPT, "local", 0},
    {"A-label suffix entry, NFD rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@a.cafe\xcc\x81.example>", 0, 0, AR_ACCEPT, "local", 0},
    {"A-label suffix entry, not the domain", "192.0.2.99", 0, 0, 0, 0,
     "<u@" U_CAFE ">", 0, 0, AR_REJECT, "default", "554"},
    /* U-label entries, A-label recipients */
    {"U-label entry, A-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@xn--strae-oqa.example>", 0, 0, AR_ACCEPT, "local", 0},
    {"U-label entry, U-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@" U_STRASSE ">", 0, 0, AR_ACCEPT, "local", 0},
    {"non-transitional: ss is another domain", "192.0.2.99", 0, 0, 0, 0,
     "<u@strasse.example>", 0, 0, AR_REJECT, "default", "554"},
    {"U-label suffix entry, A-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@mx.xn--r8jz45g.test>", 0, 0, AR_ACCEPT, "local", 0},
    {"U-label suffix entry, U-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@mx." U_REI ">", 0, 0, AR_ACCEPT, "local", 0},
    /* local_domains_files */
    {"file U-label entry, A-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@xn--mnchen-3ya.example>", 0, 0, AR_ACCEPT, "local", 0},
    {"file U-label entry, U-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@M\xc3\x9c\x4e\x43HEN.example>", 0, 0, AR_ACCEPT, "local", 0},
    {"file A-label suffix entry, U-label rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@a." U_EXAMPLE ">", 0, 0, AR_ACCEPT, "local", 0},
    /* invalid IDNA in a recipient: unparseable, a relay attempt */
    {"bad punycode rcpt", "192.0.2.99", 0, 0, 0, 0, "<u@xn--zz.example>", 0, 0,
     AR_REJECT, "default", "554"},
    {"disallowed code point rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@\xe2\x98\x83.xn--caf-dma.example>", 0, 0, AR_REJECT, "default", "554"},
    {"leading combining mark rcpt", "192.0.2.99", 0, 0, 0, 0,
     "<u@\xcc\x88.xn--caf-dma.example>", 0, 0, AR_REJECT, "default", "554"},
    /* client_hostnames */
    {"U-label hostnames entry, A-label name", "192.0.2.99",
     "mx1.xn--bcher-mx-65a.example", 0, 0, 0, "<u@remote.test>", 0, 0,
     AR_ACCEPT, "host-u", 0},
    {"U-label hostnames entry, U-label name", "192.0.2.99", "mx1." U_MX, 0, 0,
     0, "<u@remote.test>", 0, 0, AR_ACCEPT, "host-u", 0},
    {"A-label hostnames entry, U-label name", "192.0.2.99", U_MUNCHEN, 0, 0, 0,
     "<u@remote.test>", 0, 0, AR_ACCEPT, "host-a", 0},
    {"invalid IDNA name matches nothing", "192.0.2.99", "XN--ZZ.example", 0, 0,
     0, "<u@remote.test>", 0, 0, AR_REJECT, "default", "554"},
    /* helo */
    {"A-label helo entry, U-label HELO", "192.0.2.7", 0, "CAF\xc3\x89.example",
     0, 0, "<u@remote.test>", 0, 0, AR_ACCEPT, "helo-a", 0},
    {"U-label helo entry, A-label HELO", "192.0.2.7", 0,
     "xn--and-6ma2c.example", 0, 0, "<u@remote.test>", 0, 0, AR_REJECT,
     "helo-u", "554"},
    {"U-label helo entry, NFD HELO", "192.0.2.7", 0,
     "n\xcc\x83\x61ndu\xcc\x81.example", 0, 0, "<u@remote.test>", 0, 0,
     AR_REJECT, "helo-u", "554"},
    /* sender_domains and sender_is_local */
    {"U-label sender entry, A-label sender", "198.51.100.1", 0, 0, 0,
     "<s@xn--jr-xjaw.example>", "<u@remote.test>", 0, 0, AR_ACCEPT, "sender-u",
     0},
    {"U-label sender entry, U-label sender", "198.51.100.1", 0, 0, 0,
     "<s@" U_JORD ">", "<u@remote.test>", 0, 0, AR_ACCEPT, "sender-u", 0},
    {"A-label sender suffix, U-label sender", "198.51.100.1", 0, 0, 0,
     "<s@eu." U_GRUSSE ">", "<u@remote.test>", 0, 0, AR_REJECT, "sender-a",
     "554"},
    {"invalid IDNA sender has no domain", "198.51.100.1", 0, 0, 0,
     "<s@xn--zz.example>", "<u@remote.test>", 0, 0, AR_REJECT, "default",
     "554"},
    {"sender_is_local, U-label sender", "203.0.113.5", 0, 0, 0,
     "<s@" U_BUCHER_UP ">", "<u@remote.test>", 0, 0, AR_ACCEPT, "sender-local",
     0},
    {"sender_is_local, A-label sender", "203.0.113.5", 0, 0, 0,
     "<s@xn--mnchen-3ya.example>", "<u@remote.test>", 0, 0, AR_ACCEPT,
     "sender-local", 0},
    /* sender_login: patterns and the login itself, in either form */
    {"sender_login @U-label, A-label sender", "10.1.1.1", 0, 0,
     "alice@example.com", "<x@xn--bcher-kva.example>", "<u@remote.test>", 0, 0,
     AR_ACCEPT, "trusted-network", 0},
    {"sender_login @U-label, NFD sender", "10.1.1.1", 0, 0, "alice@example.com",
     "<x@" U_BUCHER_NFD ">", "<u@remote.test>", 0, 0, AR_ACCEPT,
     "trusted-network", 0},
    {"sender_login A-label sender, U-label sender", "10.1.1.1", 0, 0,
     "alice@example.com", "<info@" U_MUNCHEN ">", "<u@remote.test>", 0, 0,
     AR_ACCEPT, "trusted-network", 0},
    {"sender_login: other domain refused", "10.1.1.1", 0, 0,
     "alice@example.com", "<info@" U_CAFE ">", "<u@remote.test>", 0, 0,
     AR_REJECT, "sender-login", "553"},
    {"login U-label itself, A-label sender", "10.1.1.1", 0, 0,
     "j\xc3\xb6rg@" U_BUCHER, "<j\xc3\xb6rg@xn--bcher-kva.example>",
     "<u@remote.test>", 0, 0, AR_ACCEPT, "trusted-network", 0},
    {"login A-label itself, U-label sender", "10.1.1.1", 0, 0,
     "j\xc3\xb6rg@xn--bcher-kva.example", "<j\xc3\xb6rg@" U_BUCHER_UP ">",
     "<u@remote.test>", 0, 0, AR_ACCEPT, "trusted-network", 0},
};

START_TEST(test_idn)
{
    struct ar_policy *p = load("idn.conf");
    check_row(p, &idn[_i], true);
    ar_policy_unref(p);
}
END_TEST

/* The reply texts come through verbatim: '%', quotes, backslashes. */
START_TEST(test_reply_text)
{
    struct ar_policy *p = load("order.conf");
    struct ar_request r = {.rcpt = "<a@remote.test>"};
    struct ar_verdict v;
    ar_ip_parse("192.0.2.5", &r.client_addr);
    r.today = ar_parse_date("2026-01-01");
    ar_policy_eval(p, &r, &v);
    ck_assert_str_eq(v.reply->text, "No relay for you, 100% sure");
    ck_assert_str_eq(v.reply->xcode, "5.7.1");
    r.helo = "busy.test";
    ar_policy_eval(p, &r, &v);
    ck_assert_str_eq(v.reply->text, "Busy: \"try\" later \\ please");
    ck_assert_str_eq(v.reply->xcode, "4.7.1");
    ck_assert_uint_eq(v.rule_line, 14);
    ar_policy_unref(p);
}
END_TEST

/* Many threads deciding on one policy at once agree with one thread. */
static struct ar_policy *shared;

static void *
worker(void *arg)
{
    (void)arg;
    for (int n = 0; n < 2000; n++) {
        size_t i = (size_t)n % (sizeof(order) / sizeof(order[0]));
        struct ar_request r;
        struct ar_verdict v;
        row_request(&order[i], &r);
        ar_policy_eval(shared, &r, &v);
        if (v.decision != order[i].want || strcmp(v.rule, order[i].rule))
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_threads)
{
    pthread_t t[8];
    shared = load("order.conf");
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 8; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        ck_assert_ptr_null(rv);
    }
    ar_policy_unref(shared);
}
END_TEST

/* sender-login binding, through ar_policy_decide() as query shows it;
 * the client is trusted so that only the sender-login check can refuse */
static const struct {
    const char *label, *auth, *from, *rcpt;
    enum ar_decision want;
    const char *rule;
} logins[] = {
    {"the login itself", "alice@example.com", "<alice@example.com>", 0,
     AR_ACCEPT, "trusted-network"},
    {"domain case-insensitive", "alice@example.com", "<alice@EXAMPLE.com.>", 0,
     AR_ACCEPT, "trusted-network"},
    {"local part exact", "alice@example.com", "<Alice@example.com>", 0,
     AR_REJECT, "sender-login"},
    {"login looked up case-insensitively", "ALICE@Example.COM",
     "<info@example.com>", 0, AR_ACCEPT, "trusted-network"},
    {"listed sender", "alice@example.com", "<info@example.com>", 0, AR_ACCEPT,
     "trusted-network"},
    {"@domain", "alice@example.com", "<anyone@example.org>", 0, AR_ACCEPT,
     "trusted-network"},
    {"@domain is exact", "alice@example.com", "<anyone@sub.example.org>", 0,
     AR_REJECT, "sender-login"},
    {"map file", "carol@example.com", "<carol@example.net>", 0, AR_ACCEPT,
     "trusted-network"},
    {"map file @domain", "carol@example.com", "<z@shared.example>", 0,
     AR_ACCEPT, "trusted-network"},
    {"inline and file merged", "alice@example.com", "<alias@example.net>", 0,
     AR_ACCEPT, "trusted-network"},
    {"any sender login", "webmail@example.com", "<who@elsewhere.test>", 0,
     AR_ACCEPT, "trusted-network"},
    {"null sender", "alice@example.com", "<>", 0, AR_ACCEPT, "trusted-network"},
    {"someone else's address", "alice@example.com", "<bob@example.com>", 0,
     AR_REJECT, "sender-login"},
    {"routed sender", "alice@example.com", "<alice%x@example.com>", 0,
     AR_REJECT, "sender-login"},
    {"domainless login, mapped", "bob", "<bob@example.com>", 0, AR_ACCEPT,
     "trusted-network"},
    {"domainless login and sender", "Bob", "<Bob>", 0, AR_ACCEPT,
     "trusted-network"},
    {"not authenticated: not checked", NULL, "<bob@example.com>", 0, AR_ACCEPT,
     "trusted-network"},
    {"local recipients too", "alice@example.com", "<bob@example.com>",
     "<u@example.com>", AR_REJECT, "sender-login"},
};

START_TEST(test_sender_login)
{
    struct ar_policy *p = load("senderlogin.conf");
    struct ar_request r = {.today = ar_parse_date("2026-01-01")};
    struct ar_verdict v;
    ar_ip_parse("10.1.1.1", &r.client_addr);
    r.auth_authen = logins[_i].auth;
    r.mail_from = logins[_i].from;
    r.rcpt = logins[_i].rcpt ? logins[_i].rcpt : "<x@remote.test>";
    ar_policy_decide(p, &r, &v, NULL);
    ck_assert_msg(v.decision == logins[_i].want &&
                      strcmp(v.rule, logins[_i].rule) == 0,
                  "%s: got %s rule=%s, want %s rule=%s", logins[_i].label,
                  ar_decision_name(v.decision), v.rule,
                  ar_decision_name(logins[_i].want), logins[_i].rule);
    if (v.decision == AR_REJECT) {
        char want[256];
        snprintf(want, sizeof(want),
                 "Sender address rejected: not owned by user %s",
                 logins[_i].auth);
        ck_assert_str_eq(v.reply->code, "553");
        ck_assert_str_eq(v.reply->xcode, "5.7.1");
        ck_assert_str_eq(v.reply->text, want);
    }
    ar_policy_unref(p);
}
END_TEST

START_TEST(test_sender_login_report)
{
    struct ar_policy *p = load("senderlogin_report.conf");
    struct ar_request r = {.auth_authen = "alice@example.com",
                           .mail_from = "<bob@elsewhere.test>",
                           .rcpt = "<u@example.com>"};
    struct ar_verdict v;
    ck_assert(ar_policy_sender_login_report(p));
    ck_assert_int_eq(ar_policy_check_sender(p, &r, &v, NULL), AR_REJECT);
    ck_assert_str_eq(v.reply->code, "550");
    ck_assert_str_eq(v.reply->text, "Not your address");
    ck_assert_int_eq(ar_policy_decide(p, &r, &v, NULL), AR_ACCEPT);
    ck_assert_str_eq(v.rule, "local");
    ck_assert_uint_eq(v.ndry, 1);
    ck_assert_str_eq(v.dry[0].rule, "sender-login");
    ck_assert_int_eq(v.dry[0].decision, AR_REJECT);
    ar_policy_unref(p);
}
END_TEST

/* A dry-run rule is reported, then evaluation goes on without it. */
START_TEST(test_dry_run)
{
    struct ar_policy *p = load("senderlogin.conf");
    struct ar_request r = {.rcpt = "<x@remote.test>",
                           .today = ar_parse_date("2026-01-01")};
    struct ar_verdict v;
    ar_ip_parse("192.0.2.5", &r.client_addr);
    ck_assert_int_eq(ar_policy_decide(p, &r, &v, NULL), AR_TEMPFAIL);
    ck_assert_str_eq(v.rule, "real");
    ck_assert_uint_eq(v.ndry, 2);
    ck_assert_str_eq(v.dry[0].rule, "staged-permit");
    ck_assert_int_eq(v.dry[0].decision, AR_ACCEPT);
    ck_assert_str_eq(v.dry[1].rule, "staged-reject");
    ck_assert_int_eq(v.dry[1].decision, AR_REJECT);
    ar_ip_parse("192.0.2.200", &r.client_addr);
    ck_assert_int_eq(ar_policy_decide(p, &r, &v, NULL), AR_REJECT);
    ck_assert_str_eq(v.rule, "default");
    ck_assert_uint_eq(v.ndry, 1);
    ar_ip_parse("198.51.100.1", &r.client_addr);
    ar_policy_decide(p, &r, &v, NULL);
    ck_assert_uint_eq(v.ndry, 0);
    ar_policy_unref(p);
}
END_TEST

static void
ignore_line(void *ctx, const char *text)
{
    (void)ctx, (void)text;
}

/*
 * The exception index only narrows which rules are tried: on random
 * requests against rules with overlapping networks, host names, HELO-only
 * and dry-run rules, the indexed decision equals the one of trying every
 * rule in order (the path a trace takes).
 */
START_TEST(test_index_equivalence)
{
    char dir[256], path[600];
    unsigned seed = 12345;
    ck_assert_ptr_nonnull(test_mkdtemp(dir, sizeof(dir), "ar_index"));
    snprintf(path, sizeof(path), "%s/p.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "version = 1;\nrelay = { local_domains = [ \"example.com\" ]; "
               "};\nexceptions = (\n");
    for (int i = 0; i < 300; i++) {
        int kind = rand_r(&seed) % 5, plen = 16 + rand_r(&seed) % 17;
        unsigned a = (10u << 24) | (unsigned)(rand_r(&seed) % 65536);
        a &= plen == 32 ? ~0u : ~((1u << (32 - plen)) - 1);
        fprintf(f, "  { name = \"r%d\"; %smatch = { ", i,
                rand_r(&seed) % 7 == 0 ? "dry_run = true; " : "");
        if (kind != 1 && kind != 4)
            fprintf(f, "client_networks = [ \"%u.%u.%u.%u/%d\" ]; ", a >> 24,
                    (a >> 16) & 255, (a >> 8) & 255, a & 255, plen);
        if (kind == 1 || kind == 2)
            fprintf(f, "client_hostnames = [ \"%sh%d.test\" ]; ",
                    rand_r(&seed) % 2 ? "." : "", rand_r(&seed) % 20);
        if (kind == 3 || kind == 4)
            fprintf(f, "helo = [ \"helo%d.test\" ]; ", rand_r(&seed) % 10);
        fprintf(f, "}; action = \"%s\"; }%s\n",
                rand_r(&seed) % 2 ? "permit" : "reject", i < 299 ? "," : "");
    }
    fprintf(f, ");\n");
    fclose(f);
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, 0, &d);
    ck_assert_msg(p != NULL, "generated policy does not load");
    struct ar_trace quiet = {ignore_line, NULL};
    int matched = 0;
    for (int i = 0; i < 20000; i++) {
        char addr[32], name[64], helo[32];
        struct ar_request r = {.rcpt = "<x@remote.test>"};
        snprintf(addr, sizeof(addr), "10.0.%d.%d", rand_r(&seed) % 256,
                 rand_r(&seed) % 256);
        snprintf(name, sizeof(name), "%sh%d.test",
                 rand_r(&seed) % 2 ? "x." : "", rand_r(&seed) % 20);
        snprintf(helo, sizeof(helo), "helo%d.test", rand_r(&seed) % 10);
        ar_ip_parse(addr, &r.client_addr);
        r.client_name = name;
        r.client_name_verified = rand_r(&seed) % 4 != 0;
        r.helo = helo;
        struct ar_verdict a, b;
        ar_policy_eval(p, &r, &a);
        ar_policy_eval_trace(p, &r, &b, &quiet);
        ck_assert_msg(a.decision == b.decision && strcmp(a.rule, b.rule) == 0 &&
                          a.ndry == b.ndry,
                      "%s %s: indexed %s rule=%s dry=%zu, linear %s rule=%s "
                      "dry=%zu",
                      addr, name, ar_decision_name(a.decision), a.rule, a.ndry,
                      ar_decision_name(b.decision), b.rule, b.ndry);
        for (size_t k = 0; k < a.ndry; k++)
            ck_assert_str_eq(a.dry[k].rule, b.dry[k].rule);
        matched += strcmp(a.rule, "default") != 0;
    }
    ck_assert_msg(matched > 1000, "only %d requests matched a rule", matched);
    ar_policy_unref(p);
    ar_diags_free(&d);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("decide");
    tcase_add_loop_test(tc, test_forms, 0, sizeof(forms) / sizeof(forms[0]));
    tcase_add_loop_test(tc, test_order, 0, sizeof(order) / sizeof(order[0]));
    tcase_add_loop_test(tc, test_idn, 0, sizeof(idn) / sizeof(idn[0]));
    tcase_add_test(tc, test_reply_text);
    tcase_add_test(tc, test_threads);
    tcase_add_loop_test(tc, test_sender_login, 0,
                        sizeof(logins) / sizeof(logins[0]));
    tcase_add_test(tc, test_sender_login_report);
    tcase_add_test(tc, test_dry_run);
    tcase_add_test(tc, test_index_equivalence);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
