/*
 * daemon_lifecycle.c - the daemon's life: reloads (SIGUSR1, under load,
 * unreadable policies), start and stop, signals, exit codes, stale
 * sockets, inet sockets, the socket and pidfile made as the user, the
 * stop deadline and milter.timeout.
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

/* SIGUSR1: a good policy takes effect; a broken one is logged and the
 * old one stays; a transaction finishes under the policy it began with. */
START_TEST(test_reload)
{
    struct mc m, pinned;
    session(&m, &stranger);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@new.test>", RELAY_TEXT);
    done(&m);

    session(&pinned, &stranger);
    mail(&pinned, "<a@remote.test>", NULL);
    /* MAIL needs no answer: a RCPT makes sure the daemon has seen it */
    rcpt(&pinned, "<c@remote.test>", RELAY_TEXT);

    write_policy("enforce", ", \"new.test\"");
    kill(daemon_pid, SIGUSR1);
    assert_log("reloaded");
    session(&m, &stranger);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@new.test>", "c");
    done(&m);
    /* the transaction begun before the reload keeps its policy ... */
    rcpt(&pinned, "<b@new.test>", RELAY_TEXT);
    /* ... and the next one on that connection gets the new one */
    mail(&pinned, "<a@remote.test>", NULL);
    rcpt(&pinned, "<b@new.test>", "c");
    done(&pinned);

    write_file(policy, "version = 1;\nrelay = {\n  local_domains = [ "
                       "\"bad..domain\" ];\n};\n");
    kill(daemon_pid, SIGUSR1);
    assert_log("reload of");
    assert_log("policy.conf:3: bad domain \"bad..domain\"");
    assert_log("the previous policy stays in force");
    expect("<b@new.test>", "c", "<b@remote.test>", RELAY_TEXT, NULL);

    unlink(policy);
    kill(daemon_pid, SIGUSR1);
    assert_log("cannot read");
    expect("<b@remote.test>", RELAY_TEXT, NULL);
}
END_TEST

/* SIGUSR1 while 32 connections are busy: no transaction fails. */
static atomic_int stop_load;

static void *
load_worker(void *arg)
{
    long failures = 0;
    (void)arg;
    while (!stop_load) {
        struct mc m;
        struct mc_reply r;
        if (mc_open(&m, sockspec) < 0 || mc_negotiate(&m) < 0) {
            failures++;
            mc_close(&m);
            continue;
        }
        mc_macros(&m, 'C', "{client_resolve}", "OK", NULL);
        mc_connect(&m, "load.test", '4', "192.0.2.99", &r);
        for (int t = 0; t < 10 && !stop_load; t++) {
            bool auth = t % 2;
            if (auth)
                mc_macros(&m, 'M', "{auth_authen}", "alice", NULL);
            else
                mc_macros(&m, 'M', "{mail_addr}", "a", NULL);
            if (mc_mail(&m, "<a@remote.test>", &r) < 0 || r.cmd != 'c') {
                failures++;
                break;
            }
            if (mc_rcpt(&m, "<b@example.com>", &r) < 0 || r.cmd != 'c')
                failures++;
            if (mc_rcpt(&m, "<b@remote.test>", &r) < 0 ||
                r.cmd != (auth ? 'c' : 'y'))
                failures++;
            mc_abort(&m);
        }
        done(&m);
    }
    return (void *)failures;
}

/* nreloads SIGUSR1s (each after a rewrite of the policy, gap_us apart)
 * while nthreads connections run transactions: the failures */
static long
reloads_under_load(int nthreads, int nreloads, useconds_t gap_us)
{
    pthread_t t[32];
    ck_assert_int_le(nthreads, 32);
    stop_load = 0;
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, load_worker, NULL);
    for (int i = 0; i < nreloads; i++) {
        usleep(gap_us);
        write_policy("enforce", i % 2 ? ", \"x.test\"" : "");
        kill(daemon_pid, SIGUSR1);
    }
    usleep(200000);
    stop_load = 1;
    long failures = 0;
    for (int i = 0; i < nthreads; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        failures += (long)rv;
    }
    return failures;
}

START_TEST(test_reload_under_load)
{
    long failures = reloads_under_load(32, 20, 50000);
    ck_assert_msg(failures == 0, "%ld failed transactions", failures);
    ck_assert_int_ge(log_count("reloaded"), 1);
    ck_assert_int_eq(log_count("reload of"), 0);
}
END_TEST

/* A daemon killed hard leaves its socket; the next one starts anyway. */
START_TEST(test_stale_socket)
{
    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
    daemon_pid = 0;
    ck_assert_int_eq(access(sockpath, F_OK), 0);
    unlink(pidfile);
    start_daemon();
    assert_log("removed stale socket");
    struct mc m;
    session(&m, &stranger);
    mail(&m, "<a@remote.test>", NULL);
    rcpt(&m, "<b@example.com>", "c");
    done(&m);
    /* and a second daemon does not steal the socket of a live one */
    const char *args[] = {"-f",     "-c", policy, "-p",
                          sockspec, "-u", "root", NULL};
    pid_t second = spawn(args);
    ck_assert_int_eq(wait_exit(second), 71);
    assert_log("is in use by a running process");
    ck_assert(answers());
}
END_TEST

/* -n, exit codes and the start/stop log lines */
START_TEST(test_exit_codes)
{
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
    write_file(bad, "version = 1;\nrelay = { local_domains = [ \"a..b\" ]; "
                    "};\n");
    const char *ok_n[] = {"-n", "-c", policy, NULL};
    ck_assert_int_eq(wait_exit(spawn(ok_n)), 0);
    assert_log("policy.conf: OK: version 1, 2 local domains");
    const char *bad_n[] = {"-n", "-c", bad, NULL};
    ck_assert_int_eq(wait_exit(spawn(bad_n)), 1);
    assert_log("bad.conf:2: bad domain \"a..b\"");
    const char *bad_start[] = {"-f", "-c", bad, "-p", "unix:/tmp/x", NULL};
    ck_assert_int_eq(wait_exit(spawn(bad_start)), 78);
    const char *bad_flag[] = {"-Z", NULL};
    ck_assert_int_eq(wait_exit(spawn(bad_flag)), 64);
    const char *extra[] = {"-f", "surplus", NULL};
    ck_assert_int_eq(wait_exit(spawn(extra)), 64);
    const char *user[] = {
        "-f", "-c", policy, "-p", "unix:/tmp/x", "-u", "no-such-user-authrelay",
        NULL};
    ck_assert_int_eq(wait_exit(spawn(user)), 78);
    assert_log("unknown user no-such-user-authrelay");
    const char *nosock[] = {"-f", "-c", policy, NULL};
    ck_assert_int_eq(wait_exit(spawn(nosock)), 78);
    assert_log("no socket");
    const char *badsock[] = {
        "-f", "-c",   policy, "-p", "unix:/nonexistent/dir/sock",
        "-u", "root", NULL};
    ck_assert_int_eq(wait_exit(spawn(badsock)), 71);
    const char *asroot[] = {"-f", "-c", policy, "-p", "unix:/tmp/x", NULL};
    if (geteuid() == 0) {
        ck_assert_int_eq(wait_exit(spawn(asroot)), 78);
        assert_log("refusing to run as root");
    }
    const char *version[] = {"-V", NULL};
    ck_assert_int_eq(wait_exit(spawn(version)), 0);
    assert_log("authrelay-milter 0.1.0");
    /* the running daemon logged its start and its pidfile is right */
    assert_log("starting on unix:");
    assert_log("loaded");
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    ck_assert_int_eq(pid, daemon_pid);
    struct stat st;
    ck_assert_int_eq(stat(sockpath, &st), 0);
    ck_assert_msg((st.st_mode & 0777) == 0770, "socket mode %o",
                  st.st_mode & 0777);
}
END_TEST

/* SIGHUP and SIGINT stop as SIGTERM does (libmilter's convention). */
START_TEST(test_stop_signals)
{
    kill(daemon_pid, SIGHUP);
    ck_assert_int_eq(wait_exit(daemon_pid), 0);
    daemon_pid = 0;
    ck_assert_int_ne(access(sockpath, F_OK), 0);
    ck_assert_int_ne(access(pidfile, F_OK), 0);
    start_daemon();
    kill(daemon_pid, SIGINT);
    ck_assert_int_eq(wait_exit(daemon_pid), 0);
    daemon_pid = 0;
    assert_log("stopping");
    start_daemon();
}
END_TEST

/* An inet socket over IPv4 and IPv6 loopback. */
START_TEST(test_inet)
{
    static const char *const hosts[] = {"127.0.0.1", "::1"};
    for (int i = 0; i < 2; i++) {
        char spec[64];
        int port = 20000 + (getpid() % 20000);
        snprintf(spec, sizeof(spec), "%s:%d@%s", i ? "inet6" : "inet", port + i,
                 hosts[i]);
        const char *args[] = {"-f", "-c", policy, "-p",
                              spec, "-u", "root", NULL};
        pid_t pid = spawn(args);
        struct mc m;
        int ok = -1;
        for (int k = 0; k < 500 && ok < 0; k++) {
            if ((ok = mc_open(&m, spec)) < 0)
                usleep(10000);
        }
        ck_assert_msg(ok == 0, "no answer on %s", spec);
        struct mc_reply r;
        ck_assert_int_eq(mc_negotiate(&m), 0);
        ck_assert_int_eq(mc_connect(&m, "x.test", '4', "192.0.2.99", &r), 0);
        ck_assert_int_eq(mc_mail(&m, "<a@remote.test>", &r), 0);
        ck_assert_int_eq(mc_rcpt(&m, "<b@remote.test>", &r), 0);
        ck_assert_str_eq(r.text, RELAY_TEXT);
        done(&m);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid), 0);
        /* every local user can reach it: said at start */
        char warn[128];
        snprintf(warn, sizeof(warn),
                 "warning: %s is an inet socket: every local user can "
                 "connect to it",
                 spec);
        assert_log(warn);
    }
    /* and by -n, for the policy's socket */
    char inet_policy[160];
    snprintf(inet_policy, sizeof(inet_policy), "%s/inet.conf", dir);
    write_file(inet_policy, "version = 1;\nmilter = { socket = "
                            "\"inet:8891@127.0.0.1\"; };\nrelay = { "
                            "local_domains = [ \"example.com\" ]; };\n");
    int before = log_count("warning: inet:8891@127.0.0.1 is an inet socket");
    const char *check[] = {"-n", "-c", inet_policy, NULL};
    ck_assert_int_eq(wait_exit(spawn(check)), 0);
    ck_assert_int_eq(
        log_count("warning: inet:8891@127.0.0.1 is an inet socket"),
        before + 1);
}
END_TEST

/* The policy made unreadable for the daemon's user: the reload fails
 * with the reason, the old policy stays in force; readable again, the
 * next reload takes it. (As root the daemon could read anything: this
 * one runs as nobody.) */
START_TEST(test_unreadable_policy)
{
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    stop_daemon();
    /* nobody's: the directory (socket and pidfile are removed at the
     * stop) and a readable policy */
    ck_assert_int_eq(chown(dir, pw->pw_uid, pw->pw_gid), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(chmod(policy, 0644), 0);
    start_daemon_as("nobody");

    expect("<b@example.com>", "c", "<b@new.test>", RELAY_TEXT, NULL);

    write_policy("enforce", ", \"new.test\"");
    ck_assert_int_eq(chmod(policy, 0), 0);
    kill(daemon_pid, SIGUSR1);
    assert_log("cannot read: Permission denied");
    assert_log("the previous policy stays in force");
    expect("<b@example.com>", "c", "<b@new.test>", RELAY_TEXT, NULL);

    ck_assert_int_eq(chmod(policy, 0644), 0);
    kill(daemon_pid, SIGUSR1);
    assert_log("reloaded");
    expect("<b@new.test>", "c", NULL);
}
END_TEST

/* the daemon restarted with the test hook stall set (a stop or a reload
 * that never ends) and a stop deadline of 1 s */
static void
start_stalling(const char *stall)
{
    stop_daemon();
    setenv(stall, "1", 1);
    setenv("AUTHRELAY_TEST_STOP_DEADLINE", "1", 1);
    start_daemon();
    unsetenv(stall);
    unsetenv("AUTHRELAY_TEST_STOP_DEADLINE");
}

/* SIGTERM ends in time by the deadline, logging why, the decisions made
 * (a reject among them) and the stop */
static void
stop_by_deadline(const char *why)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    stop_daemon(); /* asserts exit 0, no socket, no pidfile */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_log(why);
    assert_log("authrelay-milter stopping");
    assert_log("rcpt=<b@remote.test> decision=reject");
    ck_assert_msg(t1.tv_sec - t0.tv_sec < 10, "the stop took %ld s",
                  (long)(t1.tv_sec - t0.tv_sec));
}

/* milter.timeout: a connection that stops in the middle of a packet is
 * closed after that long (libmilter's default held it, and the thread
 * reading it, for 7,210 s); one that goes on talking is not. (Between
 * whole packets libmilter's pool of workers looks for idle connections
 * only every 600 s: too slow to test here.) */
START_TEST(test_idle_timeout)
{
    stop_daemon();
    char buf[4096];
    policy_text(buf, sizeof(buf), "enforce", "");
    char *m = strstr(buf, "milter = { ");
    ck_assert_ptr_nonnull(m);
    char with[4200];
    snprintf(with, sizeof(with), "%.*smilter = { timeout = 2; %s",
             (int)(m - buf), buf, m + strlen("milter = { "));
    write_file(policy, with);
    start_daemon();

    struct mc half, busy;
    ck_assert_int_eq(mc_open(&half, sockspec), 0);
    static const char length_only[] = {0, 0, 0, 13, 'O', 0, 0};
    ck_assert_int_eq(write(half.fd, length_only, sizeof(length_only)),
                     sizeof(length_only));
    session(&busy, &stranger);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the busy one sends a command every second, for 4 s */
    for (int i = 0; i < 4; i++) {
        sleep(1);
        mail(&busy, "<a@remote.test>", NULL);
        rcpt(&busy, "<b@remote.test>", RELAY_TEXT);
        ck_assert_int_eq(mc_abort(&busy), 0);
    }
    done(&busy);
    /* the stalled one: closed by the daemon (end of file) */
    struct pollfd pfd = {.fd = half.fd, .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, 6000), 1);
    char c;
    ck_assert_int_eq(read(half.fd, &c, 1), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(t1.tv_sec - t0.tv_sec < 9, "closed only after %ld s",
                  (long)(t1.tv_sec - t0.tv_sec));
    mc_close(&half);
}
END_TEST

/* ---- files made as root for -u USER ------------------------------------ */

/* the test directory, nobody's (as the socket's directory must be the
 * user's: see SECURITY.md), with a readable policy; the daemon stopped */
static struct passwd *
dir_for_nobody(void)
{
    static struct passwd nobody;
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    nobody = *pw;
    stop_daemon();
    ck_assert_int_eq(chown(dir, nobody.pw_uid, nobody.pw_gid), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(chmod(policy, 0644), 0);
    return &nobody;
}

/* exit status of a daemon that should give up at start, waiting 5 s at
 * most (-1: it hangs, and is killed) */
static int
start_fails(const char *const *args)
{
    pid_t pid = spawn(args);
    for (int i = 0; i < (getenv("AR_VALGRIND") ? 3000 : 500); i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static atomic_bool swapping;
static char swap_target[160];

/* the hostile user: replaces the socket by a symbolic link to a file of
 * root's the moment it appears */
static void *
swapper(void *arg)
{
    (void)arg;
    char tmp[200];
    snprintf(tmp, sizeof(tmp), "%s.swap", sockpath);
    while (atomic_load(&swapping)) {
        struct stat st;
        if (lstat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode)) {
            unlink(tmp);
            if (symlink(swap_target, tmp) == 0)
                rename(tmp, sockpath);
        }
    }
    unlink(tmp);
    return NULL;
}

/* Started as root with -u USER, the socket is USER's from its creation:
 * no chown by a path USER can change. A symbolic link swapped in for the
 * socket the moment it appears never gives a root-owned file away (the
 * old code chowned it within 1 to 40 starts here), the socket is created with
 * USER's rights (so not in a directory USER cannot write, where the old
 * code made it as root), and it is USER's, mode 0770. */
START_TEST(test_socket_made_as_user)
{
    struct passwd *nobody = dir_for_nobody();
    /* a directory only root may write: the socket is not made there */
    char rootdir[160], spec[200];
    snprintf(rootdir, sizeof(rootdir), "%s/root", dir);
    ck_assert_int_eq(mkdir(rootdir, 0755), 0);
    snprintf(spec, sizeof(spec), "unix:%s/sock", rootdir);
    const char *in_root[] = {"-f", "-c", policy,   "-p",
                             spec, "-u", "nobody", NULL};
    ck_assert_int_eq(start_fails(in_root), 71);
    assert_log("as user nobody (it must be able to write the socket's "
               "directory)");
    ck_assert_int_ne(access(spec + 5, F_OK), 0);

    char secret[160];
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    write_file(secret, "root's\n");
    ck_assert_int_eq(chmod(secret, 0600), 0);
    snprintf(swap_target, sizeof(swap_target), "%s", secret);
    const char *args[] = {"-f", "-c",    policy, "-p",     sockspec,
                          "-P", pidfile, "-u",   "nobody", NULL};
    int rounds = getenv("AR_VALGRIND") ? 4 : 60;
    for (int i = 0; i < rounds; i++) {
        int before = log_count("starting on");
        pthread_t t;
        atomic_store(&swapping, true);
        pthread_create(&t, NULL, swapper, NULL);
        pid_t pid = spawn(args);
        for (int k = 0; k < 3000 && log_count("starting on") == before &&
                        waitpid(pid, NULL, WNOHANG) == 0;
             k++)
            usleep(1000);
        atomic_store(&swapping, false);
        pthread_join(t, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        unlink(sockpath);
        unlink(pidfile);
        struct stat st;
        ck_assert_int_eq(stat(secret, &st), 0);
        ck_assert_msg(st.st_uid == 0,
                      "start %d gave root's file to uid %ld through a "
                      "symbolic link swapped in for the socket",
                      i + 1, (long)st.st_uid);
    }

    /* in nobody's directory: nobody's socket, mode 0770 */
    start_daemon_as("nobody");
    struct stat st;
    ck_assert_int_eq(lstat(sockpath, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_uid, nobody->pw_uid);
    ck_assert_int_eq(st.st_gid, nobody->pw_gid);
    ck_assert_int_eq(st.st_mode & 0777, 0770);
    expect("<b@example.com>", "c", "<b@remote.test>", RELAY_TEXT, NULL);
}
END_TEST

/* The pidfile: a FIFO there makes the start fail at once (the old code
 * hung in open() with SIGTERM blocked), a symbolic link to a directory
 * root may write does not put it there, and started as root with -u
 * USER it is USER's file, which the stop removes with the socket (the
 * old code wrote it as root and left both behind where USER cannot
 * write). */
START_TEST(test_pidfile_hazards)
{
    struct passwd *nobody = dir_for_nobody();
    const char *as_nobody[] = {"-f", "-c",    policy, "-p",     sockspec,
                               "-P", pidfile, "-u",   "nobody", NULL};
    const char *as_root[] = {"-f", "-c",    policy, "-p",   sockspec,
                             "-P", pidfile, "-u",   "root", NULL};

    /* a FIFO, as root and as nobody */
    ck_assert_int_eq(mkfifo(pidfile, 0666), 0);
    ck_assert_int_eq(start_fails(as_root), 71);
    ck_assert_int_eq(start_fails(as_nobody), 71);
    assert_log("/pid: it is not a regular file of this user (a FIFO?)");
    ck_assert_msg(access(sockpath, F_OK) < 0, "socket left behind");
    ck_assert_int_eq(unlink(pidfile), 0);

    /* a symbolic link to a directory only root may write */
    char secret[160], link[160], via[200], inside[200];
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    snprintf(link, sizeof(link), "%s/link", dir);
    snprintf(via, sizeof(via), "%s/pid", link);
    snprintf(inside, sizeof(inside), "%s/pid", secret);
    ck_assert_int_eq(mkdir(secret, 0700), 0);
    ck_assert_int_eq(symlink(secret, link), 0);
    const char *via_root[] = {"-f", "-c", policy, "-p",   sockspec,
                              "-P", via,  "-u",   "root", NULL};
    const char *via_nobody[] = {"-f", "-c", policy, "-p",     sockspec,
                                "-P", via,  "-u",   "nobody", NULL};
    ck_assert_int_eq(start_fails(via_root), 71);
    ck_assert_msg(access(inside, F_OK) < 0, "root wrote through the link");
    ck_assert_int_eq(start_fails(via_nobody), 71);
    ck_assert_msg(access(inside, F_OK) < 0, "root wrote through the link");
    assert_log("link/pid: a symbolic link or a non-directory is in the way");

    /* as root with -u: nobody's pidfile, removed at the stop with the
     * socket (stop_daemon asserts both are gone) */
    start_daemon_as("nobody");
    struct stat st;
    ck_assert_int_eq(stat(pidfile, &st), 0);
    ck_assert_int_eq(st.st_uid, nobody->pw_uid);
    stop_daemon();

    /* a pidfile directory nobody cannot write: the start fails, and
     * leaves no socket behind */
    char rootdir[160], rootpid[200];
    snprintf(rootdir, sizeof(rootdir), "%s/run", dir);
    snprintf(rootpid, sizeof(rootpid), "%s/pid", rootdir);
    ck_assert_int_eq(mkdir(rootdir, 0755), 0);
    const char *in_root[] = {"-f", "-c",    policy, "-p",     sockspec,
                             "-P", rootpid, "-u",   "nobody", NULL};
    ck_assert_int_eq(start_fails(in_root), 71);
    ck_assert_msg(access(rootpid, F_OK) < 0, "pidfile written as root");
    ck_assert_msg(access(sockpath, F_OK) < 0, "socket left behind");
    start_daemon_as("nobody");
}
END_TEST

/* The end of a stop held itself (an unlink on a file system that stops
 * answering; simulated): a few seconds after the deadline the process
 * ends anyway, status 70, whatever holds it. The old stop waited for
 * ever. */
START_TEST(test_stop_last_resort)
{
    start_stalling("AUTHRELAY_TEST_STALL_FINISH");
    expect("<b@example.com>", "c", "<b@remote.test>", RELAY_TEXT, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(daemon_pid, SIGTERM);
    int rc = wait_exit(daemon_pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0)
        kill(daemon_pid, SIGKILL), waitpid(daemon_pid, NULL, 0);
    daemon_pid = 0;
    ck_assert_msg(rc == 70, "exit status %d after SIGTERM", rc);
    ck_assert_msg(t1.tv_sec - t0.tv_sec < 15, "the stop took %ld s",
                  (long)(t1.tv_sec - t0.tv_sec));
    assert_log("authrelay-milter stopping");
    unlink(pidfile); /* left behind, as said: not the teardown's business */
    unlink(sockpath);
}
END_TEST

/* libmilter's stop that never returns (its pool teardown race did that
 * under the sanitizers; simulated here): the daemon ends the stop itself
 * at its deadline -- files removed, last lines logged, exit 0. */
START_TEST(test_stop_deadline)
{
    start_stalling("AUTHRELAY_TEST_STALL_STOP");
    expect("<b@example.com>", "c", "<b@remote.test>", RELAY_TEXT, NULL);
    stop_by_deadline("has not finished its stop 1 s after the signal");
}
END_TEST

/* A reload that never ends (simulated: the same as a read of a hung file
 * system): SIGTERM still stops the daemon by the deadline -- files
 * removed, last lines logged, exit 0. The deadline used to be kept by the
 * reload thread itself: such a stop never ended. */
START_TEST(test_stalled_reload_stop)
{
    start_stalling("AUTHRELAY_TEST_STALL_RELOAD");
    kill(daemon_pid, SIGUSR1);
    expect("<b@example.com>", "c", "<b@remote.test>", RELAY_TEXT, NULL);
    usleep(300 * 1000); /* the reload thread is in its reload by now */
    stop_by_deadline("the reload thread has not finished 1 s after the stop");
}
END_TEST

/* 100 reloads while 16 connections work: no failed transaction. */
START_TEST(test_hundred_reloads)
{
    long failures = reloads_under_load(16, 100, 20000);
    ck_assert_msg(failures == 0, "%ld failed transactions", failures);
    ck_assert_int_ge(log_count("reloaded"), 10);
}
END_TEST

const char harness_name[] = "daemon_lifecycle";

void
harness_add_tests(TCase *tc)
{
    tcase_add_test(tc, test_reload);
    tcase_add_test(tc, test_reload_under_load);
    tcase_add_test(tc, test_stale_socket);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_stop_signals);
    tcase_add_test(tc, test_inet);
    tcase_add_test(tc, test_hundred_reloads);
    tcase_add_test(tc, test_unreadable_policy);
    tcase_add_test(tc, test_stop_deadline);
    tcase_add_test(tc, test_stop_last_resort);
    tcase_add_test(tc, test_stalled_reload_stop);
    tcase_add_test(tc, test_idle_timeout);
    tcase_add_test(tc, test_socket_made_as_user);
    tcase_add_test(tc, test_pidfile_hazards);
}
