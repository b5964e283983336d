/*
 * stop.c - the stop, watched by a thread of its own. libmilter's signal
 * thread takes SIGTERM, SIGHUP and SIGINT and raises its stop flag; this
 * thread sees the flag, wakes libmilter's listener at once, and ends the
 * stop itself if it has not ended by its deadline. It does nothing that
 * can block (no reload, no file), so neither a reload nor a metrics write
 * that hangs can hold a stop: main() may wait for them, this thread does
 * not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "sockspec.h"
#include "testhooks.h"

/*
 * libmilter's listener looks at its stop flag only when its select()
 * times out, every 5 seconds: an orderly stop would take that long. Once
 * the flag is up, one connection to our own socket wakes it at once.
 * mi_stop() is libmilter's own (exported, undeclared) reader of the flag.
 */
extern int mi_stop(void);

static void (*overdue_action)(unsigned seconds);

/* where to poke, worked out at start: a stop must not wait on a name
 * look-up (inet:PORT@NAME) */
static struct sockaddr_storage poke_addr;
static socklen_t poke_len; /* 0: nowhere */

static void
poke_prepare(const char *sockspec)
{
    struct ar_sockspec s;
    if (ar_sockspec_parse(sockspec, &s) < 0)
        return; /* libmilter would not have opened it */
    if (s.family == AR_SOCK_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&poke_addr;
        sun->sun_family = AF_UNIX;
        snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", s.path);
        poke_len = sizeof(*sun);
        return;
    }
    /* no host, or the wildcard address, means all: loopback */
    bool v6 = s.family == AR_SOCK_INET6;
    const char *host =
        s.host[0] && strcmp(s.host, "0.0.0.0") && strcmp(s.host, "::")
            ? s.host
            : (v6 ? "::1" : "127.0.0.1");
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    hints.ai_family = v6 ? AF_INET6 : AF_INET;
    if (getaddrinfo(host, s.port, &hints, &ai) == 0) {
        if (ai->ai_addrlen <= sizeof(poke_addr)) {
            memcpy(&poke_addr, ai->ai_addr, ai->ai_addrlen);
            poke_len = ai->ai_addrlen;
        }
        freeaddrinfo(ai);
    }
}

/* one connection to our own socket, never waiting more than 200 ms (a
 * full backlog, a TCP handshake) */
static void
poke_listener(void)
{
    if (poke_len == 0)
        return;
    int fd = socket(poke_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return;
    if (connect(fd, (struct sockaddr *)&poke_addr, poke_len) < 0 &&
        errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, 200);
    }
    close(fd);
}

/* How long a stop may take: libmilter returns at once (it does not wait
 * for open sessions), but its pool teardown can race and never end (seen
 * under the sanitizers after a thousand connections), and our reload
 * thread may be in a reload or a metrics write that hangs; then we end
 * the stop ourselves, before a supervisor's SIGKILL would lose the queued
 * log lines. */
#define STOP_DEADLINE 30

static unsigned
stop_deadline(void)
{
    return AR_TEST_UNSIGNED("AUTHRELAY_TEST_STOP_DEADLINE", STOP_DEADLINE);
}

static void
nap(void)
{
    struct timespec tick = {0, 100 * 1000 * 1000};
    nanosleep(&tick, NULL);
}

/* The last resort: the end of the stop itself (finish() in main.c, the
 * overdue action's or main's own) can be held too -- an unlink on a
 * file system that stops answering, a log that cannot be flushed. Some
 * seconds after the deadline the process ends here whatever holds it,
 * with no lock taken and nothing logged; status 70 (EX_SOFTWARE): the
 * pidfile or the socket may be left behind. */
#define LAST_RESORT 5 /* seconds after the deadline */

static void *
last_resort(void *arg)
{
    (void)arg;
    struct timespec t = {LAST_RESORT, 0};
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
    _exit(EX_SOFTWARE);
}

static void
start_last_resort(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, last_resort, NULL) == 0)
        pthread_detach(t);
}

static void *
stop_thread(void *arg)
{
    struct timespec seen, now;
    (void)arg;
    while (mi_stop() == 0)
        nap();
    clock_gettime(CLOCK_MONOTONIC, &seen);
    poke_listener();
    unsigned deadline = stop_deadline();
    do {
        nap();
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - seen.tv_sec < (time_t)deadline);
    start_last_resort();
    overdue_action(deadline); /* returns when main is finishing */
    return NULL;
}

int
ar_stop_start(const char *sock, void (*overdue)(unsigned seconds))
{
    pthread_t t;
    poke_prepare(sock);
    overdue_action = overdue;
    /* never joined: it ends with the process, or after the deadline */
    if (pthread_create(&t, NULL, stop_thread, NULL) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}
