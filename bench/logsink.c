/*
 * logsink - a stand-in for the syslog daemon on machines without one.
 *
 *   logsink PATH [OUT [SKIP]]   binds the datagram socket PATH (normally
 *                               /dev/log), as a syslogd does
 *   logsink -j [OUT [SKIP]]     as systemd-journald does: its datagram
 *                               socket /run/systemd/journal/dev-log with
 *                               /dev/log a link to it, and its stream
 *                               socket /run/systemd/journal/stdout
 *
 * Receives messages; with OUT, appends each to that file as one line
 * (buffered, flushed whenever nothing is waiting, as a syslogd writes its
 * files), except those containing SKIP (the benchmark keeps the daemon's
 * own lines, not the millions of per-recipient ones it would read again).
 * A stream line is written as journald forwards it to syslog:
 * "<PRI>IDENT[PID]: message". On SIGTERM it removes the sockets (and the
 * link) it made and prints the counts (all, datagrams). The benchmark uses it
 * so that the daemon's one log line per recipient costs what it costs in
 * production (a send, and a receiver that takes it), and reads the daemon's log
 * there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define JOURNAL_DIR "/run/systemd/journal"
#define JOURNAL_DEVLOG JOURNAL_DIR "/dev-log"
#define JOURNAL_STREAM JOURNAL_DIR "/stdout"
#define MAX_STREAMS 64
#define STREAM_BUF (64 * 1024)
#define HEADER_LINES 7 /* identifier, unit, priority and four flags */

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static FILE *out;
static const char *skip;
static long count, datagrams;

static void
keep(const char *msg, size_t len)
{
    count++;
    if (out && !(skip && memmem(msg, len, skip, strlen(skip)))) {
        fwrite(msg, 1, len, out);
        fputc('\n', out);
    }
}

struct stream {
    int fd;
    pid_t pid;
    int header; /* header lines still to come */
    int pri;    /* from the header: facility and severity */
    char ident[64];
    size_t len;
    char buf[STREAM_BUF];
};

/* one line of a stream: a header line, or a message */
static void
stream_line(struct stream *s, char *line, size_t len)
{
    line[len] = '\0';
    if (s->header > 0) {
        if (s->header == HEADER_LINES)
            snprintf(s->ident, sizeof(s->ident), "%s", line);
        else if (s->header == HEADER_LINES - 2)
            s->pri = atoi(line);
        s->header--;
        return;
    }
    int pri = s->pri;
    if (len >= 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '7' &&
        line[2] == '>') {
        pri = (pri & ~7) | (line[1] - '0');
        line += 3;
    }
    char msg[STREAM_BUF + 128];
    int n = snprintf(msg, sizeof(msg), "<%d>%s[%ld]: %s", pri, s->ident,
                     (long)s->pid, line);
    keep(msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* read what a stream has; false when it is closed */
static bool
stream_read(struct stream *s)
{
    ssize_t r = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
    if (r <= 0)
        return r < 0 && errno == EINTR;
    s->len += (size_t)r;
    char *p = s->buf, *end = s->buf + s->len, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        stream_line(s, p, (size_t)(nl - p));
        p = nl + 1;
    }
    s->len = (size_t)(end - p);
    if (s->len == sizeof(s->buf) - 1) { /* a line too long: as it is */
        stream_line(s, s->buf, s->len);
        s->len = 0;
    }
    memmove(s->buf, p, s->len);
    return true;
}

static int
bind_unix(const char *path, int type)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0)) {
        fprintf(stderr, "logsink: %s: %s\n", path, strerror(errno));
        exit(71);
    }
    chmod(path, 0666);
    return fd;
}

int
main(int argc, char **argv)
{
    bool journal = argc >= 2 && strcmp(argv[1], "-j") == 0;
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: logsink PATH [OUT [SKIP]]\n"
                        "       logsink -j [OUT [SKIP]]\n");
        return 64;
    }
    bool made_run = false, made_dir = false, made_link = false;
    int dg, listener = -1;
    if (journal) {
        made_run = mkdir("/run/systemd", 0755) == 0;
        made_dir = mkdir(JOURNAL_DIR, 0755) == 0;
        dg = bind_unix(JOURNAL_DEVLOG, SOCK_DGRAM);
        listener = bind_unix(JOURNAL_STREAM, SOCK_STREAM);
        struct stat st;
        if (lstat("/dev/log", &st) == 0 && S_ISLNK(st.st_mode) &&
            stat("/dev/log", &st) < 0)
            unlink("/dev/log"); /* a link to nothing, left by a stand-in */
        made_link = symlink(JOURNAL_DEVLOG, "/dev/log") == 0;
    } else {
        dg = bind_unix(argv[1], SOCK_DGRAM);
    }
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* journald's /dev/log has an 8 MB receive buffer (ReceiveBuffer=8M
     * in systemd-journald-dev-log.socket); take the same, as root */
    int rcvbuf = 8 << 20;
    if (setsockopt(dg, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(dg, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    out = argc >= 3 ? fopen(argv[2], "a") : NULL;
    skip = argc == 4 ? argv[3] : NULL;
    if (argc >= 3 && out == NULL) {
        perror("logsink: open");
        return 73;
    }

    static struct stream streams[MAX_STREAMS];
    struct pollfd pfd[2 + MAX_STREAMS];
    int nstreams = 0;
    char buf[4096];
    while (!stop) {
        pfd[0] = (struct pollfd){.fd = dg, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = listener, .events = POLLIN};
        for (int i = 0; i < nstreams; i++)
            pfd[2 + i] = (struct pollfd){.fd = streams[i].fd, .events = POLLIN};
        /* a stop that comes before poll() is seen in 0.2 s */
        if (poll(pfd, 2 + (nfds_t)nstreams, 200) <= 0) {
            if (out)
                fflush(out);
            continue;
        }
        if (pfd[0].revents) {
            ssize_t r;
            while ((r = recv(dg, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
                keep(buf, (size_t)r);
                datagrams++;
            }
        }
        if (pfd[1].revents) {
            int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
            struct ucred uc;
            socklen_t ul = sizeof(uc);
            if (fd >= 0 && nstreams < MAX_STREAMS &&
                getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
                struct stream *s = &streams[nstreams++];
                *s = (struct stream){
                    .fd = fd, .pid = uc.pid, .header = HEADER_LINES};
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (int i = nstreams - 1; i >= 0; i--) {
            if (pfd[2 + i].revents == 0 || stream_read(&streams[i]))
                continue;
            close(streams[i].fd);
            memmove(&streams[i], &streams[--nstreams], sizeof(streams[i]));
        }
    }
    if (out)
        fclose(out);
    if (journal) {
        unlink(JOURNAL_DEVLOG);
        unlink(JOURNAL_STREAM);
        if (made_link)
            unlink("/dev/log");
        if (made_dir)
            rmdir(JOURNAL_DIR);
        if (made_run)
            rmdir("/run/systemd");
    } else {
        unlink(argv[1]);
    }
    printf("logsink: %ld messages, %ld of them datagrams\n", count, datagrams);
    return 0;
}
