/*
 * daemon_logging.c - what the daemon logs and where: bytes from clients
 * escaped, long fields cut, syslog and journald (the stand-ins of
 * logsinks.c), and both stalled.
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

#include "logsinks.h"

/* What the client wrote is logged printable: control and non-ASCII
 * octets as '?', wherever they are in the address. */
START_TEST(test_log_cleaned)
{
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<s\tx\xc3\xa9@remote.test>",
         "\x01"
         "bob");
    rcpt(&m,
         "<us\x7f"
         "er@remote.test\xff>",
         "c");
    done(&m);
    assert_log("NOQUEUE: rcpt=<us?er@remote.test?> decision=accept "
               "rule=authenticated client=host.stranger.test[192.0.2.99] "
               "auth=?bob from=<s?x??@remote.test>");
}
END_TEST

/* What the MTA or a client chooses, in each field where it reaches the
 * log: a queue id, recipient, sender, client name, login or MTA version
 * made of a forged log line, with CR, LF, ESC, DEL and spaces. Each is
 * logged on its own line with those octets as '?': it can neither start
 * a line nor add a field (a space would let " decision=accept" into a
 * line). */
#define FORGED "Q1\r\nFAKE: rcpt=<x@y> decision=accept rule=local\x1b[0m\x7f"
#define FORGED_LOGGED "Q1??FAKE:?rcpt=<x@y>?decision=accept?rule=local?[0m?"
#define STRANGER_REST                                                          \
    " client=host.stranger.test[192.0.2.99] auth=- from=<a@remote.test>"

/* F_QID_MAIL: the queue id of a sender-login refusal, read at MAIL (the
 * last: it needs a policy with sender_login) */
enum field { F_QID, F_RCPT, F_FROM, F_CLIENT, F_LOGIN, F_MTA, F_QID_MAIL };

static const struct {
    enum field field;
    const char *want; /* the line, or a part of it */
} escaped[] = {
    {F_QID, FORGED_LOGGED ": rcpt=<b@remote.test> decision=reject "
                          "rule=default" STRANGER_REST},
    {F_RCPT, "NOQUEUE: rcpt=<" FORGED_LOGGED "@remote.test> decision="},
    {F_FROM, "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
             "client=host.stranger.test[192.0.2.99] auth=- from=<" FORGED_LOGGED
             "@remote.test>"},
    {F_CLIENT, "NOQUEUE: rcpt=<b@remote.test> decision=reject rule=default "
               "client=" FORGED_LOGGED "[192.0.2.99] auth=- "
               "from=<a@remote.test>"},
    {F_LOGIN, "NOQUEUE: rcpt=<b@remote.test> decision=accept "
              "rule=authenticated client=host.stranger.test[192.0.2.99] "
              "auth=" FORGED_LOGGED " from=<a@remote.test>"},
    {F_MTA,
     "no {client_resolve} macro at connect (MTA version " FORGED_LOGGED "): "},
    {F_QID_MAIL, FORGED_LOGGED ": from=<bob@example.com> decision=reject "
                               "rule=sender-login "
                               "client=host.stranger.test[192.0.2.99] "
                               "auth=alice@example.com\n"},
};

START_TEST(test_log_escaped)
{
    for (size_t i = 0; i < sizeof(escaped) / sizeof(escaped[0]); i++) {
        enum field f = escaped[i].field;
        struct client c = stranger;
        struct mc m;
        struct mc_reply r;
        if (f == F_CLIENT)
            c.name = FORGED;
        if (f == F_MTA)
            c.resolve = NULL, c.mta_version = FORGED;
        if (f == F_QID_MAIL)
            sl_reload("enforce");
        session(&m, &c);
        if (f == F_QID_MAIL) {
            mc_macros(&m, 'M', "i", FORGED, "{auth_authen}",
                      "alice@example.com", NULL);
            ck_assert_int_eq(mc_mail(&m, "<bob@example.com>", &r), 0);
            ck_assert_int_eq(r.cmd, 'y');
            done(&m);
            assert_log(escaped[i].want);
            continue;
        }
        mail(&m, f == F_FROM ? "<" FORGED "@remote.test>" : "<a@remote.test>",
             f == F_LOGIN ? FORGED : NULL);
        if (f == F_QID)
            mc_macros(&m, 'R', "i", FORGED, NULL);
        else
            mc_macros(&m, 'R', "{rcpt_mailer}", "esmtp", NULL);
        int rc = mc_rcpt(
            &m, f == F_RCPT ? "<" FORGED "@remote.test>" : "<b@remote.test>",
            &r);
        ck_assert_msg(rc == 0, "field %d: no reply to RCPT", (int)f);
        done(&m);
        assert_log(escaped[i].want);
    }
    /* no line begins with the forged part: "FAKE" only where escaped */
    int forged = log_count_without("FAKE:", "Q1??FAKE:?rcpt=");
    if (forged) {
        dump_log();
        ck_abort_msg("%d lines with the forged part unescaped", forged);
    }
}
END_TEST

/* A field of 10 kB -- queue id, recipient, sender, client name, login --
 * or all of them at once: the decision line still carries every field,
 * each cut to 256 octets with a visible "..." (AR_LOG_FIELD_MAX). */
#define LONG_FIELD 10000

struct long_case {
    bool qid, rcpt, from, client, login;
};

/* "<" FILL... "@remote.test>" (or FILL... alone) of LONG_FIELD octets */
static char *
long_value(char fill, bool address)
{
    char *v = malloc(LONG_FIELD + 1);
    memset(v, fill, LONG_FIELD);
    v[LONG_FIELD] = '\0';
    if (address) {
        v[0] = '<';
        strcpy(v + LONG_FIELD - strlen("@remote.test>"), "@remote.test>");
    }
    return v;
}

/* the first 253 octets of v and "..." */
static const char *
cut(const char *v, char *buf)
{
    snprintf(buf, 257, "%.253s...", v);
    return buf;
}

START_TEST(test_log_long_fields)
{
    static const struct long_case cases[] = {
        {.qid = true},
        {.rcpt = true},
        {.from = true},
        {.client = true},
        {.login = true},
        {.qid = true,
         .rcpt = true,
         .from = true,
         .client = true,
         .login = true},
    };
    char *qid = long_value('Q', false), *to = long_value('r', true),
         *from = long_value('f', true), *name = long_value('c', false),
         *login = long_value('l', false);
    char cq[257], ct[257], cf[257], cn[257], cl[257], want[2048];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct long_case *k = &cases[i];
        struct client c = stranger;
        struct mc m;
        struct mc_reply r;
        if (k->client)
            c.name = name;
        session(&m, &c);
        mail(&m, k->from ? from : "<a@remote.test>", k->login ? login : NULL);
        mc_macros(&m, 'R', "i", k->qid ? qid : "", NULL);
        ck_assert_int_eq(mc_rcpt(&m, k->rcpt ? to : "<b@remote.test>", &r), 0);
        ck_assert_int_eq(r.cmd, k->login ? 'c' : 'y');
        done(&m);
        snprintf(want, sizeof(want),
                 "%s: rcpt=%s decision=%s client=%s[192.0.2.99] auth=%s "
                 "from=%s helo=host.stranger.test resolve=ok\n",
                 k->qid ? cut(qid, cq) : "NOQUEUE",
                 k->rcpt ? cut(to, ct) : "<b@remote.test>",
                 k->login ? "accept rule=authenticated" : "reject rule=default",
                 k->client ? cut(name, cn) : "host.stranger.test",
                 k->login ? cut(login, cl) : "-",
                 k->from ? cut(from, cf) : "<a@remote.test>");
        assert_log(want);
    }
    free(qid), free(to), free(from), free(name), free(login);
}
END_TEST

/* the daemon restarted as under systemd: stderr a new log file that
 * JOURNAL_STREAM names as the journal's stream */
static void
start_daemon_under_journal(void)
{
    stop_daemon();
    unlink(logfile);
    int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    close(fd);
    char js[64];
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    start_daemon();
}

/* sessions of txns transactions, each with a local recipient uN and a
 * refused relay recipient rN, N counting from 0 */
static void
log_sessions(int sessions, int txns)
{
    for (int i = 0; i < sessions; i++) {
        struct mc m;
        char to[64];
        session(&m, &stranger);
        for (int t = 0; t < txns; t++) {
            mail(&m, "<a@remote.test>", NULL);
            snprintf(to, sizeof(to), "<u%d@example.com>", i * txns + t);
            rcpt(&m, to, "c");
            snprintf(to, sizeof(to), "<r%d@remote.test>", i * txns + t);
            rcpt(&m, to, RELAY_TEXT);
            mc_abort(&m);
        }
        done(&m);
    }
}

/* As under systemd: stderr is the journal stream (JOURNAL_STREAM names
 * it) and /dev/log reaches the same journal, so each line goes to syslog
 * once and not to stderr too -- unless syslog cannot take it. Every
 * decision arrives exactly once, the last ones queued at the stop too. */
START_TEST(test_syslog)
{
    struct sink k;
    if (!sink_open(&k)) {
        fprintf(stderr, "test_syslog: a syslog daemon has %s: skipped\n",
                DEVLOG);
        return;
    }
    start_daemon_under_journal();
    enum { SESSIONS = 15, TXNS = 10 };
    log_sessions(SESSIONS, TXNS);
    pid_t pid = daemon_pid;
    stop_daemon(); /* what is still queued goes out before the exit */
    usleep(200000);
    k.stop = 1;
    pthread_join(k.t, NULL);

    char want[256];
    const char *text = k.text ? k.text : "";
    for (int n = 0; n < SESSIONS * TXNS; n++) {
        snprintf(want, sizeof(want),
                 " authrelay[%ld]: NOQUEUE: rcpt=<u%d@example.com> "
                 "decision=accept rule=local "
                 "client=host.stranger.test[192.0.2.99] auth=- "
                 "from=<a@remote.test> helo=host.stranger.test resolve=ok "
                 "mailer=esmtp\n",
                 (long)pid, n);
        ck_assert_msg(count_in(text, want) == 1, "%d times in syslog: %s",
                      count_in(text, want), want);
        snprintf(want, sizeof(want),
                 "]: NOQUEUE: rcpt=<r%d@remote.test> decision=reject "
                 "rule=default client=",
                 n);
        ck_assert_msg(count_in(text, want) == 1, "%d times in syslog: %s",
                      count_in(text, want), want);
    }
    /* facility mail, severity info: "<22>" opens every decision line */
    ck_assert_int_ge(count_in(text, "\n<22>"), 2 * SESSIONS * TXNS);
    snprintf(want, sizeof(want), "authrelay[%ld]: authrelay-milter ",
             (long)pid);
    ck_assert_int_eq(count_in(text, want), 2); /* "starting on", "stopping" */
    snprintf(want, sizeof(want), "authrelay[%ld]: authrelay-milter stopping",
             (long)pid);
    ck_assert_int_eq(count_in(text, want), 1);
    /* stderr, the "journal", got none of them */
    ck_assert_int_eq(log_count("decision="), 0);
    ck_assert_int_eq(log_count("starting on"), 0);

    /* syslog goes away while the daemon runs (its socket still
     * connected): what syslog no longer takes goes to stderr */
    start_daemon(); /* connects to the sink's socket, which no one reads */
    close(k.fd);
    unlink(DEVLOG);
    expect("<gone@remote.test>", RELAY_TEXT, NULL);
    assert_log("rcpt=<gone@remote.test> decision=reject");
    stop_daemon();

    /* no syslog daemon: stderr is all there is, so the lines go there */
    start_daemon();
    unsetenv("JOURNAL_STREAM");
    expect("<nosyslog@remote.test>", RELAY_TEXT, NULL);
    assert_log("rcpt=<nosyslog@remote.test> decision=reject");
    close(k.lock);
    free(k.text);
}
END_TEST

/* While syslog reads nothing: 2,000 transactions of two recipients (one
 * local, one relayed), 4,000 lines -- more than the daemon's queues and
 * the socket hold. None may fail and no reply may wait for the log (old
 * code: the sessions waited for syslog, and RCPT replies stopped). The
 * relayed recipient gets relay_reply. */
enum { STALLED_TXNS = 2000, STALLED_LINES = 2 * STALLED_TXNS };

/* under valgrind or a sanitizer: everything takes longer */
static bool
slow_run(void)
{
#ifdef AR_SANITIZED
    return true;
#else
    return getenv("AR_VALGRIND") != NULL;
#endif
}

static void
stalled_transactions(const char *relay_reply)
{
    bool slow = slow_run();
    struct timespec t0, t1;
    struct mc m;
    session(&m, &stranger);
    m.timeout_ms = slow ? 10000 : 2000;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < STALLED_TXNS; t++) {
        char to[64];
        mail(&m, "<a@remote.test>", NULL);
        snprintf(to, sizeof(to), "<u%d@example.com>", t);
        rcpt(&m, to, "c");
        snprintf(to, sizeof(to), "<r%d@remote.test>", t);
        rcpt(&m, to, relay_reply);
        mc_abort(&m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    done(&m);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "syslog stalled: %d transactions in %.2f s\n", STALLED_TXNS,
            secs);
    ck_assert_msg(secs < (slow ? 120 : 10), "%d transactions took %.1f s",
                  STALLED_TXNS, secs);
}

/* the sum of N over the lines "syslog did not keep up: N log lines
 * dropped" in text (there may be several: one can be sent while syslog
 * still drops others) */
static unsigned long long
said_dropped(const char *text)
{
    static const char said[] = "syslog did not keep up: ";
    unsigned long long sum = 0, n;
    for (const char *p = text; p && (p = strstr(p, said)) != NULL; p++)
        if (sscanf(p + strlen(said), "%llu log lines dropped", &n) == 1)
            sum += n;
    return sum;
}

/* Waits (5 s at most) for the lines telling the dropped ones to add up:
 * tally(ctx) gives the dropped lines the lines that arrived count
 * (said_dropped) and the decision lines among them. Each decision line
 * arrived or was counted (a few other lines may have been dropped too:
 * the start's). The count. */
static unsigned long long
await_dropped(void (*tally)(void *ctx, unsigned long long *dropped, int *got),
              void *ctx)
{
    unsigned long long dropped = 0;
    int got = 0;
    for (int i = 0; i < 500 && (dropped == 0 || got + dropped < STALLED_LINES);
         i++) {
        usleep(10000);
        tally(ctx, &dropped, &got);
    }
    fprintf(stderr,
            "syslog stalled: %d decision lines received, %llu dropped\n", got,
            dropped);
    ck_assert_msg(dropped > 0 && got + dropped >= STALLED_LINES &&
                      got + dropped <= STALLED_LINES + 10,
                  "%d received + %llu dropped, of %d", got, dropped,
                  STALLED_LINES);
    return dropped;
}

/* what the lines in text (one a line) of the daemon who names
 * ("authrelay[PID]: ") tell: the dropped lines they count (said_dropped)
 * and the decision lines among them, added to *dropped and *got. Other
 * daemons on the machine may find the stand-ins too. */
static void
tally_lines(const char *text, const char *who, unsigned long long *dropped,
            int *got)
{
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, "\n");
        char *one = strndup(p, n);
        if (strstr(one, who)) {
            *got += count_in(one, " decision=");
            *dropped += said_dropped(one);
        }
        free(one);
        p += n + (p[n] != '\0');
    }
}

/* a stand-in and the daemon whose lines count */
struct lines_of {
    void *stand_in;
    pid_t pid;
};

/* await_dropped's tally of the sink (ctx: a lines_of) */
static void
sink_tally(void *ctx, unsigned long long *dropped, int *got)
{
    struct lines_of *of = ctx;
    struct sink *k = of->stand_in;
    char who[64];
    snprintf(who, sizeof(who), "authrelay[%ld]: ", (long)of->pid);
    *dropped = 0;
    *got = 0;
    pthread_mutex_lock(&k->mu);
    tally_lines(k->text, who, dropped, got);
    pthread_mutex_unlock(&k->mu);
}

/* Syslog stops reading (the daemon's socket to it still connected): the
 * daemon answers at its usual pace all the same -- the lines that do not
 * fit are dropped and counted, never the mail. Once syslog reads again, a
 * line says how many were dropped, and the metrics file counts them. */
START_TEST(test_syslog_stalled)
{
    struct sink k;
    if (!sink_open(&k)) {
        fprintf(stderr,
                "test_syslog_stalled: a syslog daemon has %s: "
                "skipped\n",
                DEVLOG);
        return;
    }
    char text[8192], path[200];
    snprintf(path, sizeof(path), "%s/metrics.prom", dir);
    snprintf(text, sizeof(text),
             "version = 1;\nmilter = { metrics_file = \"%s\"; };\n"
             "relay = { local_domains = [ \"example.com\" ]; };\n",
             path);
    write_file(policy, text);
    k.paused = 1;
    stop_daemon();
    start_daemon(); /* connects to the sink, which reads nothing */

    stalled_transactions("554 5.7.1 Relay access denied");

    /* syslog reads again: the count of what it missed arrives */
    k.paused = 0;
    struct lines_of of = {&k, daemon_pid};
    unsigned long long dropped = await_dropped(sink_tally, &of);

    /* the metrics file says the same */
    read_metrics_on_usr2(path, text, sizeof(text));
    char want[128];
    snprintf(want, sizeof(want), "\nauthrelay_log_lines_dropped_total %llu\n",
             dropped);
    ck_assert_msg(strstr(text, want) != NULL, "want %s in:\n%s", want + 1,
                  text);

    /* stalled again at a stop: it waits a second at most for syslog,
     * then drops what is left */
    k.paused = 1;
    stalled_transactions("554 5.7.1 Relay access denied");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    stop_daemon();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(t1.tv_sec - t0.tv_sec < (slow_run() ? 30 : 5),
                  "the stop took %ld s", (long)(t1.tv_sec - t0.tv_sec));
    k.stop = 1;
    pthread_join(k.t, NULL);
    close(k.fd);
    unlink(DEVLOG);
    close(k.lock);
    free(k.text);
}
END_TEST

/* Under systemd (stderr the journal's stream, /dev/log journald's): every
 * line goes once, over the daemon's own stream, as mail.info from
 * "authrelay", each with its severity; none to stderr, none as a
 * datagram. journald gone: /dev/log takes the lines; back: the stream
 * again. */
START_TEST(test_journal)
{
    struct journal j;
    stop_daemon(); /* before journald "starts": it would find it */
    if (!journal_open(&j)) {
        fprintf(stderr, "test_journal: a syslog daemon runs here: skipped\n");
        return;
    }
    char want[240];
    start_daemon_under_journal();
    pid_t pid = daemon_pid;
    enum { SESSIONS = 5, TXNS = 10 };
    log_sessions(SESSIONS, TXNS);
    snprintf(want, sizeof(want), "<6>NOQUEUE: rcpt=<r%d@remote.test> ",
             SESSIONS * TXNS - 1);
    ck_assert_int_eq(journal_count(&j, pid, want), 1);
    ck_assert_int_eq(journal_streams(&j, pid), 1);
    for (int n = 0; n < SESSIONS * TXNS; n++) {
        snprintf(want, sizeof(want),
                 "\n<6>NOQUEUE: rcpt=<u%d@example.com> decision=accept "
                 "rule=local client=host.stranger.test[192.0.2.99] auth=- "
                 "from=<a@remote.test> helo=host.stranger.test resolve=ok "
                 "mailer=esmtp\n",
                 n);
        ck_assert_msg(journal_count(&j, pid, want) == 1, "not once: %s", want);
        snprintf(want, sizeof(want), "rcpt=<r%d@remote.test> decision=reject",
                 n);
        ck_assert_int_eq(journal_count(&j, pid, want), 1);
    }
    ck_assert_int_eq(journal_count(&j, pid, "<6>authrelay-milter "), 1);
    snprintf(want, sizeof(want), "authrelay[%ld]: NOQUEUE", (long)pid);
    pthread_mutex_lock(&j.mu);
    ck_assert_int_eq(count_in(j.dgrams, want), 0);
    pthread_mutex_unlock(&j.mu);
    ck_assert_int_eq(log_count("decision="), 0);

    /* journald goes away: the lines go to /dev/log */
    journal_wait_state(&j, 0);
    expect("<gone@remote.test>", RELAY_TEXT, NULL);
    snprintf(want, sizeof(want),
             "authrelay[%ld]: NOQUEUE: rcpt=<gone@remote.test> ", (long)pid);
    ck_assert_int_eq(journal_count(&j, 0, want), 1);
    /* and it comes back: the stream again, within a second or two */
    journal_wait_state(&j, 1);
    sleep(2);
    expect("<back@remote.test>", RELAY_TEXT, NULL);
    ck_assert_int_eq(
        journal_count(&j, pid, "<6>NOQUEUE: rcpt=<back@remote.test> "), 1);
    ck_assert_int_eq(journal_streams(&j, pid), 2);

    stop_daemon();
    ck_assert_int_eq(journal_count(&j, pid, "<6>authrelay-milter stopping"), 1);
    unsetenv("JOURNAL_STREAM");
    journal_close(&j);
}
END_TEST

/* await_dropped's tally of a daemon's lines (ctx: a lines_of): over
 * its streams, and as datagrams (the lines a session sent itself) */
static void
journal_tally(void *ctx, unsigned long long *dropped, int *got)
{
    struct lines_of *of = ctx;
    struct journal *j = of->stand_in;
    char who[64];
    snprintf(who, sizeof(who), "authrelay[%ld]: ", (long)of->pid);
    *dropped = 0;
    *got = 0;
    pthread_mutex_lock(&j->mu);
    for (int k = 0; k < j->nstreams; k++)
        if (j->streams[k].pid == of->pid) {
            *got += count_in(j->streams[k].text, " decision=");
            *dropped += said_dropped(j->streams[k].text);
        }
    tally_lines(j->dgrams, who, dropped, got);
    pthread_mutex_unlock(&j->mu);
}

/* The same with journald stalled (its stream and /dev/log read nothing):
 * the writer waits on the stream, the lines that do not fit are dropped,
 * and the count arrives over the stream once journald reads again. */
START_TEST(test_journal_stalled)
{
    struct journal j;
    stop_daemon();
    if (!journal_open(&j)) {
        fprintf(stderr, "test_journal_stalled: a syslog daemon runs here: "
                        "skipped\n");
        return;
    }
    start_daemon_under_journal();
    pid_t pid = daemon_pid;
    ck_assert_int_eq(journal_count(&j, pid, "<6>authrelay-milter "), 1);
    j.paused = 1;
    stalled_transactions(RELAY_TEXT);
    j.paused = 0;
    /* once journald reads again, the count arrives (over the stream, or
     * as a datagram if sent while the stream still took lines) */
    struct lines_of of = {&j, pid};
    await_dropped(journal_tally, &of);
    stop_daemon();
    unsetenv("JOURNAL_STREAM");
    journal_close(&j);
}
END_TEST

const char harness_name[] = "daemon_logging";

/* In the foreground with stderr a pipe that nobody reads (a logger that
 * hangs, a terminal on hold): decisions go on, lines stderr does not
 * take are dropped, and a stop ends. The old writev() to fd 2 stopped
 * every session thread once the pipe was full, and the stop after them. */
START_TEST(test_stderr_stalled)
{
    stop_daemon();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(p[1], 2);
        dup2(null, 1);
        close(p[0]);
        execl(AR_MILTER_BIN, AR_MILTER_BIN, "-f", "-u", "root", "-c", policy,
              "-p", sockspec, "-P", pidfile, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    for (int i = 0; i < 500 && !answers(); i++)
        usleep(10000);
    ck_assert_msg(answers(), "the daemon does not answer");
    /* a pipe holds 64 kB: some 400 lines; 1,200 are logged */
    for (int n = 0; n < 600; n++) {
        char local[64];
        snprintf(local, sizeof(local), "<u%d@example.com>", n);
        expect(local, "c", "<r@remote.test>", RELAY_TEXT, NULL);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(pid, SIGTERM);
    int rc = wait_exit(pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0)
        kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    close(p[0]);
    ck_assert_msg(rc == 0, "exit status %d after SIGTERM", rc);
    ck_assert_msg(t1.tv_sec - t0.tv_sec < 10, "the stop took %ld s",
                  (long)(t1.tv_sec - t0.tv_sec));
}
END_TEST

void
harness_add_tests(TCase *tc)
{
    tcase_add_test(tc, test_log_cleaned);
    tcase_add_test(tc, test_log_escaped);
    tcase_add_test(tc, test_log_long_fields);
    tcase_add_test(tc, test_syslog);
    tcase_add_test(tc, test_syslog_stalled);
    tcase_add_test(tc, test_journal);
    tcase_add_test(tc, test_journal_stalled);
    tcase_add_test(tc, test_stderr_stalled);
}
