/*
 * daemon_decisions.c - the decision through the daemon: the negotiation,
 * local and relayed recipients, logins, trusted networks, exceptions,
 * queue ids, report mode, sender-login and dry runs, answered on the wire
 * and logged.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

START_TEST(test_negotiation)
{
    struct mc m;
    ck_assert_int_eq(mc_open(&m, sockspec), 0);
    ck_assert_int_eq(mc_negotiate(&m), 0);
    ck_assert_uint_eq(m.version, 6);
    /* only SMFIF_SETSYMLIST; no headers, body, EOH, DATA, unknown */
    ck_assert_uint_eq(m.actions, 0x100);
    ck_assert_uint_eq(m.proto & 0x370, 0x370);
    ck_assert_uint_eq(m.proto & 0x3000, 0x3000); /* no reply: conn, helo */
    /* sender_login is off: no answer to MAIL; RCPT is always answered */
    ck_assert_uint_eq(m.proto & 0xc000, 0x4000);
    ck_assert_uint_eq(m.proto & 0x2, 0); /* a helo rule: HELO wanted */
    done(&m);
    /* a policy without helo rules and with sender_login: the reverse */
    reload_with("version = 1;\nrelay = { local_domains = [ \"example.com\" "
                "]; };\nsender_login = { mode = \"enforce\"; };\n");
    ck_assert_int_eq(mc_open(&m, sockspec), 0);
    ck_assert_int_eq(mc_negotiate(&m), 0);
    ck_assert_uint_eq(m.proto & 0xc000, 0);
    ck_assert_uint_eq(m.proto & 0x2, 0x2);
    ck_assert_str_eq(m.symlist[MC_CONNECT],
                     "{client_addr} {client_name} {client_resolve} v j");
    ck_assert_str_eq(m.symlist[MC_ENVFROM],
                     "i {auth_type} {auth_authen} {mail_addr}");
    ck_assert_str_eq(m.symlist[MC_ENVRCPT],
                     "i {rcpt_mailer} {auth_authen} {auth_type}");
    done(&m);
}
END_TEST

START_TEST(test_local_and_relay)
{
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<someone@remote.test>", NULL);
    rcpt(&m, "<user@example.com>", "c");
    rcpt(&m, "<user@sub.example.com>", "c");
    rcpt(&m, "<user@remote.test>", RELAY_TEXT);
    rcpt(&m, "<user%remote.test@example.com>", RELAY_TEXT);
    rcpt(&m, "<@example.com:user@remote.test>", RELAY_TEXT);
    rcpt(&m, "<postmaster>", "c");
    done(&m);
    assert_log("NOQUEUE: rcpt=<user@remote.test> decision=reject "
               "rule=default client=host.stranger.test[192.0.2.99] auth=- "
               "from=<someone@remote.test>");
    assert_log("NOQUEUE: rcpt=<user@example.com> decision=accept rule=local");
}
END_TEST

/* The login is read once a transaction, the queue id until the MTA has
 * one; both are kept for its other recipients; what one transaction
 * learnt ends with it (a login kept past it would open the relay);
 * {auth_authen} may come with RCPT only. */
START_TEST(test_transaction_state)
{
    struct mc m;
    struct mc_reply r;
    session(&m, &stranger);
    mc_macros(&m, 'M', "i", "QA1", "{auth_type}", "PLAIN", "{auth_authen}",
              "alice", NULL);
    ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
    rcpt(&m, "<b1@remote.test>", "c");
    rcpt(&m, "<b2@remote.test>", "c");
    /* the next MAIL, without AUTH; then one after an abort */
    mc_macros(&m, 'M', "i", "QB2", "{mail_addr}", "x", NULL);
    ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
    rcpt(&m, "<c1@remote.test>", RELAY_TEXT);
    rcpt(&m, "<c2@remote.test>", RELAY_TEXT);
    ck_assert_int_eq(mc_abort(&m), 0);
    mc_macros(&m, 'M', "i", "QC3", "{mail_addr}", "x", NULL);
    ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
    mc_macros(&m, 'R', "i", "QC3", "{auth_authen}", "carol", NULL);
    ck_assert_int_eq(mc_rcpt(&m, "<d1@remote.test>", &r), 0);
    ck_assert_msg(r.cmd == 'c', "RCPT-stage login: got '%c' %s", r.cmd, r.text);
    ck_assert_int_eq(mc_abort(&m), 0);
    mc_macros(&m, 'M', "i", "QD4", "{mail_addr}", "x", NULL);
    ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
    rcpt(&m, "<e1@remote.test>", RELAY_TEXT);
    /* as Postfix: no queue id before the first recipient it accepts */
    mc_macros(&m, 'M', "{mail_addr}", "x", NULL);
    ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
    mc_macros(&m, 'R', "{rcpt_addr}", "f1@example.com", NULL);
    ck_assert_int_eq(mc_rcpt(&m, "<f1@example.com>", &r), 0);
    mc_macros(&m, 'R', "i", "QE5", "{rcpt_addr}", "f2@remote.test", NULL);
    ck_assert_int_eq(mc_rcpt(&m, "<f2@remote.test>", &r), 0);
    /* once known, kept */
    mc_macros(&m, 'R', "{rcpt_addr}", "f3@remote.test", NULL);
    ck_assert_int_eq(mc_rcpt(&m, "<f3@remote.test>", &r), 0);
    done(&m);
    assert_log("QA1: rcpt=<b2@remote.test> decision=accept "
               "rule=authenticated client=host.stranger.test[192.0.2.99] "
               "auth=alice from=<a@remote.test>");
    assert_log("QB2: rcpt=<c2@remote.test> decision=reject rule=default "
               "client=host.stranger.test[192.0.2.99] auth=- ");
    assert_log("QC3: rcpt=<d1@remote.test> decision=accept "
               "rule=authenticated client=host.stranger.test[192.0.2.99] "
               "auth=carol ");
    assert_log("QD4: rcpt=<e1@remote.test> decision=reject rule=default "
               "client=host.stranger.test[192.0.2.99] auth=- ");
    assert_log("NOQUEUE: rcpt=<f1@example.com> decision=accept rule=local ");
    assert_log("QE5: rcpt=<f2@remote.test> decision=reject rule=default ");
    assert_log("QE5: rcpt=<f3@remote.test> decision=reject rule=default ");
}
END_TEST

/* relay.remote_mailers: a local domain that the MTA would deliver with
 * one of them ({rcpt_mailer} at RCPT, any case) is relay; the daemon
 * looks the macro up only when the policy names a mailer. */
START_TEST(test_remote_mailers)
{
    stop_daemon();
    char buf[4096];
    /* the test policy, relay with remote_mailers = [ "smtp", "RELAY" ] */
    policy_text(buf, sizeof(buf), "enforce",
                " ];\n  remote_mailers = [ \"smtp\", \"RELAY\"");
    write_file(policy, buf);
    start_daemon();
    struct mc m;
    struct mc_reply r;
    session(&m, &stranger);
    mail(&m, "<someone@remote.test>", NULL);
    rcpt(&m, "<user@example.com>", "c"); /* {rcpt_mailer} esmtp */
    mc_macros(&m, 'R', "{rcpt_mailer}", "smtp", NULL);
    ck_assert_int_eq(mc_rcpt(&m, "<user@example.com>", &r), 0);
    ck_assert_msg(r.cmd == 'y' && strcmp(r.text, RELAY_TEXT) == 0,
                  "got '%c' %s", r.cmd, r.text);
    /* Sendmail's mailer names are lower case: "RELAY" in the policy is
     * its "relay" */
    mc_macros(&m, 'R', "{rcpt_mailer}", "relay", NULL);
    ck_assert_int_eq(mc_rcpt(&m, "<user@example.com>", &r), 0);
    ck_assert_msg(r.cmd == 'y' && strcmp(r.text, RELAY_TEXT) == 0,
                  "relay: got '%c' %s", r.cmd, r.text);
    done(&m);
}
END_TEST

/* An internationalised local domain through the daemon: a U-label
 * recipient is local against the A-label entry, and the reverse; invalid
 * IDNA is a relay attempt; the log line has the recipient as the client
 * sent it, not its A-label form (a non-ASCII octet shows as '?', like
 * every logged octet outside printable ASCII). */
START_TEST(test_idn)
{
    stop_daemon();
    write_policy("enforce",
                 ", \"xn--bcher-kva.example\", \"m\xc3\xbcnchen.example\"");
    start_daemon();
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<someone@remote.test>", NULL);
    rcpt(&m,
         "<u@B\xc3\x9c"
         "CHER.example>",
         "c");
    rcpt(&m, "<u@xn--mnchen-3ya.example>", "c");
    rcpt(&m, "<u@xn--zz.example>", RELAY_TEXT);
    done(&m);
    assert_log("NOQUEUE: rcpt=<u@B??CHER.example> decision=accept rule=local");
    assert_log("NOQUEUE: rcpt=<u@xn--mnchen-3ya.example> decision=accept "
               "rule=local");
    assert_log("NOQUEUE: rcpt=<u@xn--zz.example> decision=reject "
               "rule=default");
}
END_TEST

/* A message with mixed recipients: each is decided alone. */
START_TEST(test_mixed_recipients)
{
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<someone@remote.test>", NULL);
    rcpt(&m, "<a@example.com>", "c");
    rcpt(&m, "<b@remote.test>", RELAY_TEXT);
    rcpt(&m, "<c@example.com>", "c");
    rcpt(&m, "<d@other.test>", RELAY_TEXT);
    rcpt(&m, "<e@EXAMPLE.COM>", "c");
    done(&m);
}
END_TEST

START_TEST(test_authenticated)
{
    struct mc m;
    struct mc_reply r;
    session(&m, &stranger);
    mail(&m, "<alice@example.com>", "alice@example.com");
    /* like Postfix: the auth macros are not sent again at RCPT */
    ck_assert_int_eq(mc_rcpt(&m, "<user@remote.test>", &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
    done(&m);
    assert_log("rcpt=<user@remote.test> decision=accept rule=authenticated "
               "client=host.stranger.test[192.0.2.99] "
               "auth=alice@example.com from=<alice@example.com>");
}
END_TEST

START_TEST(test_empty_auth)
{
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<someone@remote.test>", "");
    rcpt(&m, "<user@remote.test>", RELAY_TEXT);
    done(&m);
}
END_TEST

/* RSET (abort) and a new MAIL: each transaction starts afresh. */
START_TEST(test_transactions)
{
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<someone@remote.test>", NULL);
    rcpt(&m, "<user@remote.test>", RELAY_TEXT);
    mc_abort(&m);
    mail(&m, "<alice@example.com>", "alice@example.com");
    rcpt(&m, "<user@remote.test>", "c");
    mc_abort(&m);
    mail(&m, "<someone@remote.test>", NULL);
    rcpt(&m, "<user@remote.test>", RELAY_TEXT);
    /* a new MAIL without RSET replaces the transaction too */
    mail(&m, "<alice@example.com>", "alice@example.com");
    rcpt(&m, "<user@remote.test>", "c");
    done(&m);
}
END_TEST

/* The MTA sends no macros at all: unauthenticated, warned once. */
START_TEST(test_no_macros)
{
    for (int i = 0; i < 2; i++) {
        struct mc m;
        struct mc_reply r;
        ck_assert_int_eq(mc_open(&m, sockspec), 0);
        ck_assert_int_eq(mc_negotiate(&m), 0);
        ck_assert_int_eq(mc_connect(&m, "host.test", '4', "192.0.2.99", &r), 0);
        ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
        ck_assert_int_eq(r.cmd, 'c');
        ck_assert_int_eq(mc_rcpt(&m, "<b@remote.test>", &r), 0);
        ck_assert_int_eq(r.cmd, 'y');
        ck_assert_int_eq(mc_rcpt(&m, "<b@example.com>", &r), 0);
        ck_assert_int_eq(r.cmd, 'c');
        done(&m);
    }
    assert_log("milter_mail_macros");
    ck_assert_int_eq(log_count("confMILTER_MACROS_ENVFROM"), 1);
    ck_assert_int_eq(log_count("no {client_resolve} macro"), 1);
}
END_TEST

START_TEST(test_trusted_and_ipv6)
{
    static const struct client clients[] = {
        {"mx.inside.test", "10.1.2.3", "OK", NULL, "mx", '4'},
        {"mx6.inside.test", "2001:db8:10::7", "OK", NULL, "mx6", '6'},
        {"mapped.inside.test", "::ffff:10.9.9.9", "OK", NULL, "m", '6'},
    };
    for (size_t i = 0; i < 3; i++) {
        struct mc m;
        session(&m, &clients[i]);
        mail(&m, "<a@remote.test>", NULL);
        rcpt(&m, "<b@remote.test>", "c");
        done(&m);
    }
    assert_log("decision=accept rule=trusted-network "
               "client=mx6.inside.test[2001:db8:10::7]");
    assert_log("decision=accept rule=trusted-network "
               "client=mapped.inside.test[10.9.9.9]");
    /* an IPv6 stranger is not trusted */
    static const struct client v6 = {
        "v6.test", "2001:db8:99::1", "OK", NULL, "v6", '6'};
    struct mc m;
    session(&m, &v6);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@remote.test>", RELAY_TEXT);
    done(&m);
}
END_TEST

#define ISP_TEXT "550 5.7.1 ISP customers: use smtp.isp.test (100%% of them)"

/* Each kind of exception, through the daemon: a session each, with one
 * or two steps (a MAIL, or another RCPT of the same one where from is
 * NULL). */
static const struct {
    const char *what;
    struct client c;
    struct {
        const char *from, *to, *want;
    } step[2];
} exceptions[] = {
    {"hostname, verified by Sendmail's {client_resolve} = OK",
     {"dial-7.isp.test", "192.0.2.7", "OK", NULL, "dial-7", '4'},
     {{"<a@remote.test>", "<b@remote.test>", ISP_TEXT},
      {NULL, "<b@example.com>", "c"}}},
    {"the same name, forged: {client_resolve} = FORGED",
     {"dial-7.isp.test", "192.0.2.7", "FORGED", NULL, "dial-7", '4'},
     {{"<a@remote.test>", "<b@remote.test>", RELAY_TEXT}}},
    {"Postfix passes only verified names: no {client_resolve} needed",
     {"dial-7.isp.test", "192.0.2.7", NULL, "Postfix 3.7.11", "dial-7", '4'},
     {{"<a@remote.test>", "<b@remote.test>", ISP_TEXT}}},
    {"Postfix, no name",
     {"unknown", "192.0.2.7", NULL, "Postfix 3.7.11", "dial", '4'},
     {{"<a@remote.test>", "<b@remote.test>", RELAY_TEXT}}},
    {"network + helo: tempfail",
     {"b.test", "192.0.2.50", "OK", NULL, "busy.test", '4'},
     {{"<a@remote.test>", "<b@remote.test>", "451 4.7.1 Try later"}}},
    {"network + sender_is_local: permit, over IPv4",
     {"r.test", "198.51.100.9", "OK", NULL, "r", '4'},
     {{"<bob@example.com>", "<b@remote.test>", "c"},
      {"<bob@elsewhere.test>", "<b@remote.test>", RELAY_TEXT}}},
    {"network + sender_is_local: permit, over IPv6",
     {"r6.test", "2001:db8:a01::9", "OK", NULL, "r6", '6'},
     {{"<bob@x.example.com>", "<b@remote.test>", "c"}}},
    {"network + sender_domains",
     {"exch.acme.test", "203.0.113.25", "OK", NULL, "exch", '4'},
     {{"<ceo@acme.test>", "<b@remote.test>", "c"},
      {"<ceo@other.test>", "<b@remote.test>", RELAY_TEXT}}},
};

START_TEST(test_exceptions)
{
    for (size_t i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++) {
        struct mc m;
        session(&m, &exceptions[i].c);
        for (size_t k = 0; k < 2 && exceptions[i].step[k].to; k++) {
            if (exceptions[i].step[k].from)
                mail(&m, exceptions[i].step[k].from, NULL);
            rcpt(&m, exceptions[i].step[k].to, exceptions[i].step[k].want);
        }
        done(&m);
    }
    assert_log("decision=accept rule=exchange");
    assert_log("decision=tempfail rule=busy");
}
END_TEST

/* The queue id comes from the i macro when the MTA has one. */
START_TEST(test_queue_id)
{
    struct mc m;
    struct mc_reply r;
    session(&m, &stranger);
    mc_macros(&m, 'M', "i", "4ABCD1234", "{mail_addr}", "a", NULL);
    ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
    ck_assert_int_eq(mc_rcpt(&m, "<b@remote.test>", &r), 0);
    ck_assert_int_eq(r.cmd, 'y');
    done(&m);
    assert_log("4ABCD1234: rcpt=<b@remote.test> decision=reject");
}
END_TEST

START_TEST(test_report_mode)
{
    write_policy("report", "");
    kill(daemon_pid, SIGUSR1);
    assert_log("mode report");
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@remote.test>", "c");
    done(&m);
    assert_log("rcpt=<b@remote.test> decision=would-reject rule=default");
}
END_TEST

START_TEST(test_sender_login)
{
    struct mc m;
    struct mc_reply r;
    sl_reload("enforce");
    session(&m, &stranger);
    mc_macros(&m, 'M', "{auth_authen}", "alice@example.com", NULL);
    ck_assert_int_eq(mc_mail(&m, "<bob@example.com>", &r), 0);
    ck_assert_msg(r.cmd == 'y' &&
                      strcmp(r.text, "553 5.7.1 Sender address rejected: "
                                     "not owned by user "
                                     "alice@example.com") == 0,
                  "got '%c' %s", r.cmd, r.text);
    mc_macros(&m, 'M', "{auth_authen}", "alice@example.com", NULL);
    ck_assert_int_eq(mc_mail(&m, "<alice@example.com>", &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
    rcpt(&m, "<x@remote.test>", "c");
    mc_macros(&m, 'M', "{auth_authen}", "ALICE@example.com", NULL);
    ck_assert_int_eq(mc_mail(&m, "<anyone@example.org>", &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
    mc_macros(&m, 'M', "{auth_authen}", "webmail@example.com", NULL);
    ck_assert_int_eq(mc_mail(&m, "<whoever@elsewhere.test>", &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
    /* an over-long sender is not the null sender */
    char longfrom[700];
    memset(longfrom, 'a', sizeof(longfrom));
    memcpy(longfrom, "<", 1);
    memcpy(longfrom + sizeof(longfrom) - 14, "@example.org>", 14);
    mc_macros(&m, 'M', "{auth_authen}", "alice@example.com", NULL);
    ck_assert_int_eq(mc_mail(&m, longfrom, &r), 0);
    ck_assert_msg(r.cmd == 'y' && strncmp(r.text, "553 5.7.1", 9) == 0,
                  "over-long sender: got '%c' %s", r.cmd, r.text);
    /* not authenticated: no binding */
    mail(&m, "<bob@example.com>", NULL);
    done(&m);
    assert_log("NOQUEUE: from=<bob@example.com> decision=reject "
               "rule=sender-login client=host.stranger.test[192.0.2.99] "
               "auth=alice@example.com");

    sl_reload("report");
    session(&m, &stranger);
    mc_macros(&m, 'M', "{auth_authen}", "alice@example.com", NULL);
    ck_assert_int_eq(mc_mail(&m, "<bob@example.com>", &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
    rcpt(&m, "<x@remote.test>", "c");
    done(&m);
    assert_log("from=<bob@example.com> decision=would-reject "
               "rule=sender-login");
}
END_TEST

START_TEST(test_dry_run_and_metrics)
{
    char path[200], text[8192];
    snprintf(path, sizeof(path), "%s/metrics.prom", dir);
    sl_reload("off");
    struct mc m;
    static const struct client isp = {"x.test", "192.0.2.7", "OK",
                                      NULL,     "x",         '4'};
    static const struct client other = {"y.test", "192.0.2.200", "OK",
                                        NULL,     "y",           '4'};
    session(&m, &isp);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@remote.test>", "554 5.7.1 Relay access denied");
    done(&m);
    session(&m, &other);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@remote.test>", "554 5.7.1 Relay access denied");
    rcpt(&m, "<b@example.com>", "c");
    done(&m);
    assert_log("rcpt=<b@remote.test> decision=would-permit rule=staged "
               "client=x.test[192.0.2.7]");
    assert_log("rcpt=<b@remote.test> decision=reject rule=isp "
               "client=x.test[192.0.2.7]");
    assert_log("rcpt=<b@remote.test> decision=would-permit rule=staged "
               "client=y.test[192.0.2.200]");

    read_metrics_on_usr2(path, text, sizeof(text));
    assert_log("metrics: authrelay_decisions_total{decision=\"reject\","
               "rule=\"isp\"} 1");
    static const char *const want[] = {
        "# TYPE authrelay_decisions_total counter\n",
        "authrelay_decisions_total{decision=\"would-permit\","
        "rule=\"staged\"} 2\n",
        "authrelay_decisions_total{decision=\"reject\",rule=\"isp\"} 1\n",
        "authrelay_decisions_total{decision=\"reject\",rule=\"default\"} "
        "1\n",
        "authrelay_decisions_total{decision=\"accept\",rule=\"local\"} 1\n",
        "# TYPE authrelay_rule_last_match_timestamp_seconds gauge\n",
        "authrelay_rule_last_match_timestamp_seconds{rule=\"isp\"} ",
        "authrelay_rule_last_match_timestamp_seconds{rule=\"staged\"} ",
        "authrelay_reloads_total{result=\"ok\"} 1\n",
        "authrelay_reloads_total{result=\"failed\"} 0\n",
        "# TYPE authrelay_policy_info gauge\n",
        "authrelay_policy_info{sha256=\"",
        "# TYPE authrelay_policy_load_seconds gauge\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(text, want[i]) != NULL,
                      "metrics file lacks %s:\n%s", want[i], text);
    char *ts = strstr(text, "_seconds{rule=\"isp\"} ");
    long t_isp = strtol(ts + strlen("_seconds{rule=\"isp\"} "), NULL, 10);
    ck_assert_msg(labs((long)time(NULL) - t_isp) < 60, "isp last match %ld",
                  t_isp);

    /* a restart keeps the last-match times, and the interval rewrites it */
    stop_daemon();
    unlink(logfile);
    start_daemon();
    assert_log("last-match times restored");
    unlink(path);
    for (int i = 0; i < 400 && access(path, F_OK) != 0; i++)
        usleep(10000);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "metrics not rewritten within the interval");
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    char want_ts[128];
    snprintf(want_ts, sizeof(want_ts),
             "authrelay_rule_last_match_timestamp_seconds{rule=\"isp\"} "
             "%ld\n",
             t_isp);
    ck_assert_msg(strstr(text, want_ts) != NULL, "want %s in:\n%s", want_ts,
                  text);
}
END_TEST

const char harness_name[] = "daemon_decisions";

void
harness_add_tests(TCase *tc)
{
    tcase_add_test(tc, test_negotiation);
    tcase_add_test(tc, test_local_and_relay);
    tcase_add_test(tc, test_transaction_state);
    tcase_add_test(tc, test_remote_mailers);
    tcase_add_test(tc, test_idn);
    tcase_add_test(tc, test_mixed_recipients);
    tcase_add_test(tc, test_authenticated);
    tcase_add_test(tc, test_empty_auth);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_no_macros);
    tcase_add_test(tc, test_trusted_and_ipv6);
    tcase_add_test(tc, test_exceptions);
    tcase_add_test(tc, test_queue_id);
    tcase_add_test(tc, test_report_mode);
    tcase_add_test(tc, test_sender_login);
    tcase_add_test(tc, test_dry_run_and_metrics);
}
