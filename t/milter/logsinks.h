/*
 * logsinks.h - stand-ins for syslog and systemd-journald, for the daemon
 * suites that read what the daemon logs where no real one runs.
 *
 * syslog: the daemon's lines go to /dev/log through a writer thread in
 * batches. To see them the test binds /dev/log itself, when no syslog
 * daemon has it (as on the CI machines); the daemon suites take turns by
 * a lock.
 *
 * journald: where systemd-journald has /dev/log, the writer sends the
 * lines over a stream of its own to /run/systemd/journal/stdout. The test
 * plays journald (its datagram and stream sockets, /dev/log a link to the
 * first) where neither it nor another syslog daemon runs.
 */
#ifndef AR_T_LOGSINKS_H
#define AR_T_LOGSINKS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DEVLOG "/dev/log"

struct sink {
    int fd, lock;
    pthread_t t;
    atomic_int stop, paused; /* paused: reads nothing (a stalled syslog) */
    pthread_mutex_t mu;      /* of text while the sink runs */
    char *text;              /* every datagram received, one per line */
    size_t len, cap;
};

int devlog_take(void);
bool sink_open(struct sink *k);
int count_in(const char *text, const char *s); /* occurrences of s */

#define JOURNAL_DIR "/run/systemd/journal"
#define JOURNAL_DEVLOG JOURNAL_DIR "/dev-log"
#define JOURNAL_STDOUT JOURNAL_DIR "/stdout"

/* Every daemon on the machine finds the stand-in (another suite's too):
 * each stream is kept with its sender's pid, and only the test's daemon's
 * are looked at. */
#define JSTREAMS 32

struct jstream {
    int fd; /* -1 once closed */
    pid_t pid;
    char *text;
    size_t len, cap;
};

struct journal {
    int lock, dg, listener, nstreams;
    bool made_run, made_dir;
    atomic_int stop, want_listening, listening;
    pthread_t t;
    pthread_mutex_t mu;
    atomic_int paused; /* reads nothing (a stalled journald) */
    struct jstream streams[JSTREAMS];
    char *dgrams; /* one a line */
    size_t dlen, dcap;
};

bool journal_open(struct journal *j);
void journal_close(struct journal *j);
int journal_count(struct journal *j, pid_t pid, const char *s);
int journal_streams(struct journal *j, pid_t pid);
void journal_wait_state(struct journal *j, int listening);

#endif
