/*
 * logsinks.c - the syslog and journald stand-ins of logsinks.h.
 */
#define _GNU_SOURCE
#include <check.h>
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

#include "harness.h"
#include "logsinks.h"
/* ---- syslog ----------------------------------------------------------------
 * The daemon's lines go to /dev/log through a writer thread in batches.
 * To see them the test binds /dev/log itself, when no syslog daemon has
 * it (as on the CI machines); the daemon suites take turns by a lock. */

/* append buf[0..n) to *text, and a newline if nl */
static void
append(char **text, size_t *len, size_t *cap, const char *buf, size_t n,
       bool nl)
{
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        *text = realloc(*text, *cap);
    }
    memcpy(*text + *len, buf, n);
    *len += n;
    if (nl)
        (*text)[(*len)++] = '\n';
    (*text)[*len] = '\0';
}

static void *
sink_main(void *arg)
{
    struct sink *k = arg;
    char buf[4096];
    while (!k->stop) {
        if (k->paused) {
            usleep(10000);
            continue;
        }
        ssize_t n = recv(k->fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue; /* SO_RCVTIMEO: look at stop again */
        pthread_mutex_lock(&k->mu);
        append(&k->text, &k->len, &k->cap, buf, (size_t)n, true);
        pthread_mutex_unlock(&k->mu);
    }
    return NULL;
}

/* /dev/log for this test alone: the daemon suites' lock held (its
 * descriptor returned) and nothing at /dev/log (a socket or link that
 * nobody answers on, left by a test, removed); -1 and no lock if a live
 * syslog daemon, or anything else, is there. The lock is /dev itself:
 * every suite that can reach /dev/log shares it, also one in a chroot
 * with the host's /dev bound in (a lock file in /tmp was not shared
 * there, and two suites took /dev/log from each other). */
int
devlog_take(void)
{
    int lock = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(lock, 0);
    flock(lock, LOCK_EX);
    struct stat st;
    if (lstat(DEVLOG, &st) == 0) {
        if (!(S_ISSOCK(st.st_mode) || S_ISLNK(st.st_mode)) ||
            live(DEVLOG, SOCK_DGRAM)) {
            close(lock);
            return -1;
        }
        unlink(DEVLOG);
    }
    return lock;
}

/* false (and nothing bound) if a live syslog daemon owns /dev/log */
bool
sink_open(struct sink *k)
{
    memset(k, 0, sizeof(*k));
    if ((k->lock = devlog_take()) < 0)
        return false;
    k->fd = unix_socket(DEVLOG, SOCK_DGRAM, true);
    ck_assert_int_ge(k->fd, 0);
    chmod(DEVLOG, 0666);
    struct timeval tv = {0, 100000};
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    pthread_mutex_init(&k->mu, NULL);
    pthread_create(&k->t, NULL, sink_main, k);
    return true;
}

/* occurrences of s in text */
int
count_in(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, s)) != NULL; p++)
        n++;
    return n;
}

/* ---- the journal -----------------------------------------------------------
 * Where systemd-journald has /dev/log, the writer sends the lines over a
 * stream of its own to /run/systemd/journal/stdout. The test plays
 * journald (its datagram and stream sockets, /dev/log a link to the
 * first) where neither it nor another syslog daemon runs. */

/* Every daemon on the machine finds the stand-in (another suite's too):
 * each stream is kept with its sender's pid, and only the test's daemon's
 * are looked at. */

static void
journal_listen(struct journal *j, bool on)
{
    if (on) {
        j->listener = unix_socket(JOURNAL_STDOUT, SOCK_STREAM, true);
        ck_assert_int_ge(j->listener, 0);
        chmod(JOURNAL_STDOUT, 0666);
        return;
    }
    close(j->listener); /* journald is gone: its streams with it */
    unlink(JOURNAL_STDOUT);
    for (int i = 0; i < j->nstreams; i++)
        if (j->streams[i].fd >= 0)
            close(j->streams[i].fd), j->streams[i].fd = -1;
}

static void *
journal_main(void *arg)
{
    struct journal *j = arg;
    char buf[8192];
    while (!j->stop) {
        if (j->paused) {
            usleep(10000);
            continue;
        }
        if (j->want_listening != j->listening) {
            journal_listen(j, j->want_listening);
            j->listening = j->want_listening;
        }
        struct pollfd p[2 + JSTREAMS] = {
            {.fd = j->dg, .events = POLLIN},
            {.fd = j->listening ? j->listener : -1, .events = POLLIN}};
        for (int i = 0; i < j->nstreams; i++)
            p[2 + i] =
                (struct pollfd){.fd = j->streams[i].fd, .events = POLLIN};
        if (poll(p, 2 + (nfds_t)j->nstreams, 50) <= 0)
            continue;
        ssize_t n;
        pthread_mutex_lock(&j->mu);
        while ((n = recv(j->dg, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
            append(&j->dgrams, &j->dlen, &j->dcap, buf, (size_t)n, true);
        for (int i = 0; i < j->nstreams; i++) {
            struct jstream *js = &j->streams[i];
            while (js->fd >= 0 &&
                   (n = recv(js->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
                append(&js->text, &js->len, &js->cap, buf, (size_t)n, false);
            if (js->fd >= 0 && n == 0) /* the daemon closed it */
                close(js->fd), js->fd = -1;
        }
        pthread_mutex_unlock(&j->mu);
        int fd;
        struct ucred uc;
        socklen_t ul = sizeof(uc);
        if (p[1].revents &&
            (fd = accept4(j->listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
            if (j->nstreams < JSTREAMS &&
                getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
                pthread_mutex_lock(&j->mu);
                j->streams[j->nstreams++] =
                    (struct jstream){.fd = fd, .pid = uc.pid};
                pthread_mutex_unlock(&j->mu);
            } else {
                close(fd);
            }
        }
    }
    return NULL;
}

/* false (nothing made) if a journald or another syslog daemon runs */
bool
journal_open(struct journal *j)
{
    memset(j, 0, sizeof(*j));
    if ((j->lock = devlog_take()) < 0)
        return false;
    if (live(JOURNAL_STDOUT, SOCK_STREAM)) {
        close(j->lock);
        return false;
    }
    j->made_run = mkdir("/run/systemd", 0755) == 0;
    j->made_dir = mkdir(JOURNAL_DIR, 0755) == 0;
    unlink(JOURNAL_DEVLOG);
    unlink(JOURNAL_STDOUT);
    j->dg = unix_socket(JOURNAL_DEVLOG, SOCK_DGRAM, true);
    ck_assert_int_ge(j->dg, 0);
    chmod(JOURNAL_DEVLOG, 0666);
    ck_assert_int_eq(symlink(JOURNAL_DEVLOG, DEVLOG), 0);
    pthread_mutex_init(&j->mu, NULL);
    j->want_listening = 1;
    pthread_create(&j->t, NULL, journal_main, j);
    return true;
}

void
journal_close(struct journal *j)
{
    j->stop = 1;
    pthread_join(j->t, NULL);
    if (j->listening)
        journal_listen(j, false);
    close(j->dg);
    unlink(DEVLOG);
    unlink(JOURNAL_DEVLOG);
    if (j->made_dir)
        rmdir(JOURNAL_DIR);
    if (j->made_run)
        rmdir("/run/systemd");
    free(j->dgrams);
    for (int i = 0; i < j->nstreams; i++)
        free(j->streams[i].text);
    close(j->lock);
}

/* occurrences of s in what pid sent over its streams (pid 0: in the
 * datagrams), after waiting up to 5 s for the first */
int
journal_count(struct journal *j, pid_t pid, const char *s)
{
    int n = 0;
    for (int i = 0; i < 500 && n == 0; i++) {
        if (i)
            usleep(10000);
        pthread_mutex_lock(&j->mu);
        if (pid == 0)
            n = count_in(j->dgrams, s);
        for (int k = 0; pid && k < j->nstreams; k++)
            if (j->streams[k].pid == pid)
                n += count_in(j->streams[k].text, s);
        pthread_mutex_unlock(&j->mu);
    }
    return n;
}

/* the streams pid opened, each checked to begin with the header that
 * names it authrelay, facility mail, severity info, with a severity on
 * each line and journald's own forwarding */
int
journal_streams(struct journal *j, pid_t pid)
{
    static const char head[] = "authrelay\n\n22\n1\n0\n0\n0\n";
    int n = 0;
    pthread_mutex_lock(&j->mu);
    for (int k = 0; k < j->nstreams; k++) {
        const char *t = j->streams[k].text ? j->streams[k].text : "";
        if (j->streams[k].pid != pid)
            continue;
        n++;
        ck_assert_msg(strncmp(t, head, strlen(head)) == 0,
                      "stream header: %.40s", t);
    }
    pthread_mutex_unlock(&j->mu);
    return n;
}

void
journal_wait_state(struct journal *j, int listening)
{
    j->want_listening = listening;
    for (int i = 0; i < 500 && j->listening != listening; i++)
        usleep(10000);
    ck_assert_int_eq(j->listening, listening);
}
