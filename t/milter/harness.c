/*
 * harness.c - start, stop, connect, expect and the log for the daemon
 * suites (harness.h), and their main(): one Check suite of one TCase,
 * whose tests the suite's own file adds (harness_add_tests()).
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

#include "check_tmp.h"
#include "policies.h"

char dir[80], policy[128], logfile[128], sockspec[160], sockpath[128],
    pidfile[128];
pid_t daemon_pid;

void
write_file(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
}

void
policy_text(char *buf, size_t size, const char *mode, const char *extra_domains)
{
    snprintf(buf, size, policy_fmt, mode, extra_domains);
}

void
write_policy(const char *mode, const char *extra_domains)
{
    char buf[4096];
    policy_text(buf, sizeof(buf), mode, extra_domains);
    write_file(policy, buf);
}

/* run the daemon with args (NULL-terminated), stderr to logfile */
pid_t
spawn(const char *const *args)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        /* AR_VALGRIND=1: under memcheck; any error exits 99 */
        static const char *const vg[] = {"valgrind",
                                         "-q",
                                         "--error-exitcode=99",
                                         "--vgdb=no",
                                         "--leak-check=full",
                                         "--errors-for-leak-kinds=definite",
                                         "--show-leak-kinds=definite"};
        const char *argv[32];
        int n = 0;
        if (getenv("AR_VALGRIND"))
            for (size_t i = 0; i < sizeof(vg) / sizeof(vg[0]); i++)
                argv[n++] = vg[i];
        argv[n++] = AR_MILTER_BIN;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execvp(argv[0], (char **)argv);
        _exit(127);
    }
    return pid;
}

/* exit status of pid, waiting at most 15 s (90 s under valgrind or a
 * sanitizer, where a thousand threads wind down slowly: once over 15 s
 * under TSan in CI); -1 if it does not exit */
int
wait_exit(pid_t pid)
{
#ifdef AR_SANITIZED
    int tries = 9000;
#else
    int tries = getenv("AR_VALGRIND") ? 9000 : 1500;
#endif
    for (int i = 0; i < tries; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    return -1;
}

bool
answers(void)
{
    struct mc m;
    if (mc_open(&m, sockspec) < 0)
        return false;
    mc_close(&m);
    return true;
}

void
start_daemon_as(const char *user)
{
    const char *args[] = {"-f", "-c",    policy, "-p", sockspec,
                          "-P", pidfile, "-u",   user, NULL};
    daemon_pid = spawn(args);
    for (int i = 0; i < 500 && !answers(); i++) {
        int st;
        ck_assert_msg(waitpid(daemon_pid, &st, WNOHANG) == 0,
                      "daemon exited at start");
        usleep(10000);
    }
    ck_assert_msg(answers(), "daemon does not answer on %s", sockspec);
    /* the pidfile comes after the socket (once the user is switched to) */
    for (int i = 0; i < 500 && access(pidfile, F_OK) < 0; i++)
        usleep(10000);
}

void
start_daemon(void)
{
    start_daemon_as("root");
}

/* a daemon that is gone before its stop died: fail, with its last lines */
void
assert_alive(void)
{
    int st;
    if (daemon_pid <= 0 || waitpid(daemon_pid, &st, WNOHANG) != daemon_pid)
        return;
    daemon_pid = 0;
    dump_log();
    if (WIFSIGNALED(st))
        ck_abort_msg("the daemon died before its stop: signal %d",
                     WTERMSIG(st));
    ck_abort_msg("the daemon died before its stop: exit status %d",
                 WEXITSTATUS(st));
}

void
stop_daemon(void)
{
    if (daemon_pid <= 0)
        return;
    assert_alive();
    kill(daemon_pid, SIGTERM);
    int rc = wait_exit(daemon_pid);
    if (rc < 0)
        kill(daemon_pid, SIGKILL), waitpid(daemon_pid, NULL, 0);
    daemon_pid = 0;
    if (rc != 0)
        dump_log();
    ck_assert_msg(rc == 0, "daemon exit status %d after SIGTERM", rc);
    ck_assert_msg(access(sockpath, F_OK) < 0, "socket left behind");
    ck_assert_msg(access(pidfile, F_OK) < 0, "pidfile left behind");
}

static void
setup(void)
{
    ck_assert_ptr_nonnull(test_mkdtemp(dir, sizeof(dir), "ar_daemon"));
    snprintf(policy, sizeof(policy), "%s/policy.conf", dir);
    snprintf(logfile, sizeof(logfile), "%s/log", dir);
    snprintf(sockpath, sizeof(sockpath), "%s/sock", dir);
    snprintf(sockspec, sizeof(sockspec), "unix:%s", sockpath);
    snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
    write_policy("enforce", "");
    start_daemon();
}

static void
teardown(void)
{
    stop_daemon();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* count of lines in the log containing s */
int
log_count(const char *s)
{
    FILE *f = fopen(logfile, "r");
    char line[4096];
    int n = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, s) != NULL;
    fclose(f);
    return n;
}

/* wait up to 5 s for a log line containing s */
bool
log_wait(const char *s)
{
    for (int i = 0; i < 500; i++) {
        if (log_count(s) > 0)
            return true;
        usleep(10000);
    }
    return false;
}

/* the log's last 40 lines, to stderr */
void
dump_log(void)
{
    enum { KEEP = 40 };
    static char ring[KEEP][512];
    FILE *f = fopen(logfile, "r");
    size_t n = 0;
    while (f && fgets(ring[n % KEEP], sizeof(ring[0]), f))
        n++;
    if (f)
        fclose(f);
    for (size_t i = n > KEEP ? n - KEEP : 0; i < n; i++)
        fprintf(stderr, "  log: %s", ring[i % KEEP]);
}

/* ---- sessions ------------------------------------------------------------ */

const struct client stranger = {"host.stranger.test", "192.0.2.99", "OK", NULL,
                                "host.stranger.test", '4'};

void
session(struct mc *m, const struct client *c)
{
    struct mc_reply r;
    ck_assert_msg(mc_open(m, sockspec) == 0, "connect to the daemon");
    ck_assert_int_eq(mc_negotiate(m), 0);
    if (c->resolve && c->mta_version)
        mc_macros(m, 'C', "j", "mta.test", "{client_resolve}", c->resolve, "v",
                  c->mta_version, NULL);
    else if (c->resolve)
        mc_macros(m, 'C', "j", "mta.test", "{client_resolve}", c->resolve,
                  NULL);
    else if (c->mta_version)
        mc_macros(m, 'C', "j", "mta.test", "v", c->mta_version, NULL);
    else
        mc_macros(m, 'C', "j", "mta.test", NULL);
    ck_assert_int_eq(mc_connect(m, c->name, c->family, c->addr, &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
    mc_macros(m, 'H', NULL);
    ck_assert_int_eq(mc_helo(m, c->helo, &r), 0);
    ck_assert_int_eq(r.cmd, 'c');
}

/* MAIL FROM, optionally authenticated (auth NULL: no auth macros) */
void
mail(struct mc *m, const char *from, const char *auth)
{
    struct mc_reply r;
    if (auth)
        mc_macros(m, 'M', "{auth_type}", "PLAIN", "{auth_authen}", auth,
                  "{mail_addr}", "x", NULL);
    else
        mc_macros(m, 'M', "{mail_addr}", "x", NULL);
    ck_assert_int_eq(mc_mail(m, from, &r), 0);
    ck_assert_msg(r.cmd == 'c', "MAIL %s: got '%c' %s", from, r.cmd, r.text);
}

/* RCPT TO; want: 'c', or the exact "CODE XCODE TEXT" of a 'y' reply */
void
rcpt(struct mc *m, const char *to, const char *want)
{
    struct mc_reply r;
    mc_macros(m, 'R', "{rcpt_mailer}", "esmtp", NULL);
    ck_assert_msg(mc_rcpt(m, to, &r) == 0, "RCPT %s: no reply", to);
    if (strcmp(want, "c") == 0)
        ck_assert_msg(r.cmd == 'c', "RCPT %s: got '%c' %s, want continue", to,
                      r.cmd, r.text);
    else
        ck_assert_msg(r.cmd == 'y' && strcmp(r.text, want) == 0,
                      "RCPT %s: got '%c' \"%s\", want \"%s\"", to, r.cmd,
                      r.text, want);
}

void
done(struct mc *m)
{
    mc_quit(m);
    mc_close(m);
}

/* a connection from the stranger, MAIL from a@remote.test and RCPTs:
 * pairs of address and wanted reply (see rcpt()), NULL-terminated */
void
expect(const char *to, const char *want, ...)
{
    struct mc m;
    va_list ap;
    session(&m, &stranger);
    mail(&m, "<a@remote.test>", NULL);
    va_start(ap, want);
    for (;;) { /* no va_arg past the NULL that ends the pairs */
        rcpt(&m, to, want);
        if ((to = va_arg(ap, const char *)) == NULL)
            break;
        want = va_arg(ap, const char *);
    }
    va_end(ap);
    done(&m);
}

/* lines of the log that contain s but not t */
int
log_count_without(const char *s, const char *t)
{
    FILE *f = fopen(logfile, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, s) != NULL && strstr(line, t) == NULL;
    if (f)
        fclose(f);
    return n;
}

void
reload_with(const char *text)
{
    int before = log_count("reloaded");
    write_file(policy, text);
    kill(daemon_pid, SIGUSR1);
    for (int i = 0; i < 500 && log_count("reloaded") == before; i++)
        usleep(10000);
    ck_assert_msg(log_count("reloaded") > before, "no reload");
}

void
sl_reload(const char *mode)
{
    char buf[2048];
    snprintf(buf, sizeof(buf), sl_policy, dir, mode);
    reload_with(buf);
}

/* the metrics file at path as SIGUSR2 makes the daemon write it, into
 * text */
void
read_metrics_on_usr2(const char *path, char *text, size_t size)
{
    unlink(path);
    kill(daemon_pid, SIGUSR2);
    for (int i = 0; i < 300 && access(path, F_OK) != 0; i++)
        usleep(10000);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no metrics file %s", path);
    size_t n = fread(text, 1, size - 1, f);
    text[n] = '\0';
    fclose(f);
}

int
unix_socket(const char *path, int type, bool bind_it)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    int rc = bind_it ? bind(fd, (struct sockaddr *)&sun, sizeof(sun))
                     : connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    if (rc == 0 && bind_it && type == SOCK_STREAM)
        rc = listen(fd, 8);
    if (rc < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* true if something answers at path */
bool
live(const char *path, int type)
{
    int fd = unix_socket(path, type, false);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

/*
 * A failed test ends its process at once, without its teardown: its
 * daemon and directory would outlive it. Every daemon is a child of a
 * test process, so this process is made their subreaper: the daemons of
 * failed tests come back to it, and are stopped here; the tests'
 * directories live in one of its own, removed at the end.
 */
/* signal every child of this process; how many there were */
static int
signal_children(int sig)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], buf[512];
        long pid = atol(e->d_name), ppid;
        if (pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *rp = strrchr(buf, ')'); /* after the command name */
        if (rp && sscanf(rp + 1, " %*c %ld", &ppid) == 1 &&
            ppid == (long)getpid()) {
            kill((pid_t)pid, sig);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static int
stop_orphans(void)
{
    int st, n = signal_children(SIGTERM);
    for (int i = 0; i < 50 && waitpid(-1, &st, WNOHANG) >= 0; i++)
        usleep(100000);
    signal_children(SIGKILL);
    while (waitpid(-1, &st, 0) > 0)
        ;
    return n;
}

int
main(void)
{
    char run[256], cmd[320];
    if (test_mkdtemp(run, sizeof(run), "ar_daemon_run") == NULL ||
        chmod(run, 0755) < 0) {
        perror(harness_name);
        return EXIT_FAILURE;
    }
    setenv("TMPDIR", run, 1);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    Suite *s = suite_create(harness_name);
    TCase *tc = tcase_create(harness_name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    harness_add_tests(tc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int orphans = stop_orphans();
    if (orphans)
        fprintf(stderr, "%s: %d process(es) outlived their test\n",
                harness_name, orphans);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: cannot remove %s\n", harness_name, run);
    return failed || orphans ? EXIT_FAILURE : EXIT_SUCCESS;
}
