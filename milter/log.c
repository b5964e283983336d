/* log.c - syslog over our own socket (and stderr in the foreground) */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
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

#define LOG_PATH "/dev/log"
#define IDENT "authrelay"

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
        int old = atomic_exchange(&fd, s);
        if (old >= 0)
            close(old);
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

void
ar_log_open(int foreground)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_pid);
    to_stderr = foreground;
    stderr_is_journal = foreground && journal_is_stderr();
    reconnect();
}

/* one line to /dev/log now; false if syslog did not take it */
static bool
send_line(const char *line, size_t len)
{
    int s = atomic_load(&fd);
    if (s >= 0 && send(s, line, len, MSG_NOSIGNAL) >= 0)
        return true;
    reconnect();
    return (s = atomic_load(&fd)) >= 0 && send(s, line, len, MSG_NOSIGNAL) >= 0;
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
    ssize_t w = writev(2, iov, 3);
    (void)w;
}

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

static int journal = -1;
static time_t journal_tried; /* at most one attempt a second */

/* the whole of iov[0..n) to s; false on an error (partial writes go on
 * where they stopped) */
static bool
send_all(int s, struct iovec *iov, size_t n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
        ssize_t w = sendmsg(s, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return false;
        for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
            w -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return true;
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
static int
journal_stream(void)
{
    time_t now = time(NULL);
    if (journal >= 0 || now == journal_tried)
        return journal;
    journal_tried = now;
    if (!devlog_is_journald())
        return -1;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, JOURNAL_STREAM_PATH);
    /* identifier, unit (none), priority with facility, a severity prefix
     * on each line, and no forwarding beyond journald's own settings */
    _Static_assert((LOG_MAIL | LOG_INFO) == 22, "mail.info is 22");
    char head[] = IDENT "\n\n22\n1\n0\n0\n0\n";
    struct iovec iov = {head, sizeof(head) - 1};
    if (s >= 0 && (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
                   shutdown(s, SHUT_RD) < 0 || !send_all(s, &iov, 1))) {
        close(s);
        s = -1;
    }
    return journal = s;
}

static void
journal_close(void)
{
    if (journal >= 0)
        close(journal);
    journal = -1;
}

/* ---- the writer thread --------------------------------------------------
 * Threads that log a decision append the line to the front queue; the
 * writer swaps queues and sends the lines of a few milliseconds at once:
 * one write to journald's stream, or sendmmsg() to /dev/log. Under load
 * that is one system call (and one wakeup of the syslog daemon) per
 * batch instead of per recipient. A line that finds
 * the queue full, or no writer running, is sent at once by its thread:
 * nothing is dropped and nobody waits for the writer. */
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
static bool writer_running, writer_stop;
static pthread_t writer;

/* queue a line whose message starts at head; stderr_if_lost: write it
 * there should syslog not take it */
static bool
enqueue(const char *line, size_t len, size_t head, bool stderr_if_lost)
{
    bool queued = false, was_empty = false;
    pthread_mutex_lock(&qlock);
    if (writer_running && front->used + REC_HEAD + len <= QUEUE_BYTES) {
        char *r = front->buf + front->used;
        r[0] = (char)(len >> 8), r[1] = (char)(len & 0xff);
        r[2] = (char)(head | (stderr_if_lost ? REC_STDERR : 0));
        memcpy(r + REC_HEAD, line, len);
        front->used += REC_HEAD + len;
        was_empty = front->lines++ == 0;
        queued = true;
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

/* the lines of q from off on to the journal's stream, STREAM_LINES per
 * system call, each as "<severity>message\n"; where the lines that did
 * not go begin (q->used when all did) */
#define STREAM_LINES 256

static size_t
stream_queue(struct queue *q, size_t off)
{
    static const char sev[8][4] = {"<0>", "<1>", "<2>", "<3>",
                                   "<4>", "<5>", "<6>", "<7>"};
    struct iovec iov[3 * STREAM_LINES];
    while (off < q->used && journal_stream() >= 0) {
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
            iov[n] = (struct iovec){(void *)sev[LOG_PRI(pri)], 3};
            iov[n + 1] = (struct iovec){msg, msg_len};
            iov[n + 2] = (struct iovec){(void *)"\n", 1};
            end += REC_HEAD + len;
        }
        if (!send_all(journal, iov, n)) {
            /* journald went away: these lines go to /dev/log (some may
             * then be there twice, which beats losing any) */
            journal_close();
            break;
        }
        off = end;
    }
    return off;
}

/* send every line of q: through the journal's stream where there is one,
 * else (and what it did not take) to /dev/log, MMSG_MAX per system call */
static void
send_queue(struct queue *q)
{
    struct mmsghdr m[MMSG_MAX];
    struct iovec iov[MMSG_MAX];
    const unsigned char *rec[MMSG_MAX];
    size_t off = stream_queue(q, 0);
    while (off < q->used) {
        unsigned n = 0;
        for (; n < MMSG_MAX && off < q->used; n++) {
            const unsigned char *r = (const unsigned char *)q->buf + off;
            size_t len = record(r, NULL);
            rec[n] = r;
            iov[n] = (struct iovec){(void *)(r + REC_HEAD), len};
            m[n] = (struct mmsghdr){
                .msg_hdr = {.msg_iov = &iov[n], .msg_iovlen = 1}};
            off += REC_HEAD + len;
        }
        int s = atomic_load(&fd);
        int sent = s >= 0 ? sendmmsg(s, m, n, MSG_NOSIGNAL) : -1;
        /* what syslog did not take goes line by line (with a reconnect),
         * and to stderr where that was left to syslog */
        for (unsigned i = sent < 0 ? 0 : (unsigned)sent; i < n; i++) {
            size_t h, len = record(rec[i], &h);
            const char *line = (const char *)rec[i] + REC_HEAD;
            if (!send_line(line, len) && (rec[i][2] & REC_STDERR))
                write_stderr(line + h, len - h);
        }
    }
}

static void *
writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qlock);
    for (;;) {
        while (front->lines == 0 && !writer_stop)
            pthread_cond_wait(&qcond, &qlock);
        if (front->lines == 0) { /* stopping, and nothing left */
            writer_running = false;
            journal_close();
            break;
        }
        if (!writer_stop) { /* let a batch gather */
            pthread_mutex_unlock(&qlock);
            nanosleep(&(struct timespec){0, BATCH_WAIT_NS}, NULL);
            pthread_mutex_lock(&qlock);
        }
        struct queue *q = front;
        front = q == &queues[0] ? &queues[1] : &queues[0];
        pthread_mutex_unlock(&qlock);
        send_queue(q);
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
    writer_stop = false;
    writer_running = pthread_create(&writer, &attr, writer_main, NULL) == 0;
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
    writer_stop = true;
    pthread_mutex_unlock(&qlock);
    if (running) {
        pthread_cond_signal(&qcond);
        pthread_join(writer, NULL); /* it sends what is queued first */
    }
    int old = atomic_exchange(&fd, -1);
    if (old >= 0)
        close(old);
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
static void
line_end(struct line *l, bool with_stderr)
{
    const char *msg = l->buf + l->head;
    size_t msg_len = l->len - l->head;
    bool wanted = with_stderr && to_stderr;
    if (wanted && !stderr_is_journal)
        write_stderr(msg, msg_len);
    bool owed = wanted && stderr_is_journal;
    if (!enqueue(l->buf, l->len, l->head, owed) && !send_line(l->buf, l->len) &&
        owed)
        write_stderr(msg, msg_len);
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
