/* log.c - syslog over our own socket (and stderr in the foreground) */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOG_PATH "/dev/log"
#define IDENT "authrelay"

static atomic_int fd = -1;
static atomic_long last_connect; /* when we last tried, for retries */
static bool to_stderr;
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

void
ar_log_open(int foreground)
{
    to_stderr = foreground;
    reconnect();
}

void
ar_log_close(void)
{
    int old = atomic_exchange(&fd, -1);
    if (old >= 0)
        close(old);
}

static void emit(int prio, bool with_stderr, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
emit(int prio, bool with_stderr, const char *fmt, va_list ap)
{
    static __thread char buf[2048];
    static __thread time_t stamp_time = -1;
    static __thread char stamp[32];
    time_t now = time(NULL);

    if (now != stamp_time) { /* RFC 3164 time stamp, local time */
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        stamp_time = now;
    }
    int head =
        snprintf(buf, sizeof(buf), "<%d>%s %s[%ld]: ", LOG_MAIL | LOG_PRI(prio),
                 stamp, IDENT, (long)getpid());
    int body = vsnprintf(buf + head, sizeof(buf) - (size_t)head, fmt, ap);
    size_t len = (size_t)head + (body < 0 ? 0 : (size_t)body);
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    int s = atomic_load(&fd);
    if (s < 0 || send(s, buf, len, MSG_NOSIGNAL) < 0) {
        reconnect();
        if ((s = atomic_load(&fd)) >= 0)
            send(s, buf, len, MSG_NOSIGNAL);
    }
    if (with_stderr && to_stderr) {
        /* "authrelay[pid]: message\n", in one write */
        char prefix[48];
        int n = snprintf(prefix, sizeof(prefix), "%s[%ld]: ", IDENT,
                         (long)getpid());
        struct iovec iov[3] = {{prefix, (size_t)n},
                               {buf + head, len - (size_t)head},
                               {(char *)"\n", 1}};
        ssize_t w = writev(2, iov, 3);
        (void)w;
    }
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

const char *
ar_log_clean(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    if (s == NULL)
        s = "";
    for (; *s && n + 1 < size; s++) {
        unsigned char c = (unsigned char)*s;
        buf[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}
