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
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

/*
 * libmilter's listener looks at its stop flag only when its select()
 * times out, every 5 seconds: an orderly stop would take that long. Once
 * the flag is up, one connection to our own socket wakes it at once.
 * mi_stop() is libmilter's own (exported, undeclared) reader of the flag.
 */
extern int mi_stop(void);

static const char *sockspec;

static void
poke_listener(void)
{
    const char *path = NULL;
    int fd = -1;
    if (strncmp(sockspec, "unix:", 5) == 0)
        path = sockspec + 5;
    else if (strncmp(sockspec, "local:", 6) == 0)
        path = sockspec + 6;
    else if (strchr(sockspec, ':') == NULL)
        path = sockspec;
    if (path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0)
            connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    } else {
        /* inet:PORT@HOST, inet6:PORT@HOST; no host means all: loopback */
        bool v6 = strncmp(sockspec, "inet6:", 6) == 0;
        const char *p = strchr(sockspec, ':') + 1, *at = strchr(p, '@');
        char port[16], host[256];
        snprintf(port, sizeof(port), "%.*s",
                 (int)(at ? (size_t)(at - p) : strlen(p)), p);
        snprintf(host, sizeof(host), "%s",
                 at && at[1] && strcmp(at + 1, "0.0.0.0") &&
                         strcmp(at + 1, "::")
                     ? at + 1
                     : (v6 ? "::1" : "127.0.0.1"));
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
        hints.ai_family = v6 ? AF_INET6 : AF_INET;
        if (getaddrinfo(host, port, &hints, &ai) == 0) {
            if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) >= 0)
                connect(fd, ai->ai_addr, ai->ai_addrlen);
            freeaddrinfo(ai);
        }
    }
    if (fd >= 0)
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
    const char *t = getenv("AUTHRELAY_TEST_STOP_DEADLINE"); /* tests only */
    return t && atoi(t) > 0 ? (unsigned)atoi(t) : STOP_DEADLINE;
}

static void
nap(void)
{
    struct timespec tick = {0, 100 * 1000 * 1000};
    nanosleep(&tick, NULL);
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
    ar_stop_overdue(deadline); /* returns when main is finishing */
    return NULL;
}

int
ar_stop_start(const char *sock)
{
    pthread_t t;
    sockspec = sock;
    /* never joined: it ends with the process, or after the deadline */
    if (pthread_create(&t, NULL, stop_thread, NULL) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}
