/* check_logline.c - decision lines read back from mail logs, table-driven:
 * every timestamp format, other programs' lines, cut and garbled lines */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "logline.h"

#define D AR_LL_DECISION
#define S AR_LL_SENDER
#define O AR_LL_OTHER
#define Q AR_LL_DAEMON
#define B AR_LL_BAD

#define TAIL                                                                   \
    "rcpt=<u@remote.test> decision=reject rule=default "                       \
    "client=unknown[192.0.2.9] auth=- from=<s@remote.test>"
#define CLASSIC "Dec  4 18:12:58 mx1 authrelay[812]: "

static const struct {
    const char *in;
    enum ar_logline_kind kind;
    /* DECISION and SENDER: the fields; NULL = not logged */
    const char *qid, *rcpt, *word, *rule, *client_name, *client_addr, *auth,
        *from, *helo, *resolve, *mailer;
    enum ar_logline_stamp stamp;
    long long epoch; /* ISO; for CLASSIC mon*1e6 + mday*1e4 + hhmm */
} rows[] = {
    /* the formats */
    {CLASSIC "4QXy: " TAIL, D, "4QXy", "<u@remote.test>", "reject", "default",
     "unknown", "192.0.2.9", "-", "<s@remote.test>", NULL, NULL, NULL,
     AR_LL_CLASSIC, 11041812},
    {"Jan 14 03:04:05 mx1 authrelay: NOQUEUE: " TAIL, D, "NOQUEUE",
     "<u@remote.test>", "reject", "default", "unknown", "192.0.2.9", "-",
     "<s@remote.test>", NULL, NULL, NULL, AR_LL_CLASSIC, 140304},
    {"2026-12-04T18:12:58.123456+01:00 mx1 authrelay[812]: Q1: " TAIL, D, "Q1",
     "<u@remote.test>", "reject", "default", "unknown", "192.0.2.9", "-",
     "<s@remote.test>", NULL, NULL, NULL, AR_LL_ISO, 1796404378},
    {"2026-12-04T18:12:58+0100 mx1 authrelay[812]: Q1: " TAIL, D, "Q1",
     "<u@remote.test>", "reject", "default", "unknown", "192.0.2.9", "-",
     "<s@remote.test>", NULL, NULL, NULL, AR_LL_ISO, 1796404378},
    {"2026-12-04T17:12:58Z mx1 authrelay-milter[9]: Q1: " TAIL, D, "Q1",
     "<u@remote.test>", "reject", "default", "unknown", "192.0.2.9", "-",
     "<s@remote.test>", NULL, NULL, NULL, AR_LL_ISO, 1796404378},
    {"authrelay[812]: Q1: " TAIL, D, "Q1", "<u@remote.test>", "reject",
     "default", "unknown", "192.0.2.9", "-", "<s@remote.test>", NULL, NULL,
     NULL, AR_LL_NO_STAMP, 0},
    /* every decision word, names with brackets, IPv6, the new fields */
    {CLASSIC "Q2: rcpt=<a@b.test> decision=would-permit rule=trial.1 "
             "client=[192.0.2.1][192.0.2.1] auth=alice@example.com from=<>",
     D, "Q2", "<a@b.test>", "would-permit", "trial.1", "[192.0.2.1]",
     "192.0.2.1", "alice@example.com", "<>", NULL, NULL, NULL, AR_LL_CLASSIC,
     11041812},
    {CLASSIC "Q3: rcpt=<a@b.test> decision=would-tempfail rule=x "
             "client=mx.isp.test[2001:db8::1] auth=- from=<> helo=mx.isp.test "
             "resolve=no mailer=esmtp auth_type=PLAIN",
     D, "Q3", "<a@b.test>", "would-tempfail", "x", "mx.isp.test", "2001:db8::1",
     "-", "<>", "mx.isp.test", "no", "esmtp", AR_LL_CLASSIC, 11041812},
    {CLASSIC "Q4: rcpt= decision=tempfail rule=x client=unknown[unknown] "
             "auth=- from=<> helo=",
     D, "Q4", "", "tempfail", "x", "unknown", "unknown", "-", "<>", "", NULL,
     NULL, AR_LL_CLASSIC, 11041812},
    /* the sender-login line */
    {CLASSIC "NOQUEUE: from=<eve@example.net> decision=reject "
             "rule=sender-login client=h.test[192.0.2.5] auth=alice",
     S, "NOQUEUE", NULL, "reject", "sender-login", "h.test", "192.0.2.5",
     "alice", "<eve@example.net>", NULL, NULL, NULL, AR_LL_CLASSIC, 11041812},
    /* other programs, the daemon's other lines */
    {.in =
         "Dec  4 18:12:58 mx1 postfix/smtpd[4711]: NOQUEUE: reject: RCPT from "
         "unknown[192.0.2.9]: 554 5.7.1 <u@remote.test>: Relay access denied; "
         "from=<s@remote.test> to=<u@remote.test> proto=ESMTP helo=<x>",
     .kind = O},
    {.in = "Dec  4 18:12:58 mx1 postfix/cleanup[4800]: 4QXy: message-id=<1@x>",
     .kind = O},
    {.in = "Dec  4 18:12:58 mx1 authrelayd[1]: Q: " TAIL, .kind = O},
    {.in = "Dec  4 18:12:58 mx1 notauthrelay[1]: Q: " TAIL, .kind = O},
    {.in = "-- Boot 0123456789abcdef --", .kind = O},
    {.in = "", .kind = O},
    {.in = "garbage", .kind = O},
    {.in = "Dec 44 18:12:58 mx1 authrelay[1]: Q: " TAIL, .kind = O},
    {.in = "Foo  4 18:12:58 mx1 authrelay[1]: Q: " TAIL, .kind = O},
    {.in = "2026-13-04T18:12:58Z mx1 authrelay[1]: Q: " TAIL, .kind = O},
    {.in = "2026-12-04T18:12:58 mx1 authrelay[1]: Q: " TAIL, .kind = O},
    {.in = "Dec  4 18:12:58 mx1 authrelay[x]: Q: " TAIL, .kind = O},
    {.in = CLASSIC "authrelay-milter 1.0 started: policy /etc/a.conf",
     .kind = Q},
    {.in = CLASSIC "reloaded: 3 rules", .kind = Q},
    {.in = CLASSIC "Q: internal error (no policy): tempfail (on_error)",
     .kind = Q},
    {.in = CLASSIC "Q: smfi_setreply(554 5.7.1) failed", .kind = Q},
    /* decision lines that cannot be read back: skipped */
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- fr",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=-",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=def",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test>", .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=maybe rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<>",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=de/fault "
                   "client=unknown[192.0.2.9] auth=- from=<>",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown auth=- from=<>",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<> helo=a helo=b",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<> resolve=maybe",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<> stray",
     .kind = B},
    /* a space in a field (a daemon that did not escape it) */
    {.in = CLASSIC "Q: rcpt=<\"a b\"@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<>",
     .kind = B},
    /* '?' is an octet the daemon could not log: which one is not known */
    {.in = CLASSIC "Q: rcpt=<b?cher@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<>",
     .kind = B},
    {.in = CLASSIC "Q: rcpt=<u@remote.test> decision=reject rule=default "
                   "client=unknown[192.0.2.9] auth=- from=<a?b@example.com>",
     .kind = B},
};

static const char *
show(const char *s)
{
    return s ? s : "(null)";
}

#define FIELD(f)                                                               \
    ck_assert_msg((rows[_i].f == NULL) == (l.f == NULL) &&                     \
                      (l.f == NULL || strcmp(rows[_i].f, l.f) == 0),           \
                  "row %d: " #f " %s, want %s", _i, show(l.f),                 \
                  show(rows[_i].f))

START_TEST(test_parse)
{
    char buf[1024];
    struct ar_logline l;
    size_t n = strlen(rows[_i].in);
    ck_assert_uint_lt(n, sizeof(buf));
    memcpy(buf, rows[_i].in, n + 1);
    enum ar_logline_kind k = ar_logline_parse(buf, n, &l);
    ck_assert_msg(k == rows[_i].kind, "row %d: kind %d, want %d (%s)", _i,
                  (int)k, (int)rows[_i].kind, show(l.why));
    if (k != D && k != S)
        return;
    FIELD(qid);
    FIELD(rcpt);
    FIELD(word);
    FIELD(rule);
    FIELD(client_name);
    FIELD(client_addr);
    FIELD(auth);
    FIELD(from);
    FIELD(helo);
    FIELD(resolve);
    FIELD(mailer);
    ck_assert_int_eq(l.stamp, rows[_i].stamp);
    if (l.stamp == AR_LL_ISO)
        ck_assert_int_eq(l.epoch, rows[_i].epoch);
    if (l.stamp == AR_LL_CLASSIC)
        ck_assert_int_eq((long long)l.mon * 1000000 + l.mday * 10000 +
                             l.hour * 100 + l.min,
                         rows[_i].epoch);
}
END_TEST

/* a field the daemon cut (256 octets ending in "...") is not replayed */
START_TEST(test_cut)
{
    char rcpt[AR_LOGLINE_FIELD_MAX + 1], line[1024];
    struct ar_logline l;
    for (int cut = 0; cut < 2; cut++) {
        memset(rcpt, 'a', sizeof(rcpt) - 1);
        rcpt[0] = '<';
        memcpy(rcpt + 10, "@remote.test", 12);
        rcpt[sizeof(rcpt) - 1] = '\0';
        memcpy(rcpt + sizeof(rcpt) - 4, cut ? "..." : "aa>", 3);
        int n = snprintf(line, sizeof(line),
                         CLASSIC "Q: rcpt=%s decision=reject rule=default "
                                 "client=unknown[192.0.2.9] auth=- from=<>",
                         rcpt);
        ck_assert_int_eq(ar_logline_parse(line, (size_t)n, &l), cut ? B : D);
    }
}
END_TEST

/* the request: verification from resolve=, else as `query` has it */
START_TEST(test_request)
{
    static const struct {
        const char *client, *extra;
        bool verified, valid;
    } t[] = {
        {"mx.isp.test[192.0.2.1]", "", true, true},
        {"unknown[192.0.2.1]", "", false, true},
        {"[192.0.2.1][192.0.2.1]", "", false, true},
        {"mx.isp.test[192.0.2.1]", " resolve=no", false, true},
        {"mx.isp.test[192.0.2.1]", " resolve=ok", true, true},
        {"mx.isp.test[unknown]", "", true, true},
        {"mx.isp.test[192.0.2.300]", "", true, false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char line[512];
        struct ar_logline l;
        struct ar_request r;
        int n = snprintf(line, sizeof(line),
                         CLASSIC "Q: rcpt=<u@x.test> decision=reject "
                                 "rule=default client=%s auth=al from=<>%s",
                         t[i].client, t[i].extra);
        ck_assert_int_eq(ar_logline_parse(line, (size_t)n, &l), D);
        int rc = ar_logline_request(&l, 20000, &r);
        if (strstr(t[i].client, "[unknown]")) {
            ck_assert_int_eq(rc, 0);
            ck_assert(!r.client_addr.valid);
            continue;
        }
        ck_assert_int_eq(rc, t[i].valid ? 0 : -1);
        if (!t[i].valid)
            continue;
        ck_assert(r.client_addr.valid);
        ck_assert_msg(r.client_name_verified == t[i].verified, "case %zu", i);
        ck_assert_str_eq(r.auth_authen, "al");
        ck_assert_int_eq(r.today, 20000);
    }
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("logline");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_parse, 0, sizeof(rows) / sizeof(rows[0]));
    tcase_add_test(tc, test_cut);
    tcase_add_test(tc, test_request);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
