/*
 * check_policy.c - the decision of SPEC §4, table-driven: every recipient
 * form of the engine issue, then the decision order, exceptions, expiry
 * and remote_mailers against t/data/order.conf.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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

static const struct {
    const char *label;
    const char *addr, *name, *helo, *auth, *from, *rcpt, *mailer, *date;
    enum ar_decision want;
    const char *rule;
    const char *code; /* NULL when accepted */
} order[] = {
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

START_TEST(test_order)
{
    struct ar_policy *p = load("order.conf");
    struct ar_request r = {0};
    struct ar_verdict v;
    if (order[_i].addr)
        ck_assert_int_eq(ar_ip_parse(order[_i].addr, &r.client_addr), 0);
    r.client_name = order[_i].name;
    r.client_name_verified = order[_i].name != NULL;
    r.helo = order[_i].helo;
    r.auth_authen = order[_i].auth;
    r.mail_from = order[_i].from;
    r.rcpt = order[_i].rcpt;
    r.rcpt_mailer = order[_i].mailer;
    r.today = ar_parse_date(order[_i].date ? order[_i].date : "2026-01-01");
    ar_policy_eval(p, &r, &v);
    ck_assert_msg(v.decision == order[_i].want &&
                      strcmp(v.rule, order[_i].rule) == 0,
                  "%s: got %s rule=%s, want %s rule=%s", order[_i].label,
                  ar_decision_name(v.decision), v.rule,
                  ar_decision_name(order[_i].want), order[_i].rule);
    if (order[_i].code) {
        ck_assert_msg(v.reply && strcmp(v.reply->code, order[_i].code) == 0,
                      "%s: got code %s, want %s", order[_i].label,
                      v.reply ? v.reply->code : "none", order[_i].code);
    } else {
        ck_assert_ptr_null(v.reply);
    }
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
        struct ar_request r = {0};
        struct ar_verdict v;
        if (order[i].addr)
            ar_ip_parse(order[i].addr, &r.client_addr);
        r.client_name = order[i].name;
        r.client_name_verified = order[i].name != NULL;
        r.helo = order[i].helo;
        r.auth_authen = order[i].auth;
        r.mail_from = order[i].from;
        r.rcpt = order[i].rcpt;
        r.rcpt_mailer = order[i].mailer;
        r.today = ar_parse_date(order[i].date ? order[i].date : "2026-01-01");
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

static Suite *
suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("decide");
    tcase_add_loop_test(tc, test_forms, 0, sizeof(forms) / sizeof(forms[0]));
    tcase_add_loop_test(tc, test_order, 0, sizeof(order) / sizeof(order[0]));
    tcase_add_test(tc, test_reply_text);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
