/*
 * authrelay-milter - enforce authenticated relay for Postfix and Sendmail.
 *
 * main() owns start-up and shut-down: flags, the first policy load, the
 * socket, privileges, the pidfile and the signal mask. See authrelay-milter(8)
 * for the flags and exit codes: 78 bad policy or unknown user, 64 bad flags, 71
 * socket (or other system) trouble, 0 after an orderly stop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <limits.h>
#include <pwd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "sockspec.h"
#include "testhooks.h"

#define DEFAULT_POLICY AR_DEFAULT_POLICY

/* libmilter's own (exported, undeclared) reader of its stop flag */
extern int mi_stop(void);

static void
usage(FILE *f)
{
    fputs("usage: authrelay-milter [-c FILE] [-p SOCKET] [-f] [-n] [-u USER] "
          "[-P PIDFILE] [-V] [-h]\n"
          "  -c FILE     policy file (default " DEFAULT_POLICY ")\n"
          "  -p SOCKET   inet:PORT@HOST, inet6:PORT@HOST, unix:PATH or "
          "local:PATH\n"
          "  -f          stay in the foreground, log to stderr as well\n"
          "  -n          check the policy file and exit (0 valid, 1 not)\n"
          "  -u USER     run as USER after opening the socket (required as "
          "root;\n"
          "              \"-u root\" to stay root)\n"
          "  -P PIDFILE  write the process id to PIDFILE\n"
          "  -V          print the version and exit\n"
          "SIGUSR1 reloads the policy; SIGTERM, SIGHUP and SIGINT stop.\n",
          f);
}

static void
syslog_diag(bool warning, const char *line)
{
    ar_log_syslog(warning ? LOG_WARNING : LOG_ERR, "%s", line);
}

/* every diagnostic to stderr (as FILE:LINE) and, at start-up, the log */
static void
report(const struct ar_diags *d, bool to_log)
{
    ar_diags_print(d, stderr, to_log ? syslog_diag : NULL);
}

/* An inet socket is open to every local user: anyone who can connect
 * can ask for decisions, claim any client, and send libmilter packets it
 * mishandles (see SECURITY.md). Say so, at start and with -n. */
static void
warn_inet(const char *sock, bool to_log)
{
    struct ar_sockspec s;
    if (ar_sockspec_parse(sock, &s) < 0 || s.family == AR_SOCK_UNIX)
        return;
    static const char fmt[] =
        "warning: %s is an inet socket: every local user can connect to it; "
        "use a unix socket only the MTA can open (see authrelay-milter(8))";
    fprintf(stderr, "authrelay-milter: ");
    fprintf(stderr, fmt, sock);
    fputc('\n', stderr);
    if (to_log)
        ar_log_syslog(LOG_WARNING, fmt, sock);
}

static int
check_only(const char *path)
{
    struct ar_diags d;
    char line[1024];
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, ar_today(), &d);
    report(&d, false);
    ar_diags_free(&d);
    if (p == NULL)
        return 1;
    ar_policy_summary(p, line, sizeof(line));
    printf("%s\n", line);
    if (ar_policy_socket(p))
        warn_inet(ar_policy_socket(p), false);
    ar_policy_unref(p);
    return 0;
}

/* the path of a unix:/local: socket spec, or NULL. A bare path (which
 * libmilter takes as unix too) is not cleared at start nor removed at
 * the stop: as before the parser was shared. */
static const char *
unix_path(const char *spec)
{
    struct ar_sockspec s;
    if (ar_sockspec_parse(spec, &s) < 0 || s.family != AR_SOCK_UNIX || s.bare)
        return NULL;
    return s.path;
}

/* Remove a unix socket left behind by a dead daemon; refuse to steal one
 * that a live process still answers on, and never delete anything else. */
static int
clear_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "authrelay-milter: %s exists and is not a socket\n",
                path);
        return -1;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "authrelay-milter: socket path too long: %s\n", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
    if (rc == 0) {
        fprintf(stderr, "authrelay-milter: %s is in use by a running process\n",
                path);
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        fprintf(stderr, "authrelay-milter: cannot remove stale %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    ar_log(LOG_NOTICE, "removed stale socket %s", path);
    return 0;
}

/* Open path for writing as a regular file that cannot block or be
 * redirected: no FIFO or device (O_NONBLOCK, then fstat), no symbolic
 * link as the last component, and -- as root -- none anywhere in the
 * path either (each directory is opened O_NOFOLLOW from the one before),
 * so that a directory someone else can change cannot send root's file
 * elsewhere. Not truncated until it is known to be a file of ours with
 * one link. -1 with errno set (ELOOP: a link on the way; EEXIST: the
 * path holds something else: a FIFO, a device, a file with other links
 * or of another owner). */
static int
open_own_file(const char *path)
{
    const int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd;
    if (geteuid() != 0) {
        fd = open(path, flags, 0644);
    } else {
        char buf[PATH_MAX];
        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int dir =
            open(buf[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char *name = buf, *slash;
        while (dir >= 0 && (slash = strchr(name, '/')) != NULL) {
            *slash = '\0';
            int next = dir;
            if (*name != '\0') /* "//" or the leading '/' */
                next = openat(dir, name,
                              O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next != dir) {
                int e = errno;
                close(dir);
                errno = e;
                dir = next;
            }
            name = slash + 1;
        }
        if (dir < 0)
            return -1;
        fd = openat(dir, name, flags, 0644);
        int e = errno;
        close(dir);
        errno = e;
    }
    if (fd < 0)
        return -1;
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) < 0)
        e = errno;
    else if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid())
        e = EEXIST; /* something else is there: leave it alone */
    else if (ftruncate(fd, 0) < 0)
        e = errno;
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int
write_pidfile(const char *path)
{
    int fd = open_own_file(path);
    if (fd < 0)
        return -1;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    int rc = write(fd, buf, (size_t)n) == n ? 0 : -1;
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

static int
drop_privileges(const struct passwd *pw)
{
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0)
        return -1;
    if (pw->pw_uid != 0 && setuid(0) == 0)
        return -1; /* privileges were not really dropped */
    return 0;
}

/* Root started with -u USER acts as USER (effective ids, groups) while
 * it clears a stale socket and creates the new one: the socket is
 * USER's from the start, with no chown by path that USER could
 * redirect with a symbolic link, and root touches nothing in a
 * directory USER can change. back_to_root() ends it. */
static bool acting;
static gid_t root_egid;

static int
act_as(const struct passwd *pw)
{
    if (pw == NULL || pw->pw_uid == 0 || geteuid() != 0)
        return 0;
    root_egid = getegid();
    acting = true;
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setegid(pw->pw_gid) < 0 ||
        seteuid(pw->pw_uid) < 0)
        return -1;
    return 0;
}

static int
back_to_root(void)
{
    if (!acting)
        return 0;
    acting = false;
    return seteuid(0) < 0 || setegid(root_egid) < 0 ? -1 : 0;
}

/* one descriptor per MTA connection: take all the system allows */
static void
raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* an exit before the policy went to the snapshot: free it (leak checkers) */
static int
give_up(struct ar_policy *p, int code)
{
    ar_policy_unref(p);
    return code;
}

static int
daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    if (chdir("/") < 0)
        return -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return -1;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}

/* The end of an orderly stop. Our threads are joined, our memory freed,
 * our lines sent; libmilter's signal thread is never joined by libmilter,
 * and exit() would run its exit-time destructors (a mutex that thread
 * used is destroyed) beside it: leave without them. */
static _Noreturn void
leave(int status)
{
    fflush(NULL);
#ifdef __SANITIZE_ADDRESS__
    __lsan_do_leak_check(); /* what exit() would have done for LSan */
#endif
    _exit(status);
}

/* what a stop removes, and who is already doing it */
static const char *stop_pidfile, *stop_socket;
static atomic_bool finishing;
static atomic_bool milter_returned; /* main waits for our threads now */

/* The end of a stop, once: the last line, our files, our log. The
 * policy is freed only when libmilter has returned (no callback can be
 * using it). A second caller waits for the first one's exit. */
static _Noreturn void
finish(int status, bool libmilter_done)
{
    if (atomic_exchange(&finishing, true))
        for (;;)
            pause();
    ar_log(LOG_INFO, "authrelay-milter stopping");
    /* tests only: the end of a stop held (a hung file system) */
    AR_TEST_STALL("AUTHRELAY_TEST_STALL_FINISH");
    if (stop_pidfile && unlink(stop_pidfile) < 0 && errno != ENOENT)
        ar_log(LOG_WARNING, "cannot remove pidfile %s: %m", stop_pidfile);
    if (stop_socket && unlink(stop_socket) < 0 && errno != ENOENT)
        ar_log(LOG_WARNING, "cannot remove socket %s: %m", stop_socket);
    if (libmilter_done)
        ar_snapshot_destroy(&ar_d.snap);
    ar_log_close();
    leave(status);
}

/* the stop's deadline has passed (stop.c calls it) */
static void
stop_overdue(unsigned seconds)
{
    if (atomic_load(&finishing))
        return; /* main is finishing: its exit ends the caller too */
    if (atomic_load(&milter_returned))
        ar_log(LOG_WARNING,
               "the reload thread has not finished %u s after the stop "
               "signal (a reload or metrics write hangs): stopping without "
               "it",
               seconds);
    else
        ar_log(LOG_WARNING,
               "libmilter has not finished its stop %u s after the signal: "
               "stopping without it",
               seconds);
    finish(0, false);
}

int
main(int argc, char **argv)
{
    const char *path = DEFAULT_POLICY, *sock = NULL, *user = NULL,
               *pidfile = NULL;
    bool foreground = false, check = false;
    int c;

    while ((c = getopt(argc, argv, "c:p:fnu:P:Vh")) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'p':
            sock = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'n':
            check = true;
            break;
        case 'u':
            user = optarg;
            break;
        case 'P':
            pidfile = optarg;
            break;
        case 'V': {
            unsigned maj, min, pl;
            smfi_version(&maj, &min, &pl);
            printf("authrelay-milter %s (libmilter %u.%u.%u)\n", AR_VERSION,
                   maj, min, pl);
            return 0;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "authrelay-milter: unexpected argument %s\n",
                argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }
    if (check)
        return check_only(path);

    /* From the start and before any thread exists: a signal that comes
     * while we open the socket waits for the thread that takes it
     * (libmilter's for the stop signals, ours for SIGUSR1) instead of
     * killing the daemon; libmilter blocks them only in its own threads. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ar_log_open(foreground);
    struct ar_diags d;
    struct timespec t0, t1;
    ar_diags_init(&d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ar_policy *p = ar_policy_load(path, ar_today(), &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    report(&d, true);
    ar_diags_free(&d);
    if (p == NULL) {
        ar_log_syslog(LOG_ERR, "cannot start: %s is not a valid policy", path);
        return EX_CONFIG;
    }
    if (sock == NULL)
        sock = ar_policy_socket(p);
    if (user == NULL)
        user = ar_policy_user(p);
    if (pidfile == NULL)
        pidfile = ar_policy_pidfile(p);
    if (sock == NULL) {
        fprintf(stderr,
                "authrelay-milter: no socket: set milter.socket in "
                "%s or use -p\n",
                path);
        return give_up(p, EX_CONFIG);
    }
    warn_inet(sock, true);
    struct passwd *pw = NULL;
    if (user && (pw = getpwnam(user)) == NULL) {
        fprintf(stderr, "authrelay-milter: unknown user %s\n", user);
        return give_up(p, EX_CONFIG);
    }

    if (geteuid() == 0 && pw == NULL) {
        fprintf(stderr,
                "authrelay-milter: refusing to run as root: set milter.user "
                "or -u USER (-u root if root is really meant)\n");
        return give_up(p, EX_CONFIG);
    }
    raise_fd_limit();

    const char *upath = unix_path(sock);
    if (act_as(pw) < 0) {
        fprintf(stderr, "authrelay-milter: cannot act as user %s: %s\n", user,
                strerror(errno));
        return give_up(p, EX_OSERR);
    }
    if (upath && clear_stale_socket(upath) < 0) {
        back_to_root();
        return give_up(p, EX_OSERR);
    }
    mode_t old = umask(007); /* the socket: owner and group only */
    if (smfi_setconn((char *)sock) != MI_SUCCESS ||
        smfi_register(ar_filter) != MI_SUCCESS ||
        smfi_setbacklog(1024) != MI_SUCCESS ||
        smfi_settimeout((int)ar_policy_timeout(p)) != MI_SUCCESS ||
        smfi_opensocket(false) != MI_SUCCESS) {
        back_to_root();
        if (upath && pw)
            fprintf(stderr,
                    "authrelay-milter: cannot open socket %s as user %s (it "
                    "must be able to write the socket's directory)\n",
                    sock, pw->pw_name);
        else
            fprintf(stderr, "authrelay-milter: cannot open socket %s\n", sock);
        ar_log_syslog(LOG_ERR, "cannot open socket %s", sock);
        return give_up(p, EX_OSERR);
    }
    umask(old | 022);
    if (back_to_root() < 0) {
        fprintf(stderr, "authrelay-milter: cannot return to root: %s\n",
                strerror(errno));
        return give_up(p, EX_OSERR);
    }
    if (!foreground && daemonize() < 0) {
        fprintf(stderr, "authrelay-milter: cannot daemonize: %s\n",
                strerror(errno));
        return give_up(p, EX_OSERR);
    }
    if (pw && drop_privileges(pw) < 0) {
        ar_log_syslog(LOG_ERR, "cannot switch to user %s: %m", user);
        fprintf(stderr, "authrelay-milter: cannot switch to user %s\n", user);
        return give_up(p, EX_OSERR);
    }
    /* as the user: its own file, which the stop can remove */
    if (pidfile && write_pidfile(pidfile) < 0) {
        const char *why =
            errno == EEXIST || errno == ENXIO
                ? "it is not a regular file of this user (a FIFO?)"
            : errno == ELOOP || errno == ENOTDIR
                ? "a symbolic link or a non-directory is in the way"
                : strerror(errno);
        ar_log_syslog(LOG_ERR, "cannot write pidfile %s: %s", pidfile, why);
        fprintf(stderr, "authrelay-milter: cannot write pidfile %s: %s\n",
                pidfile, why);
        if (upath)
            unlink(upath);
        return give_up(p, EX_OSERR);
    }

    if (ar_log_start() < 0)
        ar_log(LOG_WARNING, "no log writer thread: logging line by line");
    ar_log(LOG_INFO, "authrelay-milter %s starting on %s", AR_VERSION, sock);
    ar_reload_log_policy("loaded", p);
    ar_metrics_policy(ar_policy_sha256(p),
                      (double)(t1.tv_sec - t0.tv_sec) +
                          (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (ar_policy_metrics_file(p))
        ar_metrics_restore(ar_policy_metrics_file(p));
    /* from here on the snapshot owns p, and a reload may free it */
    ar_d.policy_path = path;
    ar_snapshot_init(&ar_d.snap, p);
    stop_pidfile = pidfile; /* before the thread that may read them */
    stop_socket = upath;
    if (ar_stop_start(sock, stop_overdue) < 0 || ar_metrics_start() < 0 ||
        ar_reload_start() < 0) {
        ar_log(LOG_ERR, "cannot start the stop, metrics or reload thread");
        ar_snapshot_destroy(&ar_d.snap);
        ar_log_close();
        return EX_OSERR;
    }

    int rc = smfi_main();
    /* tests only: libmilter's stop never ending, as its pool teardown
     * race once made it (the stop's deadline then ends it) */
    AR_TEST_STALL("AUTHRELAY_TEST_STALL_STOP");
    /* libmilter's listener may report a failure when a stop signal ends
     * its wait (seen under valgrind): a stop that was asked for is an
     * orderly stop; only a listener that fails on its own is not */
    bool asked = mi_stop() != 0;
    atomic_store(&milter_returned, true);
    if (atomic_load(&finishing)) /* the deadline came first: it exits */
        for (;;)
            pause();
    ar_reload_stop();
    ar_metrics_stop();
    finish(rc != MI_SUCCESS && !asked ? EX_OSERR : 0, true);
}
