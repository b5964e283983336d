/*
 * check_callbacks.c - milter/callbacks.c row by row, without a daemon or
 * a socket: the callbacks (ar_filter) are called as libmilter would,
 * over the fake SMFICTX of fake_smfi.c, with the macros an MTA sends at
 * each stage. A row is one connection: connect, HELO, MAIL, RCPT, and
 * what each returns, the reply set and every log line, exactly.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"
#include "diag.h"
#include "fake_smfi.h"
#include "policies.h"
#include "policy.h"

/* ---- the policies -------------------------------------------------------- */

enum pol {
    P_NONE,       /* none loaded */
    P_ENFORCE,    /* policies.h's policy_fmt */
    P_REPORT,     /* the same in report mode */
    P_MAILERS,    /* the same with remote_mailers */
    P_SL_OFF,     /* sl_policy: a dry-run exception, sender_login off */
    P_SL_ENFORCE, /* sl_policy, sender_login enforced */
    P_SL_REPORT,  /* sl_policy, sender_login reported */
    P_ONERR_ACCEPT,
    P_ONERR_REJECT,
};

static struct ar_policy *
load(enum pol which)
{
    char text[4096];
    static const char onerr[] =
        "version = 1;\nmilter = { on_error = \"%s\"; };\n"
        "relay = { local_domains = [ \"example.com\" ]; };\n";
    switch (which) {
    case P_NONE:
        return NULL;
    case P_ENFORCE:
    case P_REPORT:
        snprintf(text, sizeof(text), policy_fmt,
                 which == P_REPORT ? "report" : "enforce", "");
        break;
    case P_MAILERS:
        snprintf(text, sizeof(text), policy_fmt, "enforce",
                 " ];\n  remote_mailers = [ \"smtp\", \"RELAY\"");
        break;
    case P_SL_OFF:
    case P_SL_ENFORCE:
    case P_SL_REPORT:
        snprintf(text, sizeof(text), sl_policy, "/nonexistent",
                 which == P_SL_OFF       ? "off"
                 : which == P_SL_ENFORCE ? "enforce"
                                         : "report");
        break;
    case P_ONERR_ACCEPT:
    case P_ONERR_REJECT:
        snprintf(text, sizeof(text), onerr,
                 which == P_ONERR_ACCEPT ? "accept" : "reject");
        break;
    }
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p =
        ar_policy_load_string("test.conf", text, strlen(text), "/", 0, &d);
    ck_assert_msg(p != NULL, "policy %d does not load", (int)which);
    ar_diags_free(&d);
    return p;
}

/* ---- one connection ------------------------------------------------------ */

enum fault {
    F_NONE,
    F_NO_PRIV,     /* smfi_setpriv() fails: no connection state */
    F_NO_MAIL,     /* RCPT without MAIL */
    F_SETREPLY,    /* smfi_setreply() fails */
    F_POLICY_GONE, /* the policy of the negotiation gone by MAIL */
};

#define NO_ANSWER (-1) /* a stage not reached */

struct row {
    const char *what;
    enum pol policy, at_mail; /* at_mail: P_NONE: the same */
    enum fault fault;
    const char *name, *addr;     /* connect */
    const char *const *c_macros; /* NULL: none */
    const char *helo;
    const char *from;
    const char *const *m_macros;
    const char *to; /* NULL: no RCPT */
    const char *const *r_macros;
    int mail, rcpt;    /* the SMFIS_* each returns */
    const char *reply; /* the last reply set, NULL: none */
    const char *log;   /* every line, each ending in \n */
};

static void
connect_from(SMFICTX *ctx, const struct row *w, int want)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, w->addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else {
        ck_assert_int_eq(inet_pton(AF_INET6, w->addr, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
    }
    fake_macros(ctx, FAKE_CONNECT, w->c_macros);
    ck_assert_int_eq(
        ar_filter.xxfi_connect(ctx, (char *)w->name, (struct sockaddr *)&ss),
        want);
}

/* as a daemon just started: nothing warned about yet (with CK_FORK=no
 * the rows share one process) */
static void
fresh_daemon(void)
{
    atomic_store(&ar_d.warned_mail_macros, false);
    atomic_store(&ar_d.warned_resolve, false);
}

static void
run(const struct row *w)
{
    SMFICTX ctx;
    unsigned long f[4];
    fake_ctx_init(&ctx);
    fake_log_reset();
    fresh_daemon();
    ctx.fail_setpriv = w->fault == F_NO_PRIV;
    ctx.fail_setreply = w->fault == F_SETREPLY;
    ar_snapshot_init(&ar_d.snap, load(w->policy));
    /* a connection without state answers every step itself */
    int noreply = w->fault == F_NO_PRIV ? SMFIS_CONTINUE : SMFIS_NOREPLY;
    ck_assert_int_eq(ar_filter.xxfi_negotiate(&ctx, 0x1ff, 0x1fffff, 0, 0,
                                              &f[0], &f[1], &f[2], &f[3]),
                     w->fault == F_NO_PRIV ? SMFIS_ALL_OPTS : SMFIS_CONTINUE);
    connect_from(&ctx, w, noreply);
    fake_macros(&ctx, FAKE_HELO, NULL);
    ck_assert_int_eq(ar_filter.xxfi_helo(&ctx, (char *)w->helo), noreply);
    if (w->at_mail != P_NONE)
        ar_snapshot_swap(&ar_d.snap, load(w->at_mail));
    if (w->fault == F_POLICY_GONE)
        ar_snapshot_swap(&ar_d.snap, NULL);
    if (w->fault != F_NO_MAIL) {
        char *argv[] = {(char *)w->from, NULL};
        fake_macros(&ctx, FAKE_MAIL, w->m_macros);
        ck_assert_int_eq(ar_filter.xxfi_envfrom(&ctx, argv), w->mail);
    }
    if (w->to) {
        char *argv[] = {(char *)w->to, NULL};
        fake_macros(&ctx, FAKE_RCPT, w->r_macros);
        ck_assert_int_eq(ar_filter.xxfi_envrcpt(&ctx, argv), w->rcpt);
    }
    if (w->reply)
        ck_assert_str_eq(ctx.reply, w->reply);
    else
        ck_assert_int_eq(ctx.replies, 0);
    ck_assert_str_eq(fake_log(), w->log);
    ck_assert_int_eq(ar_filter.xxfi_close(&ctx), SMFIS_CONTINUE);
    ck_assert_ptr_null(ctx.priv);
    ar_snapshot_destroy(&ar_d.snap);
}

/* ---- the rows ------------------------------------------------------------ */

/* macros as Sendmail sends them, and as Postfix does */
static const char *const c_ok[] = {"j", "mta.test", "{client_resolve}", "OK",
                                   NULL};
static const char *const c_forged[] = {"j", "mta.test", "{client_resolve}",
                                       "FORGED", NULL};
static const char *const c_postfix[] = {"j", "mta.test", "v", "Postfix 3.7.11",
                                        NULL};
static const char *const m_plain[] = {"{mail_addr}", "x", NULL};
static const char *const m_alice[] = {
    "{auth_type}", "PLAIN", "{auth_authen}", "alice@example.com", "{mail_addr}",
    "x",           NULL};
static const char *const m_empty_auth[] = {"{auth_type}", "PLAIN",
                                           "{auth_authen}", "", NULL};
static const char *const m_qid[] = {"i", "4ABCD1234", "{mail_addr}", "a", NULL};
static const char *const r_esmtp[] = {"{rcpt_mailer}", "esmtp", NULL};
static const char *const r_smtp[] = {"{rcpt_mailer}", "smtp", NULL};
static const char *const r_relay[] = {"{rcpt_mailer}", "relay", NULL};
static const char *const r_carol[] = {"i", "QC3", "{auth_authen}", "carol",
                                      NULL};
static const char *const r_qid[] = {"i", "QE5", NULL};

#define ISP_TEXT "550 5.7.1 ISP customers: use smtp.isp.test (100%% of them)"
#define TEMPFAIL_TEXT                                                          \
    "451 4.3.0 Relay check temporarily unavailable, try again later"
#define SL_TEXT                                                                \
    "553 5.7.1 Sender address rejected: not owned by user alice@example.com"
#define STRANGER "host.stranger.test", "192.0.2.99", c_ok, "h"
#define AS_STRANGER " client=host.stranger.test[192.0.2.99] auth=-"
/* the decision line of the stranger's unauthenticated MAIL, its HELO,
 * verified name and (LINE_T: another or no) {rcpt_mailer} at the end */
#define LINE_T(qid, to, decision, rule, from, tail)                            \
    qid ": rcpt=" to " decision=" decision " rule=" rule AS_STRANGER           \
        " from=" from " helo=h resolve=ok" tail "\n"
#define LINE(qid, to, decision, rule, from)                                    \
    LINE_T(qid, to, decision, rule, from, " mailer=esmtp")
#define A_R "<a@remote.test>", m_plain /* MAIL from a@remote.test */
#define B_R "<b@remote.test>", r_esmtp /* RCPT to b@remote.test */
#define NR SMFIS_NOREPLY
#define CONT SMFIS_CONTINUE
#define REJ SMFIS_REJECT
#define TEMP SMFIS_TEMPFAIL

static const struct row rows[] = {
    /* local and relayed recipients */
    {"local", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R, "<user@example.com>",
     r_esmtp, NR, CONT, NULL,
     LINE("NOQUEUE", "<user@example.com>", "accept", "local",
          "<a@remote.test>")},
    {"local subdomain", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R,
     "<user@sub.example.com>", r_esmtp, NR, CONT, NULL,
     LINE("NOQUEUE", "<user@sub.example.com>", "accept", "local",
          "<a@remote.test>")},
    {"postmaster", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R, "<postmaster>",
     r_esmtp, NR, CONT, NULL,
     LINE("NOQUEUE", "<postmaster>", "accept", "local", "<a@remote.test>")},
    {"relay rejected", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R, B_R, NR, REJ,
     RELAY_TEXT,
     LINE("NOQUEUE", "<b@remote.test>", "reject", "default",
          "<a@remote.test>")},
    {"percent hack", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R,
     "<user%remote.test@example.com>", r_esmtp, NR, REJ, RELAY_TEXT,
     LINE("NOQUEUE", "<user%remote.test@example.com>", "reject", "default",
          "<a@remote.test>")},
    {"source route", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R,
     "<@example.com:user@remote.test>", r_esmtp, NR, REJ, RELAY_TEXT,
     LINE("NOQUEUE", "<@example.com:user@remote.test>", "reject", "default",
          "<a@remote.test>")},
    {"queue id at MAIL", P_ENFORCE, P_NONE, F_NONE, STRANGER, "<a@remote.test>",
     m_qid, B_R, NR, REJ, RELAY_TEXT,
     LINE("4ABCD1234", "<b@remote.test>", "reject", "default",
          "<a@remote.test>")},
    {"queue id at RCPT", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R,
     "<b@remote.test>", r_qid, NR, REJ, RELAY_TEXT,
     LINE_T("QE5", "<b@remote.test>", "reject", "default", "<a@remote.test>",
            "")},
    /* logins */
    {"authenticated", P_ENFORCE, P_NONE, F_NONE, STRANGER,
     "<alice@example.com>", m_alice, "<user@remote.test>", NULL, NR, CONT, NULL,
     "NOQUEUE: rcpt=<user@remote.test> decision=accept rule=authenticated "
     "client=host.stranger.test[192.0.2.99] auth=alice@example.com "
     "from=<alice@example.com> helo=h resolve=ok\n"},
    {"empty login", P_ENFORCE, P_NONE, F_NONE, STRANGER, "<a@remote.test>",
     m_empty_auth, B_R, NR, REJ, RELAY_TEXT,
     LINE("NOQUEUE", "<b@remote.test>", "reject", "default",
          "<a@remote.test>")},
    {"login at RCPT only", P_ENFORCE, P_NONE, F_NONE, STRANGER, A_R,
     "<d1@remote.test>", r_carol, NR, CONT, NULL,
     "QC3: rcpt=<d1@remote.test> decision=accept rule=authenticated "
     "client=host.stranger.test[192.0.2.99] auth=carol "
     "from=<a@remote.test> helo=h resolve=ok\n"},
    /* trusted networks */
    {"trusted IPv4", P_ENFORCE, P_NONE, F_NONE, "mx.inside.test", "10.1.2.3",
     c_ok, "mx", A_R, B_R, NR, CONT, NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=accept rule=trusted-network "
     "client=mx.inside.test[10.1.2.3] auth=- from=<a@remote.test> helo=mx "
     "resolve=ok mailer=esmtp\n"},
    {"trusted IPv6", P_ENFORCE, P_NONE, F_NONE, "mx6.inside.test",
     "2001:db8:10::7", c_ok, "mx6", A_R, B_R, NR, CONT, NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=accept rule=trusted-network "
     "client=mx6.inside.test[2001:db8:10::7] auth=- from=<a@remote.test> "
     "helo=mx6 resolve=ok mailer=esmtp\n"},
    {"trusted, IPv4-mapped", P_ENFORCE, P_NONE, F_NONE, "mapped.inside.test",
     "::ffff:10.9.9.9", c_ok, "m", A_R, B_R, NR, CONT, NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=accept rule=trusted-network "
     "client=mapped.inside.test[10.9.9.9] auth=- from=<a@remote.test> helo=m "
     "resolve=ok mailer=esmtp\n"},
    {"IPv6 stranger", P_ENFORCE, P_NONE, F_NONE, "v6.test", "2001:db8:99::1",
     c_ok, "v6", A_R, B_R, NR, REJ, RELAY_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=v6.test[2001:db8:99::1] auth=- from=<a@remote.test> helo=v6 "
     "resolve=ok mailer=esmtp\n"},
    /* each kind of exception */
    {"hostname, verified", P_ENFORCE, P_NONE, F_NONE, "dial-7.isp.test",
     "192.0.2.7", c_ok, "dial-7", A_R, B_R, NR, REJ, ISP_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=isp "
     "client=dial-7.isp.test[192.0.2.7] auth=- from=<a@remote.test> "
     "helo=dial-7 resolve=ok mailer=esmtp\n"},
    {"hostname, forged", P_ENFORCE, P_NONE, F_NONE, "dial-7.isp.test",
     "192.0.2.7", c_forged, "dial-7", A_R, B_R, NR, REJ, RELAY_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=dial-7.isp.test[192.0.2.7] auth=- from=<a@remote.test> "
     "helo=dial-7 resolve=no mailer=esmtp\n"},
    {"hostname from Postfix", P_ENFORCE, P_NONE, F_NONE, "dial-7.isp.test",
     "192.0.2.7", c_postfix, "dial-7", A_R, B_R, NR, REJ, ISP_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=isp "
     "client=dial-7.isp.test[192.0.2.7] auth=- from=<a@remote.test> "
     "helo=dial-7 resolve=ok mailer=esmtp\n"},
    {"no hostname from Postfix", P_ENFORCE, P_NONE, F_NONE, "unknown",
     "192.0.2.7", c_postfix, "dial", A_R, B_R, NR, REJ, RELAY_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=unknown[192.0.2.7] auth=- from=<a@remote.test> helo=dial "
     "resolve=no mailer=esmtp\n"},
    {"network and helo", P_ENFORCE, P_NONE, F_NONE, "b.test", "192.0.2.50",
     c_ok, "busy.test", A_R, B_R, NR, TEMP, "451 4.7.1 Try later",
     "NOQUEUE: rcpt=<b@remote.test> decision=tempfail rule=busy "
     "client=b.test[192.0.2.50] auth=- from=<a@remote.test> helo=busy.test "
     "resolve=ok mailer=esmtp\n"},
    {"network, another helo", P_ENFORCE, P_NONE, F_NONE, "b.test", "192.0.2.50",
     c_ok, "idle.test", A_R, B_R, NR, REJ, RELAY_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=b.test[192.0.2.50] auth=- from=<a@remote.test> helo=idle.test "
     "resolve=ok mailer=esmtp\n"},
    {"network and local sender", P_ENFORCE, P_NONE, F_NONE, "r.test",
     "198.51.100.9", c_ok, "r", "<bob@example.com>", m_plain, B_R, NR, CONT,
     NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=accept rule=relays "
     "client=r.test[198.51.100.9] auth=- from=<bob@example.com> helo=r "
     "resolve=ok mailer=esmtp\n"},
    {"network, sender not local", P_ENFORCE, P_NONE, F_NONE, "r.test",
     "198.51.100.9", c_ok, "r", "<bob@elsewhere.test>", m_plain, B_R, NR, REJ,
     RELAY_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=r.test[198.51.100.9] auth=- from=<bob@elsewhere.test> helo=r "
     "resolve=ok mailer=esmtp\n"},
    {"network and local sender, IPv6", P_ENFORCE, P_NONE, F_NONE, "r6.test",
     "2001:db8:a01::9", c_ok, "r6", "<bob@x.example.com>", m_plain, B_R, NR,
     CONT, NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=accept rule=relays "
     "client=r6.test[2001:db8:a01::9] auth=- from=<bob@x.example.com> helo=r6 "
     "resolve=ok mailer=esmtp\n"},
    {"network and sender domain", P_ENFORCE, P_NONE, F_NONE, "exch.acme.test",
     "203.0.113.25", c_ok, "exch", "<ceo@acme.test>", m_plain, B_R, NR, CONT,
     NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=accept rule=exchange "
     "client=exch.acme.test[203.0.113.25] auth=- from=<ceo@acme.test> "
     "helo=exch resolve=ok mailer=esmtp\n"},
    {"network, another sender domain", P_ENFORCE, P_NONE, F_NONE,
     "exch.acme.test", "203.0.113.25", c_ok, "exch", "<ceo@other.test>",
     m_plain, B_R, NR, REJ, RELAY_TEXT,
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=exch.acme.test[203.0.113.25] auth=- from=<ceo@other.test> "
     "helo=exch resolve=ok mailer=esmtp\n"},
    /* relay.remote_mailers */
    {"remote mailer", P_MAILERS, P_NONE, F_NONE, STRANGER, A_R,
     "<user@example.com>", r_smtp, NR, REJ, RELAY_TEXT,
     LINE_T("NOQUEUE", "<user@example.com>", "reject", "default",
            "<a@remote.test>", " mailer=smtp")},
    {"remote mailer, other case", P_MAILERS, P_NONE, F_NONE, STRANGER, A_R,
     "<user@example.com>", r_relay, NR, REJ, RELAY_TEXT,
     LINE_T("NOQUEUE", "<user@example.com>", "reject", "default",
            "<a@remote.test>", " mailer=relay")},
    {"local mailer", P_MAILERS, P_NONE, F_NONE, STRANGER, A_R,
     "<user@example.com>", r_esmtp, NR, CONT, NULL,
     LINE("NOQUEUE", "<user@example.com>", "accept", "local",
          "<a@remote.test>")},
    /* report mode and dry runs */
    {"report mode, relay", P_REPORT, P_NONE, F_NONE, STRANGER, A_R, B_R, NR,
     CONT, NULL,
     LINE("NOQUEUE", "<b@remote.test>", "would-reject", "default",
          "<a@remote.test>")},
    {"report mode, local", P_REPORT, P_NONE, F_NONE, STRANGER, A_R,
     "<user@example.com>", r_esmtp, NR, CONT, NULL,
     LINE("NOQUEUE", "<user@example.com>", "accept", "local",
          "<a@remote.test>")},
    {"report mode, tempfail", P_REPORT, P_NONE, F_NONE, "b.test", "192.0.2.50",
     c_ok, "busy.test", A_R, B_R, NR, CONT, NULL,
     "NOQUEUE: rcpt=<b@remote.test> decision=would-tempfail rule=busy "
     "client=b.test[192.0.2.50] auth=- from=<a@remote.test> helo=busy.test "
     "resolve=ok mailer=esmtp\n"},
    {"dry run over a reject", P_SL_OFF, P_NONE, F_NONE, "x.test", "192.0.2.7",
     c_ok, "x", A_R, B_R, NR, REJ, "554 5.7.1 Relay access denied",
     "NOQUEUE: rcpt=<b@remote.test> decision=would-permit rule=staged "
     "client=x.test[192.0.2.7] auth=- from=<a@remote.test> helo=x resolve=ok "
     "mailer=esmtp\n"
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=isp "
     "client=x.test[192.0.2.7] auth=- from=<a@remote.test> helo=x resolve=ok "
     "mailer=esmtp\n"},
    {"dry run over the default", P_SL_OFF, P_NONE, F_NONE, "y.test",
     "192.0.2.200", c_ok, "y", A_R, B_R, NR, REJ,
     "554 5.7.1 Relay access denied",
     "NOQUEUE: rcpt=<b@remote.test> decision=would-permit rule=staged "
     "client=y.test[192.0.2.200] auth=- from=<a@remote.test> helo=y resolve=ok "
     "mailer=esmtp\n"
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=y.test[192.0.2.200] auth=- from=<a@remote.test> helo=y resolve=ok "
     "mailer=esmtp\n"},
    /* sender_login */
    {"sender-login refused", P_SL_ENFORCE, P_NONE, F_NONE, STRANGER,
     "<bob@example.com>", m_alice, NULL, NULL, REJ, NO_ANSWER, SL_TEXT,
     "NOQUEUE: from=<bob@example.com> decision=reject rule=sender-login "
     "client=host.stranger.test[192.0.2.99] auth=alice@example.com\n"},
    {"sender-login, own address", P_SL_ENFORCE, P_NONE, F_NONE, STRANGER,
     "<alice@example.com>", m_alice, "<x@remote.test>", r_esmtp, CONT, CONT,
     NULL,
     "NOQUEUE: rcpt=<x@remote.test> decision=accept rule=authenticated "
     "client=host.stranger.test[192.0.2.99] auth=alice@example.com "
     "from=<alice@example.com> helo=h resolve=ok mailer=esmtp\n"},
    {"sender-login, mapped domain", P_SL_ENFORCE, P_NONE, F_NONE, STRANGER,
     "<anyone@example.org>", m_alice, NULL, NULL, CONT, NO_ANSWER, NULL, ""},
    {"sender-login reported", P_SL_REPORT, P_NONE, F_NONE, STRANGER,
     "<bob@example.com>", m_alice, "<x@remote.test>", r_esmtp, CONT, CONT, NULL,
     "NOQUEUE: from=<bob@example.com> decision=would-reject "
     "rule=sender-login client=host.stranger.test[192.0.2.99] "
     "auth=alice@example.com\n"
     "NOQUEUE: rcpt=<x@remote.test> decision=accept rule=authenticated "
     "client=host.stranger.test[192.0.2.99] auth=alice@example.com "
     "from=<bob@example.com> helo=h resolve=ok mailer=esmtp\n"},
    {"sender-login refused at RCPT (MAIL unanswered)", P_ENFORCE, P_SL_ENFORCE,
     F_NONE, STRANGER, "<bob@example.com>", m_alice, B_R, NR, REJ, SL_TEXT,
     "NOQUEUE: from=<bob@example.com> decision=reject rule=sender-login "
     "client=host.stranger.test[192.0.2.99] auth=alice@example.com\n"},
    /* missing macros: warned (once a run: each row is a process) */
    {"no macros", P_ENFORCE, P_NONE, F_NONE, "host.test", "192.0.2.99", NULL,
     "h", "<a@remote.test>", NULL, "<b@remote.test>", NULL, NR, REJ, RELAY_TEXT,
     "the MTA sent no {client_resolve} macro at connect (MTA version "
     "unknown): client_hostnames rules will not match. Sendmail: add "
     "{client_resolve} to confMILTER_MACROS_CONNECT\n"
     "the MTA sent none of the MAIL FROM macros authrelay asks for (i "
     "{auth_type} {auth_authen} {mail_addr}): authenticated clients will "
     "look unauthenticated. Postfix: milter_protocol = 6 and "
     "milter_mail_macros = i {auth_type} {auth_authen} {mail_addr} (or "
     "milter_macro_defaults); Sendmail: confMILTER_MACROS_ENVFROM must "
     "include {auth_authen}\n"
     "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
     "client=host.test[192.0.2.99] auth=- from=<a@remote.test> helo=h "
     "resolve=no\n"},
    /* internal errors: milter.on_error */
    {"no connection state: tempfail", P_ENFORCE, P_NONE, F_NO_PRIV, STRANGER,
     A_R, B_R, TEMP, TEMP, TEMPFAIL_TEXT,
     "NOQUEUE: internal error (no connection state): tempfail (on_error)\n"
     "NOQUEUE: internal error (RCPT outside a transaction): tempfail "
     "(on_error)\n"},
    {"no connection state: accept", P_ONERR_ACCEPT, P_NONE, F_NO_PRIV, STRANGER,
     A_R, B_R, CONT, CONT, NULL,
     "NOQUEUE: internal error (no connection state): accepting (on_error)\n"
     "NOQUEUE: internal error (RCPT outside a transaction): accepting "
     "(on_error)\n"},
    {"no connection state: reject", P_ONERR_REJECT, P_NONE, F_NO_PRIV, STRANGER,
     A_R, B_R, REJ, REJ, "554 5.3.0 Relay check failed",
     "NOQUEUE: internal error (no connection state): rejecting (on_error)\n"
     "NOQUEUE: internal error (RCPT outside a transaction): rejecting "
     "(on_error)\n"},
    {"no policy", P_NONE, P_NONE, F_NONE, STRANGER, A_R, B_R, TEMP, TEMP,
     TEMPFAIL_TEXT,
     "NOQUEUE: internal error (no policy loaded): tempfail (on_error)\n"
     "NOQUEUE: internal error (RCPT outside a transaction): tempfail "
     "(on_error)\n"},
    {"policy gone by MAIL", P_ENFORCE, P_NONE, F_POLICY_GONE, STRANGER, A_R,
     B_R, NR, TEMP, TEMPFAIL_TEXT,
     "NOQUEUE: internal error (no policy loaded): tempfail (on_error)\n"},
    {"RCPT without MAIL", P_ONERR_REJECT, P_NONE, F_NO_MAIL, STRANGER, A_R, B_R,
     NO_ANSWER, REJ, "554 5.3.0 Relay check failed",
     "NOQUEUE: internal error (RCPT outside a transaction): rejecting "
     "(on_error)\n"},
    {"smfi_setreply fails", P_ENFORCE, P_NONE, F_SETREPLY, STRANGER, A_R, B_R,
     NR, REJ, NULL,
     LINE("NOQUEUE", "<b@remote.test>", "reject", "default",
          "<a@remote.test>") "NOQUEUE: smfi_setreply(554 5.7.1) failed\n"},
};

START_TEST(test_row)
{
    run(&rows[_i]);
}
END_TEST

/* ---- more than one connection or transaction ----------------------------- */

/* a connection from the stranger, negotiated, under policy */
static void
open_conn(SMFICTX *ctx, enum pol policy)
{
    static const struct row stranger = {
        .name = "host.stranger.test", .addr = "192.0.2.99", .c_macros = c_ok};
    unsigned long f[4];
    fake_ctx_init(ctx);
    fake_log_reset();
    ar_snapshot_init(&ar_d.snap, load(policy));
    ck_assert_int_eq(ar_filter.xxfi_negotiate(ctx, 0x1ff, 0x1fffff, 0, 0, &f[0],
                                              &f[1], &f[2], &f[3]),
                     SMFIS_CONTINUE);
    connect_from(ctx, &stranger, SMFIS_NOREPLY);
}

static void
close_conn(SMFICTX *ctx)
{
    ar_filter.xxfi_close(ctx);
    ar_snapshot_destroy(&ar_d.snap);
}

static int
step(SMFICTX *ctx, enum fake_stage stage, const char *arg,
     const char *const *macros)
{
    char *argv[] = {(char *)arg, NULL};
    fake_macros(ctx, stage, macros);
    return stage == FAKE_MAIL ? ar_filter.xxfi_envfrom(ctx, argv)
                              : ar_filter.xxfi_envrcpt(ctx, argv);
}

/* what is agreed with an MTA that offers everything, and the macros
 * asked for */
START_TEST(test_negotiation)
{
    static const enum pol pols[] = {P_ENFORCE, P_SL_ENFORCE};
    for (size_t i = 0; i < 2; i++) {
        SMFICTX ctx;
        unsigned long f[4];
        fake_ctx_init(&ctx);
        ar_snapshot_init(&ar_d.snap, load(pols[i]));
        ck_assert_int_eq(ar_filter.xxfi_negotiate(&ctx, 0x1ff, 0x1fffff, 0, 0,
                                                  &f[0], &f[1], &f[2], &f[3]),
                         SMFIS_CONTINUE);
        /* only SMFIF_SETSYMLIST; no headers, body, EOH, DATA, unknown;
         * no reply to connect and HELO */
        ck_assert_uint_eq(f[0], SMFIF_SETSYMLIST);
        ck_assert_uint_eq(f[1] & 0x370, 0x370);
        ck_assert_uint_eq(f[1] & 0x3000, 0x3000);
        ck_assert_uint_eq(f[2] | f[3], 0);
        if (pols[i] == P_ENFORCE) { /* helo rules, no sender_login */
            ck_assert_uint_eq(f[1] & 0xc000, SMFIP_NR_MAIL);
            ck_assert_uint_eq(f[1] & SMFIP_NOHELO, 0);
        } else {
            ck_assert_uint_eq(f[1] & 0xc000, 0);
            ck_assert_uint_eq(f[1] & SMFIP_NOHELO, SMFIP_NOHELO);
        }
        ck_assert_str_eq(ctx.symlist[SMFIM_CONNECT],
                         "{client_addr} {client_name} {client_resolve} v j");
        ck_assert_str_eq(ctx.symlist[SMFIM_ENVFROM],
                         "i {auth_type} {auth_authen} {mail_addr}");
        ck_assert_str_eq(ctx.symlist[SMFIM_ENVRCPT],
                         "i {rcpt_mailer} {auth_authen} {auth_type}");
        close_conn(&ctx);
    }
}
END_TEST

/* As Postfix: no queue id before the first recipient it accepts; once
 * known, kept for the transaction's other recipients */
START_TEST(test_queue_id_noqueue_then_known)
{
    SMFICTX ctx;
    open_conn(&ctx, P_ENFORCE);
    ck_assert_int_eq(step(&ctx, FAKE_MAIL, "<a@remote.test>", m_plain),
                     SMFIS_NOREPLY);
    ck_assert_int_eq(step(&ctx, FAKE_RCPT, "<f1@example.com>", r_esmtp),
                     SMFIS_CONTINUE);
    ck_assert_int_eq(step(&ctx, FAKE_RCPT, "<f2@remote.test>", r_qid),
                     SMFIS_REJECT);
    ck_assert_int_eq(step(&ctx, FAKE_RCPT, "<f3@remote.test>", r_esmtp),
                     SMFIS_REJECT);
    /* no HELO on this connection: no helo= field; no {rcpt_mailer}
     * with f2: no mailer= */
    ck_assert_str_eq(
        fake_log(),
        "NOQUEUE: rcpt=<f1@example.com> decision=accept rule=local" AS_STRANGER
        " from=<a@remote.test> resolve=ok mailer=esmtp\n"
        "QE5: rcpt=<f2@remote.test> decision=reject rule=default" AS_STRANGER
        " from=<a@remote.test> resolve=ok\n"
        "QE5: rcpt=<f3@remote.test> decision=reject rule=default" AS_STRANGER
        " from=<a@remote.test> resolve=ok mailer=esmtp\n");
    close_conn(&ctx);
}
END_TEST

/* What one transaction learnt ends with it: a login kept past an abort
 * or a new MAIL would open the relay. */
START_TEST(test_transaction_ends)
{
    SMFICTX ctx;
    open_conn(&ctx, P_ENFORCE);
    ck_assert_int_eq(step(&ctx, FAKE_MAIL, "<alice@example.com>", m_alice),
                     SMFIS_NOREPLY);
    ck_assert_int_eq(step(&ctx, FAKE_RCPT, "<b@remote.test>", NULL),
                     SMFIS_CONTINUE);
    ck_assert_int_eq(ar_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
    ck_assert_int_eq(step(&ctx, FAKE_MAIL, "<a@remote.test>", m_plain),
                     SMFIS_NOREPLY);
    ck_assert_int_eq(step(&ctx, FAKE_RCPT, "<b@remote.test>", NULL),
                     SMFIS_REJECT);
    ck_assert_int_eq(step(&ctx, FAKE_MAIL, "<alice@example.com>", m_alice),
                     SMFIS_NOREPLY);
    ck_assert_int_eq(step(&ctx, FAKE_MAIL, "<a@remote.test>", m_plain),
                     SMFIS_NOREPLY);
    ck_assert_int_eq(step(&ctx, FAKE_RCPT, "<c@remote.test>", NULL),
                     SMFIS_REJECT);
    ck_assert_int_eq(ctx.replies, 2);
    close_conn(&ctx);
}
END_TEST

/* The missing-macro warnings: once a run, not once a connection. */
START_TEST(test_warned_once)
{
    static const char *const none[] = {NULL};
    fresh_daemon();
    for (int i = 0; i < 2; i++) {
        SMFICTX ctx;
        open_conn(&ctx, P_ENFORCE);
        fake_macros(&ctx, FAKE_CONNECT, none);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        ar_filter.xxfi_connect(&ctx, "host.test", (struct sockaddr *)&sa);
        ck_assert_int_eq(step(&ctx, FAKE_MAIL, "<a@remote.test>", none),
                         SMFIS_NOREPLY);
        const char *log = fake_log();
        bool warned = strstr(log, "no {client_resolve} macro") &&
                      strstr(log, "confMILTER_MACROS_ENVFROM");
        ck_assert_msg(i == 0 ? warned : !strstr(log, "the MTA sent"),
                      "connection %d logged:\n%s", i, log);
        close_conn(&ctx);
    }
}
END_TEST

/* An over-long sender is not the null sender: the binding refuses it,
 * and the line has it cut to the field with "...". */
START_TEST(test_over_long_sender)
{
    SMFICTX ctx;
    char from[700], want[1024];
    memset(from, 'a', sizeof(from));
    from[0] = '<';
    memcpy(from + sizeof(from) - 14, "@example.org>", 14);
    open_conn(&ctx, P_SL_ENFORCE);
    ck_assert_int_eq(step(&ctx, FAKE_MAIL, from, m_alice), SMFIS_REJECT);
    ck_assert_str_eq(ctx.reply, SL_TEXT);
    snprintf(want, sizeof(want),
             "NOQUEUE: from=%.253s... decision=reject rule=sender-login "
             "client=host.stranger.test[192.0.2.99] auth=alice@example.com\n",
             from);
    ck_assert_str_eq(fake_log(), want);
    close_conn(&ctx);
}
END_TEST

static void
callbacks_more(TCase *tc)
{
    tcase_add_test(tc, test_over_long_sender);
    tcase_add_test(tc, test_negotiation);
    tcase_add_test(tc, test_queue_id_noqueue_then_known);
    tcase_add_test(tc, test_transaction_ends);
    tcase_add_test(tc, test_warned_once);
}

int
main(void)
{
    Suite *s = suite_create("callbacks");
    TCase *tc = tcase_create("callbacks");
    tcase_add_loop_test(tc, test_row, 0, sizeof(rows) / sizeof(rows[0]));
    callbacks_more(tc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
