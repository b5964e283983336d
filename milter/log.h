/*
 * log.h - the daemon's only way to log: syslog facility mail, ident
 * "authrelay", and stderr as well in the foreground (-f). Client- and
 * MTA-supplied text is passed through ar_log_clean() first, so that it
 * neither ends a line nor splits a field, and is cut to
 * AR_LOG_FIELD_MAX octets so that every field of a decision line fits.
 *
 * Lines are formatted in a buffer of the calling thread, then queued for
 * a writer thread that sends a few milliseconds' worth in one system
 * call: one log line per recipient would otherwise cost a send and a
 * wakeup of the syslog daemon each. Where systemd-journald is the syslog
 * daemon the writer sends them over a stream of our own to it (one write
 * for the batch); elsewhere, or while journald is away, as datagrams to
 * /dev/log from a socket of our own.
 * No thread waits for syslog: a line it does not take in time is dropped
 * and counted (ar_log_dropped); the count is logged once it takes lines
 * again.
 * Thread-safe.
 *
 * Why not syslog(3): it takes one lock for every thread, and a line per
 * recipient was a send() per recipient and two getpid() calls per line
 * (glibc no longer caches the pid). Counted with strace -f -c over the
 * same load (bench/README), syslog(3) cost 8 system calls per transaction
 * more than a milter that logs nothing; this writer, a fraction of one.
 * With journald's stream instead of datagrams the writer's CPU fell from
 * 2.27-2.46 to 0.31-0.38 us per transaction, journald's from 2.43-2.84 to
 * 0.31-0.38 (of about 80 us that a transaction costs all processes).
 * The journal stream and the writer's waits are in log_stream.c.
 */
#ifndef AR_LOG_H
#define AR_LOG_H

#include <stddef.h>
#include <syslog.h>

/* ar_log_open - connect to /dev/log; lines are sent by their thread */
void ar_log_open(int foreground);
/* ar_log_start - from now on a writer thread sends the lines in batches
 * (after daemonizing: a thread does not survive fork); -1 if it could not
 * be started (lines are then sent by their thread, as before) */
int ar_log_start(void);
/* ar_log_close - send what is queued, stop the writer, disconnect */
void ar_log_close(void);
/* ar_log - to syslog, and to stderr in the foreground */
void ar_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ar_log_syslog - to syslog only (the caller told stderr itself) */
void ar_log_syslog(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A piece of a decision line: len octets at s; or with len AR_LOG_STR the
 * C string s; or with AR_LOG_CLEAN the C string s as ar_log_clean() has it
 * with a buffer of AR_LOG_FIELD_MAX + 1 (client-supplied text). A NULL s
 * is "". */
struct ar_log_part {
    const char *s;
    size_t len;
};
#define AR_LOG_STR ((size_t)-1)
#define AR_LOG_CLEAN ((size_t)-2)
#define AR_LOG_LIT(lit) ((struct ar_log_part){lit, sizeof(lit) - 1})
/* ar_log_parts - as ar_log, the line being the n parts in order, cut to the
 * line's room: no format to interpret (the decision line, one per
 * recipient) */
void ar_log_parts(int prio, const struct ar_log_part *p, size_t n);
/* The most octets of client- or MTA-supplied text in a field of a line;
 * the marker that ends a field cut to it */
#define AR_LOG_FIELD_MAX 256
#define AR_LOG_CUT "..."
/* ar_log_clean - s into buf with control octets, the space and non-ASCII
 * octets as '?'; if longer than size - 1 octets, cut: its first size - 4
 * and AR_LOG_CUT (size at least 4). "" for NULL. */
const char *ar_log_clean(const char *s, char *buf, size_t size);
/* ar_log_dropped - lines dropped since the start because syslog did not
 * take them in time */
unsigned long long ar_log_dropped(void);

#endif
