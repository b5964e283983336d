/*
 * logsink - a stand-in for syslogd on machines without one: binds the
 * datagram socket PATH (normally /dev/log) and receives messages; with
 * OUT, appends each to that file as one line (buffered, flushed whenever
 * no message is waiting, as a syslogd writes its files), except those
 * containing SKIP (the benchmark keeps the daemon's own lines, not the
 * millions of per-recipient ones it would read again). On SIGTERM it
 * removes PATH and prints the count. The benchmark uses it so that the
 * daemon's one log line per recipient costs what it costs in production
 * (a send, and a receiver that takes it), and reads the daemon's log there.
 * usage: logsink PATH [OUT [SKIP]]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
    (void)sig;
    stop = 1;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: logsink PATH [OUT [SKIP]]\n");
        return 64;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        perror("logsink: bind");
        return 71;
    }
    chmod(argv[1], 0666);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* journald's /dev/log has an 8 MB receive buffer (ReceiveBuffer=8M
     * in systemd-journald-dev-log.socket); take the same, as root */
    int rcvbuf = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    /* a stop that comes between the check and recv() is seen in 0.2 s */
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    FILE *out = argc >= 3 ? fopen(argv[2], "a") : NULL;
    const char *skip = argc == 4 ? argv[3] : NULL;
    if (argc >= 3 && out == NULL) {
        perror("logsink: open");
        return 73;
    }
    long n = 0;
    char buf[4096];
    while (!stop) {
        ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (r < 0 && errno == EAGAIN) {
            if (out)
                fflush(out);
            r = recv(fd, buf, sizeof(buf) - 1, 0);
        }
        if (r <= 0)
            continue;
        n++;
        buf[r] = '\0';
        if (out && !(skip && strstr(buf, skip))) {
            fwrite(buf, 1, (size_t)r, out);
            fputc('\n', out);
        }
    }
    if (out)
        fclose(out);
    unlink(argv[1]);
    printf("logsink: %ld messages\n", n);
    return 0;
}
