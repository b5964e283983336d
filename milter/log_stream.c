/*
 * log_stream.c - the log writer's stream to systemd-journald, and the
 * bounded waits of the writer thread (see log.h for the whole design).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_int.h"

/* ---- the journal's stream ----------------------------------------------
 * Where systemd-journald is the syslog daemon (/dev/log is its socket, or
 * there is no /dev/log), the writer hands it the lines over a stream of
 * our own: journald takes a batch in one read, where every datagram to
 * /dev/log is a send of ours and a receive of its own. The stream's
 * header names us as a datagram would ("authrelay", facility mail), so
 * the journal and the syslog daemon it forwards to see the same lines;
 * each line says its severity ("<6>"). Where another syslog daemon has
 * /dev/log, nothing changes. Only the writer thread uses the stream. */
#define JOURNAL_STREAM_PATH "/run/systemd/journal/stdout"
#define JOURNAL_DEVLOG "/run/systemd/journal/dev-log"

static int journal = -1;     /* the stream */
static time_t journal_tried; /* at most one attempt a second */

/* The writer waits for a receiver that does not keep up (its lines and
 * the ones after them are queued meanwhile; a line that finds the queue
 * full is dropped), but a stop waits STOP_GRACE_MS at most: what is left
 * then is dropped. Only the writer thread waits. */
#define STOP_GRACE_MS 1000
#define WAIT_SLICE_MS 100 /* how often a wait looks for a stop */

atomic_bool ar_log_stopping;
static bool stop_seen; /* by a wait: since stop_seen_at */
static struct timespec stop_seen_at;

void
ar_log_wait_reset(void)
{
    stop_seen = false;
}

/* true when s can take data again; false once a stop has waited its
 * grace */
bool
ar_log_wait_writable(int s)
{
    for (;;) {
        int ms = WAIT_SLICE_MS;
        if (atomic_load(&ar_log_stopping)) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (!stop_seen) {
                stop_seen = true;
                stop_seen_at = now;
            }
            long left = STOP_GRACE_MS -
                        (now.tv_sec - stop_seen_at.tv_sec) * 1000 -
                        (now.tv_nsec - stop_seen_at.tv_nsec) / 1000000;
            if (left <= 0)
                return false;
            ms = left < ms ? (int)left : ms;
        }
        struct pollfd p = {.fd = s, .events = POLLOUT};
        if (poll(&p, 1, ms) > 0)
            return true; /* writable, or an error the send will tell */
    }
}

/* the whole of iov[0..n) to s, partial writes going on where they
 * stopped: SENT; GONE on an error; FULL when a stop gave up waiting for
 * the receiver. *done: how many of the n went whole. */
enum sent
ar_log_send_all(int s, struct iovec *iov, size_t n, size_t *done)
{
    size_t k = 0;
    enum sent r = SENT;
    while (k < n) {
        struct msghdr m = {.msg_iov = iov + k, .msg_iovlen = n - k};
        ssize_t w = sendmsg(s, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        int err = errno;
        if (w < 0 && (err == EINTR ||
                      (ar_log_would_wait(err) && ar_log_wait_writable(s))))
            continue;
        if (w < 0) {
            r = ar_log_would_wait(err) ? FULL : GONE;
            break;
        }
        for (; k < n && (size_t)w >= iov[k].iov_len; k++)
            w -= (ssize_t)iov[k].iov_len;
        if (k < n) {
            iov[k].iov_base = (char *)iov[k].iov_base + w;
            iov[k].iov_len -= (size_t)w;
        }
    }
    if (done)
        *done = k;
    return r;
}

static bool
devlog_is_journald(void)
{
    struct stat dev, jd;
    if (stat(JOURNAL_DEVLOG, &jd) < 0)
        return false;
    return stat(LOG_PATH, &dev) < 0 ||
           (dev.st_dev == jd.st_dev && dev.st_ino == jd.st_ino);
}

/* the stream, connected if it can be (an attempt a second at most) */
int
ar_log_journal(void)
{
    time_t now = time(NULL);
    if (journal >= 0 || now == journal_tried)
        return journal;
    journal_tried = now;
    if (!devlog_is_journald())
        return -1;
    /* non-blocking: a journald that does not read stalls no send */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, JOURNAL_STREAM_PATH);
    /* identifier, unit (none), priority with facility, a severity prefix
     * on each line, and no forwarding beyond journald's own settings */
    _Static_assert((LOG_MAIL | LOG_INFO) == 22, "mail.info is 22");
    char head[] = IDENT "\n\n22\n1\n0\n0\n0\n";
    struct iovec iov = {head, sizeof(head) - 1};
    if (s >= 0 && (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
                   shutdown(s, SHUT_RD) < 0 ||
                   ar_log_send_all(s, &iov, 1, NULL) != SENT)) {
        close(s);
        s = -1;
    }
    return journal = s;
}

void
ar_log_journal_close(void)
{
    if (journal >= 0)
        close(journal);
    journal = -1;
}
