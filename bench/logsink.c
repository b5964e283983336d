/*
 * logsink - a stand-in for syslogd on machines without one: binds the
 * datagram socket PATH (normally /dev/log), reads and counts messages,
 * and on SIGTERM removes it and prints the count. The benchmark uses it so
 * that the daemon's one log line per recipient costs what it costs in
 * production (one send), not a failed connect per line.
 * usage: logsink PATH
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
    if (argc != 2) {
        fprintf(stderr, "usage: logsink PATH\n");
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
    long n = 0;
    char buf[4096];
    while (!stop)
        if (recv(fd, buf, sizeof(buf), 0) > 0)
            n++;
    unlink(argv[1]);
    printf("logsink: %ld messages\n", n);
    return 0;
}
