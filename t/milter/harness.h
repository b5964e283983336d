/*
 * harness.h - the daemon suites' common ground: each test starts the
 * built authrelay-milter on a unix socket in a temporary directory
 * (setup) and talks to it as an MTA does (mtaclient.c), asserting the
 * replies on the wire and the log; teardown stops it and asserts a clean
 * exit. harness.c holds main(): every suite (daemon_decisions.c,
 * daemon_lifecycle.c, daemon_faults.c, daemon_logging.c) supplies only
 * harness_name and harness_add_tests().
 */
#ifndef AR_T_HARNESS_H
#define AR_T_HARNESS_H

#define _GNU_SOURCE
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mtaclient.h"
#include "policies.h"

/* ---- what a suite supplies ---------------------------------------------- */

extern const char harness_name[];  /* the suite's name */
void harness_add_tests(TCase *tc); /* its tests, setup and teardown set */

/* ---- the daemon under test ----------------------------------------------- */

/* the test's directory and the daemon's files in it */
extern char dir[80], policy[128], logfile[128], sockspec[160], sockpath[128],
    pidfile[128];
extern pid_t daemon_pid; /* 0: not running */

void write_file(const char *path, const char *text); /* atomically */
/* the test policy of mode, with extra local domains (", \"a.test\"") */
void policy_text(char *buf, size_t size, const char *mode,
                 const char *extra_domains);
void write_policy(const char *mode, const char *extra_domains);
/* run the daemon with args (NULL-terminated), stderr to logfile;
 * AR_VALGRIND=1: under valgrind memcheck, any error exit status 99 */
pid_t spawn(const char *const *args);
int wait_exit(pid_t pid); /* exit status (128+signal), -1 if it lingers */
bool answers(void);       /* something answers at sockspec */
void start_daemon_as(const char *user);
void start_daemon(void); /* as root */
void assert_alive(void);
void stop_daemon(void); /* SIGTERM; asserts exit 0, no socket or pidfile */

/* reload with text as the policy (SIGUSR1), asserting "reloaded" */
void reload_with(const char *text);
/* reload with a sender_login policy of mode (metrics in dir too) */
void sl_reload(const char *mode);
/* the metrics file at path as SIGUSR2 makes the daemon write it */
void read_metrics_on_usr2(const char *path, char *text, size_t size);

/* ---- the log ------------------------------------------------------------- */

int log_count(const char *s); /* lines containing s */
int log_count_without(const char *s, const char *t);
bool log_wait(const char *s); /* up to 5 s for a line containing s */
void dump_log(void);          /* the last 40 lines, to stderr */

#define assert_log(s)                                                          \
    do {                                                                       \
        if (!log_wait(s)) {                                                    \
            dump_log();                                                        \
            ck_abort_msg("no log line with: %s", s);                           \
        }                                                                      \
    } while (0)

/* ---- sessions ------------------------------------------------------------ */

struct client {
    const char *name, *addr, *resolve, *mta_version, *helo;
    char family;
};

extern const struct client stranger; /* host.stranger.test[192.0.2.99] */

void session(struct mc *m, const struct client *c); /* connect, HELO */
/* MAIL FROM, optionally authenticated (auth NULL: no auth macros) */
void mail(struct mc *m, const char *from, const char *auth);
/* RCPT TO; want: "c", or the exact "CODE XCODE TEXT" of a 'y' reply */
void rcpt(struct mc *m, const char *to, const char *want);
void done(struct mc *m);
/* a connection from the stranger, MAIL from a@remote.test and RCPTs:
 * pairs of address and wanted reply (see rcpt()), NULL-terminated */
void expect(const char *to, const char *want, ...);

/* ---- unix sockets -------------------------------------------------------- */

/* bound (and listening, for a stream) or connected; -1 on failure */
int unix_socket(const char *path, int type, bool bind_it);
bool live(const char *path, int type); /* something answers at path */

#endif
