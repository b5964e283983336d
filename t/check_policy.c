/*
 * check_policy.c - the decision of SPEC §4, table-driven: every recipient
 * form of the engine issue, then the decision order, exceptions, expiry
 * and remote_mailers against t/data/order.conf.
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

/* the request of row i of order[] */
static void
order_request(size_t i, struct ar_request *r)
{
    memset(r, 0, sizeof(*r));
    if (order[i].addr) /* test_order checks that it parsed */
        ar_ip_parse(order[i].addr, &r->client_addr);
    r->client_name = order[i].name;
    r->client_name_verified = order[i].name != NULL;
    r->helo = order[i].helo;
    r->auth_authen = order[i].auth;
    r->mail_from = order[i].from;
    r->rcpt = order[i].rcpt;
    r->rcpt_mailer = order[i].mailer;
    r->today = ar_parse_date(order[i].date ? order[i].date : "2026-01-01");
}

START_TEST(test_order)
{
    struct ar_policy *p = load("order.conf");
    struct ar_request r;
    struct ar_verdict v;
    order_request((size_t)_i, &r);
    ck_assert(r.client_addr.valid == (order[_i].addr != NULL));
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
        struct ar_request r;
        struct ar_verdict v;
        order_request(i, &r);
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
