/* log.c - syslog over our own socket (and stderr in the foreground) */
#define _GNU_SOURCE
#include "log.h"
#include "log_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static atomic_int fd = -1;
static atomic_long last_connect; /* when we last tried, for retries */
static bool to_stderr, stderr_is_journal;
static pid_t pid; /* getpid() is a system call per line otherwise */
static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER;

/* (re)connect to /dev/log, at most once a second */
static void
reconnect(void)
{
    time_t now = time(NULL);
    if (atomic_load(&last_connect) == (long)now)
        return;
    pthread_mutex_lock(&connect_lock);
    if (atomic_load(&last_connect) != (long)now) {
        atomic_store(&last_connect, (long)now);
        int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        strcpy(sun.sun_path, LOG_PATH);
        if (s >= 0 && connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            close(s);
            s = -1;
        }
        /* The new socket takes the old one's number: another thread may
         * be sending on that number now, and a number closed here could
         * be reused at once by a session (a log line to an MTA). Where
         * there is no /dev/log the old socket stays, failing its sends. */
        int old = atomic_load(&fd);
        if (s >= 0 && old >= 0) {
            if (dup3(s, old, O_CLOEXEC) < 0)
                old = -1; /* then the new one under its own number */
            else
                close(s);
        }
        if (s >= 0 && old < 0)
            atomic_store(&fd, s);
    }
    pthread_mutex_unlock(&connect_lock);
}

static void
refresh_pid(void)
{
    pid = getpid();
}

static void
init_pid(void)
{
    refresh_pid();
    pthread_atfork(NULL, NULL, refresh_pid); /* daemonizing changes it */
}

/* systemd names the journal stream it gave us as stderr in JOURNAL_STREAM
 * ("DEVICE:INODE"); /dev/log reaches the same journal */
static bool
journal_is_stderr(void)
{
    const char *j = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return j && sscanf(j, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
           (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

/* Where stderr lines go, and how, so that no write of them can wait: a
 * stderr that a slow reader holds (a pipe to a logger, a terminal on
 * hold) would otherwise stop every session thread in write(), and a stop
 * after them. A socket is written with MSG_DONTWAIT; anything else
 * through a descriptor of our own opened on it with O_NONBLOCK (not
 * fd 2's own file description, which others share). A line it does not
 * take at once is dropped and counted, as one syslog does not take. */
static int err_fd = 2;
static bool err_is_socket;

static void
open_stderr(void)
{
    struct stat st;
    if (fstat(2, &st) < 0)
        return;
    if (S_ISSOCK(st.st_mode)) {
        err_is_socket = true;
        return;
    }
    int f = open("/proc/self/fd/2",
                 O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f >= 0)
        err_fd = f;
}

void
ar_log_open(int foreground)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_pid);
    to_stderr = foreground;
    stderr_is_journal = foreground && journal_is_stderr();
    if (foreground)
        open_stderr();
    reconnect();
}

/* ---- lines syslog did not take in time ----------------------------------
 * No send waits for syslog: a line that finds its receive queue full is
 * dropped and counted; the count is logged once syslog takes lines again
 * and exported in the metrics (ar_log_dropped). */
static atomic_ullong dropped;   /* since the start */
static unsigned long long told; /* of them, how many a line has told */
static pthread_mutex_t told_lock = PTHREAD_MUTEX_INITIALIZER;

/* stderr's own drops (write_stderr): in the metric, not told in a line,
 * which stderr would not take either */
static atomic_ullong err_dropped;

unsigned long long
ar_log_dropped(void)
{
    return atomic_load(&dropped) + atomic_load(&err_dropped);
}

/* one line to /dev/log now, never waiting: SENT; FULL when syslog does
 * not keep up; GONE when there is no syslog (none connects) */
static enum sent
send_line(const char *line, size_t len)
{
    int s = atomic_load(&fd);
    if (s >= 0 && send(s, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
        return SENT;
    if (s >= 0 && ar_log_would_wait(errno))
        return FULL;
    reconnect();
    if ((s = atomic_load(&fd)) < 0)
        return GONE;
    if (send(s, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
        return SENT;
    return ar_log_would_wait(errno) ? FULL : GONE;
}

/* the message part of a line on stderr: "authrelay[pid]: message\n", in
 * one write */
static void
write_stderr(const char *msg, size_t len)
{
    char prefix[48];
    int n = snprintf(prefix, sizeof(prefix), "%s[%ld]: ", IDENT, (long)pid);
    struct iovec iov[3] = {
        {prefix, (size_t)n}, {(char *)msg, len}, {(char *)"\n", 1}};
    ssize_t w;
    if (err_is_socket) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
        w = sendmsg(2, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else {
        w = writev(err_fd, iov, 3);
    }
    if (w < 0 && ar_log_would_wait(errno))
        atomic_fetch_add(&err_dropped, 1);
}

/* ---- the writer thread --------------------------------------------------
 * Threads that log a decision append the line to the front queue; the
 * writer swaps queues and sends the lines of a few milliseconds at once:
 * one write to journald's stream, or sendmmsg() to /dev/log. Under load
 * that is one system call (and one wakeup of the syslog daemon) per
 * batch instead of per recipient. A line that finds the queue full is
 * sent at once by its thread if syslog takes it without waiting, else
 * dropped (counted): nobody waits for the writer or for syslog. While
 * syslog does not keep up, the writer waits with its batch (the front
 * queue filling meanwhile); once syslog takes lines again, a line tells
 * how many were dropped. */
#define QUEUE_BYTES (128 * 1024)
#define BATCH_WAIT_NS (5 * 1000 * 1000) /* how long a line may wait */
#define MMSG_MAX 64
#define WRITER_STACK (128 * 1024)

/* A record: the line's length (2 octets), where its message starts (1
 * octet, the top bit set when the line is owed to stderr if syslog does
 * not take it), then the line. */
#define REC_HEAD 3
#define REC_STDERR 0x80

struct queue {
    size_t used, lines;
    char buf[QUEUE_BYTES];
};

static struct queue queues[2];
static struct queue *front = &queues[0];
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static bool writer_running, writer_failed;
static pthread_t writer;

enum queued { QUEUED, QUEUE_FULL, NO_WRITER };

/* queue a line whose message starts at head; stderr_if_lost: write it
 * there should syslog not take it */
static enum queued
enqueue(const char *line, size_t len, size_t head, bool stderr_if_lost)
{
    enum queued queued = NO_WRITER;
    bool was_empty = false;
    pthread_mutex_lock(&qlock);
    if (writer_running && front->used + REC_HEAD + len > QUEUE_BYTES) {
        queued = QUEUE_FULL;
    } else if (writer_running) {
        char *r = front->buf + front->used;
        r[0] = (char)(len >> 8), r[1] = (char)(len & 0xff);
        r[2] = (char)(head | (stderr_if_lost ? REC_STDERR : 0));
        memcpy(r + REC_HEAD, line, len);
        front->used += REC_HEAD + len;
        was_empty = front->lines++ == 0;
        queued = QUEUED;
    }
    pthread_mutex_unlock(&qlock);
    if (was_empty)
        pthread_cond_signal(&qcond);
    return queued;
}

/* the length of the line of the record at r; where its message starts
 * (head may be NULL) */
static size_t
record(const unsigned char *r, size_t *head)
{
    if (head)
        *head = r[2] & ~REC_STDERR;
    return (size_t)r[0] << 8 | r[1];
}

/* the lines of q from off on (a stop gave up waiting for syslog):
 * counted as dropped */
static void
drop_from(const struct queue *q, size_t off)
{
    unsigned long long n = 0;
    for (; off < q->used; n++)
        off += REC_HEAD + record((const unsigned char *)q->buf + off, NULL);
    atomic_fetch_add(&dropped, n);
}

/* the lines of q from off on to the journal's stream, STREAM_LINES per
 * system call, each as "<severity>message\n"; where the lines that did
 * not go begin (q->used when all did). *gave_up: a stop gave up waiting
 * for journald (the lines from there on are not sent). */
#define STREAM_LINES 256

static size_t
stream_queue(struct queue *q, size_t off, bool *gave_up)
{
    static const char sev[8][4] = {"<0>", "<1>", "<2>", "<3>",
                                   "<4>", "<5>", "<6>", "<7>"};
    struct iovec iov[3 * STREAM_LINES];
    size_t at[STREAM_LINES]; /* where each line's record starts */
    *gave_up = false;
    while (off < q->used && ar_log_journal() >= 0) {
        size_t n = 0, end = off;
        for (; n < 3 * STREAM_LINES && end < q->used; n += 3) {
            unsigned char *r = (unsigned char *)q->buf + end;
            size_t h, len = record(r, &h);
            char *line = (char *)r + REC_HEAD;
            /* "<PRI>", two digits (line_begin): the severity is its low
             * three bits */
            int pri = (line[1] - '0') * 10 + (line[2] - '0');
            char *msg = line + h;
            size_t msg_len = len - h;
            /* a newline would end the journal's entry early */
            for (char *nl; (nl = memchr(msg, '\n', msg_len)) != NULL;)
                *nl = ' ';
            at[n / 3] = end;
            iov[n] = (struct iovec){(void *)sev[LOG_PRI(pri)], 3};
            iov[n + 1] = (struct iovec){msg, msg_len};
            iov[n + 2] = (struct iovec){(void *)"\n", 1};
            end += REC_HEAD + len;
        }
        size_t done;
        enum sent r = ar_log_send_all(ar_log_journal(), iov, n, &done);
        if (r == FULL) { /* stopping: the line cut short counts too */
            ar_log_journal_close();
            *gave_up = true;
            return at[done / 3];
        }
        if (r == GONE) {
            /* journald went away: these lines go to /dev/log (some may
             * then be there twice, which beats losing any) */
            ar_log_journal_close();
            break;
        }
        off = end;
    }
    return off;
}

/* send every line of q: through the journal's stream where there is one,
 * else (and what it did not take) to /dev/log, MMSG_MAX per system call;
 * false when a stop gave up waiting for syslog (the rest dropped) */
static bool
send_queue(struct queue *q)
{
    struct mmsghdr m[MMSG_MAX];
    struct iovec iov[MMSG_MAX];
    bool gave_up;
    size_t off = stream_queue(q, 0, &gave_up);
    if (gave_up) {
        drop_from(q, off);
        return false;
    }
    while (off < q->used) {
        unsigned n = 0;
        for (size_t o = off; n < MMSG_MAX && o < q->used; n++) {
            const unsigned char *r = (const unsigned char *)q->buf + o;
            size_t len = record(r, NULL);
            iov[n] = (struct iovec){(void *)(r + REC_HEAD), len};
            m[n] = (struct mmsghdr){
                .msg_hdr = {.msg_iov = &iov[n], .msg_iovlen = 1}};
            o += REC_HEAD + len;
        }
        int s = atomic_load(&fd);
        int sent = s >= 0 ? sendmmsg(s, m, n, MSG_NOSIGNAL | MSG_DONTWAIT) : -1;
        for (int i = 0; i < sent; i++)
            off += REC_HEAD + iov[i].iov_len;
        if (sent > 0)
            continue;
        /* the first line did not go: syslog does not keep up (wait for
         * it), or is not there (reconnect, and stderr where that was left
         * to syslog) */
        const unsigned char *r = (const unsigned char *)q->buf + off;
        size_t h, len = record(r, &h);
        const char *line = (const char *)r + REC_HEAD;
        enum sent how = s >= 0 && ar_log_would_wait(errno) ? FULL : GONE;
        if (how == GONE)
            how = send_line(line, len);
        if (how == FULL) {
            if (ar_log_wait_writable(atomic_load(&fd)))
                continue;
            drop_from(q, off);
            return false;
        }
        if (how == GONE && (r[2] & REC_STDERR))
            write_stderr(line + h, len - h);
        off += REC_HEAD + len;
    }
    return true;
}

static bool tell_dropped(void);

static void *
writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qlock);
    for (;;) {
        while (front->lines == 0 && !ar_log_stopping)
            pthread_cond_wait(&qcond, &qlock);
        if (front->lines == 0) { /* stopping, and nothing left */
            writer_running = false;
            ar_log_journal_close();
            break;
        }
        if (!ar_log_stopping) { /* let a batch gather */
            pthread_mutex_unlock(&qlock);
            nanosleep(&(struct timespec){0, BATCH_WAIT_NS}, NULL);
            pthread_mutex_lock(&qlock);
        }
        struct queue *q = front;
        front = q == &queues[0] ? &queues[1] : &queues[0];
        pthread_mutex_unlock(&qlock);
        /* syslog took the batch: say what it missed before (queued
         * for the next batch) */
        if (send_queue(q))
            tell_dropped();
        q->used = q->lines = 0;
        pthread_mutex_lock(&qlock);
    }
    pthread_mutex_unlock(&qlock);
    return NULL;
}

int
ar_log_start(void)
{
    /* a small stack: the default 8 MB of address space is what a
     * session thread needs when memory is short (RLIMIT_AS) */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WRITER_STACK);
    pthread_mutex_lock(&qlock);
    ar_log_stopping = false;
    ar_log_wait_reset();
    writer_running = pthread_create(&writer, &attr, writer_main, NULL) == 0;
    writer_failed = !writer_running;
    bool ok = writer_running;
    pthread_mutex_unlock(&qlock);
    pthread_attr_destroy(&attr);
    return ok ? 0 : -1;
}

void
ar_log_close(void)
{
    pthread_mutex_lock(&qlock);
    bool running = writer_running;
    ar_log_stopping = true;
    pthread_mutex_unlock(&qlock);
    if (running) {
        pthread_cond_signal(&qcond);
        pthread_join(writer, NULL); /* it sends what is queued first */
    }
    tell_dropped(); /* the last word, if syslog takes it */
    pthread_mutex_lock(&connect_lock);
    int old = atomic_exchange(&fd, -1);
    if (old >= 0)
        close(old);
    pthread_mutex_unlock(&connect_lock);
}

/* The line is built in a buffer of the calling thread: "<PRI>" and the
 * header "Mmm dd hh:mm:ss authrelay[pid]: " (remade once a second), then
 * the message. */
#define LOG_LINE_MAX 2048

struct line {
    char buf[LOG_LINE_MAX];
    size_t head, len; /* where the message starts; the whole length */
};

static __thread struct line line_of_thread;
static __thread time_t stamp_time = -1;
static __thread pid_t stamp_pid;
static __thread char stamp[64];
static __thread size_t stamp_len;

/* start the thread's line: "<PRI>" and the header */
static struct line *
line_begin(int prio)
{
    struct line *l = &line_of_thread;
    time_t now = time(NULL);
    if (now != stamp_time || pid != stamp_pid) { /* RFC 3164, local time */
        struct tm tm;
        localtime_r(&now, &tm);
        size_t n = strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        int k = snprintf(stamp + n, sizeof(stamp) - n, " %s[%ld]: ", IDENT,
                         (long)pid);
        stamp_len = n + (k > 0 ? (size_t)k : 0);
        stamp_time = now;
        stamp_pid = pid;
    }
    _Static_assert(LOG_MAIL >= 10 && (LOG_MAIL | 7) < 100, "two digits");
    int pri = LOG_MAIL | LOG_PRI(prio);
    char *b = l->buf;
    b[0] = '<', b[1] = (char)('0' + pri / 10), b[2] = (char)('0' + pri % 10);
    b[3] = '>';
    memcpy(b + 4, stamp, stamp_len);
    l->head = l->len = 4 + stamp_len;
    return l;
}

/* send the finished line; and to stderr when that is wanted. Under
 * systemd, stderr and /dev/log end in the same journal: the line is
 * written there once, on stderr only if syslog does not take it (which
 * for a queued line the writer learns). */
#define ALONE_WAIT_MS 100

static bool
line_end(struct line *l, bool with_stderr)
{
    const char *msg = l->buf + l->head;
    size_t msg_len = l->len - l->head;
    bool wanted = with_stderr && to_stderr;
    if (wanted && !stderr_is_journal)
        write_stderr(msg, msg_len);
    bool owed = wanted && stderr_is_journal;
    enum queued queued = enqueue(l->buf, l->len, l->head, owed);
    if (queued == QUEUED)
        return true;
    enum sent sent = send_line(l->buf, l->len);
    /* No writer yet (start-up) or any more (the stop): this thread logs
     * alone and may wait for syslog a little -- unless the writer could
     * not start, when sessions log this way and must not wait. */
    if (sent == FULL && queued == NO_WRITER && !writer_failed) {
        struct pollfd p = {.fd = atomic_load(&fd), .events = POLLOUT};
        if (poll(&p, 1, ALONE_WAIT_MS) > 0)
            sent = send_line(l->buf, l->len);
    }
    if (sent == FULL)
        atomic_fetch_add(&dropped, 1);
    else if (sent == GONE && owed)
        write_stderr(msg, msg_len);
    return sent == SENT;
}

/* a line saying how many lines syslog has missed since the last such
 * line (if any has been missed); false if that line went nowhere */
static bool
tell_dropped(void)
{
    bool ok = true;
    pthread_mutex_lock(&told_lock);
    unsigned long long n = atomic_load(&dropped) - told;
    if (n > 0) {
        struct line *l = line_begin(LOG_WARNING);
        int k = snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
                         "syslog did not keep up: %llu log lines dropped", n);
        l->len += k > 0 ? (size_t)k : 0;
        if ((ok = line_end(l, true)))
            told += n;
    }
    pthread_mutex_unlock(&told_lock);
    return ok;
}

static void emit(int prio, bool with_stderr, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
emit(int prio, bool with_stderr, const char *fmt, va_list ap)
{
    struct line *l = line_begin(prio);
    int body = vsnprintf(l->buf + l->head, sizeof(l->buf) - l->head, fmt, ap);
    l->len += body < 0 ? 0 : (size_t)body;
    if (l->len >= sizeof(l->buf))
        l->len = sizeof(l->buf) - 1;
    line_end(l, with_stderr);
}

void
ar_log(int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(prio, true, fmt, ap);
    va_end(ap);
}

void
ar_log_syslog(int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(prio, false, fmt, ap);
    va_end(ap);
}

/* s into dst as ar_log_clean() has it, at most room octets; how many. A
 * control octet, the space (which separates fields) and a non-ASCII
 * octet are '?'. */
static size_t
clean_into(char *dst, size_t room, const char *s)
{
    size_t n = 0;
    for (; n < room && s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        dst[n] = (c <= 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (s[n] && n >= sizeof(AR_LOG_CUT) - 1) /* cut: say so */
        memcpy(dst + n - (sizeof(AR_LOG_CUT) - 1), AR_LOG_CUT,
               sizeof(AR_LOG_CUT) - 1);
    return n;
}

void
ar_log_parts(int prio, const struct ar_log_part *p, size_t n)
{
    struct line *l = line_begin(prio);
    for (size_t i = 0; i < n; i++) {
        const char *s = p[i].s ? p[i].s : "";
        char *dst = l->buf + l->len;
        size_t room = sizeof(l->buf) - 1 - l->len, k;
        if (p[i].len == AR_LOG_CLEAN) {
            k = clean_into(
                dst, room < AR_LOG_FIELD_MAX ? room : AR_LOG_FIELD_MAX, s);
        } else {
            k = p[i].len == AR_LOG_STR ? strnlen(s, room)
                                       : (p[i].len < room ? p[i].len : room);
            memcpy(dst, s, k);
        }
        l->len += k;
    }
    line_end(l, true);
}

const char *
ar_log_clean(const char *s, char *buf, size_t size)
{
    if (size > 0)
        buf[clean_into(buf, size - 1, s ? s : "")] = '\0';
    return buf;
}
